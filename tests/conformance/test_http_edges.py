"""GraphQL over HTTP at its edges, beyond what the graphql-http audit sends: Accept q-values,
JSON that Python would read but RFC 8259 does not allow, and GET parameters that are not JSON."""

from __future__ import annotations

import json

import pytest

from ..documents import CREATE, VALID
from ..support import Api, bearer

GQL_JSON = "application/graphql-response+json"
PROVIDERS = "{ telephonyProviders { key } }"


@pytest.mark.parametrize(("accept", "media_type"), [
    (f"{GQL_JSON};q=0, application/json", "application/json"),  # q=0: not acceptable at all
    (f"{GQL_JSON};q=0", "application/json"),
    (f"application/json, {GQL_JSON};q=0.5", "application/json"),  # application/json preferred
    (f"{GQL_JSON};q=0.5, application/*;q=0.9", "application/json"),
    (f"{GQL_JSON};q=0.5, */*;q=0.1", GQL_JSON),
    (f"{GQL_JSON}; charset=utf-8", GQL_JSON),
    (f"{GQL_JSON};q=0.8, application/json;q=0.8", GQL_JSON),  # a tie goes to the new type
    (f"{GQL_JSON};q=nonsense, application/json", "application/json"),
    ("application/*", "application/json"),
    ("text/html, application/xhtml+xml, */*;q=0.8", "application/json"),
])
async def test_the_media_type_follows_the_accept_q_values(api: Api, accept: str, media_type: str) -> None:
    good = await api.client.post("/graphql", json={"query": PROVIDERS}, headers=bearer(api.key, accept=accept))
    assert good.status_code == 200, good.text
    assert good.headers["content-type"].split(";")[0] == media_type
    invalid = await api.client.post("/graphql", json={"query": "{ nope }"}, headers=bearer(api.key, accept=accept))
    # GraphQL over HTTP: 400 only for a client that reads application/graphql-response+json.
    assert invalid.status_code == (400 if media_type == GQL_JSON else 200), invalid.text
    assert invalid.headers["content-type"].split(";")[0] == media_type
    assert "data" not in invalid.json()


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
async def test_nan_and_infinity_are_not_json(api: Api, constant: str) -> None:
    variables = '{"input": {"name": "Not JSON", "provider": "TELNYX", "config": {"api_key": %s}}}' % constant
    body = '{"query": %s, "variables": %s}' % (json.dumps(CREATE), variables)
    response = await api.client.post("/graphql", content=body, headers=bearer(api.key, **{"content-type": "application/json"}))
    assert response.status_code == 400, response.text
    assert [e["extensions"]["code"] for e in response.json()["errors"]] == ["BAD_REQUEST"]
    assert "data" not in response.json()
    listed = await api.gql("{ telephonyConfigs { totalCount } }")
    assert listed["telephonyConfigs"]["totalCount"] == 0  # nothing ran


@pytest.mark.parametrize(("name", "value"), [
    ("variables", "nope"), ("variables", '{"first": NaN}'), ("extensions", "{"), ("extensions", "[" * 10_000),
])
async def test_get_parameters_that_are_not_json_are_400_and_named(api: Api, name: str, value: str) -> None:
    params = {"query": "query($first: Int) { telephonyConfigs(first: $first) { totalCount } }", name: value}
    response = await api.client.get("/graphql", params=params, headers=bearer(api.key, accept="application/json"))
    assert response.status_code == 400, response.text
    error, = response.json()["errors"]
    assert error == {"message": f"The `{name}` query parameter is not valid JSON.", "extensions": {"code": "BAD_REQUEST"}}


async def test_get_parameters_that_are_json_still_work(api: Api) -> None:
    params = {"query": "query($first: Int) { telephonyConfigs(first: $first) { totalCount } }",
              "variables": '{"first": 5}', "extensions": "{}"}
    response = await api.client.get("/graphql", params=params, headers=bearer(api.key))
    assert response.status_code == 200, response.text
    assert response.json() == {"data": {"telephonyConfigs": {"totalCount": 0}}}


async def test_a_secret_is_still_accepted_in_an_ordinary_body(api: Api) -> None:
    """The strict decoder changes nothing for JSON that is JSON."""
    created = await api.gql(CREATE, {"input": {"name": "Plain", "provider": "TELNYX", "config": VALID["TELNYX"]}})
    assert created["createTelephonyConfig"]["userErrors"] == []
