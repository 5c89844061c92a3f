"""Retention: events older than GQL_TELEPHONY_AUDIT_RETENTION_DAYS are pruned in small batches,
recent ones kept, by one process at a time (the audit_retention lease)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

import pytest
import sqlalchemy as sa

from gql_telephony.app import build_runtime
from gql_telephony.domain.audit import AuditAction
from gql_telephony.domain.ids import encode_id
from gql_telephony.services.tenancy import create_organization
from gql_telephony.storage import leases
from gql_telephony.storage.tables import utcnow
from gql_telephony.workers.maintenance import AUDIT_RETENTION, Maintenance

from ..audit_support import event_count, happening, record
from ..support import counting_statements

CONFIG = encode_id("TelephonyConfig", 1)


async def seed(runtime, org_id: int, *, old: int, recent: int, days: int = 30) -> None:
    now = utcnow()
    updated = happening(AuditAction.TELEPHONY_CONFIG_UPDATED, CONFIG)
    await record(runtime, org_id, *[updated] * old, at=now - timedelta(days=days + 1))
    await record(runtime, org_id, *[updated] * recent, at=now - timedelta(days=days - 1))


async def data_version(runtime, org_id: int) -> int:
    async with runtime.db.reading() as session:
        return int((await session.execute(
            sa.text("SELECT data_version FROM organization WHERE id = :id"), {"id": org_id})).scalar_one())


async def test_old_events_are_pruned_in_batches_and_recent_ones_kept(runtime):
    org_id = await create_organization(runtime.db, "Acme")
    await seed(runtime, org_id, old=1_234, recent=5)
    version = await data_version(runtime, org_id)
    pruner = Maintenance(runtime.db, retention_days=30, batch=500)
    with counting_statements(runtime) as statements:
        assert await pruner.prune_once() == 1_234
    deletes = [s for s in statements if s.lstrip().upper().startswith("DELETE")]
    assert len(deletes) == 3  # 500, 500, 234: one transaction each
    assert await event_count(runtime.db) == 5
    # Cached answers that showed the pruned events are stale now.
    assert await data_version(runtime, org_id) > version
    # Nothing more to prune: one DELETE finds nothing.
    assert await pruner.prune_once() == 0
    assert await event_count(runtime.db) == 5


async def test_retention_zero_keeps_everything(runtime):
    org_id = await create_organization(runtime.db, "Acme")
    await seed(runtime, org_id, old=3, recent=2, days=4_000)
    assert await Maintenance(runtime.db, retention_days=0).prune_once() is None
    assert await event_count(runtime.db) == 5


async def test_the_lease_holder_prunes_and_the_others_skip_until_it_runs_out(runtime):
    org_id = await create_organization(runtime.db, "Acme")
    await seed(runtime, org_id, old=3, recent=1)
    first, second = (Maintenance(runtime.db, retention_days=30, every=60) for _ in range(2))
    assert await first.prune_once() == 3
    assert await second.prune_once() is None  # the first holds the lease
    await seed(runtime, org_id, old=2, recent=0)
    assert await first.prune_once() == 2  # the holder goes on, its lease extended
    async with runtime.db.writing() as session:  # the first process died: its lease ran out
        await session.execute(sa.text("UPDATE worker_lease SET until = :past"), {"past": utcnow() - timedelta(seconds=1)})
    await seed(runtime, org_id, old=1, recent=0)
    assert await second.prune_once() == 1
    assert await first.prune_once() is None


async def claim(runtime, owner: str, now) -> bool:
    async with runtime.db.writing() as session:
        return await leases.claim(session, name=AUDIT_RETENTION, owner=owner, now=now,
                                  until=now + timedelta(minutes=5))


async def test_concurrent_claims_from_two_runtimes_give_the_lease_to_one(settings):
    """Two server processes (two runtimes, each with its own engine and pool) claim at once, many
    times over: never both."""
    runtimes = [build_runtime(settings), build_runtime(settings)]
    try:
        for round_ in range(15):
            now = utcnow()
            if round_:  # the lease has run out: anyone may take it
                async with runtimes[0].db.writing() as session:
                    await session.execute(sa.text("UPDATE worker_lease SET until = :past"),
                                          {"past": now - timedelta(seconds=1)})

            won = await asyncio.gather(*(claim(runtimes[index % 2], f"owner-{round_}-{index}", now)
                                         for index in range(6)))
            assert won.count(True) == 1, (round_, won)
    finally:
        for runtime in runtimes:
            await runtime.provider_http.aclose()
            await runtime.broker.close()
            await runtime.db.dispose()


@pytest.mark.parametrize("retention_days", [400, 0])
async def test_the_setting_reaches_the_pruner(settings, retention_days):
    runtime = build_runtime(replace(settings, audit_retention_days=retention_days))
    try:
        assert runtime.maintenance.retention_days == retention_days
    finally:
        await runtime.provider_http.aclose()
        await runtime.broker.close()
        await runtime.db.dispose()


async def test_the_loop_prunes_by_itself_and_stops_when_cancelled(runtime):
    org_id = await create_organization(runtime.db, "Acme")
    await seed(runtime, org_id, old=7, recent=2)
    loop = asyncio.create_task(Maintenance(runtime.db, retention_days=30, every=0.05, batch=3).run())
    try:
        async with asyncio.timeout(10):
            while await event_count(runtime.db) > 2:
                await asyncio.sleep(0.02)
        assert not loop.done()  # it goes on, round after round
    finally:
        loop.cancel()
        await asyncio.gather(loop, return_exceptions=True)
    assert loop.cancelled()
    assert await event_count(runtime.db) == 2


async def test_a_retention_longer_than_the_calendar_prunes_nothing(runtime):
    org_id = await create_organization(runtime.db, "Acme")
    await seed(runtime, org_id, old=2, recent=1)
    assert await Maintenance(runtime.db, retention_days=10**9).prune_once() == 0
    assert await event_count(runtime.db) == 3
