"""Due provider checks are claimed with leases in the database: one process per check, on both backends."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import sqlalchemy as sa

from gql_telephony.domain.provider_checks import NumberCheck, NumberStatus
from gql_telephony.storage import checks
from gql_telephony.storage.queries import NUMBERS
from gql_telephony.storage.tables import utcnow
from tests.documents import UPDATE, add_number, create_config


async def claim(api, owner: str, *, limit: int = 10, at=None, lease: float = 60):
    now = at or utcnow()
    async with api.runtime.db.writing() as session:
        return await checks.claim_due(session, owner=owner, now=now, lease_until=now + timedelta(seconds=lease),
                                      limit=limit)


async def finish(api, found: checks.Claim, owner: str, next_due):
    async with api.runtime.db.writing() as session:
        await checks.finish(session, config_id=found.config_id, owner=owner, wanted=found.wanted, next_due=next_due)


async def test_a_new_configuration_is_due_at_once_and_claimed_by_one_owner(api):
    await create_config(api)
    first = await claim(api, "a")
    assert len(first) == 1 and first[0].org_id == api.org_id
    assert await claim(api, "b") == []  # leased to a


async def test_a_lease_that_ran_out_is_taken_over(api):
    await create_config(api)
    [found] = await claim(api, "a", lease=1)
    assert await claim(api, "b") == []
    [again] = await claim(api, "b", at=utcnow() + timedelta(seconds=2))
    assert again.config_id == found.config_id
    # The first owner's late finish no longer touches the row: the lease is b's.
    await finish(api, found, "a", utcnow() + timedelta(hours=1))
    assert await claim(api, "c", at=utcnow() + timedelta(seconds=2)) == []


async def test_a_finished_check_is_due_again_after_the_interval(api):
    await create_config(api)
    [found] = await claim(api, "a")
    await finish(api, found, "a", utcnow() + timedelta(seconds=30))
    assert await claim(api, "a") == []
    assert len(await claim(api, "a", at=utcnow() + timedelta(seconds=31))) == 1


async def test_a_change_during_a_check_keeps_it_due(api):
    created = await create_config(api)
    [found] = await claim(api, "a")
    await add_number(api, created["telephonyConfig"]["id"], "+14155550100")  # asks again
    await finish(api, found, "a", utcnow() + timedelta(hours=1))
    [again] = await claim(api, "a")
    assert again.wanted == found.wanted + 1


async def test_a_config_change_asks_again_and_a_rename_does_not(api):
    created = await create_config(api)
    config_id = created["telephonyConfig"]["id"]
    [found] = await claim(api, "a")
    await finish(api, found, "a", None)
    await api.gql(UPDATE, {"input": {"id": config_id, "name": "Renamed"}})
    assert await claim(api, "a") == []
    await api.gql(UPDATE, {"input": {"id": config_id, "config": {"auth_token": "e" * 32}}})
    assert len(await claim(api, "a")) == 1


async def test_concurrent_claims_never_share_a_check(api):
    for index in range(12):
        await create_config(api, name=f"Config {index}")
    results = await asyncio.gather(*(claim(api, f"owner-{n}", limit=4) for n in range(4)))
    claimed = [found.config_id for result in results for found in result]
    assert len(claimed) == len(set(claimed)) == 12


async def test_deleting_a_configuration_deletes_its_checks(api):
    created = await create_config(api)
    await add_number(api, created["telephonyConfig"]["id"], "+14155550100")
    async with api.runtime.db.writing() as session:
        number_id = (await session.execute(sa.select(NUMBERS.c.id))).scalar_one()
        await checks.record_numbers(session, [(number_id, NumberCheck(NumberStatus.IN_ACCOUNT, True, utcnow(), None))])
    await api.gql("mutation($id: ID!) { deleteTelephonyConfig(input: {id: $id}) { userErrors { code } } }",
                  {"id": created["telephonyConfig"]["id"]})
    async with api.runtime.db.reading() as session:
        assert (await session.execute(sa.select(sa.func.count()).select_from(checks.CHECKS))).scalar_one() == 0
        assert (await session.execute(sa.select(sa.func.count()).select_from(checks.NUMBER_CHECKS))).scalar_one() == 0
