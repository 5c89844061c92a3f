"""Leases on jobs that one server process at a time runs (worker_lease rows, by job name).

A claim is one UPDATE that repeats the condition under which the lease may be taken (free,
run out, or already ours), so of two processes claiming at once only one row is updated: on
PostgreSQL the second UPDATE waits for the first's row lock and then finds the lease taken; on
SQLite writers take turns.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from .tables import WorkerLeaseRow

LEASES: sa.Table = WorkerLeaseRow.__table__  # type: ignore[attr-defined]  # SQLModel sets it undeclared


async def claim(session: AsyncSession, *, name: str, owner: str, now: datetime, until: datetime) -> bool:
    """Takes (or extends) the lease named `name` until `until`, unless another owner holds it
    past `now`; whether `owner` holds it now."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    # The row exists from the first claim on; creating it changes nobody's lease.
    await session.execute(insert(LEASES).values(name=name, owner=None, until=None).on_conflict_do_nothing())
    taken = await session.execute(
        sa.update(LEASES)
        .where(LEASES.c.name == name,
               sa.or_(LEASES.c.until.is_(None), LEASES.c.until <= now, LEASES.c.owner == owner))
        .values(owner=owner, until=until)
    )
    return int(taken.rowcount) == 1  # type: ignore[attr-defined]  # an UPDATE's result is a CursorResult


async def release(session: AsyncSession, *, name: str, owner: str) -> None:
    """Gives the lease back if `owner` holds it (another process may claim it at once)."""
    await session.execute(
        sa.update(LEASES).where(LEASES.c.name == name, LEASES.c.owner == owner).values(owner=None, until=None)
    )


async def holder(session: AsyncSession, *, name: str, now: datetime) -> str | None:
    """Who holds the lease at `now`, if anyone."""
    row = (await session.execute(
        sa.select(LEASES.c.owner).where(LEASES.c.name == name, LEASES.c.until > now)
    )).first()
    return None if row is None else row.owner
