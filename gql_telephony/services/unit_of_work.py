"""The write unit of work every use case runs in."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ..storage.db import Database


@asynccontextmanager
async def writing(db: Database, violation_error: Callable[[IntegrityError], Exception]) -> AsyncIterator[AsyncSession]:
    """One transaction; a broken constraint comes out as whatever `violation_error` makes of it
    (a user error), after the rollback."""
    try:
        async with db.writing() as session:
            yield session
    except IntegrityError as error:
        raise violation_error(error) from None
