"""Key checks before each socket operation (services/key_checks.py): a burst of subscribers is
answered by a couple of lookups, not one each, and never with a lookup older than the question."""

from __future__ import annotations

import asyncio

from gql_telephony.services.key_checks import KeyChecks
from gql_telephony.services.tenancy import authenticate, create_api_key, create_organization, revoke_api_key

from ..support import counting_statements


async def key_id_of(runtime, key: str) -> int:
    principal = await authenticate(runtime.db, key)
    assert principal is not None
    return principal.key_id


async def test_a_burst_of_checks_takes_two_lookups_and_each_key_its_answer(runtime):
    org_id = await create_organization(runtime.db, "Burst")
    live_id = await key_id_of(runtime, await create_api_key(runtime.db, org_id))
    revoked_id = await key_id_of(runtime, await create_api_key(runtime.db, org_id))
    await revoke_api_key(runtime.db, revoked_id)
    checks = KeyChecks(runtime.db)
    with counting_statements(runtime) as statements:
        answers = await asyncio.gather(*(checks.is_live(live_id if n % 2 else revoked_id) for n in range(400)))
    assert answers == [n % 2 == 1 for n in range(400)]
    assert checks.lookups <= 2 and 1 <= len(statements) <= 2, statements


async def test_a_check_asked_after_a_revocation_is_told_so(runtime):
    org_id = await create_organization(runtime.db, "Revoked meanwhile")
    key_id = await key_id_of(runtime, await create_api_key(runtime.db, org_id))
    checks = KeyChecks(runtime.db)
    assert await checks.is_live(key_id)
    await revoke_api_key(runtime.db, key_id)
    assert not await checks.is_live(key_id)


async def test_a_failed_lookup_fails_its_callers_and_the_next_one_runs_again(runtime):
    org_id = await create_organization(runtime.db, "Away")
    key_id = await key_id_of(runtime, await create_api_key(runtime.db, org_id))
    checks = KeyChecks(runtime.db)
    broken = checks.db
    checks.db = None  # type: ignore[assignment]  # the lookup itself fails
    results = await asyncio.gather(checks.is_live(key_id), checks.is_live(key_id), return_exceptions=True)
    assert all(isinstance(result, Exception) for result in results)
    checks.db = broken
    assert await checks.is_live(key_id)
