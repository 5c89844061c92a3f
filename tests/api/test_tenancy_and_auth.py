"""Authentication, read-only keys, organization scoping and how API keys are made and kept."""

from __future__ import annotations

import base64
import math
import os
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from ..documents import (
    ADD_NUMBER,
    CREATE,
    DASHBOARD,
    DELETE,
    REMOVE_NUMBER,
    SET_DEFAULT,
    UPDATE,
    UPDATE_NUMBER,
    VALID,
    create_config,
)
from ..support import opaque_id

ROOT = Path(__file__).resolve().parents[2]

QUERY = "{ telephonyConfigs { totalCount nodes { id name } } }"

STATE = """
query State {
  telephonyConfigs(first: 100) {
    totalCount
    nodes { id name version isDefaultOutbound config
            phoneNumbers(first: 100) { totalCount nodes { id phoneNumber label isActive } } }
  }
  defaultOutboundTelephonyConfig { id }
  telephonyConfigWarnings { totalCount configsWithWarningsCount byCode { code count } hasDefaultOutbound }
}"""


def assert_unauthenticated(response: Any) -> None:
    assert response.status_code == 401, response.text
    body = response.json()
    assert body.get("data") is None, body
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", body


async def raw_post(api: Any, body: Any, headers: dict[str, str] | None = None) -> Any:
    return await api.client.post("/graphql", json=body, headers=headers or {})


async def seed(api: Any, key: str | None = None) -> dict[str, str]:
    """A default config with a labelled number, and a second config: ids by role."""
    main = (await create_config(api, "TWILIO", "Main", default=True) if key is None else
            (await api.gql(CREATE, {"input": {"name": "Main", "provider": "TWILIO", "config": VALID["TWILIO"],
                                              "isDefaultOutbound": True}}, key=key))["createTelephonyConfig"])
    main_id = main["telephonyConfig"]["id"]
    other = (await api.gql(CREATE, {"input": {"name": "Spare", "provider": "TELNYX", "config": VALID["TELNYX"]}},
                           key=key))["createTelephonyConfig"]["telephonyConfig"]["id"]
    number = (await api.gql(ADD_NUMBER, {"input": {"telephonyConfigId": main_id, "phoneNumber": "+14155550100",
                                                   "label": "Sales"}}, key=key))["addPhoneNumber"]["phoneNumber"]["id"]
    return {"main": main_id, "spare": other, "number": number}


# --- authentication ----------------------------------------------------------------------------


async def test_no_key_is_401(api):
    await create_config(api)
    response = await raw_post(api, {"query": QUERY})
    assert_unauthenticated(response)
    assert "Main" not in response.text


@pytest.mark.parametrize("authorization", [
    "Bearer gqlt_" + "A" * 43,
    "Bearer not-a-key",
    "Bearer " + "x" * 5000,
    "Bearer",
    "Bearer ",
    "Bearer    ",
    "Basic dXNlcjpwYXNz",
    "Token {key}",
    "{key}",
    "Bearer{key}",
    "Bearer {key}x",
    "Bearer {key_prefix}",
    "",
])
async def test_wrong_or_malformed_authorization_is_401(api, authorization):
    await create_config(api)
    header = authorization.format(key=api.key, key_prefix=api.key[:-1])
    response = await raw_post(api, {"query": QUERY}, {"authorization": header})
    assert_unauthenticated(response)


async def test_bearer_scheme_is_case_insensitive(api):
    response = await raw_post(api, {"query": QUERY}, {"authorization": f"bearer {api.key}"})
    assert response.status_code == 200
    assert response.json()["data"]["telephonyConfigs"]["totalCount"] == 0


async def test_key_is_checked_before_the_document(api):
    for body in [{"query": "{ nope }"}, {"query": "{ telephonyConfigs {"}, {"query": "query { __schema { nope } } }"}]:
        assert_unauthenticated(await raw_post(api, body))
        assert_unauthenticated(await raw_post(api, body, {"authorization": "Bearer wrong-key-0123456789"}))


async def test_a_mutation_without_a_valid_key_changes_nothing(api):
    mutation = {"query": CREATE, "variables": {"input": {"name": "Sneaky", "provider": "ARI", "config": VALID["ARI"]}}}
    assert_unauthenticated(await raw_post(api, mutation))
    assert_unauthenticated(await raw_post(api, mutation, {"authorization": "Bearer gqlt_" + "B" * 43}))
    assert (await api.gql(QUERY))["telephonyConfigs"]["totalCount"] == 0


async def test_get_without_a_key_is_401(api):
    response = await api.client.get("/graphql", params={"query": QUERY}, headers={"accept": "application/json"})
    assert_unauthenticated(response)
    response = await api.client.get(
        "/graphql", params={"query": QUERY}, headers={"accept": "application/json", "authorization": f"Bearer {api.key}"}
    )
    assert response.status_code == 200
    assert response.json()["data"]["telephonyConfigs"]["totalCount"] == 0


@pytest.mark.parametrize("query", [
    "{ __typename }",
    "{ __schema { queryType { name } } }",
    '{ __type(name: "TelephonyConfig") { name fields { name } } }',
    "query Intro { ...F } fragment F on Query { __schema { types { name } } }",
    "{ ... on Query { __typename } }",
])
async def test_introspection_only_works_without_a_key(api, query):
    response = await raw_post(api, {"query": query})
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    assert body["data"]


async def test_introspection_mixed_with_data_needs_a_key(api):
    await create_config(api)
    for query in [
        "{ __typename telephonyConfigs { totalCount } }",
        "{ __schema { queryType { name } } telephonyProviders { key } }",
        "query { ...F } fragment F on Query { __typename telephonyConfigs { totalCount } }",
        "{ ... on Query { telephonyConfigs { totalCount } } }",
        "{ __schema: telephonyConfigs { totalCount } }",
        "{ __typename: telephonyConfigWarnings { totalCount } }",
    ]:
        response = await raw_post(api, {"query": query})
        assert_unauthenticated(response)


async def test_operation_name_picks_what_is_checked(api):
    document = "query Intro { __typename } query Data { telephonyConfigs { totalCount } }"
    response = await raw_post(api, {"query": document, "operationName": "Intro"})
    assert response.status_code == 200
    assert response.json()["data"] == {"__typename": "Query"}
    assert_unauthenticated(await raw_post(api, {"query": document, "operationName": "Data"}))
    assert_unauthenticated(await raw_post(api, {"query": document}))


# --- read-only keys ----------------------------------------------------------------------------


async def test_read_only_key_may_query(api):
    await seed(api)
    read_only = await api.new_key(read_only=True)
    assert await api.gql(STATE, key=read_only) == await api.gql(STATE)
    assert (await api.gql(DASHBOARD, key=read_only))["telephonyConfigs"]["totalCount"] == 2


async def test_read_only_key_mutations_are_forbidden_and_change_nothing(api):
    ids = await seed(api)
    before = await api.gql(STATE)
    read_only = await api.new_key(read_only=True)
    attempts = [
        (CREATE, {"input": {"name": "New", "provider": "ARI", "config": VALID["ARI"], "isDefaultOutbound": True}}),
        (UPDATE, {"input": {"id": ids["main"], "name": "Renamed", "config": {"auth_token": "e" * 32}}}),
        (DELETE, {"input": {"id": ids["main"]}}),
        (SET_DEFAULT, {"id": ids["spare"]}),
        (ADD_NUMBER, {"input": {"telephonyConfigId": ids["spare"], "phoneNumber": "+14155550101"}}),
        (UPDATE_NUMBER, {"input": {"id": ids["number"], "label": None, "isActive": False}}),
        (REMOVE_NUMBER, {"input": {"id": ids["number"]}}),
    ]
    for document, variables in attempts:
        response = await api.post(document, variables, key=read_only)
        assert response.status_code == 200, response.text
        body = response.json()
        assert "data" in body and body["data"] is None, body
        assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"], body
    assert await api.gql(STATE) == before


async def test_read_only_key_is_refused_even_for_a_mutation_that_would_fail(api):
    read_only = await api.new_key(read_only=True)
    for accept in ("application/json", "application/graphql-response+json"):
        response = await api.post(REMOVE_NUMBER, {"input": {"id": "nope"}}, key=read_only, headers={"accept": accept})
        body = response.json()
        assert response.status_code == 200
        assert body["data"] is None
        assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]


async def test_read_write_key_of_the_same_org_still_mutates(api):
    await api.new_key(read_only=True)
    second = await api.new_key()
    payload = (await api.gql(CREATE, {"input": {"name": "By second key", "provider": "ARI", "config": VALID["ARI"]}},
                             key=second))["createTelephonyConfig"]
    assert payload["userErrors"] == []
    assert (await api.gql(QUERY))["telephonyConfigs"]["nodes"][0]["name"] == "By second key"


# --- organizations -----------------------------------------------------------------------------


async def test_queries_see_only_the_callers_organization(api):
    ours = await seed(api)
    _, other_key = await api.new_org()
    empty = await api.gql(STATE, key=other_key)
    assert empty == {
        "telephonyConfigs": {"totalCount": 0, "nodes": []},
        "defaultOutboundTelephonyConfig": None,
        "telephonyConfigWarnings": {"totalCount": 0, "configsWithWarningsCount": 0, "byCode": [], "hasDefaultOutbound": False},
    }
    data = await api.gql(
        """query($c: ID!, $n: ID!) {
             telephonyConfig(id: $c) { id }
             node(id: $n) { id }
             a: node(id: $c) { id }
             nodes(ids: [$c, $n]) { id }
           }""",
        {"c": ours["main"], "n": ours["number"]}, key=other_key,
    )
    assert data == {"telephonyConfig": None, "node": None, "a": None, "nodes": [None, None]}


async def test_each_organization_sees_its_own_with_the_same_names(api):
    ours = await seed(api)
    _, other_key = await api.new_org()
    theirs = await seed(api, key=other_key)  # same names, same number: allowed in another org
    assert set(ours.values()).isdisjoint(theirs.values())
    our_state, their_state = await api.gql(STATE), await api.gql(STATE, key=other_key)
    assert [n["id"] for n in our_state["telephonyConfigs"]["nodes"]] == [ours["main"], ours["spare"]]
    assert [n["id"] for n in their_state["telephonyConfigs"]["nodes"]] == [theirs["main"], theirs["spare"]]
    # Both defaults stand: making one org's default did not demote the other's.
    assert our_state["defaultOutboundTelephonyConfig"] == {"id": ours["main"]}
    assert their_state["defaultOutboundTelephonyConfig"] == {"id": theirs["main"]}


def foreign_mutations(ids: dict[str, str]) -> list[tuple[str, str, dict[str, Any], list[str]]]:
    """(document, payload field, variables, path of the id) for every mutation taking an id."""
    return [
        (UPDATE, "updateTelephonyConfig", {"input": {"id": ids["main"], "name": "Hijacked"}}, ["input", "id"]),
        (UPDATE, "updateTelephonyConfig", {"input": {"id": ids["main"], "expectedVersion": 1}}, ["input", "id"]),
        (DELETE, "deleteTelephonyConfig", {"input": {"id": ids["main"]}}, ["input", "id"]),
        (DELETE, "deleteTelephonyConfig", {"input": {"id": ids["main"], "expectedVersion": 99}}, ["input", "id"]),
        (SET_DEFAULT, "setDefaultOutboundTelephonyConfig", {"id": ids["spare"]}, ["input", "id"]),
        (ADD_NUMBER, "addPhoneNumber", {"input": {"telephonyConfigId": ids["main"], "phoneNumber": "+14155550199"}},
         ["input", "telephonyConfigId"]),
        (UPDATE_NUMBER, "updatePhoneNumber", {"input": {"id": ids["number"], "label": "Hijacked"}}, ["input", "id"]),
        (REMOVE_NUMBER, "removePhoneNumber", {"input": {"id": ids["number"]}}, ["input", "id"]),
    ]


def without_result(payload: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if k != "userErrors"}


async def test_another_organizations_ids_behave_as_ids_that_never_existed(api):
    ours = await seed(api)
    before = await api.gql(STATE)
    _, other_key = await api.new_org()
    await seed(api, key=other_key)  # the other org has objects of its own
    their_before = await api.gql(STATE, key=other_key)
    never = {"main": opaque_id("TelephonyConfig:424242"), "spare": opaque_id("TelephonyConfig:434343"),
             "number": opaque_id("PhoneNumber:424242")}

    for (document, field, variables, path), (_, _, never_variables, _) in zip(
        foreign_mutations(ours), foreign_mutations(never), strict=True
    ):
        foreign = (await api.gql(document, variables, key=other_key))[field]
        assert [(e["code"], e["field"]) for e in foreign["userErrors"]] == [("NOT_FOUND", path)], (field, foreign)
        assert all(value is None for value in without_result(foreign).values()), foreign
        # Exactly what an id that never existed gets: same message, no hint that it exists elsewhere.
        missing = (await api.gql(document, never_variables, key=other_key))[field]
        assert foreign == missing

    assert await api.gql(STATE) == before
    assert await api.gql(STATE, key=other_key) == their_before


async def test_own_ids_still_work_after_foreign_attempts(api):
    ours = await seed(api)
    _, other_key = await api.new_org()
    await api.gql(REMOVE_NUMBER, {"input": {"id": ours["number"]}}, key=other_key)
    payload = (await api.gql(REMOVE_NUMBER, {"input": {"id": ours["number"]}}))["removePhoneNumber"]
    assert payload == {"deletedPhoneNumberId": ours["number"], "userErrors": []}


async def test_number_counts_and_warnings_ignore_other_organizations(api):
    ours = await seed(api)
    _, other_key = await api.new_org()
    theirs = await seed(api, key=other_key)
    await api.gql(ADD_NUMBER, {"input": {"telephonyConfigId": theirs["spare"], "phoneNumber": "+14155550102"}}, key=other_key)
    state = await api.gql(STATE)
    spare = next(n for n in state["telephonyConfigs"]["nodes"] if n["id"] == ours["spare"])
    assert spare["phoneNumbers"]["totalCount"] == 0
    # Ours: Spare has no active number and no webhook key; Main is fine.
    assert state["telephonyConfigWarnings"]["totalCount"] == 2
    their_state = await api.gql(STATE, key=other_key)
    assert their_state["telephonyConfigWarnings"]["totalCount"] == 1


# --- keys --------------------------------------------------------------------------------------


def key_bytes(key: str) -> bytes:
    """The random part of a key, decoded (keys are a prefix then base64url)."""
    random_part = key.split("_", 1)[1] if key.startswith("gqlt_") else key
    return base64.urlsafe_b64decode(random_part + "=" * (-len(random_part) % 4))


def shannon_bits_per_char(text: str) -> float:
    counts = Counter(text)
    return -sum(c / len(text) * math.log2(c / len(text)) for c in counts.values())


async def test_keys_carry_at_least_32_random_bytes(api):
    keys = [api.key] + [await api.new_key(read_only=i % 2 == 1) for i in range(40)]
    assert len(set(keys)) == len(keys)
    for key in keys:
        assert len(key_bytes(key)) >= 32
        assert key.isascii() and key.isprintable() and " " not in key
    # No two keys share a long common prefix of their random part, and the characters look uniform.
    randoms = [k.split("_", 1)[1] for k in keys]
    assert len({r[:8] for r in randoms}) == len(randoms)
    assert shannon_bits_per_char("".join(randoms)) > 5.5  # base64url: at most 6 bits per character


async def test_keys_are_stored_only_as_a_hash(api, settings):
    keys = [api.key, await api.new_key(read_only=True), (await api.new_org())[1]]
    async with api.runtime.db.reading() as session:
        rows = (await session.execute(sa.text("SELECT * FROM api_key"))).mappings().all()
    assert len(rows) == 3
    for row in rows:
        cells = [str(v) for v in row.values()]
        for key in keys:
            random_part = key.split("_", 1)[1]
            assert not any(key in c or random_part in c or random_part[:16] in c for c in cells)
    if settings.is_sqlite:  # not anywhere in the database files either
        await api.runtime.db.dispose()
        db_path = Path(settings.database_url.split("///", 1)[1])
        blob = b"".join(p.read_bytes() for p in db_path.parent.iterdir() if p.name.startswith(db_path.name))
        assert blob
        for key in keys:
            assert key.split("_", 1)[1][:16].encode() not in blob
    # The keys still work once the engines reconnect.
    for key in keys:
        response = await api.post(QUERY, key=key)
        assert response.status_code == 200


def test_printed_key_of_the_command_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("GQL_TELEPHONY_")}
    db_file = tmp_path / "cli.sqlite3"
    env["GQL_TELEPHONY_DATABASE_URL"] = f"sqlite+aiosqlite:///{db_file}"
    cli = [sys.executable, "-m", "gql_telephony.cli"]

    def run(*args: str) -> str:
        result = subprocess.run([*cli, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip().splitlines()[-1]

    org_id = run("create-org", "Key test")
    keys = [run("create-api-key", org_id), run("create-api-key", org_id, "--read-only")]
    assert keys[0] != keys[1]
    for key in keys:
        assert len(key_bytes(key)) >= 32
    with sqlite3.connect(db_file) as connection:
        rows = connection.execute("SELECT * FROM api_key").fetchall()
    assert len(rows) == 2
    for row in rows:
        for key in keys:
            assert not any(isinstance(cell, str) and key.split("_", 1)[1][:16] in cell for cell in row)
