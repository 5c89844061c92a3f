"""A mutation sent by POST runs on graphql-core's executor directly (api/http/direct_mutations.py),
not through Strawberry's `Schema.execute`, with what its extensions did kept: the refusals of a
read-only key and of the limits, the log line's operation, errors logged and made safe."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from gql_telephony.api.graph.errors import INTERNAL_MESSAGE
from gql_telephony.api.graph.schema import TelephonySchema, build_schema
from gql_telephony.api.http.direct_mutations import STANDS_IN_FOR
from gql_telephony.services.telephony_configs import TelephonyConfigs

from ..documents import UPDATE, create_config
from ..support import Api
from ..test_statement_count import reading_through

RENAME = """
mutation Rename($id: ID!, $name: String!) {
  updateTelephonyConfig(input: {id: $id, name: $name}) {
    telephonyConfig { id name version }
    userErrors { field message code }
  }
}"""


@pytest.fixture
def strawberry_runs(monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    """The operations Strawberry's own `Schema.execute` ran."""
    ran: list[str | None] = []
    real = TelephonySchema.execute

    async def counted(self: TelephonySchema, query: str | None, *args: Any, **kwargs: Any) -> Any:
        ran.append(query)
        return await real(self, query, *args, **kwargs)

    monkeypatch.setattr(TelephonySchema, "execute", counted)
    return ran


async def test_a_mutation_by_post_does_not_go_through_strawberrys_execute(api: Api, strawberry_runs: list) -> None:
    config_id = (await create_config(api, "TWILIO", "Main"))["telephonyConfig"]["id"]
    strawberry_runs.clear()
    data = await api.gql(RENAME, {"id": config_id, "name": "Renamed"})
    assert data["updateTelephonyConfig"] == {
        "telephonyConfig": {"id": config_id, "name": "Renamed", "version": 2}, "userErrors": []}
    assert strawberry_runs == []
    # Without compiled plans (GQL_TELEPHONY_COMPILED_PLANS=0) everything runs on Strawberry's.
    async with reading_through(api, compiled_plans=False) as generic:
        data = await generic.gql(RENAME, {"id": config_id, "name": "Again"})
    assert data["updateTelephonyConfig"]["telephonyConfig"]["version"] == 3
    assert strawberry_runs == [RENAME]


async def test_two_mutations_of_one_document_run_in_order_each_seeing_the_last(api: Api, strawberry_runs: list) -> None:
    config_id = (await create_config(api, "TWILIO", "Main"))["telephonyConfig"]["id"]
    both = """mutation Twice($id: ID!) {
      first: updateTelephonyConfig(input: {id: $id, name: "One"}) { telephonyConfig { name version } }
      second: updateTelephonyConfig(input: {id: $id, name: "Two", expectedVersion: 2}) {
        telephonyConfig { name version } userErrors { code } }
    }"""
    data = await api.gql(both, {"id": config_id})
    assert data["first"]["telephonyConfig"] == {"name": "One", "version": 2}
    assert data["second"] == {"telephonyConfig": {"name": "Two", "version": 3}, "userErrors": []}
    assert strawberry_runs == []


async def test_a_read_only_key_and_the_limits_are_refused_as_before(api: Api) -> None:
    config_id = (await create_config(api, "TWILIO", "Main"))["telephonyConfig"]["id"]
    read_only = await api.new_key(read_only=True)
    response = await api.post(RENAME, {"id": config_id, "name": "Nope"}, key=read_only)
    body = response.json()
    assert body.get("data") is None and [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]
    too_large = RENAME.replace("telephonyConfig { id name version }",
                               "telephonyConfig { id phoneNumbers(first: 500) { totalCount } }")
    body = (await api.post(too_large, {"id": config_id, "name": "Nope"})).json()
    assert body.get("data") is None and [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"]
    # Neither ran.
    data = await api.gql(UPDATE, {"input": {"id": config_id}})
    assert data["updateTelephonyConfig"]["telephonyConfig"]["name"] == "Main"


async def test_a_fault_in_a_resolver_is_logged_and_answered_without_its_detail(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    config_id = (await create_config(api, "TWILIO", "Main"))["telephonyConfig"]["id"]

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("internal detail hunter2")

    monkeypatch.setattr(TelephonyConfigs, "update", broken)
    caplog.set_level(logging.ERROR)
    response = await api.post(RENAME, {"id": config_id, "name": "Renamed"})
    body = response.json()
    assert body["data"] is None
    assert [error["message"] for error in body["errors"]] == [INTERNAL_MESSAGE]
    assert "hunter2" not in response.text
    assert any(record.exc_info and "hunter2" in str(record.exc_info[1]) for record in caplog.records)


@pytest.mark.parametrize("production", [False, True])
def test_the_direct_path_stands_in_for_every_extension_of_the_schema(production: bool) -> None:
    """A new schema extension would be skipped by mutations sent by POST: this fails until
    direct_mutations.py does its work and names it."""
    names = {type(extension).__name__ for extension in build_schema(production=production).get_extensions()}
    assert names <= STANDS_IN_FOR
    assert ("DisableIntrospection" in names) is production
