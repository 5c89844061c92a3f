"""API key management: labels, listing, revocation (HTTP refuses at once) and "last used"."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from gql_telephony.services.key_usage import KeyUsage
from gql_telephony.services.tenancy import (
    authenticate,
    create_api_key,
    list_api_keys,
    revoke_api_key,
)

QUERY = "{ telephonyConfigs { totalCount } }"


async def key_id_of(api, label: str) -> int:
    return next(k.id for k in await list_api_keys(api.runtime.db, api.org_id) if k.label == label)


async def test_a_revoked_key_is_refused_at_once_and_the_others_still_work(api):
    db = api.runtime.db
    doomed = await create_api_key(db, api.org_id, label="doomed")
    assert (await api.post(QUERY, key=doomed)).status_code == 200  # also fills the response cache
    key_id = await key_id_of(api, "doomed")

    revocation = await revoke_api_key(db, key_id)
    assert (revocation.key_id, revocation.label, revocation.already) == (key_id, "doomed", False)
    for _ in range(2):  # the cached response of the same query is not served to it either
        refused = await api.post(QUERY, key=doomed)
        assert refused.status_code == 401
        assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert await authenticate(db, doomed) is None
    assert (await api.post(QUERY)).status_code == 200

    again = await revoke_api_key(db, key_id)  # idempotent: nothing changes, it says so
    assert again.already and again.revoked_at == revocation.revoked_at
    with pytest.raises(LookupError):
        await revoke_api_key(db, key_id + 1000)


async def test_listing_shows_labels_and_flags_never_the_key(api):
    db = api.runtime.db
    reader = await create_api_key(db, api.org_id, read_only=True, label="  Dashboard  ")
    other_org, other_key = await api.new_org()
    listed = await list_api_keys(db, api.org_id)
    assert [(k.label, k.read_only, k.last_used_at, k.revoked_at) for k in listed] == [
        (None, False, None, None), ("Dashboard", True, None, None)]
    assert listed[0].created_at <= listed[1].created_at and listed[0].id < listed[1].id
    assert reader not in repr(listed) and api.key not in repr(listed)
    assert [k.id for k in await list_api_keys(db, other_org)] != [k.id for k in listed]

    await revoke_api_key(db, listed[1].id)
    assert [k.id for k in await list_api_keys(db, api.org_id)] == [listed[0].id]
    everything = await list_api_keys(db, api.org_id, include_revoked=True)
    assert [k.id for k in everything] == [listed[0].id, listed[1].id] and everything[1].revoked_at is not None
    with pytest.raises(LookupError):
        await list_api_keys(db, other_org + 1000)


@pytest.mark.parametrize("label", ["", "   ", "x" * 65, "tab\there", "new\nline", "bidi\u202eoverride"])
async def test_bad_labels_are_refused(api, label):
    with pytest.raises(ValueError):
        await create_api_key(api.runtime.db, api.org_id, label=label)


async def test_the_principal_names_its_key(api):
    key = await create_api_key(api.runtime.db, api.org_id, label="named")
    principal = await authenticate(api.runtime.db, key)
    assert principal is not None and (principal.key_id, principal.label) == (await key_id_of(api, "named"), "named")


async def last_used(api, key_id: int):
    return next(k.last_used_at for k in await list_api_keys(api.runtime.db, api.org_id) if k.id == key_id)


async def test_last_used_is_written_by_the_loop_at_most_once_a_minute_per_key(api):
    """A request notes its key in memory; the flush writes it, once per key a minute."""
    key_id = (await list_api_keys(api.runtime.db, api.org_id))[0].id
    for _ in range(3):
        assert (await api.post(QUERY)).status_code == 200
    assert await last_used(api, key_id) is None  # nothing written by the requests themselves
    await api.runtime.key_usage.flush()
    first = await last_used(api, key_id)
    assert first is not None

    now = [0.0]
    usage = KeyUsage(api.runtime.db, clock=lambda: now[0])
    writes = []
    async with api.runtime.db.writing() as session:  # forget the first write, to see the next ones
        await session.execute(sa.text("UPDATE api_key SET last_used_at = NULL"))

    async def flush_and_read() -> None:
        await usage.flush()
        writes.append(await last_used(api, key_id))

    usage.note(key_id)
    await flush_and_read()
    now[0] = 59.0
    usage.note(key_id)
    async with api.runtime.db.writing() as session:
        await session.execute(sa.text("UPDATE api_key SET last_used_at = NULL"))
    await flush_and_read()  # within the minute: not written again
    now[0] = 61.0
    usage.note(key_id)
    await flush_and_read()
    assert [w is not None for w in writes] == [True, False, True]


def test_what_key_usage_remembers_stays_bounded():
    now = [0.0]
    usage = KeyUsage(None, max_keys=100, clock=lambda: now[0])  # type: ignore[arg-type]  # no database: only the in-memory map is used
    for key_id in range(1000):
        usage.note(key_id)
    assert len(usage._queued_at) <= 100
    now[0] = 120.0  # a minute later everything is due again and what was remembered is dropped
    usage.note(5000)
    assert list(usage._queued_at) == [5000]
