"""Reads of webhook endpoints, their deliveries and attempts, for the API. Plain rows, as in
queries.py; each read takes many keys at once (a level of a document in one statement)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any, Protocol

import sqlalchemy as sa

from .queries import ORG_ID, Reader
from .tables import WebhookAttemptRow, WebhookDeliveryRow, WebhookEndpointRow

ENDPOINTS: sa.Table = WebhookEndpointRow.__table__  # type: ignore[attr-defined]  # SQLModel sets it undeclared
DELIVERIES: sa.Table = WebhookDeliveryRow.__table__  # type: ignore[attr-defined]  # SQLModel sets it undeclared
ATTEMPTS: sa.Table = WebhookAttemptRow.__table__  # type: ignore[attr-defined]  # SQLModel sets it undeclared

FAILING = "FAILING"  # webhook_endpoint.disabled_reason of an endpoint the delivery worker disabled


class EndpointRow(Protocol):
    """What the API shows of an endpoint (its lease is the delivery worker's business). A
    mutation's payload gives the ORM row, which has these attributes too."""

    @property
    def id(self) -> int | None: ...
    @property
    def url(self) -> str: ...
    @property
    def description(self) -> str | None: ...
    @property
    def events(self) -> list[str]: ...
    @property
    def enabled(self) -> bool: ...
    @property
    def disabled_reason(self) -> str | None: ...
    @property
    def disabled_at(self) -> datetime | None: ...
    @property
    def failing_since(self) -> datetime | None: ...
    @property
    def secret(self) -> str: ...  # sealed
    @property
    def version(self) -> int: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def updated_at(self) -> datetime: ...


class DeliveryRow(Protocol):
    @property
    def id(self) -> int | None: ...
    @property
    def endpoint_id(self) -> int: ...
    @property
    def message_id(self) -> str: ...
    @property
    def event_type(self) -> str: ...
    @property
    def body(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def status(self) -> str: ...
    @property
    def attempt_count(self) -> int: ...
    @property
    def next_attempt_at(self) -> datetime | None: ...
    @property
    def last_attempt_at(self) -> datetime | None: ...
    @property
    def last_status_code(self) -> int | None: ...
    @property
    def last_error(self) -> str | None: ...
    @property
    def delivered_at(self) -> datetime | None: ...


class AttemptRow(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def delivery_id(self) -> int: ...
    @property
    def attempted_at(self) -> datetime: ...
    @property
    def status_code(self) -> int | None: ...
    @property
    def error(self) -> str | None: ...
    @property
    def duration_ms(self) -> int: ...


# The id first: a connection's cursors read it by position.
_ENDPOINT_COLUMNS = [ENDPOINTS.c[name] for name in (
    "id", "url", "description", "events", "enabled", "disabled_reason", "disabled_at", "failing_since",
    "secret", "version", "created_at", "updated_at",
)]
_DELIVERY_COLUMNS = [column for column in DELIVERIES.c if column.name != "organization_id"]


async def endpoint_page(session: Reader, *, org_id: int, limit: int, after_id: int | None) -> list[EndpointRow]:
    """Oldest first."""
    query = sa.select(*_ENDPOINT_COLUMNS).where(ENDPOINTS.c.organization_id == org_id)
    if after_id is not None:
        query = query.where(ENDPOINTS.c.id > after_id)
    return list((await session.execute(query.order_by(ENDPOINTS.c.id).limit(limit))).all())


async def count_endpoints(session: Reader, *, org_id: int) -> int:
    query = sa.select(sa.func.count()).select_from(ENDPOINTS).where(ENDPOINTS.c.organization_id == org_id)
    return int((await session.execute(query)).scalar_one())


async def endpoints_by_ids(session: Reader, *, org_id: int, ids: Sequence[int]) -> dict[int, EndpointRow]:
    if not ids:
        return {}
    rows = (await session.execute(
        sa.select(*_ENDPOINT_COLUMNS).where(ENDPOINTS.c.organization_id == org_id, ENDPOINTS.c.id.in_(list(ids)))
    )).all()
    return {row.id: row for row in rows}


async def delivery_page(
    session: Reader, *, org_id: int, endpoint_id: int, limit: int, after_id: int | None,
) -> list[DeliveryRow]:
    """Newest first: `after_id` is the last delivery of the page before, so this page's are older."""
    query = sa.select(*_DELIVERY_COLUMNS).where(
        DELIVERIES.c.endpoint_id == endpoint_id, DELIVERIES.c.organization_id == org_id
    )
    if after_id is not None:
        query = query.where(DELIVERIES.c.id < after_id)
    return list((await session.execute(query.order_by(DELIVERIES.c.id.desc()).limit(limit))).all())


async def count_deliveries(session: Reader, *, endpoint_ids: Sequence[int]) -> dict[int, int]:
    if not endpoint_ids:
        return {}
    rows = (await session.execute(
        sa.select(DELIVERIES.c.endpoint_id, sa.func.count())
        .where(DELIVERIES.c.endpoint_id.in_(list(endpoint_ids)))
        .group_by(DELIVERIES.c.endpoint_id)
    )).all()
    return {endpoint_id: int(count) for endpoint_id, count in rows}


async def attempts_of(session: Reader, *, delivery_ids: Sequence[int]) -> dict[int, list[AttemptRow]]:
    """Each delivery's attempts, oldest first, in one statement for all of them."""
    found: dict[int, list[Any]] = {delivery_id: [] for delivery_id in delivery_ids}
    if not delivery_ids:
        return found
    rows = (await session.execute(
        sa.select(ATTEMPTS).where(ATTEMPTS.c.delivery_id.in_(list(delivery_ids))).order_by(ATTEMPTS.c.id)
    )).all()
    for row in rows:
        found[row.delivery_id].append(row)
    return found


async def failing_endpoint_count(session: Reader, *, org_id: int) -> int:
    """The organization's endpoints the delivery worker disabled for failing (one warning each)."""
    return int((await session.execute(_failing_endpoint_count(), {"org_id": org_id})).scalar_one())


@cache
def _failing_endpoint_count() -> Any:
    """Built once: every dashboard's summary reads it."""
    return sa.select(sa.func.count()).select_from(ENDPOINTS).where(
        ENDPOINTS.c.organization_id == ORG_ID, ENDPOINTS.c.disabled_reason == FAILING, sa.not_(ENDPOINTS.c.enabled),
    )
