"""The plan compiler, unit by unit: which documents get a plan, what each field of a plan calls,
and how leaves are serialized. tests/test_compiled_plans.py checks whole answers against the
generic executor; these name the piece that broke."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
import strawberry
from graphql import GraphQLEnumType, GraphQLField, GraphQLObjectType, GraphQLSchema, OperationDefinitionNode, parse
from graphql.execution.values import VariableValues, get_variable_values

from gql_telephony.api.graph.fields import Batched, Read, read, view
from gql_telephony.api.graph.schema import build_schema
from gql_telephony.api.plans.compiler import (
    FieldPlan,
    NoPlan,
    Plan,
    TypePlan,
    compile_plan,
    directive_variables,
    leaf_serializer,
)
from gql_telephony.api.plans.coverage import NOT_PLANNED, uncovered, wrongly_listed
from gql_telephony.domain.ids import encode_cursor, encode_id
from gql_telephony.domain.warnings import Severity
from gql_telephony.storage.queries import POSITIONS

SCHEMA: GraphQLSchema = build_schema()._schema


def compiled(query: str, variables: dict[str, Any] | None = None) -> Plan:
    document = parse(query)
    (operation,) = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    coerced = get_variable_values(SCHEMA, operation.variable_definitions or (), variables or {})
    assert isinstance(coerced, VariableValues), coerced
    return compile_plan(SCHEMA, document, operation, coerced)


def only_child(field: FieldPlan) -> TypePlan:
    """The plan of the value of a field of one object type."""
    assert field.children is not None
    (plan,) = field.children.values()
    return plan


def schema_fields(type_name: str) -> dict[str, GraphQLField]:
    named = SCHEMA.type_map[type_name]
    assert isinstance(named, GraphQLObjectType)
    fields: dict[str, GraphQLField] = named.fields
    return fields


def serializer(field: GraphQLField) -> Callable[[Any], Any]:
    found = leaf_serializer(field.type)
    assert found is not None
    return found


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
    connection = only_child(plan.root.fields[0])
    assert [f.key for f in connection.fields] == ["totalCount", "nodes"]
    assert plan.asks("TelephonyConfig", "name") and not plan.asks("TelephonyConfig", "createdAt")


def test_arguments_reach_the_definition_under_their_python_names() -> None:
    plan = compiled("""query($only: Boolean) { telephonyConfigs(first: 3) {
        nodes { phoneNumbers(first: 5, activeOnly: $only) { totalCount } } } }""", {"only": True})
    configs = plan.root.fields[0]
    assert isinstance(configs.definition, Batched)
    assert configs.static_arguments == {"first": 3, "after": None}  # defaults included, as Strawberry passes them
    connection = only_child(configs)
    config = only_child(connection.fields[0])
    numbers = config.fields[0]
    assert numbers.static_arguments is None  # a variable: read per request
    (operation,) = parse("query($only: Boolean) { __typename }").definitions
    assert isinstance(operation, OperationDefinitionNode)
    variables = get_variable_values(SCHEMA, operation.variable_definitions or (), {"only": True})
    assert isinstance(variables, VariableValues)
    assert numbers.arguments(variables) == {"first": 5, "after": None, "active_only": True}


def test_a_row_is_built_by_position_through_each_fields_definition() -> None:
    plan = compiled("{ telephonyConfigs { nodes { __typename id name provider isDefaultOutbound phoneNumberCount } } }")
    connection = only_child(plan.root.fields[0])
    config = only_child(connection.fields[0])
    built = config.build(config_row(id=7, name="Main", provider="TWILIO", is_default_outbound=1))
    assert built == {"__typename": "TelephonyConfig", "id": encode_id("TelephonyConfig", 7), "name": "Main",
                     "provider": "TWILIO", "isDefaultOutbound": True, "phoneNumberCount": None}
    assert [f.key for f in config.later] == ["phoneNumberCount"]  # batched: filled per level afterwards


def test_fields_of_plain_objects_read_attributes() -> None:
    plan = compiled("{ telephonyConfigs { pageInfo { hasNextPage endCursor } } }")
    connection = only_child(plan.root.fields[0])
    page_info = connection.fields[0]
    assert isinstance(page_info.definition, Read)
    info = only_child(page_info)
    page = SimpleNamespace(rows=[(4, "a row: its id first")], has_next=0, after_given=False)
    assert info.build(page) == {"hasNextPage": False, "endCursor": encode_cursor(4)}


def test_node_plans_each_type_it_may_be() -> None:
    plan = compiled("{ node(id: \"x\") { id ... on PhoneNumber { phoneNumber } } }")
    node = plan.root.fields[0]
    assert node.abstract and node.children is not None
    assert set(node.children) == {"TelephonyConfig", "PhoneNumber", "WebhookEndpoint", "AuditEvent", "Organization"}
    assert [f.key for f in node.children["PhoneNumber"].fields] == ["id", "phoneNumber"]
    assert [f.key for f in node.children["TelephonyConfig"].fields] == ["id"]


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
    config, warning = schema_fields("TelephonyConfig"), schema_fields("TelephonyConfigWarning")
    assert leaf_serializer(config["name"].type) is None  # a string is its JSON value
    assert serializer(config["isDefaultOutbound"])(0) is False
    assert serializer(config["provider"])("TWILIO") == "TWILIO"
    assert serializer(warning["severity"])(Severity.CRITICAL) == "CRITICAL"
    # A member of the domain's enum is named from a table, not by the enum type's slower serialize.
    severity = SCHEMA.type_map["WarningSeverity"]
    assert isinstance(severity, GraphQLEnumType)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(severity, "serialize", None)
        assert serializer(warning["severity"])(Severity.CRITICAL) == "CRITICAL"
    moment = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)
    assert serializer(config["createdAt"])(moment) == moment.isoformat()
    assert leaf_serializer(warning["field"].type) is None
