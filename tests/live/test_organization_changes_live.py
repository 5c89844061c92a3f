"""organizationChanges across processes: two uvicorn servers on one PostgreSQL database and one
Redis; a write through server A reaches subscribers on server B (and on A), with its types and ids."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.fernet import Fernet

from .. import backends
from ..documents import ADD_NUMBER, SET_DEFAULT, UPDATE, VALID
from .redis_server import require_shared_redis
from .server import cli, running_server, server_env
from .test_fanout import post
from .ws_client import Subscriber

CHANGES = "subscription { organizationChanges { dataVersion events { type entityIds } } }"
CREATE = """mutation($input: CreateTelephonyConfigInput!) { createTelephonyConfig(input: $input) {
  telephonyConfig { id } userErrors { code } } }"""
VERSION = "{ viewer { organization { id dataVersion } } }"


@pytest.fixture
async def two_servers(tmp_path):
    keys = (Fernet.generate_key().decode(),)
    async with backends.postgres_database(keys) as url:
        env = server_env(GQL_TELEPHONY_DATABASE_URL=url, GQL_TELEPHONY_SECRET_KEYS=keys[0],
                         GQL_TELEPHONY_BROKER_URL=require_shared_redis())
        org = cli(["create-org", "Live changes"], env)
        other_org = cli(["create-org", "Elsewhere"], env)
        keys_by_name = {"admin": cli(["create-api-key", org], env),
                        "reader": cli(["create-api-key", org, "--read-only"], env),
                        "other": cli(["create-api-key", other_org], env)}
        with running_server(env, tmp_path / "a.log") as first, running_server(env, tmp_path / "b.log") as second:
            yield first, second, keys_by_name, tmp_path


async def subscribed(server, key: str) -> Subscriber:
    subscriber = Subscriber(server.ws, key)
    assert (await subscriber.connect())["type"] == "connection_ack"
    await subscriber.subscribe(CHANGES)
    return subscriber


async def next_change(subscriber: Subscriber) -> dict[str, Any]:
    message = await subscriber.receive()
    assert message["type"] == "next" and "errors" not in message["payload"], message
    return message["payload"]["data"]["organizationChanges"]


def events(change: dict[str, Any]) -> dict[str, list[str]]:
    return {event["type"]: event["entityIds"] for event in change["events"]}


async def create(server, key: str, name: str, provider: str = "TWILIO") -> str:
    data = await post(server, key, CREATE, {"input": {"name": name, "provider": provider, "config": VALID[provider]}})
    return data["createTelephonyConfig"]["telephonyConfig"]["id"]


async def test_a_write_through_one_server_reaches_subscribers_on_the_other(two_servers):
    first, second, keys, tmp_path = two_servers
    on_b = await subscribed(second, keys["reader"])  # a read-only key may subscribe
    on_a = await subscribed(first, keys["admin"])
    elsewhere = await subscribed(second, keys["other"])
    viewer = (await post(first, keys["admin"], VERSION, {}))["viewer"]["organization"]
    for subscriber in (on_b, on_a):
        assert await next_change(subscriber) == {"dataVersion": viewer["dataVersion"], "events": []}
    await next_change(elsewhere)

    await create(first, keys["other"], "Not yours")  # another organization's: never arrives at on_b
    config = await create(first, keys["admin"], "Main")
    for subscriber in (on_b, on_a):
        assert events(await next_change(subscriber)) == {"TELEPHONY_CONFIG_CREATED": [config],
                                                         "WARNINGS_CHANGED": [viewer["id"]]}

    await post(first, keys["admin"], UPDATE, {"input": {"id": config, "name": "Main line"}})
    assert events(await next_change(on_b)) == {"TELEPHONY_CONFIG_UPDATED": [config]}

    added = await post(second, keys["admin"], ADD_NUMBER, {"input": {"telephonyConfigId": config,
                                                                     "phoneNumber": "+14155550100"}})
    number = added["addPhoneNumber"]["phoneNumber"]["id"]
    assert events(await next_change(on_b)) == {"PHONE_NUMBER_ADDED": [number], "WARNINGS_CHANGED": [viewer["id"]]}

    await post(first, keys["admin"], SET_DEFAULT, {"id": config})
    change = await next_change(on_b)
    assert events(change)["DEFAULT_OUTBOUND_CHANGED"] == [config]
    assert change["dataVersion"] == (await post(second, keys["admin"], VERSION, {}))["viewer"]["organization"]["dataVersion"]

    # The other organization's subscriber heard its own write only.
    assert list(events(await next_change(elsewhere))) == ["TELEPHONY_CONFIG_CREATED", "WARNINGS_CHANGED"]
    for subscriber in (on_a, on_b, elsewhere):
        await subscriber.close()
    logs = (tmp_path / "a.log").read_text() + (tmp_path / "b.log").read_text()
    assert "Traceback" not in logs
