"""Webhook endpoints and their deliveries as the API shows them: views (fields.py) over the
rows of storage/webhooks.py, and the Query fields that start from them.

A signing secret is never shown here in clear: `signingSecret` is masked. Only the payloads of
createWebhookEndpoint and rotateWebhookSecret carry it in clear (webhook_mutations.py).
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Annotated, Any, NamedTuple

import orjson
import strawberry
from strawberry.scalars import JSON

from ...domain.audit import WebhookEventType
from ...domain.ids import decode_id_of, encode_cursor, encode_id
from ...domain.warnings import ENDPOINT_DISABLED, ConfigWarning, Severity, WarningCode
from ...domain.webhook_endpoints import (
    MAX_ENDPOINTS_PER_ORGANIZATION,
    MAX_LISTED_ATTEMPTS,
    PING_EVENT,
    DeliveryStatus,
    DisabledReason,
    stored_events,
)
from ...services import signing_secrets
from ...services.reader import Reader
from ...storage import webhooks
from ...storage.webhooks import AttemptRow, DeliveryRow, EndpointRow
from .arguments import After, First, Page, page_arguments
from .enums import _register
from .fields import batched, computed, itself, read, view
from .types import Node, PageInfo

_register(WebhookEventType, "WebhookEventType", "A change a webhook endpoint can subscribe to.", {
    WebhookEventType.TELEPHONY_CONFIG_CREATED: "A configuration was created (telephony_config.created).",
    WebhookEventType.TELEPHONY_CONFIG_UPDATED: "A configuration's name or config changed (telephony_config.updated).",
    WebhookEventType.TELEPHONY_CONFIG_DELETED: "A configuration was deleted (telephony_config.deleted).",
    WebhookEventType.DEFAULT_OUTBOUND_CHANGED: "Another configuration became the default outbound one.",
    WebhookEventType.PHONE_NUMBER_ADDED: "A phone number was added (phone_number.added).",
    WebhookEventType.PHONE_NUMBER_UPDATED: "A phone number's label or activity changed (phone_number.updated).",
    WebhookEventType.PHONE_NUMBER_REMOVED: "A phone number was removed (phone_number.removed).",
    WebhookEventType.WARNINGS_CHANGED: "The organization's warning summary changed (warnings.changed).",
    WebhookEventType.PROVIDER_CHECK_CHANGED: "What a provider says about an account or number changed.",
})
_register(DisabledReason, "WebhookEndpointDisabledReason", "Why a webhook endpoint receives no events.", {
    DisabledReason.USER: "Disabled through updateWebhookEndpoint(enabled: false).",
    DisabledReason.FAILING: "Disabled by the server after a day of failed deliveries (a warning says so).",
})
_register(DeliveryStatus, "WebhookDeliveryStatus", "Where a delivery stands.", {
    DeliveryStatus.PENDING: "Not delivered yet: waiting for its first attempt or a retry (nextAttemptAt).",
    DeliveryStatus.DELIVERED: "The endpoint answered an attempt with a 2xx status.",
    DeliveryStatus.FAILED: "Given up after about a day of failed attempts.",
})

_endpoint_id = partial(encode_id, "WebhookEndpoint")
_delivery_id = partial(encode_id, "WebhookDelivery")
_CURSOR = "Pass it as `after` for the items after this one."


def _reason(value: str | None) -> DisabledReason | None:
    return DisabledReason(value) if value in DisabledReason.__members__ else None


async def _masked_secrets(reader: Reader, rows: list[EndpointRow]) -> list[str]:
    return [signing_secrets.masked(signing_secrets.unseal(reader.vault, row.secret)) for row in rows]


def _endpoint_warnings(row: EndpointRow) -> list[ConfigWarning]:
    failing = not row.enabled and row.disabled_reason == DisabledReason.FAILING.value
    return [ENDPOINT_DISABLED] if failing else []


@view("WebhookEndpointWarning", description="Something wrong with a webhook endpoint (counted in the summary).")
class WebhookEndpointWarningType:
    source: strawberry.Private[ConfigWarning]
    code: WarningCode = read(description="What it is about: match on this, not on message.")
    severity: Severity = read(description="How urgent it is (fixed for each code).")
    message: str = read(description="A fixed sentence for people.")


@view("WebhookEndpoint", description="Where the organization's changes are sent, signed (Standard Webhooks).")
class WebhookEndpointType(Node):
    source: strawberry.Private[EndpointRow]
    id: strawberry.ID = read("id", then=_endpoint_id, description="Global id of the endpoint.")
    url: str = read(description="The http:// or https:// URL events are POSTed to.")
    description: str | None = read(description="Free text of at most 500 characters; null when none.")
    events: list[WebhookEventType] = read(then=stored_events, description="The events it receives, in enum order.")
    enabled: bool = read(description="Whether events are sent to it; false: none are, and none are kept for it.")
    disabled_reason: DisabledReason | None = read(
        then=_reason, description="Why it is disabled; null when enabled."
    )
    disabled_at: datetime | None = read(description="When it was disabled (UTC); null when enabled.")
    failing_since: datetime | None = read(
        description="Since when every attempt to it has failed (UTC); null when the last one succeeded."
    )
    signing_secret: str = batched(_masked_secrets, description=(
        "Masked: whsec_ and its last 4 characters (create and rotate show it once in clear)."
    ))
    warnings: list[WebhookEndpointWarningType] = computed(_endpoint_warnings, description=(
        "WEBHOOK_ENDPOINT_DISABLED when the server disabled it for failing; empty otherwise."
    ))
    version: int = read(description="Increases on every change.")
    created_at: datetime = read(description="When it was created (UTC).")
    updated_at: datetime = read(description="When it last changed (UTC).")


@view("WebhookEndpointEdge", description="A webhook endpoint of a page, with its cursor.")
class WebhookEndpointEdge:
    source: strawberry.Private[EndpointRow]
    cursor: str = read("id", then=encode_cursor, description=_CURSOR)
    node: WebhookEndpointType = computed(itself, description="The endpoint.")


async def _endpoint_totals(reader: Reader, pages: list[Page]) -> list[int]:
    async with reader.rows() as session:
        total = await webhooks.count_endpoints(session, org_id=reader.org_id)
    return [total] * len(pages)


@view("WebhookEndpointConnection", description="A page of webhook endpoints, oldest first.")
class WebhookEndpointConnection:
    source: strawberry.Private[Page]
    edges: list[WebhookEndpointEdge] = read("rows", description="The page's endpoints, each with its cursor.")
    nodes: list[WebhookEndpointType] = read("rows", description="The page's items, as in edges but without cursors.")
    page_info: PageInfo = computed(itself, description="Whether more items follow, and the cursors.")
    total_count: int = batched(_endpoint_totals, description=(
        f"All the organization's endpoints (at most {MAX_ENDPOINTS_PER_ORGANIZATION})."
    ))


# --- Deliveries ---------------------------------------------------------------------------------


@view("WebhookAttempt", description="One try to deliver an event: when, what came back, how long it took.")
class WebhookAttemptType:
    source: strawberry.Private[AttemptRow]
    attempted_at: datetime = read(description="When the request was sent (UTC).")
    status_code: int | None = read(description="The endpoint's HTTP status; null when no answer came.")
    error: str | None = read(description="Why it failed, for people (a timeout, a refused address...); null on 2xx.")
    duration_ms: int = read(description="Milliseconds from sending to the answer (or to the failure).")


def _event_type(value: str) -> WebhookEventType | None:
    return WebhookEventType(value) if value in WebhookEventType.__members__ else None


def _payload(body: str) -> Any:
    return orjson.loads(body)


async def _attempts(reader: Reader, rows: list[DeliveryRow]) -> list[list[AttemptRow]]:
    """Every attempt of every delivery of the level, in one statement."""
    ids = [row.id for row in rows if row.id is not None]
    async with reader.rows() as session:
        found = await webhooks.attempts_of(session, delivery_ids=ids)
    return [found.get(row.id, [])[-MAX_LISTED_ATTEMPTS:] if row.id is not None else [] for row in rows]


@view("WebhookDelivery", description="One event for one endpoint, and how its delivery went.")
class WebhookDeliveryType:
    source: strawberry.Private[DeliveryRow]
    id: strawberry.ID = read("id", then=_delivery_id, description="Global id of the delivery.")
    webhook_id: str = read("message_id", description=(
        "The webhook-id header of every attempt (the same on each): receivers de-duplicate on it."
    ))
    event_type: WebhookEventType | None = read(
        then=_event_type, description="The event it announces; null for a test ping (sendTestWebhook)."
    )
    is_test: bool = read("event_type", then=lambda value: value == PING_EVENT,
                         description="True for a ping sent by sendTestWebhook.")
    status: DeliveryStatus = read(then=DeliveryStatus, description="Pending, delivered, or given up.")
    attempt_count: int = read(description="Attempts so far.")
    created_at: datetime = read(description="When the change it announces committed (UTC).")
    last_attempt_at: datetime | None = read(description="When it was last tried (UTC); null before the first try.")
    next_attempt_at: datetime | None = read(description="When it is next tried (UTC); null once delivered or failed.")
    last_status_code: int | None = read(description="The last attempt's HTTP status; null when none came.")
    last_error: str | None = read(description="Why the last attempt failed; null when it did not.")
    delivered_at: datetime | None = read(description="When the endpoint accepted it (UTC); null until then.")
    payload: JSON = read("body", then=_payload, description=(
        "The JSON body sent: type, timestamp, data (ids and changed field names, no secret)."
    ))
    attempts: list[WebhookAttemptType] = batched(_attempts, description=(
        f"Its attempts, oldest first: the latest {MAX_LISTED_ATTEMPTS} (attemptCount counts them all)."
    ))


@view("WebhookDeliveryEdge", description="A delivery of a page, with its cursor.")
class WebhookDeliveryEdge:
    source: strawberry.Private[DeliveryRow]
    cursor: str = read("id", then=encode_cursor, description=_CURSOR)
    node: WebhookDeliveryType = computed(itself, description="The delivery.")


class DeliveryPage(NamedTuple):
    """A page of one endpoint's deliveries: a Page (PageInfo reads it the same way) and its endpoint."""

    rows: list[DeliveryRow]
    has_next: bool
    after_given: bool
    endpoint_id: int


async def _delivery_totals(reader: Reader, pages: list[DeliveryPage]) -> list[int]:
    async with reader.rows() as session:
        counts = await webhooks.count_deliveries(session, endpoint_ids=[page.endpoint_id for page in pages])
    return [counts.get(page.endpoint_id, 0) for page in pages]


@view("WebhookDeliveryConnection", description="A page of an endpoint's deliveries, newest first.")
class WebhookDeliveryConnection:
    source: strawberry.Private[DeliveryPage]
    edges: list[WebhookDeliveryEdge] = read("rows", description="The page's deliveries, each with its cursor.")
    nodes: list[WebhookDeliveryType] = read("rows", description="The page's items, as in edges but without cursors.")
    page_info: PageInfo = computed(itself, description="Whether older deliveries follow, and the cursors.")
    total_count: int = batched(_delivery_totals, description="All the endpoint's deliveries, on every page.")


# --- The Query fields (queries.py declares them) -------------------------------------------------


EndpointId = Annotated[strawberry.ID, strawberry.argument(description="The webhook endpoint's global id.")]


async def endpoint_pages(reader: Reader, roots: list[None], first: First = None, after: After = None) -> list[Page]:
    limit, after_id = page_arguments(first, after)
    async with reader.rows() as session:
        rows = await webhooks.endpoint_page(session, org_id=reader.org_id, limit=limit + 1, after_id=after_id)
    return [Page.of(rows, limit, after_id)] * len(roots)


async def delivery_pages(reader: Reader, roots: list[None], endpoint_id: EndpointId, first: First = None,
                         after: After = None) -> list[DeliveryPage | None]:
    """None for an id that names no endpoint of the organization (as telephonyConfig(id) is null):
    not an error, which a sibling field's error would race with on the generic executor."""
    limit, after_id = page_arguments(first, after)
    key = decode_id_of("WebhookEndpoint", endpoint_id)
    if key is None:
        return [None] * len(roots)
    async with reader.rows() as session:
        found = await webhooks.endpoints_by_ids(session, org_id=reader.org_id, ids=[key])
        if key not in found:
            return [None] * len(roots)
        rows = await webhooks.delivery_page(
            session, org_id=reader.org_id, endpoint_id=key, limit=limit + 1, after_id=after_id
        )
    page = Page.of(rows, limit, after_id)
    return [DeliveryPage(list(page.rows), page.has_next, page.after_given, key)] * len(roots)


async def endpoints_of(reader: Reader, keys: list[int]) -> dict[int, EndpointRow]:
    """The organization's endpoints among these keys (for node and nodes)."""
    async with reader.rows() as session:
        return await webhooks.endpoints_by_ids(session, org_id=reader.org_id, ids=keys)
