"""Which fields compiled plans cover: every field of a view (api/graph/fields.py), and nothing
else. The types below deliberately have no plan; any other field without a definition is a
mistake that would send every query asking for it down the slow path (tests/plans check it).
"""

from __future__ import annotations

from graphql import GraphQLObjectType, GraphQLSchema

from ..graph.fields import definition_of

# Type name -> why its fields are never answered by a plan.
NOT_PLANNED = {
    "Mutation": "a write runs once, through its service (services/), never batched or cached",
    "Subscription": "events arrive one at a time over the WebSocket, never batched",
    "CreateTelephonyConfigPayload": "a mutation's payload: only a mutation returns it",
    "UpdateTelephonyConfigPayload": "a mutation's payload: only a mutation returns it",
    "DeleteTelephonyConfigPayload": "a mutation's payload: only a mutation returns it",
    "SetDefaultOutboundTelephonyConfigPayload": "a mutation's payload: only a mutation returns it",
    "AddPhoneNumberPayload": "a mutation's payload: only a mutation returns it",
    "UpdatePhoneNumberPayload": "a mutation's payload: only a mutation returns it",
    "RemovePhoneNumberPayload": "a mutation's payload: only a mutation returns it",
    "UserError": "only in mutations' payloads",
}


def object_fields(schema: GraphQLSchema) -> dict[str, list[str]]:
    """The fields of every object type of the schema but introspection's, by type name."""
    return {
        name: list(named.fields)
        for name, named in schema.type_map.items()
        if isinstance(named, GraphQLObjectType) and not name.startswith("__")
    }


def uncovered(schema: GraphQLSchema) -> list[str]:
    """`Type.field` for each field that has no definition and is not listed in NOT_PLANNED."""
    return [
        f"{type_name}.{field_name}"
        for type_name, field_names in object_fields(schema).items()
        if type_name not in NOT_PLANNED
        for field_name in field_names
        if definition_of(schema.type_map[type_name].fields[field_name]) is None  # type: ignore[union-attr]  # object types have fields
    ]


def wrongly_listed(schema: GraphQLSchema) -> list[str]:
    """Listed types that are not in the schema, or that have a field with a definition."""
    types = object_fields(schema)
    return [
        type_name for type_name in NOT_PLANNED
        if type_name not in types
        or any(definition_of(schema.type_map[type_name].fields[name]) is not None for name in types[type_name])  # type: ignore[union-attr]  # object types have fields
    ]
