"""Audit events put straight into the database, as a write's transaction puts them, for tests of
the reads: at a chosen time, by a chosen actor."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from gql_telephony.domain.audit import Actor, AuditAction, Change, Happening
from gql_telephony.services import audit as audit_service
from gql_telephony.services.unit_of_work import writing
from gql_telephony.storage import audit
from gql_telephony.storage.db import Database


def happening(action: AuditAction = AuditAction.TELEPHONY_CONFIG_UPDATED, entity_id: str | None = None,
              *changes: Change, entity_type: str = "TelephonyConfig") -> Happening:
    return Happening(action, entity_type, entity_id, tuple(changes))


CI_KEY = Actor(7, "ci", "req-1")


async def record(runtime: Any, org_id: int, *happenings: Happening, actor: Actor = CI_KEY,
                 at: datetime | None = None) -> None:
    """In one write of the organization, as a service would; `at`: the time the events bear."""
    async with writing(runtime.db, org_id) as session:
        if at is None:
            await audit_service.record(session, runtime.vault, org_id=org_id, actor=actor, happenings=happenings)
        else:
            await audit.insert_events(session, org_id=org_id, actor=actor, happenings=happenings, now=at)


async def stored_changes(db: Database, org_id: int, changes: list[dict[str, Any]], *, action: str,
                         entity_id: str) -> None:
    """An event whose stored changes are exactly these (e.g. what an older writer might have kept)."""
    async with db.writing() as session:
        await session.execute(sa.insert(audit.AUDIT_EVENTS).values(
            organization_id=org_id, occurred_at=datetime.now().astimezone(), action=action,
            entity_type="TelephonyConfig", entity_id=entity_id, changes=changes,
        ))


async def event_count(db: Database) -> int:
    async with db.reading() as session:
        return int((await session.execute(sa.select(sa.func.count()).select_from(audit.AUDIT_EVENTS))).scalar_one())
