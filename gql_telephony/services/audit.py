"""What every write does besides its change: keep an audit event per happening, and write the
webhook deliveries (the outbox) that announce it, in the same transaction."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from ..crypto import Vault
from ..domain.audit import Actor, AuditAction, Change, Happening, WebhookEventType
from ..domain.ids import encode_id
from ..domain.warnings import WarningSummary
from ..storage import audit, outbox
from ..storage.driver_writes import Writer
from ..storage.tables import Organization, utcnow
from .reads import warning_summary_in
from .unit_of_work import NO_WEBHOOK_ENDPOINTS

ORGANIZATION: sa.Table = Organization.__table__  # type: ignore[attr-defined]  # SQLModel sets it undeclared


async def record(
    session: Writer, vault: Vault, *, org_id: int, actor: Actor, happenings: Sequence[Happening],
    warnings_may_change: bool = True,
) -> int:
    """Call inside the write's transaction, after its change is flushed; returns how many webhook
    deliveries it queued (the caller wakes the sender after the commit only when some were: most
    organizations have no endpoint, and a sender woken for nothing still asks the database).

    A write that may have changed the organization's warning summary (most do) also announces
    WARNINGS_CHANGED when it did, if an endpoint wants to know: the summary is computed only then. With no happenings
    (a provider check whose answers moved no status, but perhaps a number's voice capability)
    only that comparison runs."""
    now = utcnow()
    if happenings:
        await audit.insert_events(session, org_id=org_id, actor=actor, happenings=happenings, now=now)
    elif not warnings_may_change:
        return 0
    # `writing` may have learnt already that no endpoint listens (most organizations have none).
    no_endpoints = session.info.get(NO_WEBHOOK_ENDPOINTS, False)
    endpoints = {} if no_endpoints else await outbox.subscriptions(session, org_id=org_id)
    announced = list(happenings)
    if warnings_may_change and any(WebhookEventType.WARNINGS_CHANGED in events for events in endpoints.values()):
        changed = await _warnings_changed(session, vault, org_id)
        if changed is not None:
            announced.append(changed)
    return await outbox.enqueue(session, org_id=org_id, happenings=announced, now=now, endpoints=endpoints)


async def reset_warnings_digest(session: AsyncSession, vault: Vault, *, org_id: int) -> None:
    """Start comparing from the summary as it is now (an endpoint begins to want WARNINGS_CHANGED:
    changes made while nobody listened are not announced late)."""
    await _store_digest(session, org_id, _digest(await warning_summary_in(session, vault, org_id)))


async def _warnings_changed(session: Writer, vault: Vault, org_id: int) -> Happening | None:
    summary = await warning_summary_in(session, vault, org_id)
    digest = _digest(summary)
    stored = (await session.execute(
        sa.select(ORGANIZATION.c.warnings_digest).where(ORGANIZATION.c.id == org_id)
    )).scalar_one_or_none()
    if stored == digest:
        return None
    await _store_digest(session, org_id, digest)
    if stored is None:
        return None  # the first look: nothing to compare with
    return Happening(AuditAction.WARNINGS_CHANGED, "Organization", encode_id("Organization", org_id), (
        Change("totalCount", after=summary.total_count),
        Change("configsWithWarningsCount", after=summary.configs_with_warnings_count),
    ))


async def _store_digest(session: Writer, org_id: int, digest: str) -> None:
    await session.execute(sa.update(ORGANIZATION).where(ORGANIZATION.c.id == org_id).values(warnings_digest=digest))


def _digest(summary: WarningSummary) -> str:
    facts = [summary.total_count, summary.configs_with_warnings_count, summary.has_default_outbound,
             [(code.value, count) for code, count in summary.by_code]]
    return hashlib.sha256(orjson.dumps(facts)).hexdigest()
