"""The check worker: claims what is due, runs it once, and schedules the next by the interval."""

from __future__ import annotations

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
