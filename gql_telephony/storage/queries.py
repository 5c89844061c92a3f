"""Read queries. Each takes many keys at once, so a loader answers a whole level in one statement."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from .tables import ApiKey, PhoneNumberRow, TelephonyConfigRow


async def api_key_by_hash(session: AsyncSession, *, key_hash: str) -> ApiKey | None:
    return (await session.execute(select(ApiKey).where(ApiKey.key_hash == key_hash))).scalars().first()


async def configs_by_ids(
    session: AsyncSession, *, org_id: int, ids: Sequence[int]
) -> dict[int, TelephonyConfigRow]:
    rows = await session.execute(
        select(TelephonyConfigRow).where(
            TelephonyConfigRow.organization_id == org_id, col(TelephonyConfigRow.id).in_(ids)
        )
    )
    return {row.id: row for row in rows.scalars()}  # type: ignore[misc]


async def config_page(
    session: AsyncSession, *, org_id: int, limit: int, after_id: int | None
) -> list[TelephonyConfigRow]:
    query = select(TelephonyConfigRow).where(TelephonyConfigRow.organization_id == org_id)
    if after_id is not None:
        query = query.where(col(TelephonyConfigRow.id) > after_id)
    rows = await session.execute(query.order_by(col(TelephonyConfigRow.id)).limit(limit))
    return list(rows.scalars())


async def all_configs(session: AsyncSession, *, org_id: int) -> list[TelephonyConfigRow]:
    rows = await session.execute(
        select(TelephonyConfigRow)
        .where(TelephonyConfigRow.organization_id == org_id)
        .order_by(col(TelephonyConfigRow.id))
    )
    return list(rows.scalars())


async def count_configs(session: AsyncSession, *, org_id: int) -> int:
    query = sa.select(sa.func.count()).where(col(TelephonyConfigRow.organization_id) == org_id)
    return int((await session.execute(query)).scalar_one())


async def default_config(session: AsyncSession, *, org_id: int) -> TelephonyConfigRow | None:
    rows = await session.execute(
        select(TelephonyConfigRow).where(
            TelephonyConfigRow.organization_id == org_id, col(TelephonyConfigRow.is_default_outbound)
        )
    )
    return rows.scalars().first()


async def number_counts(
    session: AsyncSession, *, config_ids: Sequence[int], active_only: bool
) -> dict[int, int]:
    """Numbers per configuration (active ones only, or all); configs without any are absent."""
    config_id = col(PhoneNumberRow.telephony_config_id)
    query = sa.select(config_id, sa.func.count()).where(config_id.in_(config_ids)).group_by(config_id)
    if active_only:
        query = query.where(col(PhoneNumberRow.is_active))
    return {key: count for key, count in (await session.execute(query)).all()}


async def number_pages(
    session: AsyncSession,
    *,
    config_ids: Sequence[int],
    limit: int,
    after_id: int | None,
    active_only: bool,
) -> dict[int, list[PhoneNumberRow]]:
    """The first `limit` numbers of each configuration after a cursor, in one statement."""
    position = (
        sa.func.row_number()
        .over(partition_by=PhoneNumberRow.telephony_config_id, order_by=PhoneNumberRow.id)
        .label("position")
    )
    inner = sa.select(PhoneNumberRow, position).where(
        col(PhoneNumberRow.telephony_config_id).in_(config_ids)
    )
    if after_id is not None:
        inner = inner.where(col(PhoneNumberRow.id) > after_id)
    if active_only:
        inner = inner.where(col(PhoneNumberRow.is_active))
    ranked = inner.subquery()
    numbered = sa.orm.aliased(PhoneNumberRow, ranked)
    query = select(numbered).where(ranked.c.position <= limit).order_by(ranked.c.id)
    pages: dict[int, list[PhoneNumberRow]] = {key: [] for key in config_ids}
    for row in (await session.execute(query)).scalars():
        pages[row.telephony_config_id].append(row)
    return pages


async def numbers_by_ids(
    session: AsyncSession, *, org_id: int, ids: Sequence[int]
) -> dict[int, PhoneNumberRow]:
    rows = await session.execute(
        select(PhoneNumberRow).where(
            PhoneNumberRow.organization_id == org_id, col(PhoneNumberRow.id).in_(ids)
        )
    )
    return {row.id: row for row in rows.scalars()}  # type: ignore[misc]


async def number_holder(
    session: AsyncSession, *, org_id: int, phone_number: str
) -> TelephonyConfigRow | None:
    """The configuration that holds a number, to name it when the number is taken."""
    rows = await session.execute(
        select(TelephonyConfigRow)
        .join(PhoneNumberRow, col(PhoneNumberRow.telephony_config_id) == col(TelephonyConfigRow.id))
        .where(PhoneNumberRow.organization_id == org_id, PhoneNumberRow.phone_number == phone_number)
    )
    return rows.scalars().first()
