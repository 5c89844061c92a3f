"""Schemathesis (v4) fuzzes the live GraphQL endpoint with an API key: every query and mutation
field, with documents that fit the schema (positive) and documents that break it (negative).

Bounded and repeatable: a fixed number of examples per field and mode, a fixed seed, no example
database. Besides Schemathesis' own checks, each answer must keep the contract: HTTP 200 JSON
(the client accepts only application/json), every error with a code and never
INTERNAL_SERVER_ERROR, a schema-valid document refused only by a limit the contract names, no
error message repeating a string of the request, and no traceback in the server's log.

Schemathesis' `positive_data_acceptance` is replaced by the contract's version of it: the schema
cannot express that `first` is 1 to 100, that `after` must be a cursor of the connection, or that
an audit filter's `entityId` must be an id and `since` not after `until`, and the contract
refuses those (and documents over the depth, alias and cost limits) before anything runs; any
other refusal of a schema-valid document still fails.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import graphql
import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.graphql import nodes
from schemathesis.specs.graphql.scalars import CUSTOM_SCALARS
from schemathesis.specs.openapi.checks import positive_data_acceptance

from ..documents import CREATE, VALID
from ..live.server import LiveServer
from ..support import bearer

SEED = 20_240_601
MAX_EXAMPLES = 200  # per field and mode: about 5,000 requests, well under a minute here
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)

# Codes the contract gives errors; INTERNAL_SERVER_ERROR is a fault, never an answer here.
CLIENT_CODES = {"BAD_USER_INPUT", "BAD_REQUEST", "GRAPHQL_PARSE_FAILED", "GRAPHQL_VALIDATION_FAILED",
                "QUERY_TOO_COMPLEX"}
# A schema-valid document may still be refused, before anything runs, by these rules of the contract.
CONTRACT_REFUSALS = re.compile(
    r"`first` on `\w+` must be between 1 and \d+\."
    r"|`after` on `\w+` is not a cursor of this connection\."
    r"|`filter\.entityId` on `\w+` is not a global id of this API\."
    r"|`filter\.since` on `\w+` is after `filter\.until`: no event can match\."
    r"|`nodes` takes at most \d+ ids\."
    r"|The operation is \d+ levels deep, above the depth limit of \d+\."
    r"|The document has \d+ aliases, above the limit of \d+ aliases\."
    r"|The query's cost is \d+, above the limit of \d+: .*"
)
# Strings shorter than this may be a word of any message ("name", "TWILIO"): not judged as leaks.
MIN_LEAK_LENGTH = 8


def field_names() -> list[str]:
    return sorted({key for config in VALID.values() for key in config})


def json_scalar() -> st.SearchStrategy[graphql.ValueNode]:
    """Non-null JSON literals; objects often keyed by real provider field names, to reach the config checks."""
    names = st.sampled_from(field_names()) | st.from_regex(r"[_A-Za-z][_0-9A-Za-z]{0,15}", fullmatch=True)
    scalars = st.one_of(st.text(max_size=40).map(nodes.String), st.integers().map(nodes.Int),
                        st.floats(allow_nan=False, allow_infinity=False).map(nodes.Float),
                        st.booleans().map(nodes.Boolean))
    leaves = scalars | st.just(nodes.Null)

    def objects(values: st.SearchStrategy[graphql.ValueNode]) -> st.SearchStrategy[graphql.ValueNode]:
        return st.dictionaries(names, values, max_size=6).map(lambda fields: nodes.Object([
            graphql.ObjectFieldNode(name=graphql.NameNode(value=key), value=value) for key, value in fields.items()
        ]))

    values = st.recursive(leaves, lambda inner: objects(inner) | st.lists(inner, max_size=4).map(nodes.List),
                          max_leaves=12)
    # Never null itself: Hypothesis-GraphQL adds null where the argument's type is nullable.
    return objects(values) | st.lists(values, max_size=4).map(nodes.List) | scalars


def id_scalar(existing: list[str]) -> st.SearchStrategy[graphql.ValueNode]:
    """Ids of objects that exist (so mutations get past "not found") or anything at all."""
    return st.one_of(st.sampled_from(existing), st.text(max_size=40)).map(nodes.String)


@contextmanager
def custom_scalars(strategies: dict[str, st.SearchStrategy[graphql.ValueNode]]) -> Iterator[None]:
    """Schemathesis keeps scalar strategies in a global registry: restored afterwards."""
    saved = dict(CUSTOM_SCALARS)
    for name, strategy in strategies.items():
        schemathesis.graphql.scalar(name, strategy)
    try:
        yield
    finally:
        CUSTOM_SCALARS.clear()
        CUSTOM_SCALARS.update(saved)


def seed_data(live: LiveServer) -> list[str]:
    """A configuration of each provider: the global ids the fuzzer may aim at."""
    ids = []
    for provider, config in VALID.items():
        response = httpx.post(live.url, headers=bearer(live.key), timeout=30, json={
            "query": CREATE, "variables": {"input": {"name": f"Seed {provider}", "provider": provider, "config": config}},
        })
        created = response.json()["data"]["createTelephonyConfig"]
        assert not created["userErrors"], created
        ids.append(created["telephonyConfig"]["id"])
    return ids


def request_strings(case: schemathesis.Case) -> set[str]:
    """String literals of the generated document (its inputs) long enough to be judged as leaks."""
    query = case.body.get("query") if isinstance(case.body, dict) else None
    try:
        document = graphql.parse(query) if isinstance(query, str) else None
    except graphql.GraphQLError:
        return set()
    found: set[str] = set()

    class Strings(graphql.Visitor):
        def enter_string_value(self, node: graphql.StringValueNode, *_: Any) -> None:
            if len(node.value.strip()) >= MIN_LEAK_LENGTH:
                found.add(node.value)

    if document is not None:
        graphql.visit(document, Strings())
    return found


def keeps_the_contract(ctx: Any, response: schemathesis.Response, case: schemathesis.Case) -> None:
    """The contract's rules for every answer to an authenticated POST that accepts any type."""
    content_type = next((v for k, v in response.headers.items() if k.lower() == "content-type"), [""])[0]
    assert response.status_code == 200, f"HTTP {response.status_code}: {response.content[:500]!r}"
    assert content_type.startswith("application/json"), content_type
    body = json.loads(response.content)
    assert isinstance(body, dict) and set(body) <= {"data", "errors", "extensions"}, body
    errors = body.get("errors") or []
    for error in errors:
        code = (error.get("extensions") or {}).get("code")
        assert code != "INTERNAL_SERVER_ERROR", f"a fault: {error}"
        assert code in CLIENT_CODES, f"an error without a code of the contract: {error}"
        for value in request_strings(case):
            assert value not in error["message"], f"the message repeats a value of the request: {error}"
    positive = case.meta is not None and case.meta.generation.mode.is_positive
    if positive and errors:
        assert body.get("data") is None, f"a partial result for a schema-valid document: {body}"
        unexpected = [e for e in errors if not CONTRACT_REFUSALS.fullmatch(e["message"])]
        assert not unexpected, f"a schema-valid document refused by no rule of the contract: {unexpected}"


def fuzzer(cases: st.SearchStrategy[schemathesis.Case], session: requests.Session, headers: dict[str, str],
           sent: Counter[str], label: str) -> Any:
    """A Hypothesis test that sends each generated case and runs every check on its answer."""

    @given(case=cases)
    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, print_blob=False,
              phases=(Phase.generate, Phase.shrink), suppress_health_check=list(HealthCheck))
    @seed(SEED)
    def run(case: schemathesis.Case) -> None:
        sent[label] += 1
        case.call_and_validate(session=session, headers=headers, timeout=30,
                               excluded_checks=[positive_data_acceptance], additional_checks=[keeps_the_contract])

    return run


def fuzz(live: LiveServer, ids: list[str]) -> tuple[Counter[str], dict[str, str]]:
    """Requests sent per field and mode, and what failed (field and mode -> the report)."""
    headers = {"Authorization": f"Bearer {live.key}"}
    sent: Counter[str] = Counter()
    findings: dict[str, str] = {}
    with custom_scalars({"JSON": json_scalar(), "ID": id_scalar(ids),
                         "DateTime": st.datetimes().map(lambda moment: nodes.String(moment.isoformat()))}):
        schema = schemathesis.graphql.from_url(live.url, headers=headers, timeout=30)
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 10, [operation.label for operation in operations]
        with requests.Session() as session:
            for operation in operations:
                for mode in MODES:
                    label = f"{operation.label} ({mode.value})"

                    run = fuzzer(operation.as_strategy(generation_mode=mode), session, headers, sent, label)
                    try:
                        run()
                    except (Exception, BaseExceptionGroup) as failure:  # every finding is reported
                        findings[label] = f"{type(failure).__name__}: {failure}"[:3000]
    return sent, findings


def test_fuzzing_finds_nothing(live_server: LiveServer, capsys: pytest.CaptureFixture[str]) -> None:
    ids = seed_data(live_server)
    started = time.monotonic()
    sent, findings = fuzz(live_server, ids)
    elapsed = time.monotonic() - started
    with capsys.disabled():
        print(f"\nschemathesis {schemathesis.__version__}: {sum(sent.values())} generated requests over "
              f"{len(sent)} field/mode pairs in {elapsed:.0f} s, seed {SEED}, {len(findings)} findings")
    assert not findings, "\n\n".join(f"== {label}\n{report}" for label, report in findings.items())
    assert sum(sent.values()) >= len(sent) * 2, sent
    log = live_server.log()
    assert "Traceback" not in log, log[-5000:]
