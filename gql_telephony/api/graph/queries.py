"""The Query root."""

from __future__ import annotations

import asyncio

import strawberry

from ...services.reads import warning_summary
from .arguments import MAX_NODE_IDS, bad_user_input, page_arguments
from .ids import decode_id, decode_id_of, encode_cursor
from .types import (
    PROVIDER_METADATA,
    Info,
    Node,
    PageInfo,
    PhoneNumberType,
    ProviderMetadataType,
    TelephonyConfigConnection,
    TelephonyConfigEdge,
    TelephonyConfigType,
    TelephonyConfigWarningSummaryType,
)


async def load_node(info: Info, global_id: str) -> Node | None:
    """Any object of the caller's organization by global id; anything else is null."""
    decoded = decode_id(global_id)
    if decoded is None:
        return None
    type_name, key = decoded
    loaders = info.context.loaders
    if type_name == "TelephonyConfig":
        row = await loaders.config_by_id.load(key)
        return TelephonyConfigType.of(row) if row is not None else None
    if type_name == "PhoneNumber":
        number = await loaders.number_by_id.load(key)
        return PhoneNumberType.of(number) if number is not None else None
    return None


@strawberry.type
class Query:
    @strawberry.field
    async def telephony_configs(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> TelephonyConfigConnection:
        limit, after_id = page_arguments(first, after)
        rows = await info.context.loaders.config_page(limit=limit + 1, after_id=after_id)
        page = [TelephonyConfigType.of(row) for row in rows[:limit]]
        return TelephonyConfigConnection(
            edges=[TelephonyConfigEdge(cursor=encode_cursor(c.row.id), node=c) for c in page],  # type: ignore[arg-type]
            nodes=page,
            page_info=PageInfo.of([c.row.id for c in page], has_next=len(rows) > limit, after_given=after_id is not None),  # type: ignore[misc]
        )

    @strawberry.field
    async def telephony_config(self, info: Info, id: strawberry.ID) -> TelephonyConfigType | None:
        key = decode_id_of("TelephonyConfig", id)
        row = await info.context.loaders.config_by_id.load(key) if key is not None else None
        return TelephonyConfigType.of(row) if row is not None else None

    @strawberry.field
    async def default_outbound_telephony_config(self, info: Info) -> TelephonyConfigType | None:
        row = await info.context.loaders.default_config()
        return TelephonyConfigType.of(row) if row is not None else None

    @strawberry.field
    def telephony_providers(self) -> list[ProviderMetadataType]:
        return list(PROVIDER_METADATA.values())

    @strawberry.field
    async def telephony_config_warnings(self, info: Info) -> TelephonyConfigWarningSummaryType:
        runtime = info.context.runtime
        summary = await warning_summary(runtime.db, runtime.vault, info.context.org_id)
        return TelephonyConfigWarningSummaryType.of(summary)

    @strawberry.field
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        return await load_node(info, id)

    @strawberry.field
    async def nodes(self, info: Info, ids: list[strawberry.ID]) -> list[Node | None]:
        if len(ids) > MAX_NODE_IDS:
            raise bad_user_input(f"`ids` takes at most {MAX_NODE_IDS} ids.")
        return list(await asyncio.gather(*(load_node(info, global_id) for global_id in ids)))
