"""The response cache: the same bytes for the same request until the organization's data changes."""

from __future__ import annotations

from dataclasses import replace

import sqlalchemy as sa

from gql_telephony.api.http.response_cache import CachedResponse, ResponseCache, cache_key
from gql_telephony.api.memory_bound import MemoryBound

from ..documents import DASHBOARD, create_config
from ..support import bearer

GQL_JSON = "application/graphql-response+json"
RENAME = """mutation($id: ID!, $name: String!) {
  updateTelephonyConfig(input: {id: $id, name: $name}) { userErrors { code } } }"""
NAMES = "query Names($first: Int) { telephonyConfigs(first: $first) { nodes { name } } }"


def paths(api) -> tuple[int, int, int]:
    read = api.runtime.read_paths
    return read.planned, read.generic, read.cache


async def test_a_repeated_read_gets_the_same_bytes_and_headers(api):
    await create_config(api, "TWILIO", "Main")
    first = await api.post(DASHBOARD)
    again = await api.post(DASHBOARD)
    assert paths(api) == (1, 0, 1)
    assert (again.status_code, again.content) == (first.status_code, first.content)
    assert again.headers["content-type"] == first.headers["content-type"] == "application/json"
    assert again.headers["content-length"] == first.headers["content-length"]
    # The media type follows each request's Accept header, also from the cache.
    newer = await api.post(DASHBOARD, headers={"accept": GQL_JSON})
    assert (newer.headers["content-type"], newer.content) == (GQL_JSON, first.content)
    assert paths(api) == (1, 0, 2)


async def test_every_write_is_seen_by_the_next_read(api):
    config_id = (await create_config(api, "TWILIO", "Before"))["telephonyConfig"]["id"]
    for name in ("First", "Second", "Third"):
        assert (await api.gql(NAMES))["telephonyConfigs"]["nodes"][0]["name"] != name
        await api.gql(RENAME, {"id": config_id, "name": name})
        assert (await api.gql(NAMES))["telephonyConfigs"]["nodes"][0]["name"] == name
    planned, _, cached = paths(api)
    assert planned == 4 and cached == 2  # a read after each write ran; the rest came from the cache


async def test_variables_and_operation_names_are_part_of_the_key(api):
    for name in ("A", "B", "C"):
        await create_config(api, "TWILIO", name)
    one = (await api.post(NAMES, {"first": 1})).json()
    two = (await api.post(NAMES, {"first": 2})).json()
    assert len(one["data"]["telephonyConfigs"]["nodes"]) == 1
    assert len(two["data"]["telephonyConfigs"]["nodes"]) == 2
    assert paths(api)[2] == 0
    # Naming the operation makes another request (the same answer, kept apart).
    named = {"variables": {"first": 2}, "operationName": "Names", "query": NAMES}
    for _ in range(2):
        response = await api.client.post("/graphql", json=named, headers=bearer(api.key))
        assert response.json() == two
    assert paths(api)[2] == 1


async def test_organizations_never_share_kept_responses(api):
    other_org, other_key = await api.new_org()
    await create_config(api, "TWILIO", "Ours")
    await create_config(replace(api, key=other_key, org_id=other_org), "TWILIO", "Theirs")
    # The same data version in both: only the organization tells their entries apart.
    async with api.runtime.db.reading() as session:
        versions = (await session.execute(sa.text("SELECT data_version FROM organization"))).scalars().all()
    assert len(versions) == 2 and len(set(versions)) == 1, versions
    for _ in range(2):
        ours = (await api.post(NAMES)).json()
        theirs = (await api.post(NAMES, key=other_key)).json()
        assert ours["data"]["telephonyConfigs"]["nodes"] == [{"name": "Ours"}]
        assert theirs["data"]["telephonyConfigs"]["nodes"] == [{"name": "Theirs"}]
    assert paths(api)[2] == 2  # the second round came from the cache, each its own entry


async def test_responses_with_errors_are_not_kept(api):
    bad_page = "{ telephonyConfigs(first: 500) { totalCount } }"
    first = await api.post(bad_page)
    again = await api.post(bad_page)
    assert first.json() == again.json() and "errors" in first.json()
    assert paths(api)[2] == 0
    # Nor a request without a valid key.
    assert (await api.post(NAMES, key="gqlt_not-a-key")).status_code == 401


def test_a_newer_version_drops_the_older_entries_and_the_size_is_bounded():
    bound = MemoryBound(8 * 2000)
    cache = ResponseCache(bound)
    old = cache_key(1, 1, "{ a }", None, None)
    cache.put(old, CachedResponse(b"x" * 100, "query", None))
    cache.put(cache_key(2, 1, "{ a }", None, None), CachedResponse(b"y" * 100, "query", None))
    cache.put(cache_key(1, 2, "{ a }", None, None), CachedResponse(b"z" * 100, "query", None))
    assert cache.get(old) is None and len(cache) == 2
    cache.put(old, CachedResponse(b"x" * 100, "query", None))  # made under a replaced version: not kept
    assert cache.get(old) is None
    cache.put(cache_key(3, 1, "{ big }", None, None), CachedResponse(b"b" * 5000, "query", None))
    assert len(cache) == 2  # over an eighth of the whole: not kept
    for org in range(10, 40):
        cache.put(cache_key(org, 1, "{ a }", None, None), CachedResponse(b"s" * 1000, "query", None))
    assert bound.used <= bound.max_bytes and len(cache) < 30
    assert cache.get(cache_key(39, 1, "{ a }", None, None)) is not None  # the newest stays
