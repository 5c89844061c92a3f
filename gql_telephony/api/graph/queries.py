"""The Query root: a view with no source, whose fields start every read (see fields.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import strawberry

from ...domain.providers import PROVIDERS, Provider
from ...domain.warnings import WarningSummary
from ...services.reader import Reader
from ...storage.queries import ConfigRow
from .arguments import MAX_NODE_IDS, Page, bad_user_input, page_arguments
from .fields import batched, computed, view
from .ids import decode_id, decode_id_of
from .types import (
    Node,
    ProviderMetadataType,
    TelephonyConfigConnection,
    TelephonyConfigType,
    TelephonyConfigWarningSummaryType,
)

NodeSource = tuple[str, Any]  # (type name, row): what a field of type Node gives


async def _config_pages(reader: Reader, roots: list[None], first: int | None = None,
                        after: str | None = None) -> list[Page]:
    limit, after_id = page_arguments(first, after)
    rows = await reader.config_page(limit=limit + 1, after_id=after_id)
    return [Page.of(rows, limit, after_id)] * len(roots)


async def _config_by_id(reader: Reader, roots: list[None], id: strawberry.ID) -> list[ConfigRow | None]:
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
        "TelephonyConfig": reader.configs, "PhoneNumber": reader.numbers,
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


async def _node(reader: Reader, roots: list[None], id: strawberry.ID) -> list[NodeSource | None]:
    return (await nodes_of(reader, [id])) * len(roots)


async def _nodes(reader: Reader, roots: list[None], ids: list[strawberry.ID]) -> list[list[NodeSource | None]]:
    if len(ids) > MAX_NODE_IDS:
        raise bad_user_input(f"`ids` takes at most {MAX_NODE_IDS} ids.")
    return [await nodes_of(reader, list(ids))] * len(roots)


@view("Query")
class Query:
    source: strawberry.Private[None]  # the root value: nothing
    telephony_configs: TelephonyConfigConnection = batched(_config_pages)
    telephony_config: TelephonyConfigType | None = batched(_config_by_id)
    default_outbound_telephony_config: TelephonyConfigType | None = batched(_default_config)
    telephony_providers: list[ProviderMetadataType] = computed(_providers)
    telephony_config_warnings: TelephonyConfigWarningSummaryType = batched(_warning_summary)
    node: Node | None = batched(_node)
    nodes: list[Node | None] = batched(_nodes)
