"""Read queries. Each takes many keys at once, so a loader answers a whole level in one statement.

They return plain rows (named tuples of the table's columns), not ORM objects: nothing is
changed through them, and building an ORM object per row was most of a read's cost.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from .tables import ApiKey, Organization, PhoneNumberRow, TelephonyConfigRow

CONFIGS: sa.Table = TelephonyConfigRow.__table__  # type: ignore[attr-defined]
NUMBERS: sa.Table = PhoneNumberRow.__table__  # type: ignore[attr-defined]
KEYS: sa.Table = ApiKey.__table__  # type: ignore[attr-defined]
ORGANIZATIONS: sa.Table = Organization.__table__  # type: ignore[attr-defined]

ConfigRow = Row  # the columns of telephony_config
NumberRow = Row  # the columns of phone_number
TIMESTAMPS = ("created_at", "updated_at")
# Row attributes cost about a microsecond each in SQLAlchemy 2.1, positions a twentieth of that:
# code that reads every row of a large result reads by position. Timestamps are the last
# columns of both tables, so leaving them out moves no other column.
POSITIONS = {table.name: {column.name: index for index, column in enumerate(table.c)} for table in (CONFIGS, NUMBERS)}
assert all(list(table.c.keys())[-2:] == list(TIMESTAMPS) for table in (CONFIGS, NUMBERS))


class NumberCounts(NamedTuple):
    total: int
    active: int


def _columns(table: sa.Table, timestamps: bool) -> list[sa.ColumnElement[Any]]:
    """Every column, or every column but the timestamps: parsing two dates per row was a large
    share of a big read, and most documents never ask for them."""
    return [column for column in table.c if timestamps or column.name not in TIMESTAMPS]


async def api_key_by_hash(session: AsyncSession, *, key_hash: str) -> Row | None:
    """The key with its organization's data version, read in the same statement."""
    query = (
        sa.select(KEYS.c.key_hash, KEYS.c.organization_id, KEYS.c.read_only, ORGANIZATIONS.c.data_version)
        .join(ORGANIZATIONS, ORGANIZATIONS.c.id == KEYS.c.organization_id)
        .where(KEYS.c.key_hash == key_hash)
    )
    return (await session.execute(query)).first()


async def configs_by_ids(
    session: AsyncSession, *, org_id: int, ids: Sequence[int], timestamps: bool = True
) -> dict[int, ConfigRow]:
    rows = await session.execute(
        sa.select(*_columns(CONFIGS, timestamps)).where(CONFIGS.c.organization_id == org_id, CONFIGS.c.id.in_(ids))
    )
    return {row.id: row for row in rows.all()}


async def config_page(
    session: AsyncSession, *, org_id: int, limit: int, after_id: int | None, timestamps: bool = True
) -> list[ConfigRow]:
    query = sa.select(*_columns(CONFIGS, timestamps)).where(CONFIGS.c.organization_id == org_id)
    if after_id is not None:
        query = query.where(CONFIGS.c.id > after_id)
    return (await session.execute(query.order_by(CONFIGS.c.id).limit(limit))).all()  # type: ignore[return-value]


async def all_configs(session: AsyncSession, *, org_id: int, timestamps: bool = True) -> list[ConfigRow]:
    query = sa.select(*_columns(CONFIGS, timestamps)).where(CONFIGS.c.organization_id == org_id).order_by(CONFIGS.c.id)
    return (await session.execute(query)).all()  # type: ignore[return-value]


async def count_configs(session: AsyncSession, *, org_id: int) -> int:
    query = sa.select(sa.func.count()).where(CONFIGS.c.organization_id == org_id)
    return int((await session.execute(query)).scalar_one())


async def default_config(session: AsyncSession, *, org_id: int, timestamps: bool = True) -> ConfigRow | None:
    query = sa.select(*_columns(CONFIGS, timestamps)).where(CONFIGS.c.organization_id == org_id, CONFIGS.c.is_default_outbound)
    return (await session.execute(query)).first()


async def number_counts(session: AsyncSession, *, config_ids: Sequence[int]) -> dict[int, NumberCounts]:
    """All and active numbers per configuration, in one statement; configs without any are absent."""
    config_id = NUMBERS.c.telephony_config_id
    active = sa.func.sum(sa.case((NUMBERS.c.is_active, 1), else_=0))
    query = sa.select(config_id, sa.func.count(), active).where(config_id.in_(config_ids)).group_by(config_id)
    return {key: NumberCounts(total, int(active)) for key, total, active in (await session.execute(query)).all()}


async def number_pages(
    session: AsyncSession,
    *,
    config_ids: Sequence[int],
    limit: int,
    after_id: int | None,
    active_only: bool,
    timestamps: bool = True,
) -> dict[int, list[NumberRow]]:
    """The first `limit` numbers of each configuration after a cursor, in one statement."""
    position = (
        sa.func.row_number()
        .over(partition_by=NUMBERS.c.telephony_config_id, order_by=NUMBERS.c.id)
        .label("position")
    )
    inner = sa.select(*_columns(NUMBERS, timestamps), position).where(NUMBERS.c.telephony_config_id.in_(config_ids))
    if after_id is not None:
        inner = inner.where(NUMBERS.c.id > after_id)
    if active_only:
        inner = inner.where(NUMBERS.c.is_active)
    ranked = inner.subquery()
    columns = [ranked.c[column.name] for column in _columns(NUMBERS, timestamps)]
    query = sa.select(*columns).where(ranked.c.position <= limit).order_by(ranked.c.id)
    pages: dict[int, list[NumberRow]] = {key: [] for key in config_ids}
    config_of = POSITIONS["phone_number"]["telephony_config_id"]
    for row in (await session.execute(query)).all():  # one fetch, not one call per row
        pages[row[config_of]].append(row)
    return pages


async def numbers_by_ids(
    session: AsyncSession, *, org_id: int, ids: Sequence[int], timestamps: bool = True
) -> dict[int, NumberRow]:
    rows = await session.execute(
        sa.select(*_columns(NUMBERS, timestamps)).where(NUMBERS.c.organization_id == org_id, NUMBERS.c.id.in_(ids))
    )
    return {row.id: row for row in rows.all()}


async def number_holder(session: AsyncSession, *, org_id: int, phone_number: str) -> ConfigRow | None:
    """The configuration that holds a number, to name it when the number is taken."""
    query = (
        sa.select(CONFIGS)
        .join(NUMBERS, NUMBERS.c.telephony_config_id == CONFIGS.c.id)
        .where(NUMBERS.c.organization_id == org_id, NUMBERS.c.phone_number == phone_number)
    )
    return (await session.execute(query)).first()
