"""API keys over a WebSocket: a read-only key cannot mutate there either; the key watch closes
a revoked key's sockets and remembers only open ones."""

from __future__ import annotations

import asyncio

import pytest
import websockets

from gql_telephony.app import build_runtime
from gql_telephony.services.tenancy import authenticate, create_api_key, create_organization, revoke_api_key
from gql_telephony.storage.migrate import upgrade_to_head

from ..documents import CREATE, VALID
from .server import serving_in_process
from .ws_client import Subscriber

COUNT = "{ telephonyConfigs { totalCount } }"


@pytest.fixture
async def served(settings):
    runtime = build_runtime(settings)
    await upgrade_to_head(runtime.db)
    org_id = await create_organization(runtime.db, "Keys")
    keys = {"admin": await create_api_key(runtime.db, org_id),
            "reader": await create_api_key(runtime.db, org_id, read_only=True)}
    async with serving_in_process(runtime) as host:
        yield f"ws://{host}/graphql", keys, runtime


async def run_once(subscriber: Subscriber, operation_id: str, query: str, variables: dict | None = None) -> dict:
    """The one result of a query or mutation sent on the socket (then its completion)."""
    await subscriber.send({"id": operation_id, "type": "subscribe", "payload": {"query": query, "variables": variables}})
    message = await subscriber.receive()
    assert message["id"] == operation_id and message["type"] in {"next", "error"}, message
    if message["type"] == "next":
        assert (await subscriber.receive()) == {"id": operation_id, "type": "complete"}
    return message


async def test_a_read_only_key_cannot_mutate_over_a_websocket(served):
    url, keys, _ = served
    reader = Subscriber(url, keys["reader"])
    assert (await reader.connect())["type"] == "connection_ack"
    variables = {"input": {"name": "Over a socket", "provider": "TELNYX", "config": VALID["TELNYX"]}}
    refused = await run_once(reader, "m", CREATE, variables)
    assert refused["type"] == "next" and refused["payload"]["data"] is None, refused
    assert [e["extensions"]["code"] for e in refused["payload"]["errors"]] == ["FORBIDDEN"]
    # It may still query (and subscribe); nothing was created.
    assert (await run_once(reader, "q", COUNT))["payload"] == {"data": {"telephonyConfigs": {"totalCount": 0}}}
    await reader.subscribe(operation_id="s")
    assert (await reader.next_data())["totalCount"] == 0
    await reader.close()

    admin = Subscriber(url, keys["admin"])
    await admin.connect()
    created = await run_once(admin, "m", CREATE, variables)
    assert created["payload"]["data"]["createTelephonyConfig"]["userErrors"] == []
    assert (await run_once(admin, "q", COUNT))["payload"] == {"data": {"telephonyConfigs": {"totalCount": 1}}}
    await admin.close()


async def test_the_key_watch_closes_a_revoked_keys_sockets_and_forgets_closed_ones(served):
    url, keys, runtime = served
    watch = runtime.key_watch
    admins = [Subscriber(url, keys["admin"]) for _ in range(3)]
    reader = Subscriber(url, keys["reader"])
    for subscriber in [*admins, reader]:
        await subscriber.connect()
    await reader.subscribe(operation_id="s")
    await reader.next_data()
    assert len(watch) == 4
    for subscriber in admins:
        await subscriber.close()
    for _ in range(200):  # each server-side handler forgets its socket as it ends
        if len(watch) == 1:
            break
        await asyncio.sleep(0.01)
    assert len(watch) == 1

    principal = await authenticate(runtime.db, keys["reader"])
    assert principal is not None
    await revoke_api_key(runtime.db, principal.key_id)
    await watch.check()  # what the loop does every 2 seconds
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await reader.receive(timeout=5)
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4403, "Forbidden: the API key was revoked")
    assert len(watch) == 0
