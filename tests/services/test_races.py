"""Races between different use cases on one configuration: no lost version, no 500."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from gql_telephony.domain.errors import UserErrors
from gql_telephony.domain.providers import ProviderKey
from gql_telephony.storage.tables import PhoneNumberRow, TelephonyConfigRow

from ..documents import VALID

ROUNDS = 25


async def make(runtime, org_id, name, default=False):
    row, _ = await runtime.configs.create(org_id, name=name, provider=ProviderKey.VOBIZ, config=VALID["VOBIZ"], make_default=default)
    return row.id


async def outcome(call):
    try:
        return await call
    except UserErrors as refused:
        return refused.errors[0].code.value


async def test_switching_the_default_while_the_old_default_is_updated_loses_no_version(api):
    runtime, org = api.runtime, api.org_id
    for index in range(ROUNDS):
        old = await make(runtime, org, f"Old {index}", default=True)
        new = await make(runtime, org, f"New {index}")
        await asyncio.gather(
            runtime.configs.set_default(org, new),
            runtime.configs.update(org, old, name=f"Old renamed {index}", config=None, expected_version=None),
        )
        async with runtime.db.reading() as session:
            row = await session.get(TelephonyConfigRow, old)
        assert (row.version, row.is_default_outbound) == (3, False)


async def test_switching_the_default_while_the_old_default_is_deleted(api):
    runtime, org = api.runtime, api.org_id
    for index in range(ROUNDS):
        old = await make(runtime, org, f"Old {index}", default=True)
        new = await make(runtime, org, f"New {index}")
        switched, deleted = await asyncio.gather(
            outcome(runtime.configs.set_default(org, new)), outcome(runtime.configs.delete(org, old, expected_version=None)),
        )
        assert deleted == old
        row, previous = switched
        assert row.id == new and (previous is None or previous.id == old)


async def test_adding_a_number_while_its_configuration_is_deleted(api):
    runtime, org = api.runtime, api.org_id
    for index in range(ROUNDS):
        config = await make(runtime, org, f"Doomed {index}")
        added, deleted = await asyncio.gather(
            outcome(runtime.numbers.add(org, config, phone_number=f"+1415555{index:04d}", region=None, label=None, is_active=True)),
            outcome(runtime.configs.delete(org, config, expected_version=None)),
        )
        assert deleted == config
        assert added == "NOT_FOUND" or added.number.phone_number == f"+1415555{index:04d}"
    async with runtime.db.reading() as session:
        assert (await session.execute(sa.select(sa.func.count()).select_from(PhoneNumberRow))).scalar_one() == 0
