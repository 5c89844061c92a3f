"""Read queries. Each takes many keys at once, so a loader answers a whole level in one statement.

They return plain rows (named tuples of the table's columns), not ORM objects: nothing is
changed through them, and building an ORM object per row was most of a read's cost. The row
types below only declare, for the type checker, the columns of the rows SQLAlchemy returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any, Literal, NamedTuple, Protocol, TypeAlias, overload

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from .driver import DriverReads, Rows
from .tables import ApiKey, Organization, PhoneNumberRow, TelephonyConfigRow

CONFIGS: sa.Table = TelephonyConfigRow.__table__  # type: ignore[attr-defined]  # SQLModel sets it undeclared
NUMBERS: sa.Table = PhoneNumberRow.__table__  # type: ignore[attr-defined]  # SQLModel sets it undeclared
KEYS: sa.Table = ApiKey.__table__  # type: ignore[attr-defined]  # SQLModel sets it undeclared
ORGANIZATIONS: sa.Table = Organization.__table__  # type: ignore[attr-defined]  # SQLModel sets it undeclared

# These queries return rows: any of these can run them (storage/driver.py: the fastest).
Reader = AsyncSession | AsyncConnection | DriverReads
# A SELECT of any columns: its rows are typed by the functions below, not by SQLAlchemy.
Query: TypeAlias = "sa.Select[*tuple[Any, ...]]"


class PositionalRow(Protocol):
    """A row read by position only: the driver's own tuple (number_pages with `plain`)."""

    def __getitem__(self, index: int, /) -> Any: ...


class ConfigRow(PositionalRow, Protocol):
    """A row of telephony_config as the queries return it. Read by position (POSITIONS) where
    every row of a large result is read; without created_at and updated_at when read with
    timestamps=False."""

    @property
    def id(self) -> int: ...
    @property
    def organization_id(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def name_key(self) -> str: ...
    @property
    def provider(self) -> str: ...
    @property
    def settings(self) -> dict[str, object]: ...
    @property
    def secrets(self) -> str: ...  # the Fernet token of every secret field
    @property
    def is_default_outbound(self) -> bool: ...
    @property
    def version(self) -> int: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def updated_at(self) -> datetime: ...


class NumberRow(PositionalRow, Protocol):
    """A row of phone_number as the queries return it; as ConfigRow, timestamps may be left out."""

    @property
    def id(self) -> int: ...
    @property
    def organization_id(self) -> int: ...
    @property
    def telephony_config_id(self) -> int: ...
    @property
    def phone_number(self) -> str: ...
    @property
    def label(self) -> str | None: ...
    @property
    def is_active(self) -> bool: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def updated_at(self) -> datetime: ...


class KeyLookupRow(Protocol):
    """An API key found by its hash, with its organization's data version."""

    @property
    def key_hash(self) -> str: ...
    @property
    def organization_id(self) -> int: ...
    @property
    def read_only(self) -> bool: ...
    @property
    def data_version(self) -> int: ...
    @property
    def id(self) -> int: ...
    @property
    def label(self) -> str | None: ...


class OrganizationRow(Protocol):
    """What the API shows of an organization: its name, and how far its data has moved."""

    @property
    def id(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def data_version(self) -> int: ...


class KeyListingRow(Protocol):
    """What a listing shows of an API key: never its hash."""

    @property
    def id(self) -> int: ...
    @property
    def label(self) -> str | None: ...
    @property
    def read_only(self) -> bool: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def last_used_at(self) -> datetime | None: ...
    @property
    def revoked_at(self) -> datetime | None: ...


TIMESTAMPS = ("created_at", "updated_at")
# Row attributes cost about a microsecond each in SQLAlchemy 2.1, positions a twentieth of that:
# code that reads every row of a large result reads by position. Timestamps are the last
# columns of both tables, so leaving them out moves no other column; the id is the first.
POSITIONS = {table.name: {column.name: index for index, column in enumerate(table.c)} for table in (CONFIGS, NUMBERS)}
assert all(
    table.c.keys()[0] == "id" and table.c.keys()[-2:] == list(TIMESTAMPS) for table in (CONFIGS, NUMBERS)
)


class NumberCounts(NamedTuple):
    total: int
    active: int


def _columns(table: sa.Table, timestamps: bool) -> list[sa.ColumnElement[Any]]:
    """Every column, or every column but the timestamps: parsing two dates per row was a large
    share of a big read, and most documents never ask for them."""
    return [column for column in table.c if timestamps or column.name not in TIMESTAMPS]


# Statements are built once, with bound parameters, and reused: building a SELECT (columns,
# subqueries) per request cost more than running it on a small dashboard.
IDS: sa.BindParameter[int] = sa.bindparam("ids", expanding=True)
ORG_ID: sa.BindParameter[int] = sa.bindparam("org_id")


@cache
def _key_by_hash() -> Query:
    return (
        sa.select(KEYS.c.key_hash, KEYS.c.organization_id, KEYS.c.read_only, ORGANIZATIONS.c.data_version,
                  KEYS.c.id, KEYS.c.label)
        .join(ORGANIZATIONS, ORGANIZATIONS.c.id == KEYS.c.organization_id)
        .where(KEYS.c.key_hash == sa.bindparam("key_hash"), KEYS.c.revoked_at.is_(None))
    )


@cache
def _organization() -> Query:
    return sa.select(ORGANIZATIONS.c.id, ORGANIZATIONS.c.name, ORGANIZATIONS.c.data_version).where(
        ORGANIZATIONS.c.id == ORG_ID
    )


@cache
def _live_key_ids() -> Query:
    return sa.select(KEYS.c.id).where(KEYS.c.id.in_(IDS), KEYS.c.revoked_at.is_(None))


@cache
def _configs(timestamps: bool, *, by_ids: bool = False, after: bool = False, limit: bool = False,
             default_only: bool = False) -> Query:
    query = sa.select(*_columns(CONFIGS, timestamps)).where(CONFIGS.c.organization_id == ORG_ID)
    if by_ids:
        query = query.where(CONFIGS.c.id.in_(IDS))
    if after:
        query = query.where(CONFIGS.c.id > sa.bindparam("after_id"))
    if default_only:
        query = query.where(CONFIGS.c.is_default_outbound)
    query = query.order_by(CONFIGS.c.id)
    return query.limit(sa.bindparam("limit")) if limit else query


@cache
def _config_count() -> Query:
    return sa.select(sa.func.count()).where(CONFIGS.c.organization_id == ORG_ID)


@cache
def _number_counts() -> Query:
    config_id = NUMBERS.c.telephony_config_id
    active = sa.func.sum(sa.case((NUMBERS.c.is_active, 1), else_=0))
    return sa.select(config_id, sa.func.count(), active).where(config_id.in_(IDS)).group_by(config_id)


def page_filters(after: bool, active_only: bool, *, after_id: str = "after_id") -> list[sa.ColumnElement[bool]]:
    """Which numbers a page of numbers may hold (a configuration's own aside)."""
    return [
        *([NUMBERS.c.id > sa.bindparam(after_id)] if after else []),
        *([NUMBERS.c.is_active] if active_only else []),
    ]


@cache
def _number_pages(timestamps: bool, after: bool, active_only: bool) -> Query:
    position = (
        sa.func.row_number()
        .over(partition_by=NUMBERS.c.telephony_config_id, order_by=NUMBERS.c.id)
        .label("position")
    )
    inner = sa.select(*_columns(NUMBERS, timestamps), position).where(
        NUMBERS.c.telephony_config_id.in_(IDS), *page_filters(after, active_only)
    )
    ranked = inner.subquery()
    columns = [ranked.c[column.name] for column in _columns(NUMBERS, timestamps)]
    return sa.select(*columns).where(ranked.c.position <= sa.bindparam("limit")).order_by(ranked.c.id)


@cache
def _numbers_by_ids(timestamps: bool) -> Query:
    return sa.select(*_columns(NUMBERS, timestamps)).where(NUMBERS.c.organization_id == ORG_ID, NUMBERS.c.id.in_(IDS))


async def api_key_by_hash(session: Reader, *, key_hash: str) -> KeyLookupRow | None:
    """The key, unless revoked, with its organization's data version, read in the same statement."""
    return (await session.execute(_key_by_hash(), {"key_hash": key_hash})).first()


async def organization(session: Reader, *, org_id: int) -> OrganizationRow | None:
    """The organization's name and data version (None: it is gone)."""
    return (await session.execute(_organization(), {"org_id": org_id})).first()


async def live_key_ids(session: Reader, *, ids: Sequence[int]) -> set[int]:
    """Those of the ids whose key still exists and is not revoked (one lookup by primary key)."""
    return set((await session.execute(_live_key_ids(), {"ids": list(ids)})).scalars())


async def api_keys_of_org(session: Reader, *, org_id: int, include_revoked: bool) -> list[KeyListingRow]:
    """An organization's keys, oldest first; never their hashes."""
    query = sa.select(KEYS.c.id, KEYS.c.label, KEYS.c.read_only, KEYS.c.created_at, KEYS.c.last_used_at,
                      KEYS.c.revoked_at).where(KEYS.c.organization_id == org_id).order_by(KEYS.c.id)
    if not include_revoked:
        query = query.where(KEYS.c.revoked_at.is_(None))
    return list((await session.execute(query)).all())


async def configs_by_ids(
    session: Reader, *, org_id: int, ids: Sequence[int], timestamps: bool = True
) -> dict[int, ConfigRow]:
    rows = await session.execute(_configs(timestamps, by_ids=True), {"org_id": org_id, "ids": list(ids)})
    return {row.id: row for row in rows.all()}


async def config_page(
    session: Reader, *, org_id: int, limit: int, after_id: int | None, timestamps: bool = True
) -> list[ConfigRow]:
    query = _configs(timestamps, after=after_id is not None, limit=True)
    rows = await session.execute(query, {"org_id": org_id, "after_id": after_id, "limit": limit})
    return rows.all()  # type: ignore[return-value]  # typed Sequence, built as a list


async def all_configs(session: Reader, *, org_id: int, timestamps: bool = True) -> list[ConfigRow]:
    rows = await session.execute(_configs(timestamps), {"org_id": org_id})
    return rows.all()  # type: ignore[return-value]  # typed Sequence, built as a list



async def count_configs(session: Reader, *, org_id: int) -> int:
    return int((await session.execute(_config_count(), {"org_id": org_id})).scalar_one())


async def default_config(session: Reader, *, org_id: int, timestamps: bool = True) -> ConfigRow | None:
    return (await session.execute(_configs(timestamps, default_only=True), {"org_id": org_id})).first()


async def number_counts(session: Reader, *, config_ids: Sequence[int]) -> dict[int, NumberCounts]:
    """All and active numbers per configuration, in one statement; configs without any are absent."""
    rows = await session.execute(_number_counts(), {"ids": list(config_ids)})
    return {key: NumberCounts(total, int(active)) for key, total, active in rows.all()}


# With `plain`, rows have positions only.
@overload
async def number_pages(
    session: Reader, *, config_ids: Sequence[int], limit: int, after_id: int | None, active_only: bool,
    timestamps: bool = True, plain: Literal[False] = False,
) -> dict[int, list[NumberRow]]: ...
@overload
async def number_pages(
    session: Reader, *, config_ids: Sequence[int], limit: int, after_id: int | None, active_only: bool,
    timestamps: bool = True, plain: bool,
) -> dict[int, list[PositionalRow]]: ...
async def number_pages(
    session: Reader,
    *,
    config_ids: Sequence[int],
    limit: int,
    after_id: int | None,
    active_only: bool,
    timestamps: bool = True,
    plain: bool = False,
) -> dict[int, list[NumberRow]] | dict[int, list[PositionalRow]]:
    """The first `limit` numbers of each configuration after a cursor, in one statement.

    `plain`: the driver's own tuples, read by position, without the timestamps and without
    SQLAlchemy's row objects and conversions (is_active may come as 0 or 1): a page of a
    thousand numbers is a large share of a dashboard's cost."""
    query = _number_pages(timestamps and not plain, after_id is not None, active_only)
    result = await session.execute(query, {"ids": list(config_ids), "limit": limit, "after_id": after_id})
    if isinstance(result, Rows):
        rows = result.raw() if plain else result.all()  # plain: the driver's tuples
    elif plain:
        # The DBAPI cursor: no result processing is needed here. (A SELECT's Result is a
        # CursorResult, which the type of execute() does not say.)
        rows = result.cursor.fetchall()  # type: ignore[attr-defined]  # see above
        result.close()
    else:
        rows = result.all()
    pages: dict[int, list[Any]] = {key: [] for key in config_ids}
    config_of = POSITIONS["phone_number"]["telephony_config_id"]
    for row in rows:
        pages[row[config_of]].append(row)
    return pages


async def numbers_by_ids(
    session: Reader, *, org_id: int, ids: Sequence[int], timestamps: bool = True
) -> dict[int, NumberRow]:
    rows = await session.execute(_numbers_by_ids(timestamps), {"org_id": org_id, "ids": list(ids)})
    return {row.id: row for row in rows.all()}


async def number_holder(session: Reader, *, org_id: int, phone_number: str) -> ConfigRow | None:
    """The configuration that holds a number, to name it when the number is taken."""
    query = (
        sa.select(CONFIGS)
        .join(NUMBERS, NUMBERS.c.telephony_config_id == CONFIGS.c.id)
        .where(NUMBERS.c.organization_id == org_id, NUMBERS.c.phone_number == phone_number)
    )
    return (await session.execute(query)).first()
