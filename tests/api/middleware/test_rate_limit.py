"""Rate limiting: a token bucket per API key (per client address without one), 429 with
Retry-After and RATE_LIMITED past it, refill over time, a bounded bucket map."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from gql_telephony.api.middleware import rate_buckets
from gql_telephony.api.middleware.rate_buckets import LocalBuckets, SharedBuckets, sliding_window
from gql_telephony.api.middleware.rate_limit import key_bucket
from gql_telephony.api.runtime import Runtime
from gql_telephony.app import build_runtime, create_app
from gql_telephony.services.tenancy import create_api_key, create_organization
from gql_telephony.settings import Settings, SettingsError
from gql_telephony.storage.migrate import upgrade_to_head

from ...live.redis_server import PrivateRedis, require_shared_redis
from ...live.server import serving_in_process
from ...live.ws_client import Subscriber
from ...support import app_client, asgi_client, bearer, counting_statements, sqlite_settings

QUERY = "{ telephonyProviders { key } }"
ADDRESS = "203.0.113.7"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Limited:
    """An app limited to `per_minute` and `burst`, on a clock the test moves."""

    runtime: Runtime
    app: Starlette
    key: str
    clock: FakeClock
    stack: AsyncExitStack

    @property
    def buckets(self) -> LocalBuckets:
        return self.app.state.rate_buckets

    async def client(self, address: str = ADDRESS) -> httpx.AsyncClient:
        return await self.stack.enter_async_context(asgi_client(self.app, address=address))

    async def new_key(self) -> str:
        org_id = await create_organization(self.runtime.db, "Other")
        return await create_api_key(self.runtime.db, org_id)


async def ask(client: httpx.AsyncClient, key: str | None) -> httpx.Response:
    headers = bearer(key) if key else {}
    return await client.post("/graphql", json={"query": QUERY}, headers=headers)


@pytest.fixture
async def limited(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[Limited]]]:
    async with AsyncExitStack() as stack:
        async def make(per_minute: int = 60, burst: int = 3) -> Limited:
            settings = sqlite_settings(tmp_path / f"limited-{per_minute}-{burst}.sqlite3",
                                       rate_limit_per_minute=per_minute, rate_limit_burst=burst)
            runtime = build_runtime(settings)
            stack.push_async_callback(runtime.db.dispose)
            stack.push_async_callback(runtime.broker.close)
            await upgrade_to_head(runtime.db)
            key = await create_api_key(runtime.db, await create_organization(runtime.db, "Acme"))
            app = create_app(runtime=runtime)
            clock = FakeClock()
            app.state.rate_buckets.clock = clock
            return Limited(runtime=runtime, app=app, key=key, clock=clock, stack=stack)

        yield make


async def test_over_the_burst_is_429_with_retry_after_and_a_graphql_error(limited):
    app = await limited(per_minute=6, burst=3)  # a token every 10 seconds
    client = await app.client()
    for _ in range(3):
        assert (await ask(client, app.key)).status_code == 200
    refused = await ask(client, app.key)
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "10"
    assert refused.headers["content-type"] == "application/json"
    assert refused.headers["x-request-id"]
    body = refused.json()
    assert body["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert "data" not in body
    app.clock.now += 4.7
    assert (await ask(client, app.key)).headers["retry-after"] == "6"  # 5.3 s, rounded up
    # Refused requests take no token: waiting out Retry-After is enough.
    app.clock.now += 4.8
    again = await ask(client, app.key)
    assert again.status_code == 429 and again.headers["retry-after"] == "1"


async def test_the_bucket_refills_at_the_configured_rate(limited):
    app = await limited(per_minute=60, burst=2)  # a token a second, at most 2 at once
    client = await app.client()
    assert [(await ask(client, app.key)).status_code for _ in range(3)] == [200, 200, 429]
    app.clock.now += 1.0
    assert [(await ask(client, app.key)).status_code for _ in range(2)] == [200, 429]
    app.clock.now += 3600  # a long pause refills up to the burst, no further
    assert [(await ask(client, app.key)).status_code for _ in range(3)] == [200, 200, 429]


async def test_each_key_has_its_own_bucket(limited):
    app = await limited(per_minute=60, burst=3)
    other = await app.new_key()
    client = await app.client()
    for _ in range(3):
        assert (await ask(client, app.key)).status_code == 200
    assert (await ask(client, app.key)).status_code == 429
    # Same address, another key: served, and its own burst is whole.
    assert [(await ask(client, other)).status_code for _ in range(4)] == [200, 200, 200, 429]


async def test_buckets_are_named_by_a_hash_of_the_key_never_the_key(limited):
    app = await limited()
    client = await app.client()
    await ask(client, app.key)
    names = list(app.buckets._buckets)  # what the process keeps in memory
    assert key_bucket(app.key) in names
    assert all(app.key not in name and app.key.removeprefix("gqlt_") not in name for name in names)


async def test_requests_without_a_key_are_limited_per_client_address(limited):
    app = await limited(per_minute=60, burst=3)
    first, second = await app.client("198.51.100.1"), await app.client("198.51.100.2")
    assert [(await ask(first, None)).status_code for _ in range(4)] == [401, 401, 401, 429]
    assert (await ask(second, None)).status_code == 401  # another address, another bucket
    # A valid key at the exhausted address is charged to its own bucket only.
    assert [(await ask(first, app.key)).status_code for _ in range(4)] == [200, 200, 200, 429]
    assert (await ask(first, None)).status_code == 429


async def test_made_up_keys_do_not_escape_the_address_limit(limited):
    app = await limited(per_minute=60, burst=3)
    client = await app.client()
    statuses = [(await ask(client, f"gqlt_made-up-{n}")).status_code for n in range(5)]
    assert statuses == [401, 401, 401, 429, 429]
    assert (await ask(client, None)).status_code == 429  # junk keys and no key share the bucket


async def test_junk_from_an_address_never_locks_out_a_valid_key_this_process_has_not_seen(limited):
    """Fresh process (every key is new to it, as after a restart): a burst of keyless and
    junk-key requests from one address leaves a valid key from that address untouched."""
    app = await limited(per_minute=60, burst=3)
    client = await app.client()
    junk = [(await ask(client, key)).status_code for key in (None, "gqlt_junk", None, "gqlt_junk2", "x", None)]
    assert junk.count(429) == 3
    fresh = await app.new_key()  # never presented to this process before
    assert [(await ask(client, fresh)).status_code for _ in range(4)] == [200, 200, 200, 429]


async def test_the_key_is_looked_up_once_per_request(limited):
    """The rate limit hands the principal it found to the view: one key lookup per request."""
    app = await limited(per_minute=600, burst=50)
    client = await app.client()
    with counting_statements(app.runtime) as statements:
        assert (await ask(client, app.key)).status_code == 200
        assert (await ask(client, "gqlt_junk")).status_code == 401
    lookups = [statement for statement in statements if "key_hash" in statement.lower()]
    assert len(lookups) == 2, lookups


async def test_health_and_metrics_are_not_limited(limited):
    app = await limited(per_minute=60, burst=1)
    client = await app.client()
    await ask(client, None)
    assert (await ask(client, None)).status_code == 429
    for path in ("/healthz", "/readyz", "/metrics"):
        assert (await client.get(path)).status_code == 200


async def test_the_default_limit_is_far_above_a_dashboard_and_can_be_turned_off(tmp_path):
    defaults = Settings.from_env({})
    assert defaults.rate_limit_per_minute >= 1000 and defaults.rate_limit_burst >= 100
    settings = Settings.from_env({"GQL_TELEPHONY_RATE_LIMIT_PER_MINUTE": "120", "GQL_TELEPHONY_RATE_LIMIT_BURST": "7"})
    assert (settings.rate_limit_per_minute, settings.rate_limit_burst) == (120, 7)
    for name, bad in (("GQL_TELEPHONY_RATE_LIMIT_PER_MINUTE", "-1"), ("GQL_TELEPHONY_RATE_LIMIT_PER_MINUTE", "lots"),
                      ("GQL_TELEPHONY_RATE_LIMIT_BURST", "0"), ("GQL_TELEPHONY_RATE_LIMIT_BURST", "1.5")):
        with pytest.raises(SettingsError):
            Settings.from_env({name: bad})
    off = sqlite_settings(tmp_path / "off.sqlite3", rate_limit_per_minute=0)
    runtime = build_runtime(off)
    try:
        assert create_app(runtime=runtime).state.rate_buckets is None
    finally:
        await runtime.db.dispose()


def test_the_bucket_map_drops_idle_buckets_and_stays_bounded():
    clock = FakeClock()
    buckets = LocalBuckets(per_minute=60, burst=10, max_buckets=3, clock=clock)
    for name in ("a", "b", "c"):
        assert buckets.take_now(name) == 0
    assert len(buckets) == 3
    # Over the bound: the least recently used bucket goes, even though it is not full yet.
    assert buckets.take_now("d") == 0
    assert len(buckets) == 3 and buckets.take_now("b") == 0
    # Idle long enough to be full again: dropped, and nothing is lost by it.
    clock.now += 10.0
    assert buckets.take_now("e") == 0
    assert len(buckets) == 1


async def test_websocket_handshakes_are_limited_per_address(tmp_path):
    runtime = build_runtime(sqlite_settings(tmp_path / "ws.sqlite3", rate_limit_per_minute=1, rate_limit_burst=2))
    await upgrade_to_head(runtime.db)
    try:
        async with serving_in_process(runtime) as host:
            await _handshakes_until_refused(f"ws://{host}/graphql")
    finally:
        await runtime.broker.close()
        await runtime.db.dispose()


async def _handshakes_until_refused(url: str) -> None:
    for _ in range(2):
        async with connect(url, subprotocols=["graphql-transport-ws"]):  # type: ignore[list-item]  # a plain str for websockets' Subprotocol
            pass
    with pytest.raises(InvalidStatus) as refused:
        async with connect(url, subprotocols=["graphql-transport-ws"]):  # type: ignore[list-item]  # a plain str for websockets' Subprotocol
            pass
    assert refused.value.response.status_code == 429
    assert int(refused.value.response.headers["retry-after"]) >= 1
    assert b"RATE_LIMITED" in refused.value.response.body


MUTATION = 'mutation { deleteTelephonyConfig(input: {id: "VGVsZXBob255Q29uZmlnOjk5OTk="}) { userErrors { code } } }'


async def test_operations_over_an_open_websocket_are_charged_to_the_key(tmp_path):
    """HTTP and WebSocket operations share the key's bucket; a refused subscribe gets the
    protocol's `error` for its id with RATE_LIMITED. Keyless HTTP requests that exhausted the
    address's bucket do not block the handshake."""
    runtime = build_runtime(sqlite_settings(tmp_path / "ws-ops.sqlite3", rate_limit_per_minute=1, rate_limit_burst=4))
    await upgrade_to_head(runtime.db)
    key = await create_api_key(runtime.db, await create_organization(runtime.db, "Acme"))
    try:
        async with serving_in_process(runtime) as host, httpx.AsyncClient(base_url=f"http://{host}") as client:
            assert [(await ask(client, None)).status_code for _ in range(5)][-1] == 429
            socket = Subscriber(f"ws://{host}/graphql", key)
            assert (await socket.connect())["type"] == "connection_ack"
            try:
                assert (await ask(client, key)).status_code == 200  # token 1 of 4
                await socket.subscribe(QUERY, "q1")  # token 2
                assert (await socket.receive())["type"] == "next"
                assert (await socket.receive()) == {"id": "q1", "type": "complete"}
                await socket.subscribe(MUTATION, "m1")  # token 3
                assert (await socket.receive())["payload"]["data"]["deleteTelephonyConfig"]
                assert (await socket.receive())["type"] == "complete"
                await socket.subscribe(QUERY, "q2")  # token 4
                assert (await socket.receive())["type"] == "next"
                assert (await socket.receive())["type"] == "complete"
                for operation_id, document in (("m2", MUTATION), ("q3", QUERY), ("s1", None)):
                    if document is None:
                        await socket.subscribe(operation_id=operation_id)  # a subscription
                    else:
                        await socket.subscribe(document, operation_id)
                    refused = await socket.receive()
                    assert refused["type"] == "error" and refused["id"] == operation_id, refused
                    [error] = refused["payload"]
                    assert error["extensions"]["code"] == "RATE_LIMITED"
                    assert error["extensions"]["retryAfter"] >= 1
                assert (await ask(client, key)).status_code == 429  # the same bucket as HTTP
            finally:
                await socket.close()
    finally:
        await runtime.broker.close()
        await runtime.db.dispose()


async def test_with_redis_several_processes_share_one_limit(tmp_path):
    """Two app instances (as two server processes) on one Redis: the burst is allowed once in
    all, not once per instance; the refusal is the same 429."""
    settings = sqlite_settings(tmp_path / "shared.sqlite3", broker_url=require_shared_redis(),
                               rate_limit_per_minute=6, rate_limit_burst=3)
    async with AsyncExitStack() as stack:
        served = [await stack.enter_async_context(app_client(settings, address=ADDRESS)) for _ in range(2)]
        apps = [instance.client for instance in served]
        runtime = served[-1].runtime
        await upgrade_to_head(runtime.db)
        key = await create_api_key(runtime.db, await create_organization(runtime.db, "Acme"))
        statuses = [(await ask(apps[n % 2], key)).status_code for n in range(6)]
        assert statuses == [200, 200, 200, 429, 429, 429]
        refused = await ask(apps[0], key)
        assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        assert 1 <= int(refused.headers["retry-after"]) <= 30


async def test_without_redis_each_process_falls_back_to_its_own_limit_and_says_so(caplog):
    local = LocalBuckets(per_minute=6, burst=2)
    shared = SharedBuckets("redis://127.0.0.1:1/0", 6, 2, local=local)  # nothing listens there
    try:
        with caplog.at_level("WARNING", logger="gql_telephony.rate_limit"):
            waits = [await shared.take("key:abc") for _ in range(4)]
    finally:
        await shared.close()
    assert waits[:2] == [0.0, 0.0] and all(wait > 0 for wait in waits[2:])
    lines = [r.getMessage() for r in caplog.records if r.name == "gql_telephony.rate_limit"]
    assert len(lines) == 1 and "Redis does not answer" in lines[0]


def test_the_shared_window_keeps_the_burst_and_the_rate():
    assert sliding_window(3000, 300) == (300, 6)  # the defaults: 300 in any 6 s is 3,000 a minute
    assert sliding_window(6, 3) == (3, 30)
    assert sliding_window(3000, 1) == (50, 1)  # windows are whole seconds: the rate is kept


async def test_the_shared_limit_counts_locally_while_redis_is_down_and_in_redis_again_after(tmp_path, caplog, monkeypatch):
    monkeypatch.setattr(rate_buckets, "REDIS_RETRY_SECONDS", 0.0)  # ask Redis again at once
    redis = PrivateRedis(tmp_path)
    redis.start()
    local = LocalBuckets(per_minute=6, burst=2)
    shared = rate_buckets.SharedBuckets(redis.url, 6, 2, local=local)
    try:
        with caplog.at_level("WARNING", logger="gql_telephony.rate_limit"):
            assert [await shared.take("key:a") > 0 for _ in range(3)] == [False, False, True]
            assert len(local) == 0  # counted in Redis, not here
            redis.stop()
            assert [await shared.take("key:b") > 0 for _ in range(3)] == [False, False, True]
            assert len(local) == 1  # counted here while Redis is away
            redis.start()
            assert [await shared.take("key:c") > 0 for _ in range(3)] == [False, False, True]
    finally:
        await shared.close()
        redis.stop()
    lines = [r.getMessage() for r in caplog.records if r.name == "gql_telephony.rate_limit"]
    assert len(lines) == 2 and "does not answer" in lines[0] and "answers again" in lines[1], lines
