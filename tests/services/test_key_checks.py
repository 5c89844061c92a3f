"""Key checks before each socket operation (services/key_checks.py): a burst of subscribers is
answered by a couple of lookups, not one each, and never with a lookup older than the question."""

from __future__ import annotations

import asyncio

from gql_telephony.services.key_checks import KeyCheckFailed, KeyChecks
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


async def test_each_caller_of_a_failed_lookup_gets_its_own_error(runtime):
    checks = KeyChecks(None)  # type: ignore[arg-type]  # the lookup itself fails
    results = await asyncio.gather(checks.is_live(1), checks.is_live(2), return_exceptions=True)
    assert all(isinstance(result, KeyCheckFailed) for result in results)
    assert results[0] is not results[1]
    assert results[0].__cause__ is not None


async def test_a_lookup_cancelled_at_shutdown_leaves_no_caller_waiting(runtime):
    org_id = await create_organization(runtime.db, "Shutting down")
    key_id = await key_id_of(runtime, await create_api_key(runtime.db, org_id))
    checks = KeyChecks(runtime.db)
    callers = [asyncio.ensure_future(checks.is_live(key_id)) for _ in range(3)]
    await asyncio.sleep(0)  # asked; the lookup is scheduled
    assert checks._running is not None
    checks._running.cancel()
    done, pending = await asyncio.wait(callers, timeout=5)
    assert not pending and all(caller.cancelled() for caller in done)
    # And one cancelled while its statement runs (the test's loop hands it to the database).
    callers = [asyncio.ensure_future(checks.is_live(key_id)) for _ in range(3)]
    while not checks.lookups or checks._running is None:
        await asyncio.sleep(0)
    await asyncio.sleep(0)
    checks._running.cancel()
    done, pending = await asyncio.wait(callers, timeout=5)
    assert not pending and all(caller.cancelled() for caller in done)
    assert await checks.is_live(key_id)  # and checks go on afterwards
