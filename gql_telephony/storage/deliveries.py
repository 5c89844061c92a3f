"""Webhook deliveries on their way out: claiming an endpoint with a lease, its due deliveries,
recording each attempt, giving the lease back.

The lease is on the endpoint, not on each delivery: whoever holds it is the only sender of that
endpoint's deliveries, which it sends one at a time in id order (the commit order of the
organization's writes), so first attempts go out in commit order and no delivery is sent by two
processes at once. The claim is one UPDATE whose WHERE repeats the claimable condition, as in
storage/checks.py: on PostgreSQL a process racing for the same row re-reads it after the first
commits and finds the lease taken (SKIP LOCKED lets it pass over rows being claimed); on SQLite
writers take turns. Each claim has its own owner token. Before each send the holder renews the
lease (`renew`, which fails once the lease ran out, and re-reads the URL and secrets), so a send
always starts with a whole lease ahead of it; every write of an attempt first locks the endpoint
row where the token is still the holder's: a late finisher whose lease was taken over writes
nothing.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from .queries import Reader
from .tables import WebhookAttemptRow, WebhookDeliveryRow, WebhookEndpointRow

ENDPOINTS: sa.Table = WebhookEndpointRow.__table__  # type: ignore[attr-defined]  # SQLModel sets it undeclared
DELIVERIES: sa.Table = WebhookDeliveryRow.__table__  # type: ignore[attr-defined]  # SQLModel sets it undeclared
ATTEMPTS: sa.Table = WebhookAttemptRow.__table__  # type: ignore[attr-defined]  # SQLModel sets it undeclared

PENDING, DELIVERED, FAILED = "PENDING", "DELIVERED", "FAILED"


@dataclass(frozen=True)
class EndpointClaim:
    """An endpoint this process may send to while `owner` (this claim's token) holds its lease."""

    endpoint_id: int
    org_id: int
    owner: str


@dataclass(frozen=True)
class Lease:
    """The endpoint as it is when its lease is renewed, just before a send."""

    url: str
    secret: str  # sealed
    previous_secret: str | None  # sealed
    previous_secret_until: datetime | None
    failing_since: datetime | None


@dataclass(frozen=True)
class Due:
    id: int
    message_id: str
    body: str
    attempt_count: int
    created_at: datetime
    next_attempt_at: datetime


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to, as stored."""

    attempted_at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int
    delivered: bool
    next_attempt_at: datetime | None  # for a failure; None: given up


# --- Claiming -----------------------------------------------------------------------------------


def _due(now: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(DELIVERIES.c.status == PENDING, DELIVERIES.c.next_attempt_at <= now)


def _claimable(now: datetime) -> sa.ColumnElement[bool]:
    """Enabled, with a due delivery, and nobody's live lease."""
    return sa.and_(
        ENDPOINTS.c.enabled,
        sa.or_(ENDPOINTS.c.lease_owner.is_(None), ENDPOINTS.c.lease_until < now),
        ENDPOINTS.c.id.in_(sa.select(DELIVERIES.c.endpoint_id).where(_due(now))),
    )


async def any_due(session: Reader, *, now: datetime) -> bool:
    """Whether an endpoint could be claimed: a read, so that an idle poll takes no write lock."""
    found = await session.execute(sa.select(ENDPOINTS.c.id).where(_claimable(now)).limit(1))
    return found.first() is not None


async def claim_endpoints(
    session: AsyncSession, *, owner: str, now: datetime, lease_until: datetime, limit: int,
    serving: Collection[int] = (),
) -> list[EndpointClaim]:
    """Up to `limit` claimable endpoints, the one served longest ago first (a release leaves
    `lease_until` at its time, so a busy endpoint does not keep the others waiting); none of
    those this process is still `serving` (a task whose lease ran out may still be sending)."""
    claimable = (
        sa.select(ENDPOINTS.c.id).where(_claimable(now), ENDPOINTS.c.id.not_in(list(serving)))
        .order_by(ENDPOINTS.c.lease_until.nulls_first(), ENDPOINTS.c.id).limit(limit)
        .with_for_update(skip_locked=True, of=ENDPOINTS, key_share=True)
        .scalar_subquery()
    )
    claimed = await session.execute(
        sa.update(ENDPOINTS)
        .where(ENDPOINTS.c.id.in_(claimable), _claimable(now))
        .values(lease_owner=owner, lease_until=lease_until)
        .returning(ENDPOINTS.c.id, ENDPOINTS.c.organization_id)
    )
    return [EndpointClaim(row.id, row.organization_id, owner) for row in claimed.all()]


async def renew(
    session: AsyncSession, *, endpoint_id: int, owner: str, now: datetime, lease_until: datetime,
) -> Lease | None:
    """A whole lease again for the next send, and the endpoint as it is now (a rotated secret or
    a new URL counts from the next send); None when the lease ran out or the endpoint was
    disabled or deleted meanwhile: send nothing more."""
    renewed = (await session.execute(
        sa.update(ENDPOINTS)
        .where(ENDPOINTS.c.id == endpoint_id, ENDPOINTS.c.lease_owner == owner, ENDPOINTS.c.lease_until > now,
               ENDPOINTS.c.enabled)
        .values(lease_until=lease_until)
        .returning(ENDPOINTS.c.url, ENDPOINTS.c.secret, ENDPOINTS.c.previous_secret,
                   ENDPOINTS.c.previous_secret_until, ENDPOINTS.c.failing_since)
    )).first()
    return Lease(*renewed) if renewed is not None else None


_DUE_COLUMNS = (DELIVERIES.c.id, DELIVERIES.c.message_id, DELIVERIES.c.body, DELIVERIES.c.attempt_count,
                DELIVERIES.c.created_at, DELIVERIES.c.next_attempt_at)


async def due_deliveries(
    session: Reader, *, endpoint_id: int, now: datetime, limit: int, skip: Collection[int] = (),
) -> list[Due]:
    """The endpoint's due deliveries, oldest (by commit) first, leaving out those in `skip`
    (already tried under this lease: each is tried at most once per lease)."""
    return [Due(*row) for row in (await session.execute(
        sa.select(*_DUE_COLUMNS).where(DELIVERIES.c.endpoint_id == endpoint_id, _due(now),
                                       DELIVERIES.c.id.not_in(list(skip)))
        .order_by(DELIVERIES.c.id).limit(limit)
    )).all()]


async def oldest_pending(session: Reader, *, endpoint_id: int) -> Due | None:
    """The endpoint's oldest delivery not yet delivered nor given up, due or not."""
    row = (await session.execute(
        sa.select(*_DUE_COLUMNS).where(DELIVERIES.c.endpoint_id == endpoint_id, DELIVERIES.c.status == PENDING)
        .order_by(DELIVERIES.c.id).limit(1)
    )).first()
    return Due(*row) if row is not None else None


async def release(session: AsyncSession, *, endpoint_id: int, owner: str, now: datetime) -> None:
    """The lease ends; `lease_until` keeps the time, which orders the next claims."""
    await session.execute(
        sa.update(ENDPOINTS).where(ENDPOINTS.c.id == endpoint_id, ENDPOINTS.c.lease_owner == owner)
        .values(lease_owner=None, lease_until=now)
    )


# --- Recording ----------------------------------------------------------------------------------


async def hold(session: AsyncSession, *, endpoint_id: int, owner: str) -> Any:
    """The endpoint's row (enabled, failing_since), locked until the transaction ends, if this
    process still holds its lease; None otherwise (taken over: write nothing)."""
    found = await session.execute(
        sa.select(ENDPOINTS.c.enabled, ENDPOINTS.c.failing_since)
        .where(ENDPOINTS.c.id == endpoint_id, ENDPOINTS.c.lease_owner == owner)
        # FOR NO KEY UPDATE: a write inserting a delivery for this endpoint (its foreign key
        # takes KEY SHARE on the row) does not wait for the attempt to be recorded.
        .with_for_update(key_share=True)
    )
    return found.first()


async def record_attempt(
    session: AsyncSession, *, endpoint_id: int, delivery: Due, outcome: Outcome, failing_since: datetime | None,
) -> bool:
    """The attempt's row and the delivery's new state; the endpoint's `failing_since` moves
    (set at the first failure after a success, cleared by a success), and a success after
    failures makes the endpoint's waiting retries due now. Call after `hold`. False when the
    delivery was not in the state it was read in (nothing written)."""
    at = outcome.attempted_at
    values: dict[str, Any] = {
        "attempt_count": delivery.attempt_count + 1, "last_attempt_at": at,
        "last_status_code": outcome.status_code, "last_error": outcome.error,
    }
    if outcome.delivered:
        values.update(status=DELIVERED, delivered_at=at, next_attempt_at=None)
    elif outcome.next_attempt_at is None:
        values.update(status=FAILED, next_attempt_at=None)
    else:
        values.update(next_attempt_at=outcome.next_attempt_at)
    updated = await session.execute(
        sa.update(DELIVERIES)
        .where(DELIVERIES.c.id == delivery.id, DELIVERIES.c.status == PENDING,
               DELIVERIES.c.attempt_count == delivery.attempt_count)
        .values(**values)
    )
    if updated.rowcount != 1:  # type: ignore[attr-defined]  # an UPDATE's Result is a CursorResult
        return False
    await session.execute(sa.insert(ATTEMPTS).values(
        delivery_id=delivery.id, attempted_at=at, status_code=outcome.status_code, error=outcome.error,
        duration_ms=outcome.duration_ms,
    ))
    if outcome.delivered and failing_since is not None:
        await session.execute(sa.update(ENDPOINTS).where(ENDPOINTS.c.id == endpoint_id).values(failing_since=None))
        await session.execute(
            sa.update(DELIVERIES)
            .where(DELIVERIES.c.endpoint_id == endpoint_id, DELIVERIES.c.status == PENDING,
                   DELIVERIES.c.next_attempt_at > at)
            .values(next_attempt_at=at)
        )
    elif not outcome.delivered and failing_since is None:
        await session.execute(sa.update(ENDPOINTS).where(ENDPOINTS.c.id == endpoint_id).values(failing_since=at))
    return True


async def disable_failing(session: AsyncSession, *, endpoint_id: int, now: datetime) -> None:
    await session.execute(
        sa.update(ENDPOINTS).where(ENDPOINTS.c.id == endpoint_id).values(
            enabled=False, disabled_reason="FAILING", disabled_at=now, version=ENDPOINTS.c.version + 1,
            updated_at=now,
        )
    )
