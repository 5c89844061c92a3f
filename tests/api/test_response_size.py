"""The size of the largest response a document can make, figure by figure (no database)."""

from __future__ import annotations

from graphql import GraphQLInputObjectType, get_introspection_query, get_named_type

from bench.worst_response import IDS, worst_document
from gql_telephony.api.graph.limits import MAX_RESPONSE_SIZE, check_operation, most_wrapped
from gql_telephony.api.graph.response_size import MIN_FIELD_SIZE, TEXT_SIZES, kind_of
from gql_telephony.api.http.json_encoding import encode_json
from gql_telephony.domain.config_rules import MAX_VALUE_LENGTH, StoredConfig, present_config
from gql_telephony.domain.providers import PROVIDERS, ProviderKey

from ..documents import DASHBOARD
from .test_limits import SCHEMA, SOME_ID, codes, cost, parts, size

CONFIG = TEXT_SIZES[("TelephonyConfig", "config")]
# 100 configurations of 100 numbers each, and at each number what the test puts there.
UNDER_EVERY_NUMBER = "{ telephonyConfigs(first: 100) { nodes { phoneNumbers(first: 100) { nodes { %s } } } } }"
# The connections and lists above those 10,000 numbers: 128 for telephonyConfigs, its `nodes`
# (128 and 5 bytes an item), 100 phoneNumbers, and 100 `nodes` of 100 items.
ABOVE_THE_NUMBERS = 128 + (128 + 100 * 5) + 100 * 128 + 100 * (128 + 100 * 5)


def test_every_field_counts_its_largest_and_at_least_128_bytes():
    assert MIN_FIELD_SIZE == 128 and MAX_RESPONSE_SIZE == 32 * 1024 * 1024
    assert size("{ telephonyConfigWarnings { totalCount } }") == 2 * 128
    # 9 providers (128 and 5 bytes an item), each with a form of at most 5 fields (128 and 5 an
    # item), and a key in each of those 45 fields.
    assert size("{ telephonyProviders { fields { key } } }") == (128 + 9 * 5) + 9 * (128 + 5 * 5) + 45 * 128
    # A phone number is up to 300 ASCII characters: `"phoneNumber":"...",` is 317 bytes.
    assert size(UNDER_EVERY_NUMBER % "phoneNumber") == ABOVE_THE_NUMBERS + 10_000 * 317


def test_aliased_scalars_count_once_per_alias():
    aliased = UNDER_EVERY_NUMBER % " ".join(f"a{i}: phoneNumber" for i in range(15))
    # At each of the 10,000 numbers, 15 numbers of 300 characters under keys of 2 or 3 letters.
    assert size(aliased) == ABOVE_THE_NUMBERS + 10_000 * (10 * 308 + 5 * 309)
    assert cost(aliased) == 10_100  # far within the cost
    assert codes(aliased) == ["QUERY_TOO_COMPLEX"]
    # With 6 aliases, about 18.6 MB at most: answered.
    fewer = UNDER_EVERY_NUMBER % " ".join(f"a{i}: phoneNumber" for i in range(6))
    assert size(fewer) == ABOVE_THE_NUMBERS + 10_000 * 6 * 308
    assert codes(fewer) == []


def test_a_long_alias_counts_its_length_in_every_copy():
    alias = "a" * 5_000
    document = UNDER_EVERY_NUMBER % f"{alias}: isActive"
    assert size(document) == ABOVE_THE_NUMBERS + 10_000 * (5_000 + 4 + 5)
    assert codes(document) == ["QUERY_TOO_COMPLEX"]
    assert codes(UNDER_EVERY_NUMBER % "isActive") == []


def test_a_config_counts_at_its_largest():
    # The largest form in bytes is Exotel's: 3 texts of 8,192 characters, each of which JSON may
    # write in 6 bytes (a control character is \\u0001), a masked password (asterisks and its last
    # 4 characters, 6 bytes each at most), a choice of API host (its longest), and the 5 keys with
    # their punctuation. Asterisk ARI's is 19 bytes shorter.
    keys = sum(len(f'"{field.key}":,') for field in PROVIDERS[ProviderKey.EXOTEL].fields)
    longest_host = len('"api.in.exotel.com"')
    largest = 2 + keys + 3 * (6 * MAX_VALUE_LENGTH + 2) + (MAX_VALUE_LENGTH - 4 + 4 * 6 + 2) + longest_host
    assert CONFIG == largest == 155_759
    # Such a config, as the API shows it, is within that.
    stored = StoredConfig(settings={"ari_endpoint": "https://pbx.example.com/" + "\U0001F4DE" * 8_000,
                                    "app_name": "\x01" * MAX_VALUE_LENGTH, "ws_client_name": "\x02" * MAX_VALUE_LENGTH},
                          secrets={"app_password": "p" * (MAX_VALUE_LENGTH - 4) + "\x03" * 4})
    shown = encode_json(present_config(PROVIDERS[ProviderKey.ARI], stored))
    assert 0.85 * CONFIG < len(shown) <= CONFIG
    # The configuration of each of 2 or 3 numbers of 100 configurations: 31 MB at most, then 47.
    for first, refused in ((2, []), (3, ["QUERY_TOO_COMPLEX"])):
        document = ("{ telephonyConfigs(first: 100) { nodes { phoneNumbers(first: %d) { nodes {"
                    " telephonyConfig { config } } } } } }" % first)
        numbers = 100 * first
        assert size(document) == (128 + (128 + 100 * 5) + 100 * 128 + 100 * (128 + first * 5)
                                  + numbers * 128 + numbers * (len('"config":,') + CONFIG))
        assert codes(document) == refused
        assert codes(document.replace("config }", "id }")) == []


def test_the_worst_document_under_the_cost_alone_is_refused():
    # bench/worst_response.py: 98 configurations, 2 numbers of each and 100 numbers under each of
    # those, 15 copies of the configuration at each: cost 19,894, and a response of 55 GB at most.
    variables = {"ids": [SOME_ID] * IDS}
    for with_config, at_most in ((True, 55_987_257_342), (False, 4_008_699_732)):
        worst = worst_document(100, 15, config=with_config)
        assert (cost(worst, variables), size(worst, variables)) == (19_894, at_most)
        operation, fragments = parts(worst)
        [refusal] = check_operation(SCHEMA, operation, fragments, variables)
        assert refusal.extensions == {"code": "QUERY_TOO_COMPLEX", "size": at_most, "limit": MAX_RESPONSE_SIZE}
        assert f"{at_most}" in refusal.message and f"{MAX_RESPONSE_SIZE}" in refusal.message


def test_dashboards_and_introspection_are_within_the_size_with_margin():
    # The dashboard at its largest (100 configurations) with 50 numbers each, then 100 each.
    assert size(DASHBOARD) == 20_951_268  # byCode: one code more (WEBHOOK_ENDPOINT_DISABLED)
    assert size(DASHBOARD.replace("phoneNumbers(first: 50)", "phoneNumbers(first: 100)")) == 25_816_268
    assert codes(DASHBOARD) == [] and 1.6 * size(DASHBOARD) < MAX_RESPONSE_SIZE
    # GraphiQL's introspection query: each type, field, argument at the schema's longest. The
    # estimate grows with the product of the schema's types, fields and longest texts (19.9 MB with
    # the provider checks' types, 21.6 MB with the audit trail's); since `ofType` is counted only
    # as deep as the schema's most wrapped type, 11.7 MB, and 15.5 MB with the webhooks' types.
    introspection = get_introspection_query(descriptions=True)
    assert codes(introspection) == [] and 1.6 * size(introspection) < MAX_RESPONSE_SIZE
    # Introspection's lists are counted too: types, their fields, their types' fields...
    deep = "{ __schema { types { fields { type { fields { type { fields { type { fields { name } } } } } } } } } }"
    assert codes(deep) == ["QUERY_TOO_COMPLEX"]
    assert codes("{ __schema { types { fields { type { name } } } } }") == []


def test_of_type_counts_only_as_deep_as_the_most_wrapped_type():
    """`[ID!]!` is three wrappers deep: a fourth `ofType` is null, and nothing under it is answered."""
    assert most_wrapped(SCHEMA) == 3
    chain = "name " + "ofType { name " * 3 + "ofType { %s }" + " }" * 3
    # name, then three ofType holding a name each, then a fourth ofType: 8 fields of 128 bytes.
    assert size('{ __type(name: "Query") { %s } }' % (chain % "name")) == 128 + 8 * 128
    assert size('{ __type(name: "Query") { %s } }' % (chain % "name ofType { name }")) == 128 + 8 * 128


AUDIT_EVENT = ("id occurredAt action entityType entityId requestId actor { apiKeyId label system } "
               "changes { field before after secret }")


def test_a_full_page_of_audit_events_is_answered_and_one_per_configuration_is_not():
    # An event at its largest: 32 changes, each value 2,048 bytes of JSON (about 150 kB): 100 of
    # them twice over (nodes and edges) are about 30 MB.
    assert TEXT_SIZES[("AuditChange", "before")] == TEXT_SIZES[("AuditChange", "after")] == 2048
    page = "{ auditEvents(first: 100) { nodes { %s } edges { cursor node { %s } } } }" % (AUDIT_EVENT, AUDIT_EVENT)
    assert codes(page) == [] and 2 * 100 * 32 * 2 * 2048 < size(page) < MAX_RESPONSE_SIZE
    # Every audit connection costs its `first` (50 left out) times the lists enclosing it.
    histories = ("{ auditEvents(first: 30) { nodes { id } } telephonyConfigs(first: 10) { nodes { auditEvents(first: 7)"
                 " { totalCount } phoneNumbers(first: 4) { nodes { auditEvents { totalCount } } } } } }")
    assert cost(histories) == 30 + 10 + 10 * 7 + 10 * 4 + 10 * 4 * 50
    nested = "{ telephonyConfigs(first: 100) { nodes { auditEvents(first: 10) { nodes { %s } } } } }" % AUDIT_EVENT
    assert cost(nested) == 100 + 100 * 10
    assert codes(nested) == ["QUERY_TOO_COMPLEX"]
    assert codes(nested.replace("changes { field before after secret }", "changes { field secret }")) == []


def test_every_text_field_of_the_schema_has_a_largest_size():
    """A new text or JSON field fails this until response_size.py says how long it can be."""
    texts = set()
    for type_name, named in SCHEMA.type_map.items():
        if type_name.startswith("__") or isinstance(named, GraphQLInputObjectType) or not hasattr(named, "fields"):
            continue
        for field_name, definition in named.fields.items():
            if get_named_type(definition.type).name in ("String", "JSON"):
                texts.add((kind_of(type_name), field_name))
    assert texts == set(TEXT_SIZES)


def test_sizing_takes_linear_time_in_fragments_spread_into_one_another():
    levels = 60
    spreads = " ".join(f"fragment F{i} on TelephonyConfig {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels))
    document = f'{{ nodes(ids: ["a"]) {{ ...F0 }} }} {spreads} fragment F{levels} on TelephonyConfig {{ name }}'
    assert size(document) == (128 + 5) + 2**levels * (len('"name":,') + 6 * 64 + 2)
    assert codes(document) == ["QUERY_TOO_COMPLEX"]
