"""The cost and size limits through the app, on the compiled-plan path and on the generic
executor: a document over either is refused before anything runs, whichever answers reads."""

from __future__ import annotations

import pytest

from bench.worst_response import IDS, worst_document
from gql_telephony.api.graph.limits import MAX_RESPONSE_SIZE

from ..documents import DASHBOARD, add_number, create_config
from ..test_statement_count import reading_through
from .test_limits import ATTACK
from .test_response_size import UNDER_EVERY_NUMBER

SMALLER = ATTACK.replace("phoneNumbers(first: 100) { nodes { id", "phoneNumbers(first: 1) { nodes { id")
# 8 aliases of a default-sized page of default-sized pages: 8 * (50 + 50 * 50) = 20,400.
DEFAULT_SIZED = "{ %s }" % " ".join(
    f"a{i}: telephonyConfigs {{ nodes {{ phoneNumbers {{ totalCount }} }} }}" for i in range(8))


def refusal(response, status: int) -> dict:
    assert response.status_code == status, response.text[:300]
    body = response.json()
    assert "data" not in body, str(body)[:300]
    [error] = body["errors"]
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    return error


async def config_with_three_numbers(api) -> str:
    config_id = (await create_config(api, "TELNYX"))["telephonyConfig"]["id"]
    for n in range(3):
        assert (await add_number(api, config_id, f"+1415555010{n}"))["userErrors"] == []
    return config_id


@pytest.mark.parametrize("compiled_plans", [True, False], ids=["plan", "generic"])
async def test_nodes_and_default_page_sizes_count_on_both_executors(api, compiled_plans):
    config_id = await config_with_three_numbers(api)
    async with reading_through(api, compiled_plans=compiled_plans) as reader:
        # As for an invalid document: 400 to a client that understands graphql-response+json.
        for accept, status in (("application/graphql-response+json", 400), ("application/json", 200)):
            response = await reader.post(ATTACK, {"ids": [config_id] * 100}, headers={"accept": accept})
            error = refusal(response, status)
            assert "1010100" in error["message"] and "20000" in error["message"]
            assert error["extensions"]["cost"] == 1_010_100
        assert refusal(await reader.post(DEFAULT_SIZED), 200)["extensions"]["cost"] == 20_400
        # A page size sent as 100.0 is the Int 100 to execution, and to the price.
        as_float = ATTACK.replace("($ids: [ID!]!)", "($ids: [ID!]!, $n: Int!)").replace("first: 100", "first: $n")
        response = await reader.post(as_float, {"ids": [config_id] * 100, "n": 100.0})
        assert refusal(response, 200)["extensions"]["cost"] == 1_010_100

        # 99 ids and an inner page of 1: 19,899, answered.
        data = await reader.gql(SMALLER, {"ids": [config_id] * 99})
        assert len(data["nodes"]) == 99
        for node in data["nodes"]:
            numbers = node["phoneNumbers"]["nodes"]
            assert len(numbers) == 3
            assert all(len(n["telephonyConfig"]["phoneNumbers"]["nodes"]) == 1 for n in numbers)
        data = await reader.gql(DEFAULT_SIZED.replace(" a7: telephonyConfigs { nodes { phoneNumbers { totalCount } } }", ""))
        assert data["a6"]["nodes"] == [{"phoneNumbers": {"totalCount": 3}}]
        paths = reader.runtime.read_paths
        # The refusals are the generic executor's (a plan never runs a refused document).
        assert (paths.planned, paths.generic) == ((2, 4) if compiled_plans else (0, 6))


# bench/worst_response.py's document, the worst under the cost alone: 15 copies of a
# configuration at each of 98 * 2 * 100 numbers; cost 19,894, a response of 55 GB at most.
WORST_UNDER_COST = worst_document(100, 15)
WORST_SIZE = 55_987_257_342
# 15 aliases of a 300-character number at each of 100 * 100 numbers: cost 10,100, 46 MB at most;
# with 5 aliases, 15 MB.
ALIASED_NUMBERS = UNDER_EVERY_NUMBER % " ".join(f"a{i}: phoneNumber" for i in range(15))
FEWER_ALIASED_NUMBERS = UNDER_EVERY_NUMBER % " ".join(f"a{i}: phoneNumber" for i in range(5))
# The dashboard at its largest: 100 configurations of 100 numbers, 25.6 MB at most.
LARGEST_DASHBOARD = DASHBOARD.replace("phoneNumbers(first: 50)", "phoneNumbers(first: 100)")


@pytest.mark.parametrize("compiled_plans", [True, False], ids=["plan", "generic"])
async def test_the_response_size_limit_holds_on_both_executors(api, compiled_plans):
    config_id = await config_with_three_numbers(api)
    async with reading_through(api, compiled_plans=compiled_plans) as reader:
        for accept, status in (("application/graphql-response+json", 400), ("application/json", 200)):
            response = await reader.post(WORST_UNDER_COST, {"ids": [config_id] * IDS}, headers={"accept": accept})
            error = refusal(response, status)
            assert error["extensions"] == {"code": "QUERY_TOO_COMPLEX", "size": WORST_SIZE, "limit": MAX_RESPONSE_SIZE}
            assert str(WORST_SIZE) in error["message"] and str(MAX_RESPONSE_SIZE) in error["message"]
        assert refusal(await reader.post(ALIASED_NUMBERS), 200)["extensions"]["size"] == 46_326_356

        # Within the size: the largest dashboard, and 5 of the 15 aliased numbers.
        data = await reader.gql(LARGEST_DASHBOARD)
        [edge] = data["telephonyConfigs"]["edges"]
        assert edge["node"]["config"]["api_key"].startswith("****") and len(edge["node"]["phoneNumbers"]["nodes"]) == 3
        data = await reader.gql(FEWER_ALIASED_NUMBERS)
        assert data["telephonyConfigs"]["nodes"][0]["phoneNumbers"]["nodes"][0]["a4"] == "+14155550100"
        paths = reader.runtime.read_paths
        # The refusals are the generic executor's (a plan never runs a refused document).
        assert (paths.planned, paths.generic) == ((2, 3) if compiled_plans else (0, 5))


@pytest.mark.parametrize("compiled_plans", [True, False], ids=["plan", "generic"])
async def test_a_document_whose_price_reads_its_variables_is_priced_at_each_request(api, compiled_plans):
    """The limits of a document are kept once known only if no argument they read holds a
    variable: the same document answered with 99 ids is refused with 100."""
    config_id = await config_with_three_numbers(api)
    async with reading_through(api, compiled_plans=compiled_plans) as reader:
        assert len((await reader.gql(SMALLER, {"ids": [config_id] * 99}))["nodes"]) == 99
        assert refusal(await reader.post(SMALLER, {"ids": [config_id] * 100}), 200)["extensions"]["cost"] == 20_100
        assert len((await reader.gql(SMALLER, {"ids": [config_id] * 2}))["nodes"]) == 2
