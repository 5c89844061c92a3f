"""The check worker: claims what is due, runs it once, and schedules the next by the interval."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
import sqlalchemy as sa

from gql_telephony.storage import checks
from gql_telephony.storage.tables import utcnow
from gql_telephony.workers.provider_checks import CheckWorker

from .. import documents
from ..outbound.fakes.base import serve
from ..outbound.fakes.twilio import TwilioAccount, TwilioFake
from ..support import app_client

SID, TOKEN = "AC" + "2" * 32, "b" * 32


@pytest.fixture
def twilio():
    fake = TwilioFake()
    fake.add(TwilioAccount(SID, TOKEN))
    with serve(fake) as origin:
        yield fake, origin


async def due_at(runtime):
    async with runtime.db.reading() as session:
        return (await session.execute(sa.select(checks.CHECKS.c.due_at))).scalar_one()


@pytest.mark.parametrize("interval", [0, 600])
async def test_a_due_check_runs_once_then_waits_for_the_interval(api, settings, twilio, interval):
    fake, origin = twilio
    async with app_client(settings, beside=api.runtime, provider_api_origins={"TWILIO": origin}) as other:
        runtime = other.runtime
        worker = CheckWorker(runtime.db, runtime.checks, interval=interval)
        await documents.create_config(api.through(other), config={"account_sid": SID, "auth_token": TOKEN})
        assert await worker.run_due() == 1
        assert await worker.run_due() == 0  # nothing due: not asked again
        assert len(fake.seen(".json")) == 1
        due = await due_at(runtime)
        if interval == 0:
            assert due is None  # scheduled checks off: only a change asks again
        else:
            assert utcnow() + timedelta(seconds=interval * 0.85) < due < utcnow() + timedelta(seconds=interval * 1.15)
        async with runtime.db.reading() as session:
            stored = (await session.execute(sa.select(checks.CHECKS.c.status, checks.CHECKS.c.lease_owner))).one()
        assert tuple(stored) == ("ACTIVE", None)  # answered, and the lease given back


async def test_a_slow_provider_holds_its_own_slot_not_the_others(api, settings):
    """With two slots and one account whose provider answers in 2 seconds, the five others are
    all checked meanwhile: a freed slot is filled at once, not when a whole batch is done."""
    fake = TwilioFake()
    slow = fake.add(TwilioAccount("AC" + "5" * 32, TOKEN))
    quick = [fake.add(TwilioAccount("AC" + f"{n}" * 32, TOKEN)) for n in (6, 7, 8, 9, 1)]
    inner = fake.app

    async def slow_for_one(scope, receive, send):
        if scope["type"] == "http" and slow.sid in scope["path"]:
            await asyncio.sleep(2)
        await inner(scope, receive, send)

    fake.app = slow_for_one
    with serve(fake) as origin:
        async with app_client(settings, beside=api.runtime, provider_api_origins={"TWILIO": origin},
                              provider_timeout=5.0) as other:
            for n, account in enumerate([slow, *quick]):
                await documents.create_config(api.through(other), name=f"Twilio {n}",
                                              config={"account_sid": account.sid, "auth_token": TOKEN})
            worker = CheckWorker(other.runtime.db, other.runtime.checks, interval=0, batch=2, poll=0.05)
            loop = asyncio.create_task(worker.run())
            try:
                await asyncio.sleep(1.2)
                async with other.runtime.db.reading() as session:
                    statuses = (await session.execute(sa.select(checks.CHECKS.c.status))).scalars().all()
            finally:
                loop.cancel()
                await asyncio.gather(loop, return_exceptions=True)
    assert sorted(statuses, key=str) == ["ACTIVE"] * 5 + [None]  # the slow one still being asked
