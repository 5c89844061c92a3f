"""The contract's cost of a document, and the size of its largest response, figure by figure
(no database: the pricing alone).

Cost: every connection field costs its `first` (default 50) times the size of each list that
encloses it; `nodes(ids:)` costs its number of ids times the same, and multiplies what it
encloses by that number.
Size: every field the response can answer, at its largest in bytes of JSON (128 at least), as
many times as the lists enclosing it can repeat it.
"""

from __future__ import annotations

from typing import Any

import pytest
from graphql import FragmentDefinitionNode, OperationDefinitionNode, get_named_type, is_list_type, parse
from graphql.type import GraphQLNonNull

from gql_telephony.api.graph.documents import fragment_map
from gql_telephony.api.graph.limits import (
    MAX_COST,
    check_operation,
    check_operation_noting,
    operation_cost,
    response_size,
)
from gql_telephony.api.graph.response_size import SHORT_LISTS
from gql_telephony.api.graph.schema import build_schema
from gql_telephony.domain.warnings import LISTED_NUMBER_WARNINGS

SCHEMA = build_schema()._schema

# An organization's one configuration with 100 numbers, asked for 100 times by `nodes`: 10,200
# when `nodes` did not multiply, yet a million objects (58 MB) to answer.
ATTACK = """
query Attack($ids: [ID!]!) {
  nodes(ids: $ids) { ... on TelephonyConfig { phoneNumbers(first: 100) { nodes {
    telephonyConfig { phoneNumbers(first: 100) { nodes { id phoneNumber } } }
  } } } }
}"""
SOME_ID = "VGVsZXBob255Q29uZmlnOjE="


def parts(text: str) -> tuple[OperationDefinitionNode, dict[str, FragmentDefinitionNode]]:
    document = parse(text)
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    return operations[0], fragment_map(document)


def cost(text: str, variables: dict[str, Any] | None = None) -> int:
    operation, fragments = parts(text)
    return operation_cost(SCHEMA, operation, fragments, variables)


def size(text: str, variables: dict[str, Any] | None = None) -> int:
    operation, fragments = parts(text)
    return response_size(SCHEMA, operation, fragments, variables)


def codes(text: str, variables: dict[str, Any] | None = None) -> list[str]:
    operation, fragments = parts(text)
    return [error.extensions["code"] for error in check_operation(SCHEMA, operation, fragments, variables)]


def test_the_attack_is_priced_at_the_objects_it_answers():
    # 100 ids + 100 * 100 numbers + 100 * 100 * 100 numbers again.
    assert cost(ATTACK, {"ids": [SOME_ID] * 100}) == 1_010_100
    assert codes(ATTACK, {"ids": [SOME_ID] * 100}) == ["QUERY_TOO_COMPLEX"]
    # 99 ids, the inner page 1: 99 + 9,900 + 9,900 = 19,899, accepted.
    smaller = ATTACK.replace("phoneNumbers(first: 100) { nodes { id", "phoneNumbers(first: 1) { nodes { id")
    assert cost(smaller, {"ids": [SOME_ID] * 99}) == 19_899
    assert codes(smaller, {"ids": [SOME_ID] * 99}) == []


def test_nodes_multiplies_whatever_it_encloses():
    assert cost('{ nodes(ids: ["a", "b", "c"]) { id } }') == 3
    assert cost('{ nodes(ids: "a") { id } }') == 1  # one id alone is a list of one
    assert cost('{ nodes(ids: []) { ... on TelephonyConfig { phoneNumbers(first: 100) { totalCount } } } }') == 0
    # 7 ids, 7 * 10 numbers, 7 * 10 * 3 numbers: through an inline fragment on the interface.
    assert cost("""query($ids: [ID!]!) { nodes(ids: $ids) { ... on Node { ... on TelephonyConfig {
        phoneNumbers(first: 10) { edges { node { telephonyConfig { phoneNumbers(first: 3) { totalCount } } } } }
    } } } }""", {"ids": ["x"] * 7}) == 7 + 70 + 210
    # Two `nodes` side by side add up; an alias is a list of its own.
    assert cost('{ nodes(ids: ["a", "b"]) { id } again: nodes(ids: ["a", "b", "c", "d"]) { id } }') == 6


def test_the_default_page_size_is_priced_at_50():
    assert cost("{ telephonyConfigs { totalCount } }") == 50
    assert cost("{ telephonyConfigs(first: null) { totalCount } }") == 50
    assert cost("{ telephonyConfigs { nodes { phoneNumbers { totalCount } } } }") == 50 + 50 * 50
    assert cost('{ nodes(ids: ["a", "b"]) { ... on TelephonyConfig { phoneNumbers { totalCount } } } }') == 2 + 2 * 50
    # 15 aliases of a default-sized connection of default-sized connections: 15 * 2,550.
    aliased = " ".join(f"a{i}: telephonyConfigs {{ nodes {{ phoneNumbers {{ totalCount }} }} }}" for i in range(15))
    assert cost("{ %s }" % aliased) == 38_250
    assert codes("{ %s }" % aliased) == ["QUERY_TOO_COMPLEX"]


def test_variables_and_their_defaults_are_filled_in():
    document = """query($n: Int = 100, $m: Int, $ids: [ID!]! = ["a", "b"]) {
        nodes(ids: $ids) { ... on TelephonyConfig { phoneNumbers(first: $n) { nodes {
            telephonyConfig { phoneNumbers(first: $m) { totalCount } } } } } } }"""
    assert cost(document) == 2 + 2 * 100 + 2 * 100 * 50
    assert cost(document, {"n": 3, "m": 4, "ids": ["a"] * 5}) == 5 + 5 * 3 + 5 * 3 * 4
    assert cost(document, {"n": None, "m": None}) == 2 + 2 * 50 + 2 * 50 * 50  # null: the default size
    assert codes(document, {"ids": ["a"] * 100}) == ["QUERY_TOO_COMPLEX"]  # 100 + 10,000 + 500,000
    # Values are priced as execution coerces them: an integral float is an Int, one id a list of one.
    assert cost(document, {"n": 100.0, "m": 2.0, "ids": "a"}) == 1 + 100 + 100 * 2
    assert codes(document, {"n": 100.0, "m": 100.0}) == ["QUERY_TOO_COMPLEX"]
    # A list of ids written out, a variable inside it.
    assert cost('query($one: ID!) { nodes(ids: [$one, "b", $one]) { id } }', {"one": "a"}) == 3


def test_a_fragment_is_priced_under_each_list_it_is_spread_in():
    document = """
    query($ids: [ID!]!) {
      nodes(ids: $ids) { ...Numbers }
      telephonyConfigs(first: 3) { nodes { ...Numbers } }
      telephonyConfig(id: "a") { ...Numbers }
    }
    fragment Numbers on TelephonyConfig { phoneNumbers(first: 10) { nodes { ...Inner } } }
    fragment Inner on PhoneNumber { telephonyConfig { phoneNumbers(first: 2) { totalCount } } }
    """
    per_config = 10 + 10 * 2
    assert cost(document, {"ids": ["a"] * 7}) == 7 + 7 * per_config + 3 + 3 * per_config + per_config
    # A fragment holding `nodes` is multiplied by nothing above it (`nodes` is on Query), but by
    # the number of its own ids below it.
    document = """
    { ...Root }
    fragment Root on Query { nodes(ids: ["a", "b", "c", "d"]) { ... on TelephonyConfig { ...Numbers } } }
    fragment Numbers on TelephonyConfig { phoneNumbers(first: 25) { totalCount } }
    """
    assert cost(document) == 4 + 4 * 25


def test_pricing_takes_linear_time_in_fragments_spread_into_one_another():
    levels = 60  # 2**60 paths: only a walk that prices each fragment once gets through
    spreads = " ".join(f"fragment F{i} on TelephonyConfig {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels))
    document = (f'{{ nodes(ids: ["a", "b"]) {{ ...F0 }} }} {spreads}'
                f" fragment F{levels} on TelephonyConfig {{ phoneNumbers(first: 3) {{ totalCount }} }}")
    assert cost(document) == 2 + 2 * 2**levels * 3


def test_every_list_in_the_schema_is_priced_or_short():
    """A new list field fails this until limits.py says how it is priced or why it is short."""
    priced = {("Query", "nodes")} | {
        (name, field) for name in SCHEMA.type_map if name.endswith("Connection") for field in ("edges", "nodes")
    }
    lists = set()
    for type_name, named in SCHEMA.type_map.items():
        if type_name.startswith("__") or not hasattr(named, "fields") or not hasattr(named, "interfaces"):
            continue
        for field_name, definition in named.fields.items():
            field_type = definition.type.of_type if isinstance(definition.type, GraphQLNonNull) else definition.type
            if is_list_type(field_type):
                lists.add((type_name, field_name))
    bounded = {("*Payload" if t.endswith("Payload") else t, f) for t, f in lists - priced}
    assert bounded == set(SHORT_LISTS)
    # None of the short lists but a configuration's warnings can hold, at any depth, a connection or
    # an object that leads to one; the cost multiplies what is under that one by its longest.
    for type_name, field_name in lists - priced - {("TelephonyConfig", "warnings")}:
        reached = reachable(get_named_type(SCHEMA.type_map[type_name].fields[field_name].type))
        assert not any(name.endswith("Connection") for name in reached), (type_name, field_name, reached)


def test_a_connection_under_the_warnings_is_priced_for_every_warning_listed():
    """A number warning leads to its number, its configuration and that one's numbers: each of the
    listed warnings could, so the connection under them counts that many times."""
    document = parse(
        "{ telephonyConfigs(first: 10) { nodes { warnings { phoneNumber { telephonyConfig {"
        " phoneNumbers(first: 10) { nodes { id } } } } } } } }"
    )
    longest = SHORT_LISTS[("TelephonyConfig", "warnings")][0]
    assert longest == 3 + LISTED_NUMBER_WARNINGS  # missing key, account, no numbers; then the numbers'
    assert operation_cost(SCHEMA, document.definitions[0], {}) == 10 + 10 * longest * 10


def reachable(named: Any, seen: set[str] | None = None) -> set[str]:
    seen = set() if seen is None else seen
    if named.name not in seen:
        seen.add(named.name)
        for definition in getattr(named, "fields", {}).values():
            reachable(get_named_type(definition.type), seen)
    return seen


@pytest.mark.parametrize("first", [0, 101, -1])
def test_a_page_size_out_of_range_is_refused_and_priced_at_the_largest(first):
    document = "query($n: Int) { telephonyConfigs(first: $n) { nodes { phoneNumbers(first: 100) { totalCount } } } }"
    assert cost(document, {"n": first}) == 100 + 100 * 100
    assert codes(document, {"n": first}) == ["BAD_USER_INPUT"]
    assert MAX_COST == 20_000


def test_the_check_says_whether_its_answer_read_a_variable():
    """What lets a document's check be kept (api/plans/runner.py): only arguments the limits
    read count, anywhere in their value."""
    def reads(text: str, variables: dict[str, Any]) -> bool:
        operation, fragments = parts(text)
        return check_operation_noting(SCHEMA, operation, fragments, variables)[1]

    assert reads("query($n: Int) { telephonyConfigs(first: $n) { totalCount } }", {"n": 5})
    assert reads("query($id: ID!) { nodes(ids: [$id]) { id } }", {"id": SOME_ID})
    assert reads("query($e: ID) { auditEvents(filter: {entityId: $e}) { totalCount } }", {"e": SOME_ID})
    assert not reads("query($id: ID!) { node(id: $id) { id } telephonyConfigs(first: 5) { totalCount } }",
                     {"id": SOME_ID})
    assert not reads("mutation($input: UpdatePhoneNumberInput!) { updatePhoneNumber(input: $input) "
                     "{ phoneNumber { id } } }", {"input": {"id": SOME_ID}})
