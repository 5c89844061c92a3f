"""Bad input of every kind, refused before anything runs, without repeating a value of the request.

Every mutation's input gets: no input, null, the wrong shape, a missing required field, an
unknown field, null for a non-null field, and a value of the wrong type for every field. Then
literals in the document, syntax errors, invalid documents, and the limits of the contract
(page size, depth, aliases, tokens, cost). A secret-like canary rides along in the wrong places
and must never come back, in the response or in any log line.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from graphql import Source, TokenKind
from graphql.language import Lexer

from gql_telephony.api.graph.errors import sanitize_message
from gql_telephony.api.graph.limits import MAX_RESPONSE_SIZE

from ..deadline import deadline
from ..documents import CREATE, DASHBOARD, VALID, add_number, create_config
from ..support import bearer

CANARY = "SECRET-CANARY-12345"
GQL_JSON = "application/graphql-response+json"

MUTATIONS: dict[str, tuple[str, dict[str, str]]] = {
    # mutation: (input type, {field: type})
    "createTelephonyConfig": ("CreateTelephonyConfigInput", {
        "name": "String!", "provider": "TelephonyProviderKey!", "config": "JSON!", "isDefaultOutbound": "Boolean",
    }),
    "updateTelephonyConfig": ("UpdateTelephonyConfigInput", {
        "id": "ID!", "name": "String", "config": "JSON", "expectedVersion": "Int",
    }),
    "deleteTelephonyConfig": ("DeleteTelephonyConfigInput", {"id": "ID!", "expectedVersion": "Int"}),
    "setDefaultOutboundTelephonyConfig": ("SetDefaultOutboundTelephonyConfigInput", {"id": "ID!"}),
    "addPhoneNumber": ("AddPhoneNumberInput", {
        "telephonyConfigId": "ID!", "phoneNumber": "String!", "region": "String", "label": "String", "isActive": "Boolean",
    }),
    "updatePhoneNumber": ("UpdatePhoneNumberInput", {"id": "ID!", "label": "String", "isActive": "Boolean"}),
    "removePhoneNumber": ("RemovePhoneNumberInput", {"id": "ID!"}),
}

# Values a field of each type must refuse. JSON takes any value, so only null can be wrong.
WRONG_VALUES: dict[str, list[Any]] = {
    "String": [12345, True, 4.25, {"secret": CANARY}, [CANARY]],
    "ID": [{"secret": CANARY}, [CANARY], True, 4.25],
    "Int": [CANARY, "7", 4.25, 2**40, True, {"secret": CANARY}, [7]],
    "Boolean": [CANARY, 1, "true", {"secret": CANARY}],
    "TelephonyProviderKey": ["FOO", CANARY, "telnyx", 1, {"secret": CANARY}],
    "JSON": [],
}


@pytest.fixture(autouse=True)
def debug_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog


def assert_no_canary(caplog: pytest.LogCaptureFixture, *secrets: str) -> None:
    for secret in (CANARY, *secrets):
        assert secret not in caplog.text
        for record in caplog.records:
            assert secret not in record.getMessage(), record.name
            assert secret not in (record.exc_text or ""), record.name


def mutation_document(mutation: str) -> str:
    input_type, _ = MUTATIONS[mutation]
    return f"mutation Run($input: {input_type}!) {{ {mutation}(input: $input) {{ userErrors {{ code }} }} }}"


async def state(api: Any) -> dict[str, Any]:
    return await api.gql(DASHBOARD)


async def refused(api: Any, query: str, variables: Any = None, *, operation_name: str | None = None,
                  secrets: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """The request is refused as a whole: GraphQL errors and no `data`, with the status the
    GraphQL-over-HTTP spec gives for each media type; no secret repeated."""
    body: dict[str, Any] = {"query": query, "variables": variables}
    if operation_name is not None:
        body["operationName"] = operation_name
    auth = bearer(api.key)
    strict = await api.client.post("/graphql", json=body, headers={**auth, "accept": GQL_JSON})
    assert strict.status_code == 400, strict.text
    assert strict.headers["content-type"].startswith(GQL_JSON)
    legacy = await api.client.post("/graphql", json=body, headers={**auth, "accept": "application/json"})
    assert legacy.status_code == 200, legacy.text
    assert legacy.headers["content-type"].startswith("application/json")
    assert legacy.json() == strict.json()
    result = strict.json()
    assert "data" not in result, result
    assert result["errors"], result
    for error in result["errors"]:
        assert isinstance(error["message"], str) and error["message"]
        assert isinstance(error["extensions"]["code"], str)
    for secret in (CANARY, *secrets):
        assert secret not in strict.text
    return result["errors"]


def codes(errors: list[dict[str, Any]]) -> set[str]:
    return {error["extensions"]["code"] for error in errors}


@pytest.fixture
async def existing(api: Any) -> dict[str, str]:
    """A configuration with a number, so every mutation's base input is valid."""
    config = (await create_config(api, "TELNYX", "Base"))["telephonyConfig"]
    number = (await add_number(api, config["id"], "+14155550100"))["phoneNumber"]
    return {"config": config["id"], "number": number["id"]}


def valid_inputs(existing: dict[str, str]) -> dict[str, dict[str, Any]]:
    return {
        "createTelephonyConfig": {"name": "Fresh", "provider": "TELNYX", "config": VALID["TELNYX"], "isDefaultOutbound": False},
        "updateTelephonyConfig": {"id": existing["config"], "name": "Renamed", "config": {"connection_id": "c-1"}, "expectedVersion": 1},
        "deleteTelephonyConfig": {"id": existing["config"], "expectedVersion": 1},
        "setDefaultOutboundTelephonyConfig": {"id": existing["config"]},
        "addPhoneNumber": {"telephonyConfigId": existing["config"], "phoneNumber": "+14155550101", "region": "US",
                           "label": "Desk", "isActive": True},
        "updatePhoneNumber": {"id": existing["number"], "label": "Desk", "isActive": False},
        "removePhoneNumber": {"id": existing["number"]},
    }


def bad_variables(mutation: str, base: dict[str, Any]) -> list[tuple[str, Any, list[Any]]]:
    """(what is wrong, variables, values that must not be repeated)."""
    _, fields = MUTATIONS[mutation]
    cases: list[tuple[str, Any, list[Any]]] = [
        ("no input variable", {}, []),
        ("input null", {"input": None}, []),
        ("input a string", {"input": CANARY}, []),
        ("input an array", {"input": [dict(base, secret=CANARY)]}, []),
        ("input a number", {"input": 424242}, [424242]),
        ("unknown field", {"input": {**base, "extraField": CANARY}}, []),
        ("unknown field not a name", {"input": {**base, CANARY: 1}}, []),
        ("unknown field with a nested secret", {"input": {**base, "nested": {"deep": [CANARY]}}}, []),
    ]
    for field, field_type in fields.items():
        named = field_type.rstrip("!")
        if field_type.endswith("!"):
            missing = {k: v for k, v in base.items() if k != field}
            cases.append((f"{field} missing", {"input": missing}, []))
            cases.append((f"{field} null", {"input": {**base, field: None}}, []))
        for value in WRONG_VALUES[named]:
            cases.append((f"{field} = {value!r}", {"input": {**base, field: value}}, [value]))
    return cases


def repeated(value: Any) -> list[str]:
    """How a refused value would show in a message if it were repeated."""
    if isinstance(value, bool):
        return [repr(value), str(value).lower()]
    if isinstance(value, int | float):
        return [str(value)]
    if isinstance(value, str):
        return [value] if len(value) > 3 else [f"'{value}'", f'"{value}"']
    return [CANARY] if CANARY in repr(value) else []


@pytest.mark.parametrize("mutation", list(MUTATIONS))
async def test_every_bad_variable_of_every_mutation_is_refused_before_anything_runs(api, existing, mutation, caplog):
    before = await state(api)
    base = valid_inputs(existing)[mutation]
    document = mutation_document(mutation)
    for what, variables, values in bad_variables(mutation, base):
        errors = await refused(api, document, variables)
        assert codes(errors) == {"BAD_USER_INPUT"}, (what, errors)
        for error in errors:
            assert error["message"].startswith("Variable '$input'"), (what, error)
            for value in values:
                for shown in repeated(value):
                    assert shown not in error["message"], (what, error)
    assert await state(api) == before
    assert_no_canary(caplog)


async def test_coercion_messages_say_what_is_wrong_and_where(api, existing):
    base = valid_inputs(existing)
    document = mutation_document("deleteTelephonyConfig")
    errors = await refused(api, document, {"input": {**base["deleteTelephonyConfig"], "expectedVersion": CANARY}})
    assert errors[0]["message"] == (
        "Variable '$input' has invalid value at .expectedVersion: Int cannot represent non-integer value."
    )
    errors = await refused(api, mutation_document("createTelephonyConfig"),
                           {"input": {**base["createTelephonyConfig"], "provider": "FOO"}})
    assert errors[0]["message"] == (
        "Variable '$input' has invalid value at .provider: The value does not exist in 'TelephonyProviderKey' enum."
    )
    # A near miss gets a suggestion outside production: it names only the schema's values.
    errors = await refused(api, mutation_document("createTelephonyConfig"),
                           {"input": {**base["createTelephonyConfig"], "provider": "TELNYXX"}})
    assert errors[0]["message"].endswith("Did you mean the enum value 'TELNYX'?")
    assert "TELNYXX" not in errors[0]["message"]
    missing = {k: v for k, v in base["createTelephonyConfig"].items() if k != "name"}
    missing["config"] = {"api_key": CANARY}
    errors = await refused(api, mutation_document("createTelephonyConfig"), {"input": missing})
    assert errors[0]["message"] == (
        "Variable '$input' has invalid value: "
        "Expected value of type 'CreateTelephonyConfigInput' to include required field 'name'."
    )
    errors = await refused(api, mutation_document("createTelephonyConfig"),
                           {"input": {**base["createTelephonyConfig"], "nmae": CANARY}})
    assert errors[0]["message"] == (
        "Variable '$input' has invalid value: Expected value of type 'CreateTelephonyConfigInput' "
        "not to include unknown field 'nmae'. Did you mean 'name'?"
    )
    errors = await refused(api, mutation_document("updatePhoneNumber"), {"input": {"id": {"secret": CANARY}}})
    assert errors[0]["message"] == "Variable '$input' has invalid value at .id: ID cannot represent value."
    errors = await refused(api, mutation_document("removePhoneNumber"), {})
    assert errors[0]["message"] == (
        "Variable '$input' has invalid value: Expected a value of non-null type 'RemovePhoneNumberInput!' to be provided."
    )


@pytest.mark.parametrize("config", [CANARY, [CANARY], 12345, True])
async def test_config_that_is_not_an_object_is_a_user_error(api, existing, config, caplog):
    """JSON takes any value: the API, not the coercion, refuses a config that is not an object."""
    before = await state(api)
    create = (await api.gql(CREATE, {"input": {"name": "Odd", "provider": "TELNYX", "config": config}}))
    payload = create["createTelephonyConfig"]
    assert payload["telephonyConfig"] is None
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(["input", "config"], "INVALID")]
    update = await api.post(
        "mutation($input: UpdateTelephonyConfigInput!) { updateTelephonyConfig(input: $input) {"
        " telephonyConfig { id } userErrors { field code message } } }",
        {"input": {"id": existing["config"], "config": config}},
    )
    payload = update.json()["data"]["updateTelephonyConfig"]
    assert payload["telephonyConfig"] is None
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(["input", "config"], "INVALID")]
    assert CANARY not in update.text
    assert await state(api) == before
    assert_no_canary(caplog)


async def test_null_config_on_create_is_refused_by_coercion(api):
    errors = await refused(api, CREATE, {"input": {"name": "x", "provider": "TELNYX", "config": None}})
    assert codes(errors) == {"BAD_USER_INPUT"}
    assert "config" in errors[0]["message"]


async def test_secret_in_a_wrong_config_key_is_not_repeated(api, caplog):
    before = await state(api)
    response = await api.post(CREATE, {"input": {"name": "Leaky", "provider": "TELNYX",
                                                 "config": {"api_key": CANARY, "not_a_field": CANARY}}})
    assert response.status_code == 200
    payload = response.json()["data"]["createTelephonyConfig"]
    assert payload["telephonyConfig"] is None
    assert ["input", "config", "not_a_field"] in [e["field"] for e in payload["userErrors"]]
    assert CANARY not in response.text
    assert await state(api) == before
    assert_no_canary(caplog)


async def test_huge_strings_are_refused_without_being_repeated(api, caplog):
    huge = CANARY + "x" * 200_000
    before = await state(api)
    errors = await refused(api, mutation_document("deleteTelephonyConfig"), {"input": {"id": "x", "expectedVersion": huge}})
    assert len(errors[0]["message"]) < 300
    errors = await refused(api, mutation_document("createTelephonyConfig"),
                           {"input": {"name": "x", "provider": huge, "config": {}}})
    assert len(errors[0]["message"]) < 300
    response = await api.post(CREATE, {"input": {"name": huge, "provider": "TELNYX", "config": VALID["TELNYX"]}})
    payload = response.json()["data"]["createTelephonyConfig"]
    assert payload["telephonyConfig"] is None
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(["input", "name"], "TOO_LONG")]
    assert len(response.text) < 2_000
    assert await state(api) == before
    assert_no_canary(caplog)


# Literal values in the document: refused by validation, the value never repeated.
LITERAL_CASES = [
    ("string for Int",
     f'mutation {{ deleteTelephonyConfig(input: {{id: "x", expectedVersion: "{CANARY}"}}) {{ userErrors {{ code }} }} }}'),
    ("float for Int", 'mutation { deleteTelephonyConfig(input: {id: "x", expectedVersion: 4.25}) { userErrors { code } } }'),
    ("unknown enum value",
     'mutation { createTelephonyConfig(input: {name: "x", provider: SECRET_CANARY_ENUM, config: {}}) { userErrors { code } } }'),
    ("string for enum",
     f'mutation {{ createTelephonyConfig(input: {{name: "x", provider: "{CANARY}", config: {{}}}}) {{ userErrors {{ code }} }} }}'),
    ("unknown input field",
     f'mutation {{ createTelephonyConfig(input: {{name: "x", provider: TELNYX, config: {{}}, bogus: "{CANARY}"}}) {{ userErrors {{ code }} }} }}'),
    ("missing required field",
     f'mutation {{ createTelephonyConfig(input: {{provider: TELNYX, config: {{api_key: "{CANARY}"}}}}) {{ userErrors {{ code }} }} }}'),
    ("null for non-null",
     f'mutation {{ createTelephonyConfig(input: {{name: null, provider: TELNYX, config: {{api_key: "{CANARY}"}}}}) {{ userErrors {{ code }} }} }}'),
    ("number for String",
     'mutation { addPhoneNumber(input: {telephonyConfigId: "x", phoneNumber: 14155550100}) { userErrors { code } } }'),
    ("object for ID", f'mutation {{ removePhoneNumber(input: {{id: {{secret: "{CANARY}"}}}}) {{ userErrors {{ code }} }} }}'),
    ("string for Boolean",
     f'mutation {{ updatePhoneNumber(input: {{id: "x", isActive: "{CANARY}"}}) {{ userErrors {{ code }} }} }}'),
    ("input a string", f'mutation {{ setDefaultOutboundTelephonyConfig(input: "{CANARY}") {{ userErrors {{ code }} }} }}'),
    ("bad variable default", f'query Q($n: Int = "{CANARY}") {{ telephonyConfigs(first: $n) {{ totalCount }} }}'),
    ("string for first", f'{{ telephonyConfigs(first: "{CANARY}") {{ totalCount }} }}'),
    ("object for ids", f'{{ nodes(ids: {{secret: "{CANARY}"}}) {{ id }} }}'),
]


@pytest.mark.parametrize(("what", "document"), LITERAL_CASES, ids=[c[0] for c in LITERAL_CASES])
async def test_bad_literal_input_is_an_invalid_document(api, existing, what, document, caplog):
    before = await state(api)
    errors = await refused(api, document, secrets=("SECRET_CANARY_ENUM", "14155550100", "4.25"))
    assert codes(errors) == {"GRAPHQL_VALIDATION_FAILED"}, errors
    assert await state(api) == before
    assert_no_canary(caplog, "SECRET_CANARY_ENUM")


SYNTAX_CASES = [
    ("string where a name goes", f'{{ telephonyConfigs(first: 1 "{CANARY}") {{ totalCount }} }}', CANARY),
    ("block string where a name goes", f'{{ telephonyConfigs """{CANARY}""" }}', CANARY),
    ("number where a name goes", "{ telephonyConfigs(424242424242) { totalCount } }", "424242424242"),
    ("unclosed document with a secret inside",
     f'mutation {{ createTelephonyConfig(input: {{name: "x", provider: TELNYX, config: {{api_key: "{CANARY}"}}}}', CANARY),
    ("unterminated string", f'mutation {{ createTelephonyConfig(input: {{name: "{CANARY}', CANARY),
    ("bad unicode escape", '{ telephonyConfig(id: "\\uZQXW") { id } }', "ZQXW"),
    ("bad unicode escape in braces", '{ telephonyConfig(id: "\\u{ZQXWV}") { id } }', "ZQXW"),
    ("bad escape", f'{{ telephonyConfig(id: "\\q{CANARY}") {{ id }} }}', CANARY),
    ("number with a name after it", "{ telephonyConfigs(first: 123SECRETCANARY) { totalCount } }", "SECRETCANARY"),
    ("fraction without zero", "{ telephonyConfigs(first: .4242424242) { totalCount } }", "4242424242"),
    ("single quotes", f"{{ telephonyConfig(id: '{CANARY}') {{ id }} }}", CANARY),
    ("variable in a constant", f'query($a: String = $b) {{ telephonyConfig(id: "{CANARY}" {{ id }} }}', CANARY),
    ("stray character", f'{{ telephonyConfigs {{ totalCount }} }} ~ "{CANARY}"', CANARY),
]


@pytest.mark.parametrize(("what", "document", "secret"), SYNTAX_CASES, ids=[c[0] for c in SYNTAX_CASES])
async def test_syntax_errors_do_not_repeat_the_document_values(api, what, document, secret, caplog):
    errors = await refused(api, document, secrets=(secret,))
    assert codes(errors) == {"GRAPHQL_PARSE_FAILED"}
    assert errors[0]["message"].startswith("Syntax Error:")
    assert errors[0]["locations"], errors
    assert_no_canary(caplog, secret)


async def test_syntax_messages_keep_what_is_useful(api):
    errors = await refused(api, f'{{ telephonyConfigs(first: 1 "{CANARY}") {{ totalCount }} }}')
    assert errors[0]["message"] == "Syntax Error: Expected Name, found String."
    errors = await refused(api, "{ telephonyConfigs { totalCount }")
    assert errors[0]["message"] == "Syntax Error: Expected Name, found <EOF>."
    errors = await refused(api, '{ telephonyConfig(id: "x"')
    assert errors[0]["message"] == "Syntax Error: Expected Name, found <EOF>."
    errors = await refused(api, "{ ..Frag }")
    assert errors[0]["message"] == "Syntax Error: Unexpected '..', did you mean '...'?"


INVALID_DOCUMENTS = [
    ("unknown field", "{ telephonyConfigs { totalCount nope } }"),
    ("unknown root field", "{ nope }"),
    ("missing selection", "{ telephonyConfigs }"),
    ("selection on a leaf", "{ telephonyConfigs { totalCount { x } } }"),
    ("unknown argument", "{ telephonyConfigs(last: 1) { totalCount } }"),
    ("missing required argument", "{ telephonyConfig { id } }"),
    ("unknown type", "query($a: Nope) { telephonyProviders { key } }"),
    ("unused variable", "query($a: Int) { telephonyProviders { key } }"),
    ("undefined variable", "{ telephonyConfigs(first: $n) { totalCount } }"),
    ("variable of the wrong type", "query($n: String) { telephonyConfigs(first: $n) { totalCount } }"),
    ("unknown fragment", "{ ...Nope }"),
    ("fragment on the wrong type", "{ telephonyConfigs { ... on PhoneNumber { id } totalCount } }"),
    ("fragment cycle", "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }"),
    ("two anonymous operations", "{ telephonyProviders { key } } { telephonyConfigs { totalCount } }"),
    ("mutation without payload selection", 'mutation { removePhoneNumber(input: {id: "x"}) }'),
    ("subscription with two root fields",
     "subscription { a: telephonyConfigWarningsChanged { totalCount } b: telephonyConfigWarningsChanged { totalCount } }"),
]


@pytest.mark.parametrize(("what", "document"), INVALID_DOCUMENTS, ids=[c[0] for c in INVALID_DOCUMENTS])
async def test_invalid_documents_are_refused(api, what, document):
    errors = await refused(api, document)
    assert codes(errors) <= {"GRAPHQL_VALIDATION_FAILED", "BAD_REQUEST"}, errors


async def test_an_invalid_part_stops_the_valid_mutations_beside_it(api, existing):
    before = await state(api)
    document = (
        'mutation { a: createTelephonyConfig(input: {name: "New", provider: TELNYX, config: {api_key: "k"}})'
        ' { telephonyConfig { id } } b: removePhoneNumber(input: {id: "%s"}) { deletedPhoneNumberId }'
        " c: nope }" % existing["number"]
    )
    errors = await refused(api, document)
    assert codes(errors) == {"GRAPHQL_VALIDATION_FAILED"}
    assert await state(api) == before


async def test_bad_variable_stops_the_whole_operation(api, existing):
    before = await state(api)
    document = (
        "mutation($a: CreateTelephonyConfigInput!, $b: RemovePhoneNumberInput!) {"
        " a: createTelephonyConfig(input: $a) { telephonyConfig { id } }"
        " b: removePhoneNumber(input: $b) { deletedPhoneNumberId } }"
    )
    variables = {"a": {"name": "New", "provider": "TELNYX", "config": VALID["TELNYX"]}, "b": {"id": 4.5}}
    errors = await refused(api, document, variables)
    assert codes(errors) == {"BAD_USER_INPUT"}
    assert await state(api) == before


async def test_unknown_operation_name_is_refused_without_repeating_it(api, existing):
    before = await state(api)
    document = 'mutation Remove { removePhoneNumber(input: {id: "%s"}) { deletedPhoneNumberId } }' % existing["number"]
    errors = await refused(api, document, operation_name=CANARY)
    assert "operationName" in errors[0]["message"]
    errors = await refused(api, "query A { telephonyProviders { key } } query B { telephonyConfigs { totalCount } }")
    assert "operationName" in errors[0]["message"]
    errors = await refused(api, "fragment F on Query { telephonyProviders { key } }")
    assert await state(api) == before


async def test_operation_name_picks_the_operation(api):
    document = "query A { telephonyProviders { key } } query B { telephonyConfigs { totalCount } }"
    response = await api.client.post(
        "/graphql", json={"query": document, "operationName": "B"}, headers=bearer(api.key),
    )
    assert response.status_code == 200
    assert response.json() == {"data": {"telephonyConfigs": {"totalCount": 0}}}


# Limits.

@pytest.mark.parametrize("first", [0, -1, 101, 1000])
async def test_first_outside_1_to_100_is_bad_user_input_before_anything_runs(api, existing, first):
    before = await state(api)
    for document, variables in [
        (f"{{ telephonyConfigs(first: {first}) {{ totalCount }} }}", None),
        ("query($n: Int) { telephonyConfigs(first: $n) { totalCount } }", {"n": first}),
        ("query($id: ID!, $n: Int) { telephonyConfig(id: $id) { phoneNumbers(first: $n) { totalCount } } }",
         {"id": existing["config"], "n": first}),
        ("query($n: Int) { telephonyConfigs(first: 1) { nodes { phoneNumbers(first: $n) { totalCount } } } }", {"n": first}),
        ('mutation($n: Int) { createTelephonyConfig(input: {name: "New", provider: TELNYX, config: {api_key: "k"}})'
         " { telephonyConfig { phoneNumbers(first: $n) { totalCount } } } }", {"n": first}),
    ]:
        errors = await refused(api, document, variables)
        assert codes(errors) == {"BAD_USER_INPUT"}, errors
        assert "first" in errors[0]["message"] and "100" in errors[0]["message"]
    assert await state(api) == before


@pytest.mark.parametrize("first", [1, 100])
async def test_first_at_the_bounds_is_served(api, first):
    data = await api.gql("query($n: Int) { telephonyConfigs(first: $n) { totalCount } }", {"n": first})
    assert data == {"telephonyConfigs": {"totalCount": 0}}


async def test_after_that_is_not_a_cursor_is_bad_user_input(api):
    errors = await refused(api, "query($a: String) { telephonyConfigs(after: $a) { totalCount } }", {"a": CANARY})
    assert codes(errors) == {"BAD_USER_INPUT"}


def nested(levels: int) -> str:
    """A query whose deepest field is `levels` below its root field (the root field is depth 0,
    as graphql-depth-limit and Strawberry count)."""
    chain = ["telephonyConfigs(first: 1)", "nodes"]
    while len(chain) < levels:
        chain += ["phoneNumbers(first: 1)", "nodes", "telephonyConfig"][: levels - len(chain)]
    return "{ " + " { ".join(chain) + " { id" + " }" * len(chain) + " }"


async def test_depth_above_10_is_refused(api):
    assert (await api.post(nested(10))).status_code == 200
    await api.gql(nested(10))
    errors = await refused(api, nested(11))
    assert "depth" in errors[0]["message"] and "10" in errors[0]["message"]
    errors = await refused(api, nested(30))
    assert "depth" in errors[0]["message"] and "10" in errors[0]["message"]


def aliased(count: int) -> str:
    return "{ " + " ".join(f"a{i}: telephonyProviders {{ key }}" for i in range(count)) + " }"


async def test_more_than_15_aliases_is_refused(api):
    assert len(await api.gql(aliased(15))) == 15
    errors = await refused(api, aliased(16))
    assert "aliases" in errors[0]["message"] and "15" in errors[0]["message"]


def count_tokens(document: str) -> int:
    lexer = Lexer(Source(document))
    count = 0
    while lexer.advance().kind != TokenKind.EOF:
        count += 1
    return count


def tokens(count: int) -> str:
    """A document of exactly `count` lexical tokens, cheap to validate and to run: the tokens
    are in a variable's default value, which the variables given replace."""
    document = "query Q($ids: [ID!]! = [%s]) { nodes(ids: $ids) { id } }"
    padding = count - count_tokens(document % "")
    text = document % " ".join(['"x"'] * padding)
    assert count_tokens(text) == count
    return text


async def test_more_than_2000_tokens_is_refused(api):
    assert await api.gql(tokens(2000), {"ids": []}) == {"nodes": []}
    errors = await refused(api, tokens(2001), {"ids": []})
    assert "tokens" in errors[0]["message"] and "2000" in errors[0]["message"]
    # Whitespace, commas and the length of a string are not tokens.
    long_string = '{ telephonyConfig(id: "%s") { id } }' % ("x" * 100_000)
    assert await api.gql(long_string + " ," * 10_000) == {"telephonyConfig": None}
    # A huge document is refused as a whole.
    errors = await refused(api, tokens(100_000), {"ids": []})
    assert "2000" in errors[0]["message"]


COST_QUERY = """
query Cost($n: Int, $m: Int, $ids: [ID!]!) {
  a: telephonyConfigs(first: $n) { nodes { phoneNumbers(first: $m) { totalCount } } }
  b: telephonyConfigs(first: $n) { nodes { phoneNumbers(first: $m) { totalCount } } }
  nodes(ids: $ids) { id }
}"""


async def test_cost_above_20000_is_refused_with_first_from_variables_and_ids_counted(api, existing):
    # 2 * (100 + 100 * 99) = 20,000: at the limit.
    data = await api.gql(COST_QUERY, {"n": 100, "m": 99, "ids": []})
    assert data["nodes"] == []
    # One id more: 20,001.
    errors = await refused(api, COST_QUERY, {"n": 100, "m": 99, "ids": [existing["config"]]})
    assert codes(errors) == {"QUERY_TOO_COMPLEX"}
    assert "cost" in errors[0]["message"] and "20000" in errors[0]["message"]
    assert "20001" in errors[0]["message"]
    # Nested connections multiply: 2 * (100 + 100 * 100) = 20,200.
    errors = await refused(api, COST_QUERY, {"n": 100, "m": 100, "ids": []})
    assert "20200" in errors[0]["message"]
    # Defaults count as 50: 2 * (50 + 50 * 50) + 100 ids is far below.
    ids = [existing["config"]] * 100
    data = await api.gql(COST_QUERY.replace("(first: $n)", "").replace("(first: $m)", "")
                         .replace("$n: Int, $m: Int, ", ""), {"ids": ids})
    assert len(data["nodes"]) == 100


async def test_costly_mutation_is_refused_and_changes_nothing(api, existing):
    before = await state(api)
    document = """
    mutation {
      createTelephonyConfig(input: {name: "Costly", provider: TELNYX, config: {api_key: "k"}}) {
        telephonyConfig { phoneNumbers(first: 100) { nodes { telephonyConfig {
          phoneNumbers(first: 100) { nodes { telephonyConfig { phoneNumbers(first: 3) { totalCount } } } }
        } } } }
      }
    }"""
    errors = await refused(api, document)
    assert codes(errors) == {"QUERY_TOO_COMPLEX"}
    assert "40100" in errors[0]["message"]  # 100 + 100*100 + 100*100*3
    assert await state(api) == before


async def test_limits_through_fragments_and_inline_fragments(api):
    document = """
    query { ...Configs other: telephonyConfigs(first: 100) { ... on TelephonyConfigConnection { ...Numbers } } }
    fragment Configs on Query { telephonyConfigs(first: 100) { ...Numbers } }
    fragment Numbers on TelephonyConfigConnection { nodes { phoneNumbers(first: 100) { totalCount } } }
    """
    errors = await refused(api, document)
    assert codes(errors) == {"QUERY_TOO_COMPLEX"}
    assert "20200" in errors[0]["message"]


async def test_depth_and_aliases_count_through_fragments(api):
    # nested(10) split into fragments and inline fragments is still 10 deep; one more is refused.
    inner = ("phoneNumbers(first: 1) { nodes { telephonyConfig { phoneNumbers(first: 1) { nodes { telephonyConfig {"
             " phoneNumbers(first: 1) { nodes { id } } } } } } } }")
    document = (
        "query { ... on Query { telephonyConfigs(first: 1) { ...Nodes } } }"
        " fragment Nodes on TelephonyConfigConnection { nodes { ...Numbers } }"
        " fragment Numbers on TelephonyConfig { %s }"
    )
    await api.gql(document % inner)
    errors = await refused(api, document % inner.replace("{ id }", "{ telephonyConfig { id } }"))
    assert "11" in errors[0]["message"] and "10" in errors[0]["message"]
    eight = " ".join(f"k{i}: key" for i in range(8))
    document = "{ telephonyProviders { ...Keys } again: telephonyProviders { ...Keys } } fragment Keys on ProviderMetadata { %s }"
    errors = await refused(api, document % eight)
    assert "17" in errors[0]["message"] and "15" in errors[0]["message"]
    assert len((await api.gql(document % " ".join(f"k{i}: key" for i in range(7))))["again"]) == 9  # the providers


def fragment_bomb(levels: int, leaf: str) -> str:
    """Each fragment spreads the next one twice: 2**levels paths through a few hundred tokens."""
    spreads = "\n".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels))
    return f"query {{ ...F0 }}\n{spreads}\nfragment F{levels} on Query {{ {leaf} }}"


async def test_fragments_spread_into_one_another_are_checked_in_linear_time(api):
    # 2**40 paths through a few hundred tokens: linear checks take milliseconds, a walk of every
    # path would outlast any deadline. So the deadline is there to catch that, not to time them.
    levels = 40
    with deadline():
        # Without a key, the check that lets introspection through walks the fragments too.
        # The size limit counts a field once per path that reaches it (an upper bound: GraphQL
        # merges them into one answer), at least 128 bytes each: 2**40 paths are refused by it.
        response = await api.client.post("/graphql", json={"query": fragment_bomb(levels, "__typename")})
        assert response.status_code == 200
        [error] = response.json()["errors"]
        assert error["extensions"] == {"code": "QUERY_TOO_COMPLEX", "size": 2**levels * 128, "limit": MAX_RESPONSE_SIZE}
        errors = await refused(api, fragment_bomb(levels, "telephonyProviders { key }"))
        assert codes(errors) == {"QUERY_TOO_COMPLEX"}
        # A few levels are answered, the spreads merged into one field.
        assert await api.gql(fragment_bomb(5, "telephonyProviders { key }"))
        response = await api.client.post("/graphql", json={"query": fragment_bomb(5, "__typename")})
        assert response.json() == {"data": {"__typename": "Query"}}
        errors = await refused(api, fragment_bomb(levels, "telephonyConfigs(first: 1) { totalCount }"))
        assert codes(errors) == {"QUERY_TOO_COMPLEX"}
        assert str(2**levels) in errors[0]["message"]
        errors = await refused(api, fragment_bomb(levels, "a: telephonyProviders { key }"))
        assert "aliases" in errors[0]["message"]


# The sanitizer on the messages graphql-core 3.3 builds (as the requests above produce them).

REAL_MESSAGES = [
    ("Variable '$input' has invalid value at .expectedVersion: Int cannot represent non-integer value: 'SECRET-CANARY-12345'",
     "Variable '$input' has invalid value at .expectedVersion: Int cannot represent non-integer value.", None),
    ("Variable '$input' has invalid value at .provider: Value 'TELNYXX' does not exist in 'TelephonyProviderKey' enum."
     " Did you mean the enum value 'TELNYX'?",
     "Variable '$input' has invalid value at .provider: The value does not exist in 'TelephonyProviderKey' enum."
     " Did you mean the enum value 'TELNYX'?",
     "Variable '$input' has invalid value at .provider: The value does not exist in 'TelephonyProviderKey' enum."),
    ("Variable '$input' has invalid value: Expected value of type 'CreateTelephonyConfigInput' not to include unknown field"
     " 'nmae'. Did you mean 'name'? Found: {'name': 'SECRET-CANARY-12345', 'nmae': 'x'}.",
     "Variable '$input' has invalid value: Expected value of type 'CreateTelephonyConfigInput' not to include unknown field"
     " 'nmae'. Did you mean 'name'?",
     "Variable '$input' has invalid value: Expected value of type 'CreateTelephonyConfigInput' not to include unknown field"
     " 'nmae'."),
    ("Variable '$input' has invalid value: Expected value of type 'CreateTelephonyConfigInput' not to include unknown field"
     " 'SECRET-CANARY-12345', found: {'SECRET-CANARY-12345': 1}.",
     "Variable '$input' has invalid value: Expected value of type 'CreateTelephonyConfigInput' not to include an unknown field.",
     None),
    ("Variable '$input' has invalid value: Expected value of type 'CreateTelephonyConfigInput' to include required field"
     " 'name', found: {'config': {'api_key': 'SECRET-CANARY-12345'}}.",
     "Variable '$input' has invalid value: Expected value of type 'CreateTelephonyConfigInput' to include required field 'name'.",
     None),
    ("Variable '$input' has invalid value: Expected value of type 'CreateTelephonyConfigInput' to be an object,"
     " found: 'SECRET-CANARY-12345'.",
     "Variable '$input' has invalid value: Expected value of type 'CreateTelephonyConfigInput' to be an object.", None),
    ("Variable '$ids' has invalid value at [0]: ID cannot represent value: {'a': 'SECRET-CANARY-12345'}",
     "Variable '$ids' has invalid value at [0]: ID cannot represent value.", None),
    ("Variable '$x' has invalid value: Expected value of type 'Odd', but encountered error 'SECRET-CANARY-12345 is even';"
     " found: 'SECRET-CANARY-12345'.",
     "Variable '$x' has invalid value: Expected value of type 'Odd'.", None),
    ("Variable '$x' has invalid value: Odd says SECRET-CANARY-12345 is wrong",
     "Variable '$x' has invalid value: the value is not valid for its type.", None),
    ("Expected value of type 'CreateTelephonyConfigInput' not to include unknown field 'bogus', found:"
     ' {\n  name: "x"\n  bogus: "SECRET-CANARY-12345"\n}.',
     "Expected value of type 'CreateTelephonyConfigInput' not to include unknown field 'bogus'.", None),
    ("Value 'SECRET_CANARY_12345' does not exist in 'TelephonyProviderKey' enum.",
     "The value does not exist in 'TelephonyProviderKey' enum.", None),
    ("Enum 'TelephonyProviderKey' cannot represent non-enum value: \"TELNYX\". Did you mean the enum value 'TELNYX'?",
     "Enum 'TelephonyProviderKey' cannot represent non-enum value. Did you mean the enum value 'TELNYX'?",
     "Enum 'TelephonyProviderKey' cannot represent non-enum value."),
    ('String cannot represent a non string value: 14155550100', "String cannot represent a non string value.", None),
    ('Int cannot represent non 32-bit signed integer value: 1099511627776',
     "Int cannot represent non 32-bit signed integer value.", None),
    ("Syntax Error: Expected Name, found String 'SECRET-CANARY-12345'.", "Syntax Error: Expected Name, found String.", None),
    ("Syntax Error: Unexpected Int '424242'.", "Syntax Error: Unexpected Int.", None),
    ("Syntax Error: Expected ':', found BlockString 'SECRET'.", "Syntax Error: Expected ':', found BlockString.", None),
    ("Syntax Error: Invalid Unicode escape sequence: '\\uZQXW'.", "Syntax Error: Invalid Unicode escape sequence.", None),
    ("Syntax Error: Invalid character escape sequence: '\\q'.", "Syntax Error: Invalid character escape sequence.", None),
    ("Syntax Error: Invalid number, expected digit before '.', did you mean '0.4242'?",
     "Syntax Error: Invalid number, expected digit before '.'.", None),
    ("Syntax Error: Invalid number, expected digit but got: 'S'.", "Syntax Error: Invalid number, expected digit but got: 'S'.", None),
    ("Syntax Error: Unexpected '..', did you mean '...'?", "Syntax Error: Unexpected '..', did you mean '...'?",
     "Syntax Error: Unexpected '..'."),
    ("Syntax Error: Unexpected single quote character ('), did you mean to use a double quote (\")?",
     "Syntax Error: Unexpected single quote character ('), did you mean to use a double quote (\")?",
     "Syntax Error: Unexpected single quote character (')."),
    ("Syntax Error: Document contains more than 2000 tokens. Parsing aborted.",
     "Syntax Error: Document contains more than 2000 tokens. Parsing aborted.", None),
    ("Syntax Error: Something new about 'SECRET-CANARY-12345'.", "Syntax Error: the document could not be parsed.", None),
    ("Unknown operation named 'SECRET-CANARY-12345'.", "No operation in the document has the name given in operationName.", None),
    ("Cannot query field 'telephonyConfigz' on type 'Query'. Did you mean 'telephonyConfig' or 'telephonyConfigs'?",
     "Cannot query field 'telephonyConfigz' on type 'Query'. Did you mean 'telephonyConfig' or 'telephonyConfigs'?",
     "Cannot query field 'telephonyConfigz' on type 'Query'."),
    ("Field 'telephonyConfigs' of type 'TelephonyConfigConnection!' must have a selection of subfields."
     " Did you mean 'telephonyConfigs { ... }'?",
     "Field 'telephonyConfigs' of type 'TelephonyConfigConnection!' must have a selection of subfields."
     " Did you mean 'telephonyConfigs { ... }'?",
     "Field 'telephonyConfigs' of type 'TelephonyConfigConnection!' must have a selection of subfields."),
]


@pytest.mark.parametrize(("raw", "development", "production"), REAL_MESSAGES)
def test_sanitizer_on_real_messages(raw, development, production):
    assert sanitize_message(raw) == development
    assert sanitize_message(raw, suggestions=False) == (production or development)
    # Rewriting twice changes nothing: errors are rewritten once for every transport, then formatted.
    assert sanitize_message(development) == development
    assert sanitize_message(production or development, suggestions=False) == (production or development)


async def test_limits_see_the_default_values_of_variables(api):
    over_first = 'query($n: Int = 1000) { telephonyConfigs(first: $n) { totalCount } }'
    response = await api.post(over_first)
    body = response.json()
    assert "data" not in body and body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    aliases = " ".join(f"a{i}: telephonyConfigs(first: $n) {{ nodes {{ phoneNumbers(first: $n) {{ totalCount }} }} }}" for i in range(7))
    response = await api.post(f"query($n: Int = 100) {{ {aliases} }}")
    body = response.json()
    assert "data" not in body and body["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    # The declared default gives way to a value that is sent.
    assert (await api.post(over_first, {"n": 5})).json() == {"data": {"telephonyConfigs": {"totalCount": 0}}}
