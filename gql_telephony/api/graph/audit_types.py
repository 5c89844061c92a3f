"""The audit trail as GraphQL views (fields.py): AuditEvent, its actor and changes, its connection,
Query.auditEvents' filter and loads. A source is an audit_event row (storage/audit.py); a page of
them is an AuditPage (audit_pages.py).

What an event shows is bounded, so that the response size (response_size.py) can count it: at most
MAX_LISTED_CHANGES changes, each value at most SHOWN_VALUE_BYTES bytes of JSON (a longer value is
cut and ends in "…"), names and texts at their column's width.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Annotated, Any

import strawberry
from strawberry.scalars import JSON

from ...domain.audit import AuditAction, Change
from ...domain.ids import encode_cursor, encode_id
from ...services.reader import Reader
from ...storage.audit import AuditRow, EventFilter
from ..http.json_encoding import encode_json
from .arguments import After, First
from .audit_pages import AuditPage, event_filter, organization_pages
from .fields import batched, computed, itself, read, view
from .types import Node, PageInfo

MAX_LISTED_CHANGES = 32
SHOWN_VALUE_BYTES = 2048
MAX_TEXT_LENGTH = 64  # a change's field name, an API key's label, a request id: the columns' widths
MAX_ENTITY_TYPE_LENGTH = 40
ELLIPSIS = "…"

_event_id = partial(encode_id, "AuditEvent")


def shown(value: Any) -> Any:
    """The value, or, when its JSON is longer than SHOWN_VALUE_BYTES, its text cut to fit (ending
    in an ellipsis)."""
    if value is None or len(encode_json(value)) <= SHOWN_VALUE_BYTES:
        return value
    text = value if isinstance(value, str) else encode_json(value).decode()
    cut = text[:SHOWN_VALUE_BYTES]
    while (over := len(encode_json(cut + ELLIPSIS)) - SHOWN_VALUE_BYTES) > 0:
        cut = cut[: len(cut) - max(1, over // 6)]  # a character is at most 6 bytes of JSON
    return cut + ELLIPSIS


def listed_changes(stored: list[dict[str, Any]] | None) -> list[Change]:
    """The stored changes as shown: a secret's values never (whatever was stored), others cut to size."""
    changes = []
    for item in (stored or [])[:MAX_LISTED_CHANGES]:
        change = Change.from_json(item)
        name = change.field[:MAX_TEXT_LENGTH]
        if change.secret:
            changes.append(Change(name, secret=True))
        else:
            changes.append(Change(name, shown(change.before), shown(change.after)))
    return changes


def _key_id(key: int | None) -> str | None:
    """As `gql-telephony list-api-keys` prints it and `revoke-api-key` takes it: the number."""
    return None if key is None else str(key)


def _bounded(text: str | None) -> str | None:
    return None if text is None else text[:MAX_TEXT_LENGTH]


@view("AuditChange", description="What one change did to one field.")
class AuditChangeType:
    source: strawberry.Private[Change]
    field: str = read(description="The field, as the API names it; a config key as config.<key>.")
    before: JSON | None = read(description="The value before; null when absent, or secret.")
    after: JSON | None = read(description="The value after; null when absent, or secret.")
    secret: bool = read(description="A secret changed: before and after are null, its values never kept.")


@view("AuditActor", description="Who made a change: an API key, or the server itself.")
class AuditActorType:
    source: strawberry.Private[AuditRow]
    api_key_id: strawberry.ID | None = read(
        "api_key_id", then=_key_id, description="The key's id, as list-api-keys prints it; null for the server."
    )
    label: str | None = read(
        "api_key_label", then=_bounded, description="The key's label when the change was made; null when none."
    )
    system: bool = read(
        "api_key_id", then=lambda key: key is None, description="True when the server made it (e.g. a provider check)."
    )


@view("AuditEvent", description="A change of the organization's data: who made it, when, and what changed.")
class AuditEventType(Node):
    source: strawberry.Private[AuditRow]
    id: strawberry.ID = read("id", then=_event_id, description="Global id of the event.")
    occurred_at: datetime = read(description="When the change was committed (UTC).")
    action: AuditAction = read(then=AuditAction, description="What happened.")
    entity_type: str = read(
        then=lambda name: name[:MAX_ENTITY_TYPE_LENGTH], description="The type of what changed, e.g. TelephonyConfig."
    )
    entity_id: strawberry.ID | None = read(
        description="The global id of what changed (kept after it is deleted); null for the organization."
    )
    actor: AuditActorType = computed(itself, description="Who made the change.")
    request_id: str | None = read(
        then=_bounded, description="The X-Request-ID of the request that made it; null for the server's own."
    )
    changes: list[AuditChangeType] = read(
        then=listed_changes, description=f"The fields it changed (at most {MAX_LISTED_CHANGES}), in name order."
    )


@view("AuditEventEdge", description="An audit event of a page, with its cursor.")
class AuditEventEdge:
    source: strawberry.Private[AuditRow]
    cursor: str = read("id", then=encode_cursor, description="Pass it as `after` for the events older than this one.")
    node: AuditEventType = computed(itself, description="The event.")


async def _audit_totals(reader: Reader, pages: list[AuditPage]) -> list[int]:
    counts = await reader.audit_entity_counts([page.entity_id for page in pages if page.entity_id is not None])
    filtered: dict[EventFilter, int] = {}  # one count per filter, however many pages share it
    totals = []
    for page in pages:
        if page.entity_id is not None:
            totals.append(counts[page.entity_id])
            continue
        assert page.events is not None
        if page.events not in filtered:
            filtered[page.events] = await reader.audit_count(page.events)
        totals.append(filtered[page.events])
    return totals


@view("AuditEventConnection", description="A page of audit events, newest first.")
class AuditEventConnection:
    source: strawberry.Private[AuditPage]
    edges: list[AuditEventEdge] = read("rows", description="The page's events, each with its cursor.")
    nodes: list[AuditEventType] = read("rows", description="The page's events, as in edges but without cursors.")
    page_info: PageInfo = computed(itself, description="Whether older events follow, and the cursors.")
    total_count: int = batched(_audit_totals, description="All the events it selects (filter applied), on every page.")


@strawberry.input(name="AuditEventFilter", description="Which events to list; every field given must match.")
class AuditEventFilter:
    entity_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only the history of this object (a global id, of a deleted one too)."
    )
    action: AuditAction | None = strawberry.field(default=None, description="Only events of this action.")
    since: datetime | None = strawberry.field(
        default=None, description="Only events at or after this time (UTC when no offset is given)."
    )
    until: datetime | None = strawberry.field(
        default=None, description="Only events at or before this time (UTC when no offset is given)."
    )


Filter = Annotated[AuditEventFilter | None, strawberry.argument(description="Null: every event.")]


async def audit_event_pages(reader: Reader, roots: list[None], first: First = None, after: After = None,
                            filter: Filter = None) -> list[AuditPage]:
    """Query.auditEvents."""
    if isinstance(filter, dict):  # a plan's: graphql-core's coerced input, by GraphQL names
        entity_id, action, since, until = (filter.get(name) for name in ("entityId", "action", "since", "until"))
    else:
        given = filter or AuditEventFilter()
        entity_id, action, since, until = given.entity_id, given.action, given.since, given.until
    events = event_filter(entity_id, None if action is None else AuditAction(action).value, since, until)
    return await organization_pages(reader, len(roots), events, first, after)
