"""How large each field of a response can be, in bytes of JSON, and how long each list can be:
what limits.py adds up to bound the response an accepted document can make.

A field counts its key (the alias when there is one), its punctuation and its value at its
largest; at least MIN_FIELD_SIZE, so that the bound on bytes is a bound on fields (and objects)
too. Text a client chose is counted at 6 bytes a character: orjson writes a control character
as \\u00XX (anything else takes at most 4 bytes, UTF-8).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from functools import lru_cache

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    get_named_type,
    get_nullable_type,
    is_composite_type,
    is_list_type,
)
from graphql.type.introspection import SchemaMetaFieldDef, TypeMetaFieldDef, TypeNameMetaFieldDef

from ...domain.audit import WebhookEventType
from ...domain.config_rules import MAX_VALUE_LENGTH
from ...domain.ids import MAX_ID_LENGTH, MAX_KEY, encode_cursor
from ...domain.phone_numbers import MAX_LABEL_LENGTH
from ...domain.provider_checks import MAX_MESSAGE_LENGTH, AccountCheck, AccountStatus, NumberProblem, NumberStatus
from ...domain.providers import PROVIDERS, FieldType, Provider
from ...domain.warnings import ENDPOINT_DISABLED, LISTED_NUMBER_WARNINGS, WarningCode, config_warnings
from ...domain.webhook_endpoints import (
    MAX_DESCRIPTION_LENGTH,
    MAX_ERROR_LENGTH,
    MAX_LISTED_ATTEMPTS,
    MAX_PAYLOAD_BYTES,
    MAX_URL_LENGTH,
)
from ...services.signing_secrets import masked, new_secret
from ...services.telephony_configs import MAX_NAME_LENGTH
from ...services.tenancy import MAX_LABEL_LENGTH as MAX_KEY_LABEL_LENGTH
from ...services.tenancy import MAX_ORGANIZATION_NAME_LENGTH
from ..http.json_encoding import encode_json
from .audit_types import MAX_ENTITY_TYPE_LENGTH, MAX_LISTED_CHANGES, MAX_TEXT_LENGTH, SHOWN_VALUE_BYTES

MIN_FIELD_SIZE = 128
MAX_CHANGED_IDS_PRICED = 10_000
TEXT_BYTES = 6
# The column's width; E.164 or a sip: URI made of ASCII that JSON writes as it is.
PHONE_NUMBER_LENGTH = 300
KEY_PUNCTUATION = 4  # "key": and the comma after the value
UNKNOWN_TEXT = TEXT_BYTES * MAX_VALUE_LENGTH + 2  # a text field not given its bound below


def _typed(length: int) -> int:
    """A string of at most `length` characters that a client typed, quoted."""
    return TEXT_BYTES * length + 2


def _longest(values: Iterable[object]) -> int:
    return max((len(encode_json(value)) for value in values), default=4)


def _config_size(provider: Provider) -> int:
    """The provider's config at its largest: every declared field set, each text 8,192 characters
    long (a secret is masked: asterisks, then its last 4 characters as typed)."""
    size = 2
    for spec in provider.fields:
        if spec.type is FieldType.BOOLEAN:
            value = max(len(b"false"), len(encode_json(spec.default)))
        elif spec.choices:
            value = _longest(spec.choices)
        elif spec.secret:
            value = MAX_VALUE_LENGTH - 4 + TEXT_BYTES * 4 + 2
        else:
            value = _typed(MAX_VALUE_LENGTH)
        size += len(encode_json(spec.key)) + KEY_PUNCTUATION - 2 + value
    return size


_FIELDS = [spec for provider in PROVIDERS.values() for spec in provider.fields]
# A check's message at its longest: printable ASCII (provider_checks.bounded), \" the longest.
_LONGEST_DETAIL = '"' * MAX_MESSAGE_LENGTH
# Every warning there is: each account state's, and both kinds of number warning.
_WARNINGS = [
    warning for key in PROVIDERS for status in AccountStatus
    for warning in config_warnings(
        key, (), 0, AccountCheck(status, datetime.now(UTC), None),
        [NumberProblem(1, "+1", NumberStatus.NOT_IN_ACCOUNT, None),
         NumberProblem(2, "+1", NumberStatus.IN_ACCOUNT, False)],
    )
]
# The most a configuration's `warnings` holds: its own at their most, then the listed number warnings.
_MOST_WARNINGS = max(
    len(config_warnings(key, (), 0, AccountCheck(AccountStatus.REJECTED, datetime.now(UTC), None)))
    for key in PROVIDERS
) + LISTED_NUMBER_WARNINGS

# Every text and JSON field of the schema, at its largest (quoted); tests/api/test_limits.py fails
# when one is added without a word here.
TEXT_SIZES: dict[tuple[str, str], int] = {
    ("TelephonyConfig", "name"): _typed(MAX_NAME_LENGTH),
    ("TelephonyConfig", "config"): max(_config_size(provider) for provider in PROVIDERS.values()),
    ("PhoneNumber", "phoneNumber"): PHONE_NUMBER_LENGTH + 2,
    ("PhoneNumber", "label"): _typed(MAX_LABEL_LENGTH),
    ("ProviderMetadata", "name"): _longest(p.name for p in PROVIDERS.values()),
    ("ProviderMetadata", "notes"): _longest(p.notes for p in PROVIDERS.values()),
    ("ProviderMetadata", "docsUrl"): _longest(p.docs_url for p in PROVIDERS.values()),
    ("ProviderField", "key"): _longest(f.key for f in _FIELDS),
    ("ProviderField", "label"): _longest(f.label for f in _FIELDS),
    ("ProviderField", "description"): _longest(f.description for f in _FIELDS),
    ("ProviderField", "placeholder"): _longest(f.placeholder for f in _FIELDS),
    ("ProviderField", "defaultValue"): _longest(f.default for f in _FIELDS),
    ("ProviderField", "choices"): _longest(choice for f in _FIELDS for choice in f.choices),
    ("TelephonyConfigWarning", "message"): _longest(w.message for w in _WARNINGS),
    ("TelephonyConfigWarning", "field"): _longest(w.field for w in _WARNINGS),
    ("ProviderAccountCheck", "message"): _longest([_LONGEST_DETAIL]),
    ("PhoneNumberProviderCheck", "message"): _longest([_LONGEST_DETAIL]),
    # An audit event's texts are cut to these widths as they are shown (audit_types.py).
    ("AuditEvent", "entityType"): _typed(MAX_ENTITY_TYPE_LENGTH),
    ("AuditEvent", "requestId"): _typed(MAX_TEXT_LENGTH),
    ("AuditActor", "label"): _typed(MAX_TEXT_LENGTH),
    ("AuditChange", "field"): _typed(MAX_TEXT_LENGTH),
    ("AuditChange", "before"): SHOWN_VALUE_BYTES,
    ("AuditChange", "after"): SHOWN_VALUE_BYTES,
    ("Organization", "name"): _typed(MAX_ORGANIZATION_NAME_LENGTH),
    ("Organization", "dataVersion"): len(encode_json(str(2**63 - 1))),  # a BIGINT column
    ("OrganizationChange", "dataVersion"): len(encode_json(str(2**63 - 1))),
    ("ApiKey", "label"): _typed(MAX_KEY_LABEL_LENGTH),
    ("*Edge", "cursor"): len(encode_json(encode_cursor(MAX_KEY))),
    ("PageInfo", "startCursor"): len(encode_json(encode_cursor(MAX_KEY))),
    ("PageInfo", "endCursor"): len(encode_json(encode_cursor(MAX_KEY))),
    # Our own sentences, which never quote a value; a path names input fields and the config
    # keys the client sent (counted here at 256 characters: a payload is answered at the root,
    # and keys beyond that are bounded by the request body, 1 MiB).
    ("WebhookEndpoint", "url"): _typed(MAX_URL_LENGTH),
    ("WebhookEndpointWarning", "message"): len(encode_json(ENDPOINT_DISABLED.message)),
    ("WebhookEndpoint", "description"): _typed(MAX_DESCRIPTION_LENGTH),
    ("WebhookEndpoint", "signingSecret"): len(encode_json(masked(new_secret()))),
    ("WebhookDelivery", "webhookId"): 64 + 2,  # the column's width; msg_ and base64url
    ("WebhookDelivery", "payload"): MAX_PAYLOAD_BYTES,
    ("WebhookDelivery", "lastError"): _typed(MAX_ERROR_LENGTH),
    ("WebhookAttempt", "error"): _typed(MAX_ERROR_LENGTH),
    # Shown once, in the payload of the mutation that made it.
    ("*Payload", "signingSecret"): len(encode_json(new_secret())),
    ("UserError", "message"): 512,
    ("UserError", "field"): _typed(256),
}
SCALAR_SIZES = {"ID": MAX_ID_LENGTH + 2, "Int": len("-2147483648"), "Boolean": len("false"),
                "DateTime": len('"2026-01-01T00:00:00.000000+00:00:00"')}

# Every list of the schema, and how long it can be. Two kinds can be long, and the cost prices
# both: a connection's `edges` and `nodes` (at most its `first`) and `Query.nodes(ids:)` (one
# object per id, the same id repeated included). The others, here, are short, and the size
# multiplies what they hold by their longest. All but one lead to no connection and no `nodes`
# at any depth; a configuration's `warnings` does (a number warning's `phoneNumber`, then its
# configuration), and the cost multiplies whatever is under it by its longest too (limits.py).
SHORT_LISTS: dict[tuple[str, str], tuple[int, str]] = {
    ("Query", "telephonyProviders"): (len(PROVIDERS), "the fixed catalogue of providers"),
    ("ProviderMetadata", "fields"): (max(len(p.fields) for p in PROVIDERS.values()), "one provider's form"),
    ("ProviderField", "choices"): (max(len(f.choices) for f in _FIELDS), "a field's fixed values"),
    ("TelephonyConfig", "warnings"): (_MOST_WARNINGS, "a configuration's own warnings and the listed number warnings"),
    ("TelephonyConfigWarningSummary", "byCode"): (len(WarningCode), "one entry per warning code"),
    ("UserError", "field"): (3, "input, config, and a key"),
    ("AuditEvent", "changes"): (MAX_LISTED_CHANGES, "an event's changes, as many as shown"),
    ("WebhookEndpoint", "events"): (len(WebhookEventType), "each event type at most once"),
    ("OrganizationChange", "events"): (len(WebhookEventType), "one entry per event type"),
    # Not a cap: a message names every entity its writes changed (an import of thousands of
    # numbers included). Sized for a large import, so that aliases of it are priced as large.
    ("OrganizationChangeEvent", "entityIds"): (MAX_CHANGED_IDS_PRICED, "the entities changed since the last message"),
    ("WebhookEndpoint", "warnings"): (1, "WEBHOOK_ENDPOINT_DISABLED, or none"),
    ("WebhookDelivery", "attempts"): (MAX_LISTED_ATTEMPTS, "a delivery lists its latest attempts"),
    # One per refused input key, so bounded by the request body (1 MiB) rather than a constant:
    # counted at the largest form's fields and the input's own; a payload is answered at the root.
    ("*Payload", "userErrors"): (16, "one per refused input key, at the root"),
}


def kind_of(type_name: str) -> str:
    """The name SHORT_LISTS and TEXT_SIZES know a type by: payloads and edges alike are one kind."""
    for suffix in ("Payload", "Edge"):
        if type_name.endswith(suffix):
            return "*" + suffix
    return type_name


def field_definition(schema: GraphQLSchema, parent: GraphQLNamedType, name: str) -> GraphQLField | None:
    """The field as execution answers it, introspection's own included."""
    if name == "__typename":
        return TypeNameMetaFieldDef
    if parent is schema.query_type and name in ("__schema", "__type"):
        return SchemaMetaFieldDef if name == "__schema" else TypeMetaFieldDef
    if not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
        return None
    field: GraphQLField | None = parent.fields.get(name)
    return field


def list_length(schema: GraphQLSchema, parent: GraphQLNamedType, name: str) -> int:
    """The longest a list other than a connection's page and `nodes(ids:)` can be."""
    if parent.name.startswith("__"):
        return _introspection(schema)[0].get((parent.name, name), 0) or len(schema.type_map)
    known = SHORT_LISTS.get((kind_of(parent.name), name))
    return known[0] if known else MAX_VALUE_LENGTH  # a list not declared above: tests fail on it


def value_size(
    schema: GraphQLSchema, parent: GraphQLNamedType, name: str, field_type: GraphQLOutputType
) -> tuple[int, int]:
    """The field's value at its largest (`null` included), and each item's when it is a list
    (with its comma): the items are counted as many times as the list can be long."""
    nullable = get_nullable_type(field_type)
    if is_list_type(nullable):
        item = get_named_type(nullable)
        return len("null"), 1 + (len("null") if is_composite_type(item) else _scalar_size(schema, parent, name, item))
    named = get_named_type(field_type)
    if is_composite_type(named):
        return len("null"), 0
    return _scalar_size(schema, parent, name, named), 0


def _scalar_size(schema: GraphQLSchema, parent: GraphQLNamedType, name: str, named: GraphQLNamedType) -> int:
    if name == "__typename":
        return max(len(type_name) for type_name in schema.type_map) + 2
    if isinstance(named, GraphQLEnumType):
        return max(len(value) for value in named.values) + 2
    if parent.name.startswith("__"):
        texts = _introspection(schema)[1]
        return (texts.get(f"{parent.name}.{name}") or texts.get(name)
                or max(*texts.values(), SCALAR_SIZES.get(named.name, 0)))
    return TEXT_SIZES.get((kind_of(parent.name), name)) or SCALAR_SIZES.get(named.name, UNKNOWN_TEXT)


@lru_cache(maxsize=8)
def _introspection(schema: GraphQLSchema) -> tuple[dict[tuple[str, str], int], dict[str, int]]:
    """The longest list of each kind introspection can answer about this schema, and its longest
    text of each kind (names, descriptions, default values...), quoted and escaped."""
    types = list(schema.type_map.values())
    with_fields = [t for t in types if isinstance(t, GraphQLObjectType | GraphQLInterfaceType | GraphQLInputObjectType)]
    outputs = [t for t in with_fields if not isinstance(t, GraphQLInputObjectType)]
    fields = [f for t in with_fields for f in t.fields.values()]
    arguments = [a for t in outputs for f in t.fields.values() for a in f.args.values()]
    arguments += [a for d in schema.directives for a in d.args.values()]
    enums = [t for t in types if isinstance(t, GraphQLEnumType)]

    def most(lengths: Iterable[int]) -> int:
        return max(lengths, default=0)

    lengths = {
        ("__Schema", "types"): len(types),
        ("__Schema", "directives"): len(schema.directives),
        ("__Type", "fields"): most(len(t.fields) for t in outputs),
        ("__Type", "inputFields"): most(len(t.fields) for t in with_fields if isinstance(t, GraphQLInputObjectType)),
        ("__Type", "interfaces"): most(len(t.interfaces) for t in outputs),
        ("__Type", "possibleTypes"): most(len(schema.get_possible_types(t)) for t in outputs
                                          if isinstance(t, GraphQLInterfaceType)),
        ("__Type", "enumValues"): most(len(t.values) for t in enums),
        ("__Field", "args"): most(len(f.args) for t in outputs for f in t.fields.values()),
        ("__Directive", "args"): most(len(d.args) for d in schema.directives),
        ("__Directive", "locations"): most(len(d.locations) for d in schema.directives),
    }
    values = [v for t in enums for v in t.values.values()]
    described = types + fields + arguments + values + list(schema.directives)
    deprecated = [f for f in fields + arguments + values if getattr(f, "deprecation_reason", None)]
    names = [t.name for t in types] + [name for t in with_fields for name in t.fields]
    names += [name for t in outputs for f in t.fields.values() for name in f.args]
    names += [name for t in enums for name in t.values] + [d.name for d in schema.directives]
    texts = {
        "name": _longest(names),
        "description": _longest(getattr(d, "description", None) for d in described),
        "deprecationReason": _longest(f.deprecation_reason for f in deprecated),
        "defaultValue": _longest(
            str(a.default_value) for a in arguments + [f for f in fields if hasattr(f, "default_value")]
        ),
        "specifiedByURL": _longest(getattr(t, "specified_by_url", None) for t in types),
    }
    # Descriptions by what they describe: a field's are short (at most 90 characters, which
    # tests/api/test_schema_descriptions.py keeps), and there are many more fields than types.
    inputs = arguments + [f for t in with_fields if isinstance(t, GraphQLInputObjectType) for f in t.fields.values()]
    texts.update({
        "__Type.description": _longest(getattr(t, "description", None) for t in types),
        "__Field.description": _longest(f.description for t in outputs for f in t.fields.values()),
        "__InputValue.description": _longest(a.description for a in inputs),
        "__EnumValue.description": _longest(v.description for v in values),
        "__Directive.description": _longest(d.description for d in schema.directives),
    })
    return lengths, texts
