"""Many subscribers, several processes, and a Redis that restarts."""

from __future__ import annotations

import asyncio

import httpx
from cryptography.fernet import Fernet

from ..documents import ADD_NUMBER, CREATE, VALID
from ..support import bearer
from .redis_server import PrivateRedis, require_shared_redis
from .server import cli, running_server, server_env
from .ws_client import Subscriber


def make_env(tmp_path, broker_url: str) -> dict[str, str]:
    return server_env(
        GQL_TELEPHONY_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'fanout.sqlite3'}",
        GQL_TELEPHONY_SECRET_KEYS=Fernet.generate_key().decode(),
        GQL_TELEPHONY_BROKER_URL=broker_url,
    )


def org_with_key(env) -> str:
    return cli(["create-api-key", cli(["create-org", "Fanout"], env)], env)


async def post(server, key, query, variables):
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.post(f"{server.http}/graphql", json={"query": query, "variables": variables},
                                     headers=bearer(key))
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


async def subscribed(url: str, key: str, count: int) -> list[Subscriber]:
    subscribers = [Subscriber(url, key) for _ in range(count)]
    await asyncio.gather(*(s.connect() for s in subscribers))
    await asyncio.gather(*(s.subscribe() for s in subscribers))
    await asyncio.gather(*(s.next_data() for s in subscribers))  # the summary at once
    return subscribers


async def create_telnyx(server, key, name="Telnyx"):
    data = await post(server, key, CREATE, {"input": {"name": name, "provider": "TELNYX", "config": VALID["TELNYX"]}})
    return data["createTelephonyConfig"]["telephonyConfig"]["id"]


async def test_200_subscribers_on_one_process_all_receive_one_change(tmp_path):
    env = make_env(tmp_path, "memory://")
    key = org_with_key(env)
    with running_server(env, tmp_path / "server.log") as server:
        subscribers = await subscribed(server.ws, key, 200)
        await create_telnyx(server, key)
        received = await asyncio.gather(*(s.next_data() for s in subscribers))
        assert all(r["totalCount"] == 2 for r in received)
        await asyncio.gather(*(s.close() for s in subscribers))


async def test_a_mutation_on_one_process_reaches_subscribers_on_another(tmp_path):
    env = make_env(tmp_path, require_shared_redis())
    key = org_with_key(env)
    with running_server(env, tmp_path / "a.log") as first, running_server(env, tmp_path / "b.log") as second:
        subscribers = await subscribed(second.ws, key, 5)
        config_id = await create_telnyx(first, key)
        assert all(r["totalCount"] == 2 for r in await asyncio.gather(*(s.next_data() for s in subscribers)))
        await post(first, key, ADD_NUMBER, {"input": {"telephonyConfigId": config_id, "phoneNumber": "+14155550123"}})
        assert all(r["totalCount"] == 1 for r in await asyncio.gather(*(s.next_data() for s in subscribers)))
        await asyncio.gather(*(s.close() for s in subscribers))


async def test_redis_restart_mid_subscription_loses_no_later_event(tmp_path):
    redis = PrivateRedis(tmp_path)
    redis.start()
    env = make_env(tmp_path, redis.url)
    key = org_with_key(env)
    try:
        with running_server(env, tmp_path / "a.log") as first, running_server(env, tmp_path / "b.log") as second:
            [subscriber] = await subscribed(second.ws, key, 1)
            await create_telnyx(first, key, "Before")
            assert (await subscriber.next_data())["totalCount"] == 2

            redis.stop()
            # A change while Redis is down still commits; the subscriber learns of it on reconnect.
            await create_telnyx(first, key, "During")
            redis.start()
            assert (await subscriber.next_data(timeout=15))["totalCount"] == 4

            await create_telnyx(first, key, "After")
            assert (await subscriber.next_data(timeout=15))["totalCount"] == 6
            await subscriber.close()
    finally:
        redis.stop()
