"""Audit events: written in the transaction of the change they describe."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, Protocol, TypeAlias

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from ..domain.audit import Actor, Happening
from .bulk import Unpacked, constant
from .driver import DriverReads
from .driver_writes import Writer
from .tables import AuditEventRow, Organization, UTCDateTime

AUDIT_EVENTS: sa.Table = AuditEventRow.__table__  # type: ignore[attr-defined]  # SQLModel sets it undeclared
ORGANIZATIONS: sa.Table = Organization.__table__  # type: ignore[attr-defined]  # SQLModel sets it undeclared
# A SELECT of any columns: its rows are typed by the functions below, not by SQLAlchemy.
Select: TypeAlias = "sa.Select[*tuple[Any, ...]]"


_INSERT_EVENTS = sa.insert(AUDIT_EVENTS)  # built once: every write runs it
# From this many events, one INSERT ... SELECT of them all (an import's thousands); below, an
# executemany (a write's few, with no rows to pack).
BULK_EVENTS = 50


async def insert_events(
    session: Writer, *, org_id: int, actor: Actor, happenings: Sequence[Happening], now: datetime,
) -> None:
    """One statement for all of a write's events; ids follow the order given."""
    if not happenings:
        return
    if len(happenings) >= BULK_EVENTS:
        await _insert_many_events(session, org_id=org_id, actor=actor, happenings=happenings, now=now)
        return
    await session.execute(_INSERT_EVENTS, [
        {
            "organization_id": org_id, "occurred_at": now, "action": happening.action.value,
            "entity_type": happening.entity_type, "entity_id": happening.entity_id,
            "api_key_id": actor.api_key_id, "api_key_label": actor.label, "request_id": actor.request_id,
            "changes": [change.as_json() for change in happening.changes],
        }
        for happening in happenings
    ])


async def _insert_many_events(
    session: Writer, *, org_id: int, actor: Actor, happenings: Sequence[Happening], now: datetime,
) -> None:
    """The same rows as one parameter (storage/bulk.py); the changes serialized all at once."""
    rows = [
        (happening.action.value, happening.entity_type, happening.entity_id,
         orjson.dumps([change.as_json() for change in happening.changes], option=orjson.OPT_NON_STR_KEYS).decode())
        for happening in happenings
    ]
    source = Unpacked(session, {"action": sa.Text(), "entity_type": sa.Text(), "entity_id": sa.Text(),
                                "changes": sa.JSON()}, rows)
    await session.execute(sa.insert(AUDIT_EVENTS).from_select(
        ["organization_id", "occurred_at", "action", "entity_type", "entity_id", "api_key_id", "api_key_label",
         "request_id", "changes"],
        sa.select(
            constant(org_id, sa.Integer()), constant(now, UTCDateTime()), source.column("action"),
            source.column("entity_type"), source.column("entity_id"), constant(actor.api_key_id, sa.Integer()),
            constant(actor.label, sa.Text()), constant(actor.request_id, sa.Text()), source.column("changes"),
        ).select_from(source.source).order_by(source.position),
    ))


# --- Reads: newest first, by id (ids grow with time; a cursor is an id) -----------------------


class AuditRow(Protocol):
    """A row of audit_event as the reads return it (id first, as every connection's rows)."""

    def __getitem__(self, index: int, /) -> Any: ...
    @property
    def id(self) -> int: ...
    @property
    def organization_id(self) -> int: ...
    @property
    def occurred_at(self) -> datetime: ...
    @property
    def action(self) -> str: ...
    @property
    def entity_type(self) -> str: ...
    @property
    def entity_id(self) -> str | None: ...
    @property
    def api_key_id(self) -> int | None: ...
    @property
    def api_key_label(self) -> str | None: ...
    @property
    def request_id(self) -> str | None: ...
    @property
    def changes(self) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class EventFilter:
    """What Query.auditEvents selects; None: any."""

    entity_id: str | None = None
    action: str | None = None
    since: datetime | None = None  # occurred at or after
    until: datetime | None = None  # occurred at or before


Reading = AsyncSession | AsyncConnection | DriverReads
_ORG_ID: sa.BindParameter[int] = sa.bindparam("org_id")


def _filtered(query: Select, events: EventFilter) -> Select:
    if events.entity_id is not None:
        query = query.where(AUDIT_EVENTS.c.entity_id == events.entity_id)
    if events.action is not None:
        query = query.where(AUDIT_EVENTS.c.action == events.action)
    if events.since is not None:
        query = query.where(AUDIT_EVENTS.c.occurred_at >= events.since)
    if events.until is not None:
        query = query.where(AUDIT_EVENTS.c.occurred_at <= events.until)
    return query


async def event_page(
    session: Reading, *, org_id: int, events: EventFilter, limit: int, before_id: int | None,
) -> list[AuditRow]:
    """The organization's newest `limit` events older than `before_id` that the filter selects."""
    query = _filtered(sa.select(AUDIT_EVENTS).where(AUDIT_EVENTS.c.organization_id == org_id), events)
    if before_id is not None:
        query = query.where(AUDIT_EVENTS.c.id < before_id)
    rows = await session.execute(query.order_by(AUDIT_EVENTS.c.id.desc()).limit(limit))
    return rows.all()  # type: ignore[return-value]  # typed Sequence, built as a list


async def count_events(session: Reading, *, org_id: int, events: EventFilter) -> int:
    query = _filtered(sa.select(sa.func.count()).where(AUDIT_EVENTS.c.organization_id == org_id), events)
    return int((await session.execute(query)).scalar_one())


@cache
def _entity_pages(before: bool) -> Select:
    position = (
        sa.func.row_number()
        .over(partition_by=AUDIT_EVENTS.c.entity_id, order_by=AUDIT_EVENTS.c.id.desc())
        .label("position")
    )
    inner = sa.select(AUDIT_EVENTS, position).where(
        AUDIT_EVENTS.c.organization_id == _ORG_ID, AUDIT_EVENTS.c.entity_id.in_(sa.bindparam("ids", expanding=True))
    )
    if before:
        inner = inner.where(AUDIT_EVENTS.c.id < sa.bindparam("before_id"))
    ranked = inner.subquery()
    columns = [ranked.c[column.name] for column in AUDIT_EVENTS.c]
    return sa.select(*columns).where(ranked.c.position <= sa.bindparam("limit")).order_by(ranked.c.id.desc())


async def entity_pages(
    session: Reading, *, org_id: int, entity_ids: Sequence[str], limit: int, before_id: int | None,
) -> dict[str, list[AuditRow]]:
    """Each entity's newest `limit` events older than `before_id`, for all of them in one statement."""
    pages: dict[str, list[AuditRow]] = {key: [] for key in entity_ids}
    if not pages:
        return pages
    rows = await session.execute(
        _entity_pages(before_id is not None),
        {"org_id": org_id, "ids": list(pages), "limit": limit, "before_id": before_id},
    )
    for row in rows.all():
        pages[row.entity_id].append(row)
    return pages


@cache
def _entity_counts() -> Select:
    entity_id = AUDIT_EVENTS.c.entity_id
    return (
        sa.select(entity_id, sa.func.count())
        .where(AUDIT_EVENTS.c.organization_id == _ORG_ID, entity_id.in_(sa.bindparam("ids", expanding=True)))
        .group_by(entity_id)
    )


async def entity_counts(session: Reading, *, org_id: int, entity_ids: Sequence[str]) -> dict[str, int]:
    """How many events each entity has (absent: none), in one statement."""
    if not entity_ids:
        return {}
    rows = await session.execute(_entity_counts(), {"org_id": org_id, "ids": list(dict.fromkeys(entity_ids))})
    return {key: int(count) for key, count in rows.all()}


async def events_by_ids(session: Reading, *, org_id: int, ids: Sequence[int]) -> dict[int, AuditRow]:
    query = sa.select(AUDIT_EVENTS).where(AUDIT_EVENTS.c.organization_id == org_id, AUDIT_EVENTS.c.id.in_(ids))
    return {row.id: row for row in (await session.execute(query)).all()}


# --- Following: what happened after an event already seen (api organizationChanges) ----------


class HappenedRow(Protocol):
    """An event as a follower reads it: its id (the organization's commit order), action and entity."""

    @property
    def id(self) -> int: ...
    @property
    def action(self) -> str: ...
    @property
    def entity_id(self) -> str | None: ...


@cache
def _happened_after() -> Select:
    return (
        sa.select(AUDIT_EVENTS.c.id, AUDIT_EVENTS.c.action, AUDIT_EVENTS.c.entity_id)
        .where(AUDIT_EVENTS.c.organization_id == _ORG_ID, AUDIT_EVENTS.c.id > sa.bindparam("after_id"))
        .order_by(AUDIT_EVENTS.c.id).limit(sa.bindparam("limit"))
    )


async def happened_after(session: Reading, *, org_id: int, after_id: int, limit: int) -> list[HappenedRow]:
    """The organization's first `limit` events after `after_id`, oldest first (ix_audit_event_org)."""
    rows = await session.execute(_happened_after(), {"org_id": org_id, "after_id": after_id, "limit": limit})
    return rows.all()  # type: ignore[return-value]  # typed Sequence, built as a list


async def last_event_id(session: Reading, *, org_id: int) -> int:
    """The organization's newest event id; 0 when it has none."""
    query = sa.select(sa.func.max(AUDIT_EVENTS.c.id)).where(AUDIT_EVENTS.c.organization_id == org_id)
    return int((await session.execute(query)).scalar_one() or 0)


# --- Retention ----------------------------------------------------------------------------------


async def prune(session: AsyncSession, *, older_than: datetime, batch: int) -> int:
    """Deletes up to `batch` of the oldest events that occurred before `older_than`; how many.
    Their organizations' data versions move, so that no cached answer shows them again."""
    oldest = (
        sa.select(AUDIT_EVENTS.c.id).where(AUDIT_EVENTS.c.occurred_at < older_than)
        .order_by(AUDIT_EVENTS.c.id).limit(batch).scalar_subquery()
    )
    deleted = (await session.execute(
        sa.delete(AUDIT_EVENTS).where(AUDIT_EVENTS.c.id.in_(oldest)).returning(AUDIT_EVENTS.c.organization_id)
    )).scalars().all()
    organizations = sorted(set(deleted))  # in id order, as every write locks them
    if organizations:
        await session.execute(
            sa.update(ORGANIZATIONS).where(ORGANIZATIONS.c.id.in_(organizations))
            .values(data_version=ORGANIZATIONS.c.data_version + 1)
        )
    return len(deleted)
