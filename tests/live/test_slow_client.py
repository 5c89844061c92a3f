"""A subscriber that stops reading holds at most one pending summary and is dropped when it
stops answering pings, with a close code that says why."""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets

from gql_telephony.app import build_runtime
from gql_telephony.domain.providers import ProviderKey
from gql_telephony.services.tenancy import create_api_key, create_organization
from gql_telephony.storage.migrate import upgrade_to_head

from ..deadline import HANG_SECONDS, until
from ..documents import VALID
from .server import serving_in_process
from .ws_client import SUMMARY


@pytest.fixture
async def served(settings):
    runtime = build_runtime(settings)
    await upgrade_to_head(runtime.db)
    org_id = await create_organization(runtime.db, "Slow")
    key = await create_api_key(runtime.db, org_id)
    async with serving_in_process(runtime, ws_ping_interval=0.3, ws_ping_timeout=0.5) as host:
        yield runtime, org_id, f"ws://{host}/graphql", key


async def test_a_client_that_stops_reading_is_dropped_and_leaves_nothing(served):
    runtime, org_id, url, key = served
    # max_queue=1: once a message waits unread, the client library stops reading the socket,
    # so it no longer answers pings either, as a stuck browser tab would not.
    socket = await websockets.connect(url, subprotocols=["graphql-transport-ws"], max_queue=1, ping_interval=None)
    await socket.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {key}"}}))
    assert json.loads(await socket.recv())["type"] == "connection_ack"
    await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUMMARY}}))
    # The changes must come after the server holds the subscription: made before, they leave
    # nothing unread, the client keeps answering pings and is never dropped.
    await until(lambda: runtime.summaries.listener_count == 1)
    for index in range(6):  # changes the client never reads
        await runtime.configs.create(org_id, name=f"Unread {index}", provider=ProviderKey.TELNYX, config=VALID["TELNYX"], make_default=False)
    await until(lambda: runtime.summaries.listener_count == 0)
    with pytest.raises(websockets.ConnectionClosed) as closed:
        while True:
            await asyncio.wait_for(socket.recv(), HANG_SECONDS)
    assert closed.value.rcvd.code == 1011 and "ping timeout" in closed.value.rcvd.reason
