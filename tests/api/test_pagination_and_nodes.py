"""Relay connections (telephonyConfigs, TelephonyConfig.phoneNumbers) and node/nodes lookups."""

from __future__ import annotations

from typing import Any

import pytest

from ..documents import ADD_NUMBER, CREATE, VALID, add_number, create_config
from ..support import opaque_id

CONFIGS_PAGE = """
query Page($first: Int, $after: String) {
  telephonyConfigs(first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id name } }
    nodes { id }
  }
}"""

NUMBERS_PAGE = """
query Numbers($id: ID!, $first: Int, $after: String, $activeOnly: Boolean) {
  telephonyConfig(id: $id) {
    phoneNumbers(first: $first, after: $after, activeOnly: $activeOnly) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges { cursor node { id phoneNumber isActive } }
      nodes { id }
    }
  }
}"""

NODE = """
query Node($id: ID!) {
  node(id: $id) {
    __typename id
    ... on TelephonyConfig { name provider }
    ... on PhoneNumber { phoneNumber telephonyConfig { id } }
  }
}"""

NODES = """
query Nodes($ids: [ID!]!) {
  nodes(ids: $ids) {
    __typename id
    ... on TelephonyConfig { name }
    ... on PhoneNumber { phoneNumber }
  }
}"""


async def make_configs(api: Any, count: int, prefix: str = "cfg") -> list[str]:
    """Configs created in reverse alphabetical order: creation order must win."""
    ids = []
    for i in range(count):
        name = f"{prefix}-{count - i:03d}"
        ids.append((await create_config(api, "ARI", name))["telephonyConfig"]["id"])
    return ids


async def make_numbers(api: Any, config_id: str, count: int, *, start: int = 100, **extra: Any) -> list[str]:
    ids = []
    for i in range(count):
        payload = await add_number(api, config_id, f"+1415555{start + i:04d}", **extra)
        assert payload["userErrors"] == [], payload
        ids.append(payload["phoneNumber"]["id"])
    return ids


async def walk(api: Any, document: str, field: Any, first: int, **variables: Any) -> tuple[list[str], list[dict[str, Any]]]:
    """Follows endCursor to the end; returns the node ids and each page's connection."""
    seen: list[str] = []
    pages: list[dict[str, Any]] = []
    after = None
    for _ in range(100):
        connection = field(await api.gql(document, {"first": first, "after": after, **variables}))
        pages.append(connection)
        edges = connection["edges"]
        info = connection["pageInfo"]
        assert [e["node"]["id"] for e in edges] == [n["id"] for n in connection["nodes"]]
        if edges:
            assert info["startCursor"] == edges[0]["cursor"]
            assert info["endCursor"] == edges[-1]["cursor"]
        else:
            assert info["startCursor"] is None
            assert info["endCursor"] is None
        assert len(edges) <= first
        seen += [e["node"]["id"] for e in edges]
        if not info["hasNextPage"]:
            return seen, pages
        assert len(edges) == first
        after = info["endCursor"]
    raise AssertionError("the connection never ended")


def configs_of(data: dict[str, Any]) -> dict[str, Any]:
    return data["telephonyConfigs"]


def numbers_of(data: dict[str, Any]) -> dict[str, Any]:
    return data["telephonyConfig"]["phoneNumbers"]


def assert_refused(body: dict[str, Any], code: str = "BAD_USER_INPUT") -> None:
    assert body.get("data") is None, body
    assert body["errors"], body
    assert code in [e["extensions"]["code"] for e in body["errors"]], body


# --- telephonyConfigs --------------------------------------------------------------------------


@pytest.mark.parametrize("first", [1, 2, 3, 7, 8, 100])
async def test_configs_page_through_all_in_creation_order(api, first):
    ids = await make_configs(api, 7)
    seen, pages = await walk(api, CONFIGS_PAGE, configs_of, first)
    assert seen == ids
    assert all(page["totalCount"] == 7 for page in pages)
    assert pages[0]["pageInfo"]["hasPreviousPage"] is False
    assert len(pages) == max(1, -(-7 // first))
    assert [p["pageInfo"]["hasNextPage"] for p in pages] == [True] * (len(pages) - 1) + [False]


async def test_configs_default_page_is_50(api):
    ids = await make_configs(api, 51)
    connection = configs_of(await api.gql(CONFIGS_PAGE))
    assert [n["id"] for n in connection["nodes"]] == ids[:50]
    assert connection["pageInfo"]["hasNextPage"] is True
    assert connection["totalCount"] == 51
    rest = configs_of(await api.gql(CONFIGS_PAGE, {"after": connection["pageInfo"]["endCursor"]}))
    assert [n["id"] for n in rest["nodes"]] == ids[50:]
    assert rest["pageInfo"]["hasNextPage"] is False


async def test_empty_connection(api):
    connection = configs_of(await api.gql(CONFIGS_PAGE, {"first": 10}))
    assert connection == {
        "totalCount": 0,
        "pageInfo": {"hasNextPage": False, "hasPreviousPage": False, "startCursor": None, "endCursor": None},
        "edges": [], "nodes": [],
    }


async def test_after_the_last_cursor_is_an_empty_page(api):
    await make_configs(api, 2)
    connection = configs_of(await api.gql(CONFIGS_PAGE, {"first": 2}))
    assert connection["pageInfo"]["hasNextPage"] is False
    after = configs_of(await api.gql(CONFIGS_PAGE, {"first": 2, "after": connection["pageInfo"]["endCursor"]}))
    assert after["edges"] == []
    assert after["pageInfo"]["hasNextPage"] is False
    assert after["pageInfo"]["startCursor"] is None
    assert after["totalCount"] == 2


async def test_creation_order_survives_updates_and_a_deleted_cursor(api):
    ids = await make_configs(api, 5)
    # Renaming the first one (a newer updatedAt, another name) does not move it.
    renamed = await api.gql(
        "mutation($id: ID!) { updateTelephonyConfig(input: {id: $id, name: \"zzz\"}) { userErrors { code } } }",
        {"id": ids[0]},
    )
    assert renamed["updateTelephonyConfig"]["userErrors"] == []
    page = configs_of(await api.gql(CONFIGS_PAGE, {"first": 2}))
    assert [n["id"] for n in page["nodes"]] == ids[:2]
    cursor = page["pageInfo"]["endCursor"]
    # The item the cursor points at is deleted: paging on from it still works.
    deleted = await api.gql(
        "mutation($id: ID!) { deleteTelephonyConfig(input: {id: $id}) { userErrors { code } } }", {"id": ids[1]}
    )
    assert deleted["deleteTelephonyConfig"]["userErrors"] == []
    rest = configs_of(await api.gql(CONFIGS_PAGE, {"first": 10, "after": cursor}))
    assert [n["id"] for n in rest["nodes"]] == ids[2:]
    assert rest["totalCount"] == 4


async def test_connections_hold_only_the_callers_organization(api):
    mine = await make_configs(api, 3)
    _, other_key = await api.new_org()
    theirs = (await api.gql(CREATE, {"input": {"name": "Theirs", "provider": "ARI", "config": VALID["ARI"]}},
                            key=other_key))["createTelephonyConfig"]["telephonyConfig"]["id"]
    more_mine = await make_configs(api, 1, prefix="more")
    seen, pages = await walk(api, CONFIGS_PAGE, configs_of, 2)
    assert seen == mine + more_mine
    assert theirs not in seen
    assert pages[0]["totalCount"] == 4
    other = configs_of(await api.gql(CONFIGS_PAGE, {"first": 10}, key=other_key))
    assert [n["id"] for n in other["nodes"]] == [theirs]
    assert other["totalCount"] == 1


# --- phoneNumbers ------------------------------------------------------------------------------


@pytest.mark.parametrize("first", [1, 2, 5, 6, 100])
async def test_numbers_page_through_all_in_creation_order(api, first):
    cfg = (await create_config(api, "TWILIO"))["telephonyConfig"]["id"]
    other = (await create_config(api, "TWILIO", "Other"))["telephonyConfig"]["id"]
    ids = []
    for i in range(6):  # interleaved with another config's numbers
        ids += await make_numbers(api, cfg, 1, start=2 * i)
        await make_numbers(api, other, 1, start=2 * i + 1)
    seen, pages = await walk(api, NUMBERS_PAGE, numbers_of, first, id=cfg)
    assert seen == ids
    assert all(page["totalCount"] == 6 for page in pages)
    assert pages[0]["pageInfo"]["hasPreviousPage"] is False


async def test_numbers_active_only_pages_through_active_ones(api):
    cfg = (await create_config(api, "TWILIO"))["telephonyConfig"]["id"]
    active = []
    for i in range(7):
        active_now = i % 3 != 1
        ids = await make_numbers(api, cfg, 1, start=i, isActive=active_now)
        if active_now:
            active += ids
    seen, pages = await walk(api, NUMBERS_PAGE, numbers_of, 2, id=cfg, activeOnly=True)
    assert seen == active
    assert all(page["totalCount"] == len(active) == 5 for page in pages)
    everything, pages = await walk(api, NUMBERS_PAGE, numbers_of, 3, id=cfg, activeOnly=False)
    assert len(everything) == 7
    assert all(page["totalCount"] == 7 for page in pages)


async def test_numbers_default_page_is_50(api):
    cfg = (await create_config(api, "TWILIO"))["telephonyConfig"]["id"]
    ids = await make_numbers(api, cfg, 51)
    connection = numbers_of(await api.gql(NUMBERS_PAGE, {"id": cfg}))
    assert [n["id"] for n in connection["nodes"]] == ids[:50]
    assert connection["pageInfo"]["hasNextPage"] is True
    assert connection["totalCount"] == 51


async def test_nested_number_pages_of_several_configs_in_one_document(api):
    configs = [(await create_config(api, "TWILIO", f"C{i}"))["telephonyConfig"]["id"] for i in range(3)]
    numbers: dict[str, list[str]] = {c: [] for c in configs}
    for i in range(4):
        for j, cfg in enumerate(configs):
            numbers[cfg] += await make_numbers(api, cfg, 1, start=10 * j + i)
    data = await api.gql(
        """{ telephonyConfigs(first: 10) { nodes { id
               phoneNumbers(first: 3) { totalCount pageInfo { hasNextPage endCursor } nodes { id } } } } }"""
    )
    for node in data["telephonyConfigs"]["nodes"]:
        connection = node["phoneNumbers"]
        assert [n["id"] for n in connection["nodes"]] == numbers[node["id"]][:3]
        assert connection["pageInfo"]["hasNextPage"] is True
        assert connection["totalCount"] == 4
        rest = numbers_of(await api.gql(NUMBERS_PAGE, {"id": node["id"], "after": connection["pageInfo"]["endCursor"]}))
        assert [n["id"] for n in rest["nodes"]] == numbers[node["id"]][3:]
        assert rest["pageInfo"]["hasNextPage"] is False


# --- first and after ---------------------------------------------------------------------------


@pytest.mark.parametrize("first", [0, -1, 101, 1000])
async def test_first_out_of_range_is_refused_literal_and_variable(api, first):
    await make_configs(api, 1)
    literal = await api.post(f"{{ telephonyConfigs(first: {first}) {{ totalCount }} }}")
    assert_refused(literal.json())
    variable = await api.post(CONFIGS_PAGE, {"first": first})
    assert_refused(variable.json())
    cfg = (await create_config(api, "TWILIO", "T"))["telephonyConfig"]["id"]
    nested = await api.post(NUMBERS_PAGE, {"id": cfg, "first": first})
    assert_refused(nested.json())


@pytest.mark.parametrize("first", [1, 100])
async def test_first_at_the_bounds_is_accepted(api, first):
    await make_configs(api, 2)
    page = (await api.gql(CONFIGS_PAGE, {"first": first}))["telephonyConfigs"]
    assert (len(page["nodes"]), page["pageInfo"]["hasNextPage"]) == (min(first, 2), first < 2)


async def test_bad_first_refuses_the_whole_document_before_anything_runs(api):
    # The mutation would create a config; a nested connection with first: 0 must stop it first.
    document = """
    mutation($input: CreateTelephonyConfigInput!, $first: Int) {
      createTelephonyConfig(input: $input) {
        telephonyConfig { id phoneNumbers(first: $first) { totalCount } }
        userErrors { code }
      }
    }"""
    for first in (0, 101):
        response = await api.post(document, {"input": {"name": "Never", "provider": "ARI", "config": VALID["ARI"]}, "first": first})
        assert_refused(response.json())
    response = await api.post("""
      mutation($cfg: ID!) {
        a: addPhoneNumber(input: {telephonyConfigId: $cfg, phoneNumber: "+14155550100"}) { userErrors { code } }
        b: addPhoneNumber(input: {telephonyConfigId: $cfg, phoneNumber: "+14155550101"}) {
          phoneNumber { telephonyConfig { phoneNumbers(first: 500) { totalCount } } } }
      }""", {"cfg": opaque_id("TelephonyConfig:1")})
    assert_refused(response.json())
    connection = configs_of(await api.gql(CONFIGS_PAGE, {"first": 10}))
    assert connection["totalCount"] == 0


async def test_bad_first_in_a_fragment_is_refused(api):
    response = await api.post("""
      query { ...F }
      fragment F on Query { telephonyConfigs { nodes { phoneNumbers(first: 0) { totalCount } } } }""")
    assert_refused(response.json())


@pytest.mark.parametrize("after", ["garbage", "", "!!!", opaque_id("cursor:abc"), opaque_id("cursor:-1"), opaque_id("TelephonyConfig:1"),
                                   "x" * 500])
async def test_bad_cursor_is_refused(api, after):
    await make_configs(api, 2)
    response = await api.post(CONFIGS_PAGE, {"first": 1, "after": after})
    body = response.json()
    assert body.get("data") is None, body
    assert body["errors"]
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    if after:
        assert after not in body["errors"][0]["message"]


async def test_bad_cursor_on_numbers_is_refused(api):
    cfg = (await create_config(api, "TWILIO"))["telephonyConfig"]["id"]
    response = await api.post(NUMBERS_PAGE, {"id": cfg, "after": "not-a-cursor"})
    assert_refused(response.json())


# --- node and nodes ----------------------------------------------------------------------------


async def test_node_resolves_both_types(api):
    cfg = (await create_config(api, "TWILIO", "Main"))["telephonyConfig"]["id"]
    number = (await add_number(api, cfg, "+14155550100"))["phoneNumber"]["id"]
    config_node = (await api.gql(NODE, {"id": cfg}))["node"]
    assert config_node == {"__typename": "TelephonyConfig", "id": cfg, "name": "Main", "provider": "TWILIO"}
    number_node = (await api.gql(NODE, {"id": number}))["node"]
    assert number_node == {"__typename": "PhoneNumber", "id": number, "phoneNumber": "+14155550100", "telephonyConfig": {"id": cfg}}


async def test_ids_are_opaque_and_typed(api):
    cfg = (await create_config(api, "TWILIO", "Main"))["telephonyConfig"]["id"]
    number = (await add_number(api, cfg, "+14155550100"))["phoneNumber"]["id"]
    assert cfg != number
    data = await api.gql(
        "query($c: ID!, $n: ID!) { asConfig: telephonyConfig(id: $n) { id } byId: telephonyConfig(id: $c) { id } }",
        {"c": cfg, "n": number},
    )
    assert data == {"asConfig": None, "byId": {"id": cfg}}


GARBAGE_IDS = [
    "", "garbage", "1", "!!!", "x" * 1000, opaque_id("TelephonyConfig:"), opaque_id("TelephonyConfig:-1"),
    opaque_id("TelephonyConfig:abc"), opaque_id("TelephonyConfig:99999"), opaque_id("PhoneNumber:99999"), opaque_id("Organization:99999"),
    opaque_id("ApiKey:1"), opaque_id("cursor:1"), opaque_id("TelephonyConfig:1:2"), opaque_id("TelephonyConfig:" + "9" * 40),
]


@pytest.mark.parametrize("garbage", GARBAGE_IDS)
async def test_node_of_garbage_is_null(api, garbage):
    await create_config(api, "TWILIO", "Main")
    data = await api.gql(NODE, {"id": garbage})
    assert data["node"] is None
    data = await api.gql("query($id: ID!) { telephonyConfig(id: $id) { id } }", {"id": garbage})
    assert data["telephonyConfig"] is None


async def test_nodes_keeps_order_and_nulls(api):
    cfg = (await create_config(api, "TWILIO", "Main"))["telephonyConfig"]["id"]
    number = (await add_number(api, cfg, "+14155550100"))["phoneNumber"]["id"]
    removed = (await add_number(api, cfg, "+14155550101"))["phoneNumber"]["id"]
    await api.gql("mutation($id: ID!) { removePhoneNumber(input: {id: $id}) { deletedPhoneNumberId } }", {"id": removed})

    _, other_key = await api.new_org()
    their_cfg = (await api.gql(CREATE, {"input": {"name": "Theirs", "provider": "TWILIO", "config": VALID["TWILIO"]}},
                               key=other_key))["createTelephonyConfig"]["telephonyConfig"]["id"]
    their_number = (await api.gql(ADD_NUMBER, {"input": {"telephonyConfigId": their_cfg, "phoneNumber": "+14155550199"}},
                                  key=other_key))["addPhoneNumber"]["phoneNumber"]["id"]

    ids = [number, "garbage", their_cfg, cfg, their_number, removed, cfg, "", opaque_id("Organization:99999")]
    data = await api.gql(NODES, {"ids": ids})
    assert data["nodes"] == [
        {"__typename": "PhoneNumber", "id": number, "phoneNumber": "+14155550100"},
        None, None,
        {"__typename": "TelephonyConfig", "id": cfg, "name": "Main"},
        None, None,
        {"__typename": "TelephonyConfig", "id": cfg, "name": "Main"},
        None, None,
    ]
    # And the other way round: the other organization sees its own, not ours.
    theirs = await api.gql(NODES, {"ids": [cfg, number, their_cfg, their_number]}, key=other_key)
    assert [n and n["id"] for n in theirs["nodes"]] == [None, None, their_cfg, their_number]
    for own_id in (cfg, number):
        assert (await api.gql(NODE, {"id": own_id}, key=other_key))["node"] is None


async def test_nodes_empty_list(api):
    assert (await api.gql(NODES, {"ids": []}))["nodes"] == []


async def test_nodes_takes_at_most_100_ids(api):
    cfg = (await create_config(api, "TWILIO", "Main"))["telephonyConfig"]["id"]
    hundred = await api.gql(NODES, {"ids": [cfg] * 100})
    assert len(hundred["nodes"]) == 100
    assert all(n["id"] == cfg for n in hundred["nodes"])

    response = await api.post(NODES, {"ids": [cfg] * 101})
    assert_refused(response.json())
    literal = "[" + ", ".join(f'"{cfg}"' for _ in range(101)) + "]"
    response = await api.post(f"{{ nodes(ids: {literal}) {{ id }} }}")
    body = response.json()
    assert body.get("data") is None
    assert body["errors"]  # refused (as too many ids, or as too many tokens)
    # Alongside other fields, the whole document is refused.
    response = await api.post(
        "query($ids: [ID!]!) { telephonyConfigs { totalCount } nodes(ids: $ids) { id } }", {"ids": ["x"] * 101}
    )
    assert_refused(response.json())


async def test_keys_beyond_any_row_name_nothing_on_every_database(api):
    """PostgreSQL's integer keys end at 2**31 - 1: a larger key must never reach it."""
    config_id = (await create_config(api, "TWILIO"))["telephonyConfig"]["id"]
    beyond = {name: opaque_id(f"{name}:2147483648")
              for name in ("TelephonyConfig", "PhoneNumber", "cursor")}
    data = await api.gql(
        """query($config: ID!, $number: ID!, $after: String) {
             telephonyConfig(id: $config) { id }
             node(id: $number) { id }
             nodes(ids: [$config, $number]) { id }
             telephonyConfigs(after: $after) { totalCount nodes { id } pageInfo { hasPreviousPage } }
           }""",
        {"config": beyond["TelephonyConfig"], "number": beyond["PhoneNumber"], "after": beyond["cursor"]},
    )
    assert data == {"telephonyConfig": None, "node": None, "nodes": [None, None],
                    "telephonyConfigs": {"totalCount": 1, "nodes": [], "pageInfo": {"hasPreviousPage": True}}}
    assert config_id
