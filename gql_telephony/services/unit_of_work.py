"""The write unit of work every use case runs in."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ..storage.db import Database
from ..storage.tables import Organization


def _no_violation_expected(error: IntegrityError) -> Exception:
    return error


@asynccontextmanager
async def writing(
    db: Database, org_id: int, violation_error: Callable[[IntegrityError], Exception] = _no_violation_expected
) -> AsyncIterator[AsyncSession]:
    """One transaction on one organization's data; a broken constraint comes out as whatever
    `violation_error` makes of it (a user error), after the rollback.

    It starts by bumping the organization's data version, so the change and the new version
    commit together: a reader that sees the new version sees the change. The bump also locks
    the organization row first, which keeps one lock order (organization, then configurations)
    for every write and serializes the writes of one organization.
    """
    try:
        async with db.writing() as session:
            table = Organization.__table__  # type: ignore[attr-defined]  # SQLModel sets it undeclared
            await session.execute(
                sa.update(table).where(table.c.id == org_id).values(data_version=table.c.data_version + 1)
            )
            yield session
    except IntegrityError as error:
        raise violation_error(error) from None
