"""The cost and size limits hold on a real uvicorn server: over HTTP on the compiled-plan path and on
the generic executor, and over a real WebSocket (graphql-transport-ws)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace

import httpx
import pytest

from bench.worst_response import IDS
from gql_telephony.api.graph.limits import MAX_RESPONSE_SIZE
from gql_telephony.app import build_runtime
from gql_telephony.services.tenancy import create_api_key, create_organization
from gql_telephony.storage.migrate import upgrade_to_head

from ..api.test_cost_on_both_executors import ALIASED_NUMBERS, LARGEST_DASHBOARD, SMALLER, WORST_SIZE, WORST_UNDER_COST
from ..api.test_limits import ATTACK
from ..documents import ADD_NUMBER, CREATE, TELNYX
from ..support import bearer
from .server import serving_in_process
from .ws_client import Subscriber


@pytest.fixture(params=[True, False], ids=["plans", "generic"])
async def served_runtime(settings, request):
    """A real server, with compiled plans on or off; yields (host, key, runtime)."""
    runtime = build_runtime(replace(settings, compiled_plans=request.param))
    await upgrade_to_head(runtime.db)
    key = await create_api_key(runtime.db, await create_organization(runtime.db, "Costly"))
    try:
        async with serving_in_process(runtime) as host:
            yield host, key, runtime
    finally:
        await runtime.broker.close()
        await runtime.db.dispose()


@pytest.fixture
async def served(served_runtime):
    host, key, _ = served_runtime
    return host, key


async def seed_config_with_numbers(host: str, key: str, numbers: int) -> str:
    async with httpx.AsyncClient(base_url=f"http://{host}", headers=bearer(key)) as client:
        async def gql(query: str, variables: dict) -> dict:
            response = await client.post("/graphql", json={"query": query, "variables": variables})
            assert "errors" not in response.json(), response.text[:300]
            return response.json()["data"]

        created = await gql(CREATE, {"input": {"name": "Main", "provider": "TELNYX", "config": TELNYX}})
        config_id = created["createTelephonyConfig"]["telephonyConfig"]["id"]
        for n in range(numbers):
            await gql(ADD_NUMBER, {"input": {"telephonyConfigId": config_id, "phoneNumber": f"+1415555010{n}"}})
    return config_id


async def refusal_over(subscriber: Subscriber, name: str, query: str, variables: dict) -> list[dict]:
    """The errors of an operation the server refuses before running it (and its end)."""
    await subscriber.send({"id": name, "type": "subscribe", "payload": {"query": query, "variables": variables}})
    refused = await subscriber.receive()
    assert refused["id"] == name
    errors = refused["payload"] if refused["type"] == "error" else refused["payload"]["errors"]
    assert refused["type"] == "error" or refused["payload"].get("data") is None, str(refused)[:300]
    if refused["type"] == "next":  # an "error" message ends the operation by itself
        assert await subscriber.receive() == {"id": name, "type": "complete"}
    return errors


async def answer_over(subscriber: Subscriber, name: str, query: str, variables: dict) -> dict:
    await subscriber.send({"id": name, "type": "subscribe", "payload": {"query": query, "variables": variables}})
    answered = await subscriber.receive()
    assert answered["type"] == "next" and answered["id"] == name, str(answered)[:300]
    return answered["payload"]["data"]


@asynccontextmanager
async def socket_to_two_numbers(served) -> AsyncIterator[tuple[Subscriber, str]]:
    """A connected socket, and the id of a configuration with two numbers."""
    host, key = served
    config_id = await seed_config_with_numbers(host, key, 2)
    subscriber = Subscriber(f"ws://{host}/graphql", key)
    assert (await subscriber.connect())["type"] == "connection_ack"
    try:
        yield subscriber, config_id
    finally:
        await subscriber.close()


async def test_the_nodes_attack_is_refused_over_a_websocket(served):
    async with socket_to_two_numbers(served) as (subscriber, config_id):
        errors = await refusal_over(subscriber, "attack", ATTACK, {"ids": [config_id] * 100})
        assert [e["extensions"]["code"] for e in errors] == ["QUERY_TOO_COMPLEX"]
        assert "1010100" in errors[0]["message"]

        # 99 ids and an inner page of 1 cost 19,899: answered on the same socket.
        nodes = (await answer_over(subscriber, "smaller", SMALLER, {"ids": [config_id] * 99}))["nodes"]
        assert len(nodes) == 99 and all(len(node["phoneNumbers"]["nodes"]) == 2 for node in nodes)


async def test_the_response_size_limit_holds_over_a_websocket(served):
    async with socket_to_two_numbers(served) as (subscriber, config_id):
        for name, query, variables in (("worst", WORST_UNDER_COST, {"ids": [config_id] * IDS}),
                                       ("aliased", ALIASED_NUMBERS, {})):
            errors = await refusal_over(subscriber, name, query, variables)
            assert [(e["extensions"]["code"], e["extensions"]["limit"]) for e in errors] == [
                ("QUERY_TOO_COMPLEX", MAX_RESPONSE_SIZE)]
            assert errors[0]["extensions"]["size"] == (WORST_SIZE if name == "worst" else 46_326_356)

        # The largest dashboard is answered on the same socket.
        [edge] = (await answer_over(subscriber, "dashboard", LARGEST_DASHBOARD, {}))["telephonyConfigs"]["edges"]
        assert len(edge["node"]["phoneNumbers"]["nodes"]) == 2


async def test_the_nodes_attack_is_refused_over_http_on_the_plan_and_the_generic_path(served_runtime):
    host, key, runtime = served_runtime
    config_id = await seed_config_with_numbers(host, key, 2)
    headers = {"authorization": f"Bearer {key}", "accept": "application/graphql-response+json"}
    async with httpx.AsyncClient(base_url=f"http://{host}", headers=headers) as client:
        attack = await client.post("/graphql", json={"query": ATTACK, "variables": {"ids": [config_id] * 100}})
        assert attack.status_code == 400, attack.text[:300]
        assert "data" not in attack.json()
        assert [e["extensions"]["code"] for e in attack.json()["errors"]] == ["QUERY_TOO_COMPLEX"]

        before = (runtime.read_paths.planned, runtime.read_paths.generic)
        smaller = await client.post("/graphql", json={"query": SMALLER, "variables": {"ids": [config_id] * 99}})
        assert smaller.status_code == 200 and "errors" not in smaller.json(), smaller.text[:300]
        assert len(smaller.json()["data"]["nodes"]) == 99
    # The answer came from the path under test, so the refusal above was that path's too.
    planned, generic = runtime.read_paths.planned - before[0], runtime.read_paths.generic - before[1]
    assert (planned, generic) == ((1, 0) if runtime.settings.compiled_plans else (0, 1))
