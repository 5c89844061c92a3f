"""Document handling (api/graph/documents.py): one token limit, one choice of the operation and
one reading of the API key, whichever transport a request comes by."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
import strawberry.schema.schema as strawberry_schema
from graphql import DocumentNode, GraphQLError, parse, print_ast

from gql_telephony.api.graph.documents import (
    MAX_TOKENS,
    NO_OPERATION,
    SEVERAL_OPERATIONS,
    UNKNOWN_OPERATION,
    bearer_key,
    choose_operation,
    chosen_operation,
    error_body,
    fragment_map,
    parse_document,
)
from gql_telephony.api.graph.limits import DocumentShapeLimits
from gql_telephony.api.graph.schema import build_schema
from gql_telephony.api.graph.validated_documents import ValidatedDocument
from gql_telephony.api.plans.runner import PlanRunner
from gql_telephony.app import create_app

from ..documents import CREATE, VALID
from ..support import Api
from .test_http_protocol import InProcessSocket

TWO_QUERIES = "query A { telephonyProviders { key } } query B { telephonyConfigs { totalCount } }"
SUBSCRIPTION_AND_QUERY = (
    "subscription S { telephonyConfigWarningsChanged { totalCount } } query B { telephonyConfigs { totalCount } }"
)


def tokens(count: int) -> str:
    """A valid query of exactly `count` tokens, cheap to validate (few fields to compare) and to run."""
    pages, typenames = divmod(count - 2, 9)  # the braces, then 9 tokens a page
    return "{ " + "telephonyConfigs(first: 1) { totalCount } " * pages + "__typename " * typenames + "}"



# Parsing.

def test_a_document_of_max_tokens_parses_and_one_more_does_not():
    assert parse_document(tokens(MAX_TOKENS)) is not None
    assert parse_document(tokens(MAX_TOKENS + 1)) is None


@pytest.mark.parametrize("query", [None, "", 5, "{ nope", "query {"])
def test_what_is_not_a_document_parses_to_none(query: Any):
    assert parse_document(query) is None


# Choosing the operation.

@pytest.mark.parametrize(("document", "operation_name", "position"), [
    ("{ __typename }", None, 0),
    ("query A { __typename }", None, 0),
    ("query A { __typename }", "A", 0),
    (TWO_QUERIES, "B", 1),
    ("fragment F on Query { __typename } query A { ...F }", None, 1),
    ("query A { __typename } query A { telephonyProviders { key } }", "A", 0),  # the first (validation refuses)
])
def test_the_operation_is_the_only_one_or_the_named_one(document: str, operation_name: str | None, position: int):
    parsed = parse(document)
    assert choose_operation(parsed, operation_name) is parsed.definitions[position]
    assert chosen_operation(parsed, operation_name) is parsed.definitions[position]


@pytest.mark.parametrize(("document", "operation_name", "refusal"), [
    (TWO_QUERIES, None, SEVERAL_OPERATIONS),
    (SUBSCRIPTION_AND_QUERY, None, SEVERAL_OPERATIONS),
    ("{ __typename } { telephonyProviders { key } }", None, SEVERAL_OPERATIONS),
    (TWO_QUERIES, "C", UNKNOWN_OPERATION),
    ("{ __typename }", "A", UNKNOWN_OPERATION),
    ("fragment F on Query { __typename }", None, NO_OPERATION),
])
def test_no_operation_is_guessed(document: str, operation_name: str | None, refusal: str):
    assert choose_operation(parse(document), operation_name) == refusal
    assert chosen_operation(parse(document), operation_name) is None


def test_fragments_are_found_by_name():
    document = parse("query { ...A ...B } fragment A on Query { __typename } fragment B on Query { __typename }")
    assert sorted(fragment_map(document)) == ["A", "B"]
    assert fragment_map(parse("{ __typename }")) == {}


async def test_the_schema_runs_no_first_of_several_operations_either():
    """Any path to the executor (not only HTTP and WebSocket, which refuse first)."""
    result = await build_schema().execute(TWO_QUERIES)
    assert result.data is None
    assert [(e.message, (e.extensions or {}).get("code")) for e in result.errors or ()] == [
        (SEVERAL_OPERATIONS, "BAD_REQUEST")
    ]


# The API key a request presents.

@pytest.mark.parametrize(("authorization", "key"), [
    ("Bearer k1", "k1"),
    ("bearer k1", "k1"),
    ("BEARER   k1  ", "k1"),
    ("  Bearer k1", "k1"),
    (None, None),
    ("", None),
    ("Bearer", None),
    ("Bearer   ", None),
    ("Basic k1", None),
    ("Bearerk1", None),
    ("k1", None),
])
def test_a_bearer_key_is_read_from_its_header(authorization: str | None, key: str | None):
    assert bearer_key(authorization) == key


def test_an_error_body_has_a_message_and_a_code():
    assert error_body("No.", "BAD_REQUEST") == {"errors": [{"message": "No.", "extensions": {"code": "BAD_REQUEST"}}]}
    assert error_body("Big.", "PAYLOAD_TOO_LARGE", limit=3)["errors"][0]["extensions"] == {
        "code": "PAYLOAD_TOO_LARGE", "limit": 3,
    }


# Both transports, end to end.

async def post(api: Api, body: dict[str, Any]) -> dict[str, Any]:
    response = await api.client.post("/graphql", json=body, headers={"authorization": f"Bearer {api.key}"})
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def connected(api: Api, socket: InProcessSocket) -> None:
    await socket.send({"type": "connection_init", "payload": {"Authorization": f"Bearer {api.key}"}})
    assert (await socket.receive())["type"] == "connection_ack"


async def test_the_token_limit_is_the_same_over_http_and_websocket(api):
    over = tokens(MAX_TOKENS + 1)
    answered = await post(api, {"query": tokens(MAX_TOKENS)})
    assert "errors" not in answered and answered["data"]["telephonyConfigs"] == {"totalCount": 0}
    [error] = (await post(api, {"query": over}))["errors"]
    assert f"more than {MAX_TOKENS} tokens" in error["message"]
    assert error["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
    plans = PlanRunner(build_schema()._schema, api.runtime.db, api.runtime.vault, production=False)
    assert plans.prepare(tokens(MAX_TOKENS)).document is not None
    assert plans.prepare(over).document is None
    async with InProcessSocket(create_app(runtime=api.runtime)) as socket:
        await connected(api, socket)
        await socket.send({"id": "at", "type": "subscribe", "payload": {"query": tokens(MAX_TOKENS)}})
        assert (await socket.receive())["payload"] == answered
        assert (await socket.receive())["type"] == "complete"
        await socket.send({"id": "over", "type": "subscribe", "payload": {"query": over}})
        closed = await socket.raw()
        # The protocol closes the socket on a document that does not parse, naming the limit.
        assert closed["type"] == "websocket.close" and closed["code"] == 4400
        assert closed["reason"] == error["message"]


@pytest.mark.parametrize(("payload", "message"), [
    ({"query": TWO_QUERIES}, SEVERAL_OPERATIONS),
    ({"query": SUBSCRIPTION_AND_QUERY}, SEVERAL_OPERATIONS),  # Strawberry ran the subscription
    ({"query": TWO_QUERIES, "operationName": "C"}, UNKNOWN_OPERATION),  # it closed the socket
    ({"query": "fragment F on Query { __typename }"}, NO_OPERATION),
])
async def test_an_operation_that_cannot_be_chosen_is_refused_alike_over_http_and_websocket(api, payload, message):
    over_http = await post(api, payload)
    assert over_http == {"errors": [{"message": message, "extensions": {"code": "BAD_REQUEST"}}]}
    async with InProcessSocket(create_app(runtime=api.runtime)) as socket:
        await connected(api, socket)
        await socket.send({"id": "1", "type": "subscribe", "payload": payload})
        refused = await socket.receive()
        assert refused == {"id": "1", "type": "error", "payload": over_http["errors"]}
        # The socket stays open, and a request that names its operation runs.
        await socket.send({"id": "2", "type": "subscribe", "payload": {"query": TWO_QUERIES, "operationName": "B"}})
        answered = await socket.receive()
        assert answered["payload"] == {"data": {"telephonyConfigs": {"totalCount": 0}}}


# A document validated once: the plans validate every HTTP request's document before the view
# chooses how to run it; Strawberry, running a mutation, takes that document as it is.

@pytest.fixture
def strawberry_validations(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The documents Strawberry's own validation step walks (the plans' validation is not counted)."""
    walked: list[str] = []
    original = strawberry_schema.validate_document

    def counting(schema: Any, document: Any, rules: Any) -> Any:
        walked.append(print_ast(document))
        return original(schema, document, rules)

    monkeypatch.setattr(strawberry_schema, "validate_document", counting)
    return walked


async def test_a_mutation_the_plans_validated_is_not_validated_again(api, strawberry_validations):
    created = await post(api, {"query": CREATE, "variables": {"input": {
        "name": "Validated once", "provider": "TWILIO", "config": VALID["TWILIO"]}}})
    assert created["data"]["createTelephonyConfig"]["userErrors"] == []
    assert strawberry_validations == []
    # An invalid one is refused as before, with the validator's words.
    errors = (await post(api, {"query": "mutation { createTelephonyConfig { nope } }"}))["errors"]
    assert any("'nope'" in error["message"] for error in errors), errors
    assert len(strawberry_validations) == 1


async def test_strawberry_validates_again_when_its_rules_are_not_the_plans(strawberry_validations):
    schema = build_schema()
    plans = PlanRunner(schema._schema, None, None, production=False)  # type: ignore[arg-type]  # no reads here
    query = "{ __typename }"
    document = parse(query)
    same = SimpleNamespace(validated=ValidatedDocument(query, document, plans.rule_set))
    assert (await schema.execute(query, context_value=same)).data == {"__typename": "Query"}
    assert strawberry_validations == []
    fewer = SimpleNamespace(validated=ValidatedDocument(query, document, plans.rule_set - {DocumentShapeLimits}))
    assert (await schema.execute(query, context_value=fewer)).data == {"__typename": "Query"}
    assert strawberry_validations == [print_ast(document)]


def linked_tokens(document: DocumentNode) -> int:
    """How many tokens still point at the next one (graphql-core links them all when parsing)."""
    token, linked = document.loc.start_token if document.loc else None, 0
    while token is not None:
        linked += token.next is not None
        token = token.next
    return linked


def test_a_parsed_document_keeps_no_token_chain_but_its_error_locations():
    """Linked both ways, the tokens make every document a cycle (docs/PERFORMANCE.md, Round 7)."""
    assert linked_tokens(parse("{ telephonyProviders { key } }")) > 5  # what graphql-core gives
    document = parse_document("{\n  telephonyProviders {\n    nope\n  }\n}")
    assert document is not None and linked_tokens(document) == 0
    field = document.definitions[0].selection_set.selections[0].selection_set.selections[0]  # type: ignore[attr-defined]
    assert GraphQLError("x", nodes=[field]).formatted["locations"] == [{"line": 3, "column": 5}]


async def test_a_document_strawberry_parses_itself_is_unlinked_too(monkeypatch):
    """A socket's operation is parsed by Strawberry: the schema's extension unlinks it."""
    parsed: list[DocumentNode] = []
    real = strawberry_schema.parse
    monkeypatch.setattr(strawberry_schema, "parse", lambda *args, **kwargs: parsed.append(real(*args, **kwargs)) or parsed[-1])
    result = await build_schema().execute("{ __typename }")
    assert result.errors is None and len(parsed) == 1
    assert linked_tokens(parsed[0]) == 0
