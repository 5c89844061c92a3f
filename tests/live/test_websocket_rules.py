"""WebSocket rules: the subscription limit per socket, the init timeout, browser origins, GraphiQL."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import httpx
import pytest
import websockets

from gql_telephony.api.http.websocket import MAX_SUBSCRIPTIONS_PER_SOCKET
from gql_telephony.app import build_runtime
from gql_telephony.services.tenancy import create_api_key, create_organization
from gql_telephony.storage.migrate import upgrade_to_head

from ..deadline import HANG_SECONDS
from ..fixtures import CREATE, UPDATE, VALID
from .server import serving_in_process
from .ws_client import SUMMARY, Subscriber

DASHBOARD_ORIGIN = "https://dash.example.com"


@pytest.fixture
async def served(settings):
    settings = replace(settings, allowed_origins=(DASHBOARD_ORIGIN,), ws_init_timeout=1.0)
    runtime = build_runtime(settings)
    await upgrade_to_head(runtime.db)
    key = await create_api_key(runtime.db, await create_organization(runtime.db, "Rules"))
    async with serving_in_process(runtime) as host:
        yield host, key


async def test_the_101st_subscription_on_a_socket_is_refused_naming_the_limit(served):
    host, key = served
    subscriber = Subscriber(f"ws://{host}/graphql", key)
    await subscriber.connect()
    for index in range(MAX_SUBSCRIPTIONS_PER_SOCKET):
        await subscriber.subscribe(SUMMARY, operation_id=str(index))
    for _ in range(MAX_SUBSCRIPTIONS_PER_SOCKET):
        assert (await subscriber.receive())["type"] == "next"
    await subscriber.subscribe(SUMMARY, operation_id="one too many")
    refused = await subscriber.receive()
    assert refused["type"] == "error" and refused["id"] == "one too many"
    assert str(MAX_SUBSCRIPTIONS_PER_SOCKET) in refused["payload"][0]["message"]
    assert refused["payload"][0]["extensions"]["limit"] == MAX_SUBSCRIPTIONS_PER_SOCKET
    # Completing one makes room for another; a query on the socket is not a subscription.
    await subscriber.send({"id": "0", "type": "complete"})
    await subscriber.send({"id": "q", "type": "subscribe", "payload": {"query": "{ telephonyConfigs { totalCount } }"}})
    assert (await subscriber.receive())["type"] == "next"
    await subscriber.subscribe(SUMMARY, operation_id="room again")
    message = await subscriber.receive()
    while message.get("id") == "q":  # the query's completion
        message = await subscriber.receive()
    assert message["type"] == "next" and message["id"] == "room again"
    await subscriber.close()


async def test_a_socket_that_never_sends_connection_init_is_closed(served):
    host, _ = served
    async with websockets.connect(f"ws://{host}/graphql", subprotocols=["graphql-transport-ws"]) as socket:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(socket.recv(), HANG_SECONDS)
    assert closed.value.rcvd.code == 4408


async def test_only_the_legacy_free_protocol_is_spoken(served):
    host, _ = served
    with pytest.raises((websockets.InvalidStatus, websockets.InvalidHandshake, websockets.ConnectionClosed)):
        async with websockets.connect(f"ws://{host}/graphql", subprotocols=["graphql-ws"]) as socket:
            await asyncio.wait_for(socket.recv(), HANG_SECONDS)


async def test_browser_origins_need_to_be_allowed(served):
    host, key = served
    allowed = Subscriber(f"ws://{host}/graphql", key, origin=DASHBOARD_ORIGIN)
    assert (await allowed.connect())["type"] == "connection_ack"
    await allowed.close()
    with pytest.raises(websockets.InvalidStatus) as refused:
        await Subscriber(f"ws://{host}/graphql", key, origin="https://evil.example.net").connect()
    assert refused.value.response.status_code == 403

    async with httpx.AsyncClient(base_url=f"http://{host}") as client:
        preflight = {"access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type"}
        ok = await client.options("/graphql", headers={"origin": DASHBOARD_ORIGIN, **preflight})
        assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == DASHBOARD_ORIGIN
        evil = await client.options("/graphql", headers={"origin": "https://evil.example.net", **preflight})
        assert "access-control-allow-origin" not in evil.headers


async def test_graphiql_sends_the_headers_pane_as_connection_params(served):
    host, _ = served
    async with httpx.AsyncClient(base_url=f"http://{host}") as client:
        page = await client.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert "wsConnectionParams: connectionParams" in page.text
    assert "fetcher: React.useMemo(() => fetcherFor(headers), [headers])" in page.text


async def test_queries_on_a_long_lived_socket_never_read_stale_state(served):
    host, key = served
    subscriber = Subscriber(f"ws://{host}/graphql", key)
    await subscriber.connect()
    query = "{ telephonyConfigs { nodes { name version } } }"

    async def ask(operation_id: str) -> list:
        await subscriber.send({"id": operation_id, "type": "subscribe", "payload": {"query": query}})
        message = await subscriber.receive()
        assert message["type"] == "next", message
        assert (await subscriber.receive())["type"] == "complete"
        return message["payload"]["data"]["telephonyConfigs"]["nodes"]

    assert await ask("1") == []
    async with httpx.AsyncClient(base_url=f"http://{host}", headers={"authorization": f"Bearer {key}"}) as client:
        created = await client.post("/graphql", json={"query": CREATE, "variables": {"input": {"name": "A", "provider": "TELNYX", "config": VALID["TELNYX"]}}})
        config_id = created.json()["data"]["createTelephonyConfig"]["telephonyConfig"]["id"]
        assert await ask("2") == [{"name": "A", "version": 1}]
        await client.post("/graphql", json={"query": UPDATE, "variables": {"input": {"id": config_id, "name": "B"}}})
    assert await ask("3") == [{"name": "B", "version": 2}]
    await subscriber.close()
