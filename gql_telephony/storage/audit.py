"""Audit events: written in the transaction of the change they describe."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from ..domain.audit import Actor, Happening
from .tables import AuditEventRow

AUDIT_EVENTS: sa.Table = AuditEventRow.__table__  # type: ignore[attr-defined]  # SQLModel sets it undeclared


async def insert_events(
    session: AsyncSession, *, org_id: int, actor: Actor, happenings: Sequence[Happening], now: datetime,
) -> None:
    """One statement for all of a write's events; ids follow the order given."""
    if not happenings:
        return
    await session.execute(sa.insert(AUDIT_EVENTS), [
        {
            "organization_id": org_id, "occurred_at": now, "action": happening.action.value,
            "entity_type": happening.entity_type, "entity_id": happening.entity_id,
            "api_key_id": actor.api_key_id, "api_key_label": actor.label, "request_id": actor.request_id,
            "changes": [change.as_json() for change in happening.changes],
        }
        for happening in happenings
    ])
