"""The cost limit holds for a query sent over a real WebSocket (graphql-transport-ws) as over HTTP."""

from __future__ import annotations

import httpx
import pytest

from gql_telephony.app import build_runtime
from gql_telephony.services.tenancy import create_api_key, create_organization
from gql_telephony.storage.migrate import upgrade_to_head

from ..api.test_cost_on_both_executors import SMALLER
from ..api.test_limits import ATTACK
from ..fixtures import ADD_NUMBER, CREATE, TELNYX
from .server import serving_in_process
from .ws_client import Subscriber


@pytest.fixture
async def served(settings):
    runtime = build_runtime(settings)
    await upgrade_to_head(runtime.db)
    key = await create_api_key(runtime.db, await create_organization(runtime.db, "Costly"))
    try:
        async with serving_in_process(runtime) as host:
            yield host, key
    finally:
        await runtime.broker.close()
        await runtime.db.dispose()


async def seed_config_with_numbers(host: str, key: str, numbers: int) -> str:
    async with httpx.AsyncClient(base_url=f"http://{host}", headers={"authorization": f"Bearer {key}"}) as client:
        async def gql(query: str, variables: dict) -> dict:
            response = await client.post("/graphql", json={"query": query, "variables": variables})
            assert "errors" not in response.json(), response.text[:300]
            return response.json()["data"]

        created = await gql(CREATE, {"input": {"name": "Main", "provider": "TELNYX", "config": TELNYX}})
        config_id = created["createTelephonyConfig"]["telephonyConfig"]["id"]
        for n in range(numbers):
            await gql(ADD_NUMBER, {"input": {"telephonyConfigId": config_id, "phoneNumber": f"+1415555010{n}"}})
    return config_id


async def test_the_nodes_attack_is_refused_over_a_websocket(served):
    host, key = served
    config_id = await seed_config_with_numbers(host, key, 2)
    subscriber = Subscriber(f"ws://{host}/graphql", key)
    assert (await subscriber.connect())["type"] == "connection_ack"
    try:
        await subscriber.send({"id": "attack", "type": "subscribe",
                               "payload": {"query": ATTACK, "variables": {"ids": [config_id] * 100}}})
        refused = await subscriber.receive()
        assert refused["id"] == "attack"
        errors = refused["payload"] if refused["type"] == "error" else refused["payload"]["errors"]
        assert refused["type"] == "error" or refused["payload"].get("data") is None, str(refused)[:300]
        assert [e["extensions"]["code"] for e in errors] == ["QUERY_TOO_COMPLEX"]
        assert "1010100" in errors[0]["message"]
        if refused["type"] == "next":  # an "error" message ends the operation by itself
            assert await subscriber.receive() == {"id": "attack", "type": "complete"}

        # 99 ids and an inner page of 1 cost 19,899: answered on the same socket.
        await subscriber.send({"id": "smaller", "type": "subscribe",
                               "payload": {"query": SMALLER, "variables": {"ids": [config_id] * 99}}})
        answered = await subscriber.receive()
        assert answered["type"] == "next" and answered["id"] == "smaller", str(answered)[:300]
        nodes = answered["payload"]["data"]["nodes"]
        assert len(nodes) == 99 and all(len(node["phoneNumbers"]["nodes"]) == 2 for node in nodes)
    finally:
        await subscriber.close()
