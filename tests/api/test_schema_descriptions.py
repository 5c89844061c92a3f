"""Every part of the schema says what it is, for a developer reading GraphiQL: each type, field,
argument, input field and enum value (graphql-core's introspection types and directives aside)."""

from __future__ import annotations

import strawberry
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
)

from gql_telephony.api.graph.schema import build_schema

# What the schema's texts may spend: introspection's worst case multiplies the longest description
# (tests/api/test_response_size.py), so ours stay within the longest built-in one (ID's, 332).
LONGEST_OF_OURS = 90


def descriptions(schema: GraphQLSchema) -> dict[str, str | None]:
    """Each schema coordinate (Type, Type.field, Type.field(argument), Enum.VALUE) and its description."""
    found: dict[str, str | None] = {}
    for name, named in schema.type_map.items():
        if name.startswith("__"):
            continue
        found[name] = named.description
        if isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
            for field_name, field in named.fields.items():
                found[f"{name}.{field_name}"] = field.description
                for argument_name, argument in field.args.items():
                    found[f"{name}.{field_name}({argument_name}:)"] = argument.description
        elif isinstance(named, GraphQLInputObjectType):
            for field_name, input_field in named.fields.items():
                found[f"{name}.{field_name}"] = input_field.description
        elif isinstance(named, GraphQLEnumType):
            for value_name, value in named.values.items():
                found[f"{name}.{value_name}"] = value.description
    return found


def undescribed(schema: GraphQLSchema) -> list[str]:
    return sorted(coordinate for coordinate, text in descriptions(schema).items() if not (text or "").strip())


def test_every_type_field_argument_input_field_and_enum_value_is_described():
    assert undescribed(build_schema()._schema) == []


def test_an_undescribed_part_is_named():
    @strawberry.type(description="Described.")
    class Query:
        @strawberry.field(description="Described.")  # type: ignore[untyped-decorator]
        def greeting(self, name: str) -> str:
            return name

        plain: int = 0

    assert undescribed(strawberry.Schema(query=Query)._schema) == ["Query.greeting(name:)", "Query.plain"]


def test_our_descriptions_are_short():
    built_in = {"String", "Int", "Float", "Boolean", "ID", "JSON", "DateTime"}
    ours = {coordinate: text or "" for coordinate, text in descriptions(build_schema()._schema).items()
            if coordinate.split(".")[0] not in built_in}
    assert {coordinate: len(text) for coordinate, text in ours.items() if len(text) > LONGEST_OF_OURS} == {}
