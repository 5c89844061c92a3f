"""How a plan produces each field it covers, from the same rows and rules as the resolvers.

A field is either `get` (a plain function of its source, giving the JSON value of a leaf or
the source of an object) or `batch` (a coroutine given every source of the level at once, so a
level costs one statement whatever its size). A field whose value may be of several types is
`abstract`: its values are (type name, source) pairs. Anything unusual (a bad argument, a row
gone missing) raises, and the generic executor then answers the request with its own errors.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, NamedTuple

from sqlalchemy.engine import Row

from ...domain.config_rules import present_config
from ...domain.providers import PROVIDERS, ProviderKey
from ...services.telephony_configs import stored_config
from ...storage.queries import POSITIONS
from ..graph.arguments import MAX_NODE_IDS, page_arguments
from ..graph.ids import decode_id, decode_id_of, encode_cursor, encode_id
from ..graph.types import PROVIDER_METADATA, PageInfo, TelephonyConfigWarningSummaryType
from .snapshot import Snapshot

Batch = Callable[[Snapshot, list[Any], dict[str, Any]], Awaitable[list[Any]]]


@dataclass(frozen=True, slots=True)
class FieldSpec:
    get: Callable[[Any], Any] | None = None
    batch: Batch | None = None
    abstract: bool = False
    # The same as `get`, as a Python expression of the source `s` (names from INLINE_NAMES):
    # the plan's builder writes it in place, saving a call per field per row.
    inline: str | None = None


def leaf(expression: str) -> FieldSpec:
    """A leaf field of rows, given as an expression of the row `s` (see INLINE_NAMES)."""
    return FieldSpec(inline=expression)


class Page(NamedTuple):
    """A connection's page: its rows, and what PageInfo and totalCount need."""

    rows: list[Row]
    has_next: bool
    after_given: bool
    config_id: int | None = None  # the configuration of a page of phone numbers
    active_only: bool = False


class RowGone(Exception):
    """A row referenced by another was not found: the generic executor reports it."""


TYPENAME = FieldSpec()  # filled in by the executor from the type it completes
PROVIDER_NAMES = {key.value: key.name for key in ProviderKey}
INLINE_NAMES = {"encode_id": encode_id, "encode_cursor": encode_cursor, "PROVIDER_NAMES": PROVIDER_NAMES}
# The table whose rows are the sources of a type: its inline expressions read `s.column` by position.
ROW_TABLES = {
    "TelephonyConfig": "telephony_config", "TelephonyConfigEdge": "telephony_config",
    "PhoneNumber": "phone_number", "PhoneNumberEdge": "phone_number",
}


def attribute(name: str) -> FieldSpec:
    """A field read from an attribute; enums become their GraphQL names (as Strawberry does)."""

    def get(source: Any) -> Any:
        value = getattr(source, name)
        return value.name if isinstance(value, Enum) else value

    return FieldSpec(get=get)


def timestamp(name: str) -> FieldSpec:
    def get(source: Any) -> str:
        value: datetime = getattr(source, name)
        return value.isoformat()

    return FieldSpec(get=get)


def _page(rows: list[Row], limit: int, after_id: int | None, **extra: Any) -> Page:
    return Page(rows[:limit], len(rows) > limit, after_id is not None, **extra)


# --- Query -------------------------------------------------------------------------------


async def _telephony_configs(snapshot: Snapshot, sources: list[Any], arguments: dict[str, Any]) -> list[Any]:
    limit, after_id = page_arguments(arguments.get("first"), arguments.get("after"))
    rows = await snapshot.config_page(limit=limit + 1, after_id=after_id)
    return [_page(rows, limit, after_id)] * len(sources)


async def _telephony_config(snapshot: Snapshot, sources: list[Any], arguments: dict[str, Any]) -> list[Any]:
    key = decode_id_of("TelephonyConfig", arguments["id"])
    row = (await snapshot.configs([key]))[key] if key is not None else None
    return [row] * len(sources)


async def _default_config(snapshot: Snapshot, sources: list[Any], arguments: dict[str, Any]) -> list[Any]:
    return [await snapshot.default_config()] * len(sources)


async def _warning_summary(snapshot: Snapshot, sources: list[Any], arguments: dict[str, Any]) -> list[Any]:
    return [TelephonyConfigWarningSummaryType.of(await snapshot.warning_summary())] * len(sources)


async def _nodes_of(snapshot: Snapshot, global_ids: list[str]) -> list[tuple[str, Row] | None]:
    """Each id's (type name, row), or None for an id that names nothing of this organization."""
    decoded = [decode_id(global_id) for global_id in global_ids]
    wanted = {"TelephonyConfig": snapshot.configs, "PhoneNumber": snapshot.numbers}
    loaded: dict[str, dict[int, Row | None]] = {}
    for type_name, load in wanted.items():
        keys = [item[1] for item in decoded if item is not None and item[0] == type_name]
        loaded[type_name] = await load(keys) if keys else {}
    found: list[tuple[str, Row] | None] = []
    for item in decoded:
        row = loaded[item[0]].get(item[1]) if item is not None and item[0] in loaded else None
        found.append((item[0], row) if row is not None else None)  # type: ignore[index]
    return found


async def _node(snapshot: Snapshot, sources: list[Any], arguments: dict[str, Any]) -> list[Any]:
    return (await _nodes_of(snapshot, [arguments["id"]])) * len(sources)


async def _nodes(snapshot: Snapshot, sources: list[Any], arguments: dict[str, Any]) -> list[Any]:
    ids = arguments["ids"]
    if len(ids) > MAX_NODE_IDS:
        raise ValueError("too many ids")
    return [await _nodes_of(snapshot, ids)] * len(sources)


QUERY = {
    "telephonyConfigs": FieldSpec(batch=_telephony_configs),
    "telephonyConfig": FieldSpec(batch=_telephony_config),
    "defaultOutboundTelephonyConfig": FieldSpec(batch=_default_config),
    "telephonyProviders": FieldSpec(get=lambda _: list(PROVIDER_METADATA.values())),
    "telephonyConfigWarnings": FieldSpec(batch=_warning_summary),
    "node": FieldSpec(batch=_node, abstract=True),
    "nodes": FieldSpec(batch=_nodes, abstract=True),
}

# --- TelephonyConfig ------------------------------------------------------------------------


async def _active_counts(snapshot: Snapshot, rows: list[Row]) -> list[int]:
    counts = await snapshot.number_counts([row.id for row in rows])
    return [counts[row.id].active for row in rows]


async def _phone_number_count(snapshot: Snapshot, rows: list[Row], arguments: dict[str, Any]) -> list[Any]:
    return await _active_counts(snapshot, rows)


async def _warnings(snapshot: Snapshot, rows: list[Row], arguments: dict[str, Any]) -> list[Any]:
    actives = await _active_counts(snapshot, rows)
    return [snapshot.warnings(row, active) for row, active in zip(rows, actives, strict=True)]


async def _warning_count(snapshot: Snapshot, rows: list[Row], arguments: dict[str, Any]) -> list[Any]:
    return [len(found) for found in await _warnings(snapshot, rows, arguments)]


async def _phone_numbers(snapshot: Snapshot, rows: list[Row], arguments: dict[str, Any]) -> list[Any]:
    limit, after_id = page_arguments(arguments.get("first"), arguments.get("after"))
    active_only = bool(arguments.get("activeOnly"))
    pages = await snapshot.number_pages(
        [row.id for row in rows], limit=limit + 1, after_id=after_id, active_only=active_only
    )
    return [_page(pages[row.id], limit, after_id, config_id=row.id, active_only=active_only) for row in rows]


def _config_of(snapshot: Snapshot) -> Callable[[Row], dict[str, object]]:
    def present(row: Row) -> dict[str, object]:
        return present_config(PROVIDERS[ProviderKey(row.provider)], stored_config(row, snapshot.vault))  # type: ignore[arg-type]

    return present


async def _config(snapshot: Snapshot, rows: list[Row], arguments: dict[str, Any]) -> list[Any]:
    return list(map(_config_of(snapshot), rows))


TELEPHONY_CONFIG = {
    "id": leaf("encode_id('TelephonyConfig', s.id)"),
    "name": leaf("s.name"),
    "provider": leaf("PROVIDER_NAMES[s.provider]"),
    "providerMetadata": FieldSpec(get=lambda row: PROVIDER_METADATA[ProviderKey(row.provider)]),
    "config": FieldSpec(batch=_config),
    "isDefaultOutbound": leaf("s.is_default_outbound"),
    "phoneNumberCount": FieldSpec(batch=_phone_number_count),
    "phoneNumbers": FieldSpec(batch=_phone_numbers),
    "warnings": FieldSpec(batch=_warnings),
    "warningCount": FieldSpec(batch=_warning_count),
    "version": leaf("s.version"),
    "createdAt": timestamp("created_at"),
    "updatedAt": timestamp("updated_at"),
}

# --- PhoneNumber --------------------------------------------------------------------------


async def _config_of_number(snapshot: Snapshot, rows: list[Row], arguments: dict[str, Any]) -> list[Any]:
    config_of = POSITIONS["phone_number"]["telephony_config_id"]
    configs = await snapshot.configs([row[config_of] for row in rows])
    found = [configs.get(row[config_of]) for row in rows]
    if any(config is None for config in found):
        raise RowGone("the configuration of a number")
    return found


PHONE_NUMBER = {
    "id": leaf("encode_id('PhoneNumber', s.id)"),
    "phoneNumber": leaf("s.phone_number"),
    "label": leaf("s.label"),
    "isActive": leaf("bool(s.is_active)"),  # plain rows of SQLite say 0 or 1
    "telephonyConfig": FieldSpec(batch=_config_of_number),
    "createdAt": timestamp("created_at"),
    "updatedAt": timestamp("updated_at"),
}

# --- Connections ----------------------------------------------------------------------------


async def _number_totals(snapshot: Snapshot, pages: list[Page], arguments: dict[str, Any]) -> list[Any]:
    counts = await snapshot.number_counts([page.config_id for page in pages])  # type: ignore[misc]
    return [counts[page.config_id].active if page.active_only else counts[page.config_id].total for page in pages]  # type: ignore[index]


async def _config_total(snapshot: Snapshot, pages: list[Page], arguments: dict[str, Any]) -> list[Any]:
    return [await snapshot.config_count()] * len(pages)


def _page_info(page: Page) -> PageInfo:
    ends = [page.rows[0][0], page.rows[-1][0]] if page.rows else []  # ids (first column): all PageInfo reads
    return PageInfo.of(ends, has_next=page.has_next, after_given=page.after_given)


def connection(total: Batch) -> dict[str, FieldSpec]:
    return {
        "edges": FieldSpec(get=lambda page: page.rows),
        "nodes": FieldSpec(get=lambda page: page.rows),
        "pageInfo": FieldSpec(get=_page_info),
        "totalCount": FieldSpec(batch=total),
    }


def edge() -> dict[str, FieldSpec]:
    return {"cursor": leaf("encode_cursor(s.id)"), "node": FieldSpec(get=lambda row: row)}


def attributes(*names: str) -> dict[str, FieldSpec]:
    """Fields read from attributes named as the fields are, in snake case."""
    return {name: attribute("".join("_" + c.lower() if c.isupper() else c for c in name)) for name in names}


FIELDS: dict[str, dict[str, FieldSpec]] = {
    type_name: {"__typename": TYPENAME, **fields}
    for type_name, fields in {
        "Query": QUERY,
        "TelephonyConfig": TELEPHONY_CONFIG,
        "PhoneNumber": PHONE_NUMBER,
        "TelephonyConfigConnection": connection(_config_total),
        "PhoneNumberConnection": connection(_number_totals),
        "TelephonyConfigEdge": edge(),
        "PhoneNumberEdge": edge(),
        "PageInfo": attributes("hasNextPage", "hasPreviousPage", "startCursor", "endCursor"),
        "ProviderMetadata": attributes("key", "name", "notes", "connectivity", "docsUrl", "fields"),
        "ProviderField": attributes(
            "key", "label", "type", "required", "secret", "description", "placeholder", "defaultValue"
        ),
        "TelephonyConfigWarning": attributes("code", "severity", "message", "field"),
        "TelephonyConfigWarningSummary": attributes(
            "totalCount", "configsWithWarningsCount", "byCode", "hasDefaultOutbound"
        ),
        "WarningCodeCount": attributes("code", "count"),
    }.items()
}
