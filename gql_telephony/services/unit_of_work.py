"""The write unit of work every use case runs in."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ..storage.db import Database
from ..storage.driver_writes import DriverWrites, Writer
from ..storage.tables import Organization, WebhookEndpointRow

ORGANIZATION: sa.Table = Organization.__table__  # type: ignore[attr-defined]  # SQLModel sets it undeclared
ENDPOINTS: sa.Table = WebhookEndpointRow.__table__  # type: ignore[attr-defined]  # SQLModel sets it undeclared
# Set in a write's session.info when the organization had no enabled webhook endpoint as its
# transaction began and the write does not change endpoints: services/audit.py then skips the look-up.
NO_WEBHOOK_ENDPOINTS = "gql_telephony.no_webhook_endpoints"

_BUMP = (
    sa.update(ORGANIZATION).where(ORGANIZATION.c.id == sa.bindparam("org_id"))
    .values(data_version=ORGANIZATION.c.data_version + 1)
)
# The same, answering in its RETURNING whether any endpoint is enabled. SQLite only: its writers
# take turns from BEGIN IMMEDIATE, so the statement sees every committed endpoint. PostgreSQL's
# subquery would see the statement's snapshot, taken before it waited for the organization row,
# and miss an endpoint committed meanwhile; there the look-up stays a statement of its own.
_BUMP_SEEING_ENDPOINTS = _BUMP.returning(
    sa.exists().where(ENDPOINTS.c.organization_id == ORGANIZATION.c.id, ENDPOINTS.c.enabled)
)


def _no_violation_expected(error: IntegrityError) -> Exception:
    return error


ViolationError = Callable[[IntegrityError], Exception]
W = TypeVar("W", AsyncSession, DriverWrites)


def writing(
    db: Database, org_id: int, violation_error: ViolationError = _no_violation_expected,
    *, endpoints_unchanged: bool = False,
) -> AbstractAsyncContextManager[AsyncSession]:
    """One transaction on one organization's data; a broken constraint comes out as whatever
    `violation_error` makes of it (a user error), after the rollback.

    It starts by bumping the organization's data version, so the change and the new version
    commit together: a reader that sees the new version sees the change. The bump also locks
    the organization row first, which keeps one lock order (organization, then configurations)
    for every write and serializes the writes of one organization.

    `endpoints_unchanged`: the write adds, enables or changes no webhook endpoint, so whether
    the organization has an enabled one may be learnt once, first (see NO_WEBHOOK_ENDPOINTS).
    """
    return _unit(db.writing(), db, org_id, violation_error, endpoints_unchanged)


def writing_statements(
    db: Database, org_id: int, violation_error: ViolationError = _no_violation_expected,
    *, endpoints_unchanged: bool = False,
) -> AbstractAsyncContextManager[DriverWrites]:
    """`writing`, for a write made of Core statements only (no ORM row, nothing to flush): its
    driver runs them, without a session (storage/driver_writes.py), which is cheaper."""
    return _unit(db.writing_driver(), db, org_id, violation_error, endpoints_unchanged)


@asynccontextmanager
async def _unit(
    transaction: AbstractAsyncContextManager[W], db: Database, org_id: int, violation_error: ViolationError,
    endpoints_unchanged: bool,
) -> AsyncIterator[W]:
    try:
        async with transaction as begun:
            await _bump(begun, db, org_id, endpoints_unchanged)
            yield begun
    except IntegrityError as error:
        raise violation_error(error) from None


async def _bump(transaction: Writer, db: Database, org_id: int, endpoints_unchanged: bool) -> None:
    if endpoints_unchanged and db.is_sqlite:
        listened = (await transaction.execute(_BUMP_SEEING_ENDPOINTS, {"org_id": org_id})).scalar()
        if not listened:
            transaction.info[NO_WEBHOOK_ENDPOINTS] = True
    else:
        await transaction.execute(_BUMP, {"org_id": org_id})
