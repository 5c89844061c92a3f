"""The webhook outbox: a delivery row per subscribed endpoint, written in the transaction of the
change it announces, so that a change is announced if and only if it commits."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime

import orjson
import sqlalchemy as sa

from ..domain.audit import Happening, WebhookEventType, webhook_body, webhook_data, webhook_event_of
from .driver_writes import Writer
from .tables import WebhookDeliveryRow, WebhookEndpointRow

ENDPOINTS: sa.Table = WebhookEndpointRow.__table__  # type: ignore[attr-defined]  # SQLModel sets it undeclared
DELIVERIES: sa.Table = WebhookDeliveryRow.__table__  # type: ignore[attr-defined]  # SQLModel sets it undeclared


# Built once: every write runs it (on PostgreSQL; on SQLite where an endpoint is enabled).
_SUBSCRIPTIONS = (
    sa.select(ENDPOINTS.c.id, ENDPOINTS.c.events)
    .where(ENDPOINTS.c.organization_id == sa.bindparam("org_id"), ENDPOINTS.c.enabled)
)


def new_message_id() -> str:
    """A webhook-id: the same on every attempt of a delivery, so receivers can de-duplicate."""
    return "msg_" + secrets.token_urlsafe(18)


async def subscriptions(session: Writer, *, org_id: int) -> dict[int, frozenset[WebhookEventType]]:
    """The organization's enabled endpoints and the events each wants."""
    rows = (await session.execute(_SUBSCRIPTIONS, {"org_id": org_id})).all()
    return {
        row.id: frozenset(WebhookEventType(value) for value in row.events if value in WebhookEventType.__members__)
        for row in rows
    }


async def enqueue(
    session: Writer, *, org_id: int, happenings: Sequence[Happening], now: datetime,
    endpoints: dict[int, frozenset[WebhookEventType]],
) -> int:
    """A delivery for each happening that is a webhook event and each endpoint that wants it,
    due now, in the order given (ids are the commit order of one organization: its writes take
    turns on the organization row). How many were written."""
    rows = []
    for happening in happenings:
        event = webhook_event_of(happening.action)
        if event is None:
            continue
        wanting = [endpoint_id for endpoint_id, events in endpoints.items() if event in events]
        if not wanting:
            continue
        body = orjson.dumps(webhook_body(event, webhook_data(happening), now)).decode()
        message_id = new_message_id()
        rows += [
            {"organization_id": org_id, "endpoint_id": endpoint_id, "message_id": message_id,
             "event_type": event.value, "body": body, "created_at": now, "status": "PENDING",
             "attempt_count": 0, "next_attempt_at": now}
            for endpoint_id in wanting
        ]
    if rows:
        await session.execute(sa.insert(DELIVERIES), rows)
    return len(rows)
