"""The Query root: a view with no source, whose fields start every read (see fields.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from functools import partial
from typing import Annotated, Any

import strawberry

from ...domain.ids import decode_id, decode_id_of
from ...domain.providers import PROVIDERS, Provider
from ...domain.warnings import WarningSummary
from ...services.reader import Reader
from ...storage.queries import ConfigRow
from .arguments import MAX_NODE_IDS, After, First, NodeIds, Page, bad_user_input, page_arguments
from .audit_types import AuditEventConnection, audit_event_pages
from .fields import batched, computed, view
from .types import (
    Node,
    ProviderMetadataType,
    TelephonyConfigConnection,
    TelephonyConfigType,
    TelephonyConfigWarningSummaryType,
)
from .viewer_types import ViewerType, organizations, viewers
from .webhook_types import (
    WebhookDeliveryConnection,
    WebhookEndpointConnection,
    delivery_pages,
    endpoint_pages,
    endpoints_of,
)

NodeSource = tuple[str, Any]  # (type name, row): what a field of type Node gives


async def _config_pages(reader: Reader, roots: list[None], first: First = None, after: After = None) -> list[Page]:
    limit, after_id = page_arguments(first, after)
    rows = await reader.config_page(limit=limit + 1, after_id=after_id)
    return [Page.of(rows, limit, after_id)] * len(roots)


ConfigId = Annotated[strawberry.ID, strawberry.argument(description="The configuration's global id.")]
NodeId = Annotated[strawberry.ID, strawberry.argument(description="A global id, of any type.")]


async def _config_by_id(reader: Reader, roots: list[None], id: ConfigId) -> list[ConfigRow | None]:
    key = decode_id_of("TelephonyConfig", id)
    row = (await reader.configs([key]))[key] if key is not None else None
    return [row] * len(roots)


async def _default_config(reader: Reader, roots: list[None]) -> list[ConfigRow | None]:
    return [await reader.default_config()] * len(roots)


def _providers(_: None) -> list[Provider]:
    return list(PROVIDERS.values())


async def _warning_summary(reader: Reader, roots: list[None]) -> list[WarningSummary]:
    return [await reader.warning_summary()] * len(roots)


async def nodes_of(reader: Reader, global_ids: list[str]) -> list[NodeSource | None]:
    """Each id's (type name, row), or None for an id that names nothing of this organization."""
    decoded = [decode_id(global_id) for global_id in global_ids]
    lookups: dict[str, Callable[[list[int]], Awaitable[Mapping[int, Any]]]] = {
        "TelephonyConfig": reader.configs, "PhoneNumber": reader.numbers, "AuditEvent": reader.audit_events,
        "WebhookEndpoint": partial(endpoints_of, reader), "Organization": partial(organizations, reader),
    }
    found: dict[str, Mapping[int, Any]] = {}
    for type_name, lookup in lookups.items():
        keys = [key for name, key in filter(None, decoded) if name == type_name]
        found[type_name] = await lookup(keys) if keys else {}
    sources: list[NodeSource | None] = []
    for item in decoded:
        row = found[item[0]].get(item[1]) if item is not None and item[0] in found else None
        sources.append((item[0], row) if item is not None and row is not None else None)
    return sources


async def _node(reader: Reader, roots: list[None], id: NodeId) -> list[NodeSource | None]:
    return (await nodes_of(reader, [id])) * len(roots)


async def _nodes(reader: Reader, roots: list[None], ids: NodeIds) -> list[list[NodeSource | None]]:
    if len(ids) > MAX_NODE_IDS:
        raise bad_user_input(f"`ids` takes at most {MAX_NODE_IDS} ids.")
    return [await nodes_of(reader, list(ids))] * len(roots)


@view("Query", description="Reads, all of the organization whose API key sent the request.")
class Query:
    source: strawberry.Private[None]  # the root value: nothing
    viewer: ViewerType = batched(viewers, description="Who is asking: the request's API key and its organization.")
    telephony_configs: TelephonyConfigConnection = batched(
        _config_pages, description="The organization's configurations, oldest first."
    )
    telephony_config: TelephonyConfigType | None = batched(
        _config_by_id, description="A configuration by id; null when the organization has none with it."
    )
    default_outbound_telephony_config: TelephonyConfigType | None = batched(
        _default_config, description="The default configuration for outbound calls; null when none is."
    )
    telephony_providers: list[ProviderMetadataType] = computed(
        _providers, description="Every provider, with the keys its config allows (fields)."
    )
    telephony_config_warnings: TelephonyConfigWarningSummaryType = batched(
        _warning_summary, description="The organization's warnings, counted by code."
    )
    audit_events: AuditEventConnection = batched(
        audit_event_pages, description="The organization's audit trail, newest first: who changed what, when."
    )
    webhook_endpoints: WebhookEndpointConnection = batched(
        endpoint_pages, description="The organization's webhook endpoints, oldest first."
    )
    webhook_deliveries: WebhookDeliveryConnection | None = batched(delivery_pages, description=(
        "An endpoint's deliveries, newest first, with attempts; null for an id of no endpoint."
    ))
    node: Node | None = batched(_node, description="Any object by global id; null when the organization has none.")
    nodes: list[Node | None] = batched(
        _nodes, description="Objects by global id, in the order given; null for an id that names none."
    )

