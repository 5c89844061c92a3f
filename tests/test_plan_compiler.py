"""The plan compiler, unit by unit: which documents get a plan, what each field of a plan calls,
and how leaves are serialized. tests/test_compiled_plans.py checks whole answers against the
generic executor; these name the piece that broke."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
import strawberry
from graphql import GraphQLSchema, OperationDefinitionNode, parse
from graphql.execution.values import VariableValues, get_variable_values

from gql_telephony.api.graph.fields import Batched, Read, read, view
from gql_telephony.api.graph.ids import encode_cursor, encode_id
from gql_telephony.api.graph.schema import build_schema
from gql_telephony.api.plans.compiler import NoPlan, Plan, compile_plan, directive_variables, leaf_serializer
from gql_telephony.api.plans.coverage import NOT_PLANNED, uncovered, wrongly_listed
from gql_telephony.storage.queries import POSITIONS

SCHEMA: GraphQLSchema = build_schema()._schema


def compiled(query: str, variables: dict[str, Any] | None = None) -> Plan:
    document = parse(query)
    (operation,) = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    coerced = get_variable_values(SCHEMA, operation.variable_definitions or (), variables or {})
    assert isinstance(coerced, VariableValues), coerced
    return compile_plan(SCHEMA, document, operation, coerced)


def config_row(**values: Any) -> tuple[Any, ...]:
    """A stand-in for a plain row of telephony_config, read by position as the plan reads it."""
    row: list[Any] = [None] * len(POSITIONS["telephony_config"])
    for name, value in values.items():
        row[POSITIONS["telephony_config"][name]] = value
    return tuple(row)


def test_every_field_of_the_schema_is_planned_or_listed_as_not() -> None:
    assert uncovered(SCHEMA) == []
    assert wrongly_listed(SCHEMA) == []


@view("CoverageProbe")
class CoverageProbe:
    """A view with one field defined and one plain Strawberry field, which no plan can cover."""

    source: strawberry.Private[Any]
    covered: str = read()

    @strawberry.field
    def forgotten(self) -> str:
        return "slow path"


@strawberry.type
class ProbeQuery:
    probe: CoverageProbe


def test_a_field_without_a_definition_is_reported() -> None:
    """The coverage check can fail: a plain Strawberry field on a view is not covered."""
    schema = strawberry.Schema(query=ProbeQuery)._schema
    assert "CoverageProbe.forgotten" in uncovered(schema)
    assert "CoverageProbe.covered" not in uncovered(schema)
    assert set(wrongly_listed(schema)) == set(NOT_PLANNED)  # none of those types is in this schema


def test_aliases_fragments_and_typename_keep_the_documents_order() -> None:
    plan = compiled("""{ a: telephonyConfigs(first: 2) { ...C } __typename }
        fragment C on TelephonyConfigConnection { totalCount nodes { name id } }""")
    assert [f.key for f in plan.root.fields] == ["a", "__typename"]
    (connection,) = plan.root.fields[0].children.values()  # type: ignore[union-attr]
    assert [f.key for f in connection.fields] == ["totalCount", "nodes"]
    assert plan.asks("TelephonyConfig", "name") and not plan.asks("TelephonyConfig", "createdAt")


def test_arguments_reach_the_definition_under_their_python_names() -> None:
    plan = compiled("""query($only: Boolean) { telephonyConfigs(first: 3) {
        nodes { phoneNumbers(first: 5, activeOnly: $only) { totalCount } } } }""", {"only": True})
    configs = plan.root.fields[0]
    assert isinstance(configs.definition, Batched)
    assert configs.static_arguments == {"first": 3, "after": None}  # defaults included, as Strawberry passes them
    (connection,) = configs.children.values()  # type: ignore[union-attr]
    (config,) = connection.fields[0].children.values()  # type: ignore[union-attr]
    numbers = config.fields[0]
    assert numbers.static_arguments is None  # a variable: read per request
    variables = get_variable_values(SCHEMA, parse("query($only: Boolean) { __typename }").definitions[0].variable_definitions, {"only": True})  # type: ignore[attr-defined]
    assert numbers.arguments(variables) == {"first": 5, "after": None, "active_only": True}  # type: ignore[arg-type]


def test_a_row_is_built_by_position_through_each_fields_definition() -> None:
    plan = compiled("{ telephonyConfigs { nodes { __typename id name provider isDefaultOutbound phoneNumberCount } } }")
    (connection,) = plan.root.fields[0].children.values()  # type: ignore[union-attr]
    (config,) = connection.fields[0].children.values()  # type: ignore[union-attr]
    built = config.build(config_row(id=7, name="Main", provider="TWILIO", is_default_outbound=1))
    assert built == {"__typename": "TelephonyConfig", "id": encode_id("TelephonyConfig", 7), "name": "Main",
                     "provider": "TWILIO", "isDefaultOutbound": True, "phoneNumberCount": None}
    assert [f.key for f in config.later] == ["phoneNumberCount"]  # batched: filled per level afterwards


def test_fields_of_plain_objects_read_attributes() -> None:
    plan = compiled("{ telephonyConfigs { pageInfo { hasNextPage endCursor } } }")
    (connection,) = plan.root.fields[0].children.values()  # type: ignore[union-attr]
    page_info = connection.fields[0]
    assert isinstance(page_info.definition, Read)
    (info,) = page_info.children.values()  # type: ignore[union-attr]
    page = SimpleNamespace(rows=[(4, "a row: its id first")], has_next=0, after_given=False)
    assert info.build(page) == {"hasNextPage": False, "endCursor": encode_cursor(4)}


def test_node_plans_each_type_it_may_be() -> None:
    plan = compiled("{ node(id: \"x\") { id ... on PhoneNumber { phoneNumber } } }")
    node = plan.root.fields[0]
    assert node.abstract and set(node.children) == {"TelephonyConfig", "PhoneNumber"}  # type: ignore[arg-type]
    assert [f.key for f in node.children["PhoneNumber"].fields] == ["id", "phoneNumber"]  # type: ignore[index]
    assert [f.key for f in node.children["TelephonyConfig"].fields] == ["id"]  # type: ignore[index]


@pytest.mark.parametrize("query", [
    "mutation { removePhoneNumber(input: {id: \"x\"}) { deletedPhoneNumberId } }",
    "subscription { telephonyConfigWarningsChanged { totalCount } }",
    "{ __schema { queryType { name } } }",
    "{ telephonyConfigs { nodes { ... @defer { name } } } }",
], ids=["mutation", "subscription", "introspection", "defer"])
def test_documents_without_a_plan(query: str) -> None:
    with pytest.raises(NoPlan):
        compiled(query)


def test_skip_and_include_variables_are_found() -> None:
    document = parse("query($a: Boolean!, $b: Boolean!) { x: __typename @skip(if: $a) ...F }"
                     " fragment F on Query { __typename @include(if: $b) }")
    assert directive_variables(document) == ("a", "b")


def test_leaves_are_serialized_as_the_generic_executor_does() -> None:
    config = SCHEMA.type_map["TelephonyConfig"].fields  # type: ignore[union-attr]
    warning = SCHEMA.type_map["TelephonyConfigWarning"].fields  # type: ignore[union-attr]
    from gql_telephony.domain.warnings import Severity

    assert leaf_serializer(config["name"].type) is None  # a string is its JSON value
    assert leaf_serializer(config["isDefaultOutbound"].type)(0) is False  # type: ignore[misc]
    assert leaf_serializer(config["provider"].type)("TWILIO") == "TWILIO"  # type: ignore[misc]
    assert leaf_serializer(warning["severity"].type)(Severity.CRITICAL) == "CRITICAL"  # type: ignore[misc]
    # A member of the domain's enum is named from a table, not by the enum type's slower serialize.
    severity = SCHEMA.type_map["WarningSeverity"]
    serialize, severity.serialize = severity.serialize, None  # type: ignore[method-assign,assignment]
    try:
        assert leaf_serializer(warning["severity"].type)(Severity.CRITICAL) == "CRITICAL"  # type: ignore[misc]
    finally:
        severity.serialize = serialize  # type: ignore[method-assign]
    moment = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)
    assert leaf_serializer(config["createdAt"].type)(moment) == moment.isoformat()  # type: ignore[misc]
    assert leaf_serializer(warning["field"].type) is None
