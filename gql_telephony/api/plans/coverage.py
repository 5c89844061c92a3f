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
    "CheckTelephonyConfigPayload": "a mutation's payload: only a mutation returns it",
    "ImportPhoneNumbersPayload": "a mutation's payload: only a mutation returns it",
    "CreateWebhookEndpointPayload": "a mutation's payload: only a mutation returns it",
    "UpdateWebhookEndpointPayload": "a mutation's payload: only a mutation returns it",
    "DeleteWebhookEndpointPayload": "a mutation's payload: only a mutation returns it",
    "RotateWebhookSecretPayload": "a mutation's payload: only a mutation returns it",
    "SendTestWebhookPayload": "a mutation's payload: only a mutation returns it",
    "UserError": "only in mutations' payloads",
}


def object_types(schema: GraphQLSchema) -> list[GraphQLObjectType]:
    """Every object type of the schema but introspection's."""
    return [named for name, named in schema.type_map.items()
            if isinstance(named, GraphQLObjectType) and not name.startswith("__")]


def uncovered(schema: GraphQLSchema) -> list[str]:
    """`Type.field` for each field that has no definition and is not listed in NOT_PLANNED."""
    return [
        f"{object_type.name}.{name}"
        for object_type in object_types(schema) if object_type.name not in NOT_PLANNED
        for name, field in object_type.fields.items() if definition_of(field) is None
    ]


def wrongly_listed(schema: GraphQLSchema) -> list[str]:
    """Listed types that are not in the schema, or that have a field with a definition."""
    types = {object_type.name: object_type for object_type in object_types(schema)}
    return [
        name for name in NOT_PLANNED
        if name not in types or any(definition_of(field) is not None for field in types[name].fields.values())
    ]
