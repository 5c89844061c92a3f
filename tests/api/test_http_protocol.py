"""GraphQL over HTTP: bodies, media types and status codes, GET, health, production mode, faults."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from gql_telephony import app
from gql_telephony.api.graph import schema
from gql_telephony.api.graph.errors import INTERNAL_MESSAGE
from gql_telephony.api.http import view
from gql_telephony.api.plans import runner
from gql_telephony.app import create_app
from gql_telephony.storage import queries

from ..documents import CREATE, DASHBOARD, VALID, add_number, create_config
from ..support import Api, app_client, bearer

GQL_JSON = "application/graphql-response+json"
PROVIDERS = "{ telephonyProviders { key } }"


# Bodies that are not GraphQL requests.

NOT_GRAPHQL_REQUESTS = [
    ("not JSON", b"{nope"),
    ("empty", b""),
    ("not UTF-8", b'{"query": "\xff\xfe"}'),
    ("a string", b'"hello"'),
    ("a number", b"5"),
    ("null", b"null"),
    ("an array", b"[1]"),
    ("an empty array", b"[]"),
    ("an empty object", b"{}"),
    ("query a number", b'{"query": 5}'),
    ("query an object", b'{"query": {"a": 1}}'),
    ("query null", b'{"query": null}'),
    ("query empty", b'{"query": ""}'),
    ("variables a string", b'{"query": "{ __typename }", "variables": "x"}'),
    ("variables an array", b'{"query": "{ __typename }", "variables": [1]}'),
    ("operationName a number", b'{"query": "{ __typename }", "operationName": 5}'),
    ("extensions a string", b'{"query": "{ __typename }", "extensions": "x"}'),
    ("nested too deeply", b'{"query": "{ __typename }", "variables": {"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}}"),
]


@pytest.mark.parametrize(("what", "body"), NOT_GRAPHQL_REQUESTS, ids=[c[0] for c in NOT_GRAPHQL_REQUESTS])
@pytest.mark.parametrize("accept", ["application/json", GQL_JSON])
async def test_a_body_that_is_not_a_graphql_request_is_400(api, what, body, accept):
    response = await api.client.post(
        "/graphql", content=body, headers=bearer(api.key, **{"content-type": "application/json", "accept": accept}),
    )
    assert response.status_code == 400, response.text
    result = response.json()
    assert "data" not in result
    assert [e["extensions"]["code"] for e in result["errors"]] == ["BAD_REQUEST"]
    assert "Traceback" not in response.text


@pytest.mark.parametrize("content_type", [
    None, "", "text/plain", "application/x-www-form-urlencoded", "application/jsonx", "text/application/json",
    "application/json-seq", "application/json; charset=latin-1", "application/json; x", "application/json/x",
    "multipart/form-data; boundary=x", "application/graphql",
])
async def test_a_body_of_another_media_type_is_400(api, content_type):
    """A media type is parsed (RFC 9110), not searched for: a substring of one is not one."""
    headers = bearer(api.key)
    if content_type is not None:
        headers["content-type"] = content_type
    response = await api.client.post("/graphql", content=json.dumps({"query": PROVIDERS}), headers=headers)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/json")
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert "application/json" in error["message"] or "UTF-8" in error["message"]


@pytest.mark.parametrize("content_type", [
    "APPLICATION/JSON", "Application/Json; Charset=UTF-8", "application/json;charset=\"utf-8\"",
    "application/json ; charset=utf-8 ; foo=bar", "application/json;", "application/graphql-response+json",
])
async def test_json_in_any_spelling_is_accepted(api, content_type):
    """Type, subtype and parameter names compare without regard to case; parameters may be quoted."""
    response = await api.client.post(
        "/graphql", content=json.dumps({"query": PROVIDERS}), headers=bearer(api.key, **{"content-type": content_type})
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["telephonyProviders"]


async def test_deeply_nested_variables_that_parse_are_refused_cleanly(api):
    """Nested just under what the JSON decoder takes: the API answers, it does not crash."""
    document = "mutation($c: JSON!) { createTelephonyConfig(input: {name: \"Deep\", provider: TELNYX, config: $c})" \
               " { telephonyConfig { id } userErrors { field code } } }"
    for depth in (100, 900):
        body = '{"query": %s, "variables": {"c": %s}}' % (json.dumps(document), '{"a": ' * depth + "1" + "}" * depth)
        response = await api.client.post("/graphql", content=body, headers=bearer(api.key, **{"content-type": "application/json"}))
        assert response.status_code in (200, 400), response.text
        if response.status_code == 200:
            payload = response.json()["data"]["createTelephonyConfig"]
            assert payload["telephonyConfig"] is None and payload["userErrors"]


# Media types and status codes.

@pytest.mark.parametrize(("accept", "media_type"), [
    (GQL_JSON, GQL_JSON),
    ("application/json", "application/json"),
    (None, "application/json"),
    ("*/*", "application/json"),
    (f"{GQL_JSON}, application/json;q=0.9", GQL_JSON),
])
async def test_a_good_request_answers_in_the_media_type_asked_for(api, accept, media_type):
    headers = bearer(api.key)
    if accept:
        headers["accept"] = accept
    response = await api.client.post("/graphql", json={"query": PROVIDERS}, headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == media_type
    assert len(response.json()["data"]["telephonyProviders"]) == 9


@pytest.mark.parametrize(("accept", "status", "media_type"), [
    (GQL_JSON, 400, GQL_JSON),
    ("application/json", 200, "application/json"),
    (None, 200, "application/json"),
])
async def test_an_invalid_document_has_the_status_of_the_spec(api, accept, status, media_type):
    headers = bearer(api.key)
    if accept:
        headers["accept"] = accept
    for document in ["{ telephonyConfigs { nope } }", "{ telephonyConfigs {", "query($n: Int!) { telephonyConfigs(first: $n) { totalCount } }"]:
        response = await api.client.post("/graphql", json={"query": document}, headers=headers)
        assert response.status_code == status, (document, response.text)
        assert response.headers["content-type"].split(";")[0] == media_type
        assert "data" not in response.json()


async def test_without_a_key_it_is_401_before_the_document_is_looked_at(api):
    for document in [PROVIDERS, "{ nope }", "{ broken"]:
        response = await api.client.post("/graphql", json={"query": document}, headers={"accept": GQL_JSON})
        assert response.status_code == 401
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert "data" not in response.json()


@pytest.mark.parametrize("accept", ["application/json", GQL_JSON])
async def test_a_401_names_the_scheme_whatever_the_client_accepts(api, accept):
    response = await api.client.post("/graphql", json={"query": PROVIDERS}, headers={"accept": accept})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="gql-telephony"'
    assert response.headers["content-type"].split(";")[0] == accept


# GET.

async def test_get_runs_a_query(api):
    config = (await create_config(api, "TELNYX", "Main"))["telephonyConfig"]
    response = await api.client.get("/graphql", params={"query": PROVIDERS}, headers=bearer(api.key))
    assert response.status_code == 200
    assert len(response.json()["data"]["telephonyProviders"]) == 9
    response = await api.client.get(
        "/graphql",
        params={"query": "query($id: ID!) { telephonyConfig(id: $id) { name } }", "variables": json.dumps({"id": config["id"]})},
        headers=bearer(api.key),
    )
    assert response.json() == {"data": {"telephonyConfig": {"name": "Main"}}}


async def test_get_needs_a_key(api):
    response = await api.client.get("/graphql", params={"query": PROVIDERS})
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_get_with_bad_variables_or_document(api):
    response = await api.client.get("/graphql", params={"query": PROVIDERS, "variables": "{nope"}, headers=bearer(api.key))
    assert response.status_code == 400
    response = await api.client.get("/graphql", params={"query": "{ nope }"}, headers=bearer(api.key, accept=GQL_JSON))
    assert response.status_code == 400
    assert "data" not in response.json()


async def test_a_mutation_over_get_is_refused_and_changes_nothing(api):
    config = (await create_config(api, "TELNYX", "Keep me"))["telephonyConfig"]
    before = await api.gql(DASHBOARD)
    document = 'mutation { deleteTelephonyConfig(input: {id: "%s"}) { deletedTelephonyConfigId } }' % config["id"]
    for accept in ("application/json", GQL_JSON):
        response = await api.client.get("/graphql", params={"query": document}, headers=bearer(api.key, accept=accept))
        assert response.status_code == 405
        assert response.headers["allow"] == "POST"
        assert "data" not in response.json()
        assert response.json()["errors"][0]["message"]
    # Even when it is not the first operation of the document.
    document = "query Q { telephonyProviders { key } } " + document.replace("mutation", "mutation M")
    response = await api.client.get("/graphql", params={"query": document, "operationName": "M"}, headers=bearer(api.key))
    assert response.status_code == 405
    assert await api.gql(DASHBOARD) == before


async def test_health_and_readiness(api):
    for path in ("/healthz", "/readyz"):
        response = await api.client.get(path)
        assert response.status_code == 200
        assert response.json()["status"] == "ok"


async def test_graphiql_in_development(api):
    response = await api.client.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "graphiql" in response.text.lower()


# Production.

@pytest.fixture
async def production(api: Api) -> AsyncIterator[Api]:
    """The same database and key behind an app built for production."""
    async with app_client(api.runtime.settings, beside=api.runtime, env="production") as served:
        assert served.runtime.settings.is_production
        yield api.through(served)


async def test_production_has_no_graphiql(production):
    for accept in ("text/html", "text/html,application/xhtml+xml,*/*;q=0.8", "*/*"):
        response = await production.client.get("/graphql", headers={"accept": accept})
        assert response.status_code == 404
        assert not response.headers["content-type"].startswith("text/html")
        assert "graphiql" not in response.text.lower()
    # Queries over GET still work.
    response = await production.client.get("/graphql", params={"query": PROVIDERS}, headers=bearer(production.key))
    assert response.status_code == 200


@pytest.mark.parametrize("document", [
    "{ __schema { queryType { name } } }",
    '{ __type(name: "TelephonyConfig") { fields { name } } }',
    "{ telephonyProviders { key } __schema { types { name } } }",
    "query { ...Schema } fragment Schema on Query { __schema { types { name } } }",
])
async def test_production_refuses_introspection(api, production, document):
    introspection_only = "telephonyProviders" not in document
    for headers, status in [(bearer(production.key, accept=GQL_JSON), 400), ({"accept": GQL_JSON}, 400 if introspection_only else 401)]:
        response = await production.client.post("/graphql", json={"query": document}, headers=headers)
        assert response.status_code == status, response.text
        if status == 401:
            continue
        assert "data" not in response.json()
        assert "introspection" in response.json()["errors"][0]["message"].lower()
    # Development answers the same document.
    response = await api.post(document)
    assert "errors" not in response.json()


async def test_production_still_answers_typename(production):
    response = await production.client.post("/graphql", json={"query": "{ __typename }"})
    assert response.json() == {"data": {"__typename": "Query"}}


SUGGESTING = [
    ("field", "{ telephonyConfigz { totalCount } }", None),
    ("argument", "{ telephonyConfigs(frist: 1) { totalCount } }", None),
    ("enum literal", 'mutation { createTelephonyConfig(input: {name: "x", provider: TELNYXX, config: {}}) { userErrors { code } } }', None),
    ("enum string literal", 'mutation { createTelephonyConfig(input: {name: "x", provider: "TELNYX", config: {}}) { userErrors { code } } }', None),
    ("input field literal", 'mutation { createTelephonyConfig(input: {nmae: "x", name: "x", provider: TELNYX, config: {}}) { userErrors { code } } }', None),
    ("enum variable", CREATE, {"input": {"name": "x", "provider": "TELNYXX", "config": VALID["TELNYX"]}}),
    ("input field variable", CREATE, {"input": {"name": "x", "nmae": "x", "provider": "TELNYX", "config": VALID["TELNYX"]}}),
    ("type", "query($a: Strin) { telephonyConfig(id: $a) { id } }", None),
    ("fragment type", "{ telephonyConfigs { ... on TelephonyConfg { id } totalCount } }", None),
    ("missing selection", "{ telephonyConfigs }", None),
    ("spread with two dots", "{ ..Frag }", None),
    ("single quotes", "{ telephonyConfig(id: 'x') { id } }", None),
]


@pytest.mark.parametrize(("what", "document", "variables"), SUGGESTING, ids=[c[0] for c in SUGGESTING])
async def test_suggestions_only_outside_production(api, production, what, document, variables):
    development = await api.post(document, variables, headers={"accept": GQL_JSON})
    assert development.status_code == 400
    assert "did you mean" in development.text.lower()
    response = await production.post(document, variables, headers={"accept": GQL_JSON})
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert "did you mean" not in response.text.lower()
    assert len(errors) == len(development.json()["errors"])
    for error in errors:
        assert error["message"].endswith((".", "?")) and "  " not in error["message"], error
        assert error["extensions"]["code"] in ("GRAPHQL_VALIDATION_FAILED", "GRAPHQL_PARSE_FAILED", "BAD_USER_INPUT")


async def test_production_messages_keep_what_is_wrong(production):
    response = await production.post("{ telephonyConfigz { totalCount } }")
    assert response.json()["errors"][0]["message"] == "Cannot query field 'telephonyConfigz' on type 'Query'."
    response = await production.post("{ ..Frag }")
    assert response.json()["errors"][0]["message"] == "Syntax Error: Unexpected '..'."


# Unexpected faults.

@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog


def assert_generic_fault(response: httpx.Response, *hidden: str) -> dict[str, Any]:
    body = response.json()
    assert [e["message"] for e in body["errors"]] == [INTERNAL_MESSAGE]
    assert [e["extensions"] for e in body["errors"]] == [{"code": "INTERNAL_SERVER_ERROR"}]
    for text in ("boom", "detail", "Traceback", "RuntimeError", "File ", *hidden):
        assert text not in response.text
    return body


async def test_a_failing_query_gives_a_generic_error_and_logs_the_detail(api, logs, monkeypatch):
    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom with detail")

    monkeypatch.setattr(queries, "config_page", broken)
    for accept in ("application/json", GQL_JSON):
        response = await api.post("{ telephonyConfigs { nodes { id } } telephonyProviders { key } }", headers={"accept": accept})
        assert response.status_code == 200
        body = assert_generic_fault(response)
        assert body["data"] is None
        assert body["errors"][0]["path"] == ["telephonyConfigs"]
    assert "boom with detail" in logs.text
    assert "RuntimeError" in logs.text


async def test_a_failing_mutation_gives_a_generic_error_and_changes_nothing(api, logs, monkeypatch):
    before = await api.gql(DASHBOARD)

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom with detail")

    monkeypatch.setattr(api.runtime.configs, "create", broken)
    response = await api.post(CREATE, {"input": {"name": "Nope", "provider": "TELNYX", "config": VALID["TELNYX"]}})
    assert response.status_code == 200
    body = assert_generic_fault(response, VALID["TELNYX"]["api_key"])
    assert body["data"] is None
    assert body["errors"][0]["path"] == ["createTelephonyConfig"]
    assert "boom with detail" in logs.text
    assert await api.gql(DASHBOARD) == before


async def test_a_database_error_shows_no_sql(api, logs):
    config = (await create_config(api, "TELNYX", "Main"))["telephonyConfig"]
    await add_number(api, config["id"], "+14155550100")
    async with api.runtime.db.writing() as session:
        await session.execute(sa.text("ALTER TABLE phone_number RENAME TO phone_number_gone"))
    response = await api.post(
        "query($id: ID!) { telephonyConfig(id: $id) { name phoneNumbers { nodes { phoneNumber } } } }", {"id": config["id"]},
    )
    body = assert_generic_fault(response, "phone_number", "SELECT", "sqlite", "psycopg", "asyncpg", "Error")
    assert body["errors"][0]["path"][0] == "telephonyConfig"
    assert "phone_number" in logs.text


async def test_a_fault_before_execution_is_500_for_the_new_media_type(api, logs, monkeypatch):
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom with detail")

    monkeypatch.setattr(schema, "check_operation", broken)
    monkeypatch.setattr(runner, "check_operation_noting", broken)  # the compiled plans' own gate (and mutations')
    response = await api.post(PROVIDERS, headers={"accept": GQL_JSON})
    assert response.status_code == 500
    assert "data" not in response.json()
    assert_generic_fault(response)
    response = await api.post(PROVIDERS, headers={"accept": "application/json"})
    assert response.status_code == 200
    assert_generic_fault(response)
    assert "boom with detail" in logs.text


async def test_a_fault_outside_graphql_is_a_json_500(api, logs, monkeypatch):
    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom with detail")

    monkeypatch.setattr(view, "authenticate", broken)
    monkeypatch.setattr(app, "authenticate", broken)  # the rate limit's lookup of the key, first
    response = await api.post(PROVIDERS)
    assert response.status_code == 500
    assert_generic_fault(response)
    assert "boom with detail" in logs.text


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_a_subscription_over_http_is_refused_cleanly(api, method):
    document = "subscription { telephonyConfigWarningsChanged { totalCount } }"
    headers = bearer(api.key, accept=GQL_JSON)
    if method == "GET":
        response = await api.client.get("/graphql", params={"query": document}, headers=headers)
    else:
        response = await api.client.post("/graphql", json={"query": document}, headers=headers)
    assert response.status_code == 400, response.text
    assert "data" not in response.json()
    assert "WebSocket" in response.json()["errors"][0]["message"]


# The WebSocket sends errors as Strawberry formats them: they must be as safe as over HTTP.

class InProcessSocket:
    """A graphql-transport-ws client speaking ASGI to the app, in the test's event loop."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.to_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.from_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def __aenter__(self) -> InProcessSocket:
        scope = {
            "type": "websocket", "asgi": {"version": "3.0"}, "path": "/graphql", "raw_path": b"/graphql",
            "root_path": "", "scheme": "ws", "query_string": b"", "client": ("127.0.0.1", 1), "server": ("test", 80),
            "headers": [(b"host", b"test"), (b"sec-websocket-protocol", b"graphql-transport-ws")],
            "subprotocols": ["graphql-transport-ws"],
        }
        self.task = asyncio.create_task(self.app(scope, self.to_app.get, self.from_app.put))
        await self.to_app.put({"type": "websocket.connect"})
        assert (await self.raw())["type"] == "websocket.accept"
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.to_app.put({"type": "websocket.disconnect", "code": 1000})
        await asyncio.wait_for(self.task, 10)

    async def raw(self) -> dict[str, Any]:
        return await asyncio.wait_for(self.from_app.get(), 10)

    async def send(self, message: dict[str, Any]) -> None:
        await self.to_app.put({"type": "websocket.receive", "text": json.dumps(message)})

    async def receive(self) -> dict[str, Any]:
        message = await self.raw()
        assert message["type"] == "websocket.send", message
        return json.loads(message["text"])


async def test_websocket_errors_are_rewritten_like_http_ones(api, logs, monkeypatch):
    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom with detail")

    monkeypatch.setattr(queries, "config_page", broken)
    canary = "SECRET-CANARY-12345"
    app = create_app(runtime=api.runtime)
    async with InProcessSocket(app) as socket:
        await socket.send({"type": "connection_init", "payload": {"Authorization": f"Bearer {api.key}"}})
        assert (await socket.receive())["type"] == "connection_ack"
        operations = {
            "variables": {"query": "query($n: Int) { telephonyConfigs(first: $n) { totalCount } }", "variables": {"n": canary}},
            "literal": {"query": f'{{ telephonyConfig(id: {{secret: "{canary}"}}) {{ id }} }}'},
            "enum": {"query": "subscription($p: TelephonyProviderKey) { telephonyConfigWarningsChanged { totalCount } }",
                     "variables": {"p": canary}},
            "fault": {"query": "{ telephonyConfigs { totalCount } }"},
        }
        sent = []
        for operation_id, payload in operations.items():
            await socket.send({"id": operation_id, "type": "subscribe", "payload": payload})
            message = await socket.receive()
            sent.append(message)
            assert message["id"] == operation_id
            errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
            assert errors and all(error["extensions"]["code"] for error in errors), message
            if message["type"] == "next":
                assert (await socket.receive())["type"] == "complete"
        # A document that does not parse closes the socket (4400), the reason being the message.
        await socket.send({"id": "syntax", "type": "subscribe",
                           "payload": {"query": f'{{ telephonyConfig(id: 1 "{canary}") {{ id }} }}'}})
        closed = await socket.raw()
        assert closed["type"] == "websocket.close" and closed["code"] == 4400
        assert closed["reason"] == "Syntax Error: Expected Name, found String."
    text = json.dumps(sent)
    assert canary not in text
    for hidden in ("boom", "Traceback", "RuntimeError"):
        assert hidden not in text
    fault = sent[-1]["payload"]["errors"][0]
    assert fault["message"] == INTERNAL_MESSAGE and fault["extensions"] == {"code": "INTERNAL_SERVER_ERROR"}
    assert canary not in logs.text
    assert "boom with detail" in logs.text


async def test_batched_requests_are_refused(api):
    batch = [{"query": "{ telephonyProviders { key } }"}, {"query": "{ telephonyConfigs { totalCount } }"}]
    response = await api.client.post("/graphql", json=batch, headers=bearer(api.key))
    assert response.status_code == 400
    assert "data" not in response.json() and response.json()["errors"]
