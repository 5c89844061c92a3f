"""Reading the audit trail: Query.auditEvents (newest first, cursors, filters), each entity's
own history, node(id:), who may read what, and what an event never shows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gql_telephony.api.graph.audit_types import MAX_LISTED_CHANGES, SHOWN_VALUE_BYTES
from gql_telephony.api.http.json_encoding import encode_json
from gql_telephony.domain.audit import Actor, AuditAction, Change
from gql_telephony.services.tenancy import create_api_key, list_api_keys, revoke_api_key

from ..audit_support import happening, record, stored_changes
from ..documents import add_number, create_config
from ..support import app_client, counting_statements, opaque_id

EVENT = """id occurredAt action entityType entityId requestId
  actor { apiKeyId label system } changes { field before after secret }"""
EVENTS = """query($first: Int, $after: String, $filter: AuditEventFilter) {
  auditEvents(first: $first, after: $after, filter: $filter) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { %s } } nodes { id }
  }
}""" % EVENT
CONFIG = opaque_id("TelephonyConfig:1")
OTHER_CONFIG = opaque_id("TelephonyConfig:2")
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.isoformat()


async def events(api, key: str | None = None, **variables):
    response = await api.post(EVENTS, variables, key=key)
    assert response.status_code == 200, response.text
    return response.json()


async def seed_seven(api) -> None:
    """Seven events an hour apart: config 1 created, then updated five times, config 2 created."""
    await record(api.runtime, api.org_id, happening(AuditAction.TELEPHONY_CONFIG_CREATED, CONFIG,
                                                    Change("name", None, "Main")), at=T0)
    for hour in range(1, 6):
        await record(api.runtime, api.org_id, happening(AuditAction.TELEPHONY_CONFIG_UPDATED, CONFIG,
                                                        Change("name", f"v{hour - 1}", f"v{hour}")),
                     at=T0 + timedelta(hours=hour))
    await record(api.runtime, api.org_id, happening(AuditAction.TELEPHONY_CONFIG_CREATED, OTHER_CONFIG),
                 actor=Actor(), at=T0 + timedelta(hours=6))


async def test_pages_run_newest_first_with_cursors(api):
    await seed_seven(api)
    first = (await events(api, first=3))["data"]["auditEvents"]
    assert first["totalCount"] == 7
    assert first["pageInfo"]["hasNextPage"] is True and first["pageInfo"]["hasPreviousPage"] is False
    nodes = [edge["node"] for edge in first["edges"]]
    assert [n["occurredAt"] for n in nodes] == [iso(T0 + timedelta(hours=h)) for h in (6, 5, 4)]
    assert [n["id"] for n in nodes] == [n["id"] for n in first["nodes"]]
    assert first["pageInfo"]["startCursor"] == first["edges"][0]["cursor"]
    assert first["pageInfo"]["endCursor"] == first["edges"][-1]["cursor"]
    # The server's own event, then a key's, field by field.
    assert nodes[0] == {
        "id": nodes[0]["id"], "occurredAt": iso(T0 + timedelta(hours=6)), "action": "TELEPHONY_CONFIG_CREATED",
        "entityType": "TelephonyConfig", "entityId": OTHER_CONFIG, "requestId": None,
        "actor": {"apiKeyId": None, "label": None, "system": True}, "changes": [],
    }
    assert nodes[1]["actor"] == {"apiKeyId": "7", "label": "ci", "system": False}
    assert nodes[1]["requestId"] == "req-1"
    assert nodes[1]["changes"] == [{"field": "name", "before": "v4", "after": "v5", "secret": False}]

    second = (await events(api, first=3, after=first["pageInfo"]["endCursor"]))["data"]["auditEvents"]
    assert [e["node"]["occurredAt"] for e in second["edges"]] == [iso(T0 + timedelta(hours=h)) for h in (3, 2, 1)]
    assert second["pageInfo"]["hasNextPage"] is True and second["pageInfo"]["hasPreviousPage"] is True
    last = (await events(api, first=3, after=second["pageInfo"]["endCursor"]))["data"]["auditEvents"]
    assert [e["node"]["occurredAt"] for e in last["edges"]] == [iso(T0)]
    assert last["pageInfo"]["hasNextPage"] is False and last["totalCount"] == 7
    assert (await events(api, first=3, after=last["pageInfo"]["endCursor"]))["data"]["auditEvents"]["edges"] == []


async def test_each_filter_selects_and_counts(api):
    await seed_seven(api)

    async def hours(**chosen) -> tuple[list[int], int]:
        found = (await events(api, filter=chosen))["data"]["auditEvents"]
        times = [datetime.fromisoformat(e["node"]["occurredAt"]) for e in found["edges"]]
        return [int((t - T0) / timedelta(hours=1)) for t in times], found["totalCount"]

    assert await hours(entityId=CONFIG) == ([5, 4, 3, 2, 1, 0], 6)
    assert await hours(entityId=OTHER_CONFIG) == ([6], 1)
    assert await hours(entityId=opaque_id("TelephonyConfig:3")) == ([], 0)
    assert await hours(action="TELEPHONY_CONFIG_CREATED") == ([6, 0], 2)
    assert await hours(action="PHONE_NUMBER_ADDED") == ([], 0)
    assert await hours(since=iso(T0 + timedelta(hours=4))) == ([6, 5, 4], 3)
    assert await hours(until=iso(T0 + timedelta(hours=1))) == ([1, 0], 2)
    assert await hours(since=iso(T0 + timedelta(hours=2)), until=iso(T0 + timedelta(hours=2))) == ([2], 1)
    # A time without an offset is UTC; one with an offset is that instant.
    assert await hours(since="2026-03-01T17:00:00") == ([6, 5], 2)
    assert await hours(until="2026-03-01T14:00:00+02:00") == ([0], 1)
    assert await hours(entityId=CONFIG, action="TELEPHONY_CONFIG_CREATED") == ([0], 1)
    assert await hours(entityId=CONFIG, since=iso(T0 + timedelta(hours=3)), until=iso(T0 + timedelta(hours=4))) == (
        [4, 3], 2)
    # Paging within a filter.
    page = (await events(api, first=2, filter={"entityId": CONFIG}))["data"]["auditEvents"]
    after = (await events(api, first=2, after=page["pageInfo"]["endCursor"], filter={"entityId": CONFIG}))
    assert len(after["data"]["auditEvents"]["edges"]) == 2 and after["data"]["auditEvents"]["totalCount"] == 6


@pytest.mark.parametrize(("variables", "named"), [
    ({"filter": {"entityId": "nope"}}, "filter.entityId"),
    ({"filter": {"entityId": ""}}, "filter.entityId"),
    ({"filter": {"since": "2026-03-02T00:00:00Z", "until": "2026-03-01T00:00:00Z"}}, "filter.since"),
    ({"after": "garbage"}, "after"),
    ({"first": 0}, "first"),
    ({"first": 101}, "first"),
])
async def test_bad_arguments_are_bad_user_input_never_a_fault(api, variables, named):
    await seed_seven(api)
    body = await events(api, **variables)
    assert body.get("data") is None or body["data"].get("auditEvents") is None
    assert [error["extensions"]["code"] for error in body["errors"]] == ["BAD_USER_INPUT"], body
    assert f"`{named}`" in body["errors"][0]["message"]


@pytest.mark.parametrize("bad", [
    '{entityId: "nope"}', '{since: "2026-03-02T00:00:00Z", until: "2026-03-02T00:59:59+02:00"}',
])
async def test_a_bad_filter_is_refused_before_anything_runs(api, bad):
    response = await api.post("{ telephonyConfigs { totalCount } auditEvents(filter: %s) { totalCount } }" % bad)
    body = response.json()
    assert response.status_code == 200 and "data" not in body or body["data"] is None, body
    assert [error["extensions"]["code"] for error in body["errors"]] == ["BAD_USER_INPUT"]
    assert "on `auditEvents`" in body["errors"][0]["message"]
    assert "path" not in body["errors"][0]  # no resolver ran
    # Compared as instants: 23:59:59 at -01:00 is after midnight UTC, and one instant is a span.
    for until in ("2026-03-01T23:59:59-01:00", "2026-03-02T00:00:00+00:00"):
        assert "errors" not in (await api.post(
            '{ auditEvents(filter: {since: "2026-03-02T00:00:00Z", until: "%s"}) { totalCount } }' % until
        )).json()


async def test_a_value_that_is_not_a_time_or_an_action_is_refused_as_invalid(api):
    for bad in ({"since": "yesterday"}, {"action": "NOPE"}):
        response = await api.post(EVENTS, {"filter": bad})
        assert response.status_code == 200 and "INTERNAL_SERVER_ERROR" not in response.text, response.text
        assert response.json()["errors"] and "yesterday" not in response.text


async def test_a_read_only_key_reads_the_trail(api):
    await seed_seven(api)
    read_only = await api.new_key(read_only=True)
    body = await events(api, key=read_only)
    assert "errors" not in body and body["data"]["auditEvents"]["totalCount"] == 7


async def test_another_organizations_events_are_invisible(api):
    await seed_seven(api)
    other_org, other_key = await api.new_org()
    await record(api.runtime, other_org, happening(AuditAction.PHONE_NUMBER_ADDED, opaque_id("PhoneNumber:9")),
                 at=T0 + timedelta(hours=10))
    ours = (await events(api))["data"]["auditEvents"]
    theirs = (await events(api, key=other_key))["data"]["auditEvents"]
    assert ours["totalCount"] == 7 and theirs["totalCount"] == 1
    their_id = theirs["edges"][0]["node"]["id"]
    assert their_id not in [e["node"]["id"] for e in ours["edges"]]
    # Not by id either: node, nodes, or a filter on their entity.
    node_query = 'query($id: ID!, $ids: [ID!]!) { node(id: $id) { id } nodes(ids: $ids) { id } }'
    assert await api.gql(node_query, {"id": their_id, "ids": [their_id]}) == {"node": None, "nodes": [None]}
    mine = await api.gql(node_query, {"id": their_id, "ids": [their_id]}, key=other_key)
    assert mine == {"node": {"id": their_id}, "nodes": [{"id": their_id}]}
    assert (await events(api, filter={"entityId": opaque_id("PhoneNumber:9")}))["data"]["auditEvents"]["edges"] == []


async def test_node_finds_an_event_by_its_id(api):
    await seed_seven(api)
    newest = (await events(api, first=2))["data"]["auditEvents"]["edges"]
    ids = [edge["node"]["id"] for edge in newest]
    data = await api.gql("query($ids: [ID!]!) { nodes(ids: $ids) { __typename ... on AuditEvent { %s } } }" % EVENT,
                         {"ids": [*ids, opaque_id("AuditEvent:999"), CONFIG]})
    assert data["nodes"][:2] == [{"__typename": "AuditEvent", **edge["node"]} for edge in newest]
    assert data["nodes"][2:] == [None, None]  # no such event; no such configuration


async def test_an_event_keeps_its_keys_id_and_label_after_the_key_is_revoked(api):
    await create_api_key(api.runtime.db, api.org_id, label="deploy bot")
    listed = [key for key in await list_api_keys(api.runtime.db, api.org_id) if key.label == "deploy bot"]
    key_id = listed[0].id
    await record(api.runtime, api.org_id, happening(AuditAction.TELEPHONY_CONFIG_DELETED, CONFIG),
                 actor=Actor(key_id, "deploy bot", "req-9"))
    await revoke_api_key(api.runtime.db, key_id)
    actor = (await events(api))["data"]["auditEvents"]["edges"][0]["node"]["actor"]
    # The id as list-api-keys prints it and revoke-api-key takes it.
    assert actor == {"apiKeyId": str(key_id), "label": "deploy bot", "system": False}


async def test_a_secret_change_shows_no_values_whatever_was_stored(api):
    canary = "CANARY-secret-0123456789"
    await record(api.runtime, api.org_id, happening(
        AuditAction.TELEPHONY_CONFIG_UPDATED, CONFIG,
        Change("config.account_sid", "AC1", "AC2"), Change("config.auth_token", secret=True)))
    # Even a stored secret change that held values (no writer keeps them) shows none.
    await stored_changes(api.runtime.db, api.org_id, [
        {"field": "config.auth_token", "before": canary, "after": canary, "secret": True},
    ], action="TELEPHONY_CONFIG_UPDATED", entity_id=CONFIG)
    response = await api.post(EVENTS, {})
    assert canary not in response.text
    nodes = [e["node"] for e in response.json()["data"]["auditEvents"]["edges"]]
    assert nodes[0]["changes"] == [{"field": "config.auth_token", "before": None, "after": None, "secret": True}]
    assert nodes[1]["changes"] == [
        {"field": "config.account_sid", "before": "AC1", "after": "AC2", "secret": False},
        {"field": "config.auth_token", "before": None, "after": None, "secret": True},
    ]


async def test_long_values_and_long_lists_are_shown_cut_to_their_bounds(api):
    long_text = "\x01" * 5_000  # 6 bytes of JSON a character
    await stored_changes(api.runtime.db, api.org_id, [
        {"field": f"config.key{i:03d}", "before": long_text, "after": {"a": ["x" * 3_000]}, "secret": False}
        for i in range(MAX_LISTED_CHANGES + 5)
    ], action="TELEPHONY_CONFIG_UPDATED", entity_id=CONFIG)
    changes = (await events(api))["data"]["auditEvents"]["edges"][0]["node"]["changes"]
    assert len(changes) == MAX_LISTED_CHANGES
    for change in changes:
        assert change["before"].endswith("…") and change["before"].startswith("\x01" * 300)
        assert 0.95 * SHOWN_VALUE_BYTES < len(encode_json(change["before"])) <= SHOWN_VALUE_BYTES
        assert change["after"].startswith('{"a":["xxx') and len(encode_json(change["after"])) <= SHOWN_VALUE_BYTES


HISTORIES = """{ telephonyConfigs(first: 10) { nodes { id
  auditEvents(first: 2) { totalCount pageInfo { hasNextPage endCursor } nodes { action entityId } }
  phoneNumbers(first: 5) { nodes { id auditEvents(first: 5) { totalCount nodes { action entityId actor { label } } } } }
} } }"""


async def test_each_config_and_number_has_its_own_history(api):
    made = []
    for index in range(3):
        config_id = (await create_config(api, "TWILIO", f"Config {index}"))["telephonyConfig"]["id"]
        number_id = (await add_number(api, config_id, f"+1415555010{index}"))["phoneNumber"]["id"]
        made.append((config_id, number_id))
        for _ in range(index + 1):
            await record(api.runtime, api.org_id, happening(AuditAction.TELEPHONY_CONFIG_UPDATED, config_id))
        await record(api.runtime, api.org_id, happening(AuditAction.PHONE_NUMBER_UPDATED, number_id,
                                                        entity_type="PhoneNumber"))
    data = await api.gql(HISTORIES)
    for (config_id, number_id), node in zip(made, data["telephonyConfigs"]["nodes"], strict=True):
        assert node["id"] == config_id
        history = node["auditEvents"]
        own = [e for e in history["nodes"] if e["action"] == "TELEPHONY_CONFIG_UPDATED"]
        assert own and all(e["entityId"] == config_id for e in history["nodes"])
        assert history["pageInfo"]["hasNextPage"] is (history["totalCount"] > 2)
        (number,) = node["phoneNumbers"]["nodes"]
        assert number["id"] == number_id
        assert all(e["entityId"] == number_id for e in number["auditEvents"]["nodes"])
        assert "PHONE_NUMBER_UPDATED" in [e["action"] for e in number["auditEvents"]["nodes"]]
    # The next page of one configuration's history.
    config_id = made[2][0]
    query = 'query($id: ID!, $after: String) { telephonyConfig(id: $id) { auditEvents(first: 2, after: $after) { nodes { entityId } pageInfo { hasNextPage endCursor } totalCount } } }'
    page = (await api.gql(query, {"id": config_id}))["telephonyConfig"]["auditEvents"]
    rest = (await api.gql(query, {"id": config_id, "after": page["pageInfo"]["endCursor"]}))["telephonyConfig"]["auditEvents"]
    assert len(page["nodes"]) + len(rest["nodes"]) == page["totalCount"] == rest["totalCount"]
    assert rest["pageInfo"]["hasNextPage"] is False


async def seed_histories(api, start: int, count: int) -> None:
    for index in range(start, start + count):
        config_id = (await create_config(api, "TWILIO", f"Config {index}"))["telephonyConfig"]["id"]
        await record(api.runtime, api.org_id, *[
            happening(AuditAction.TELEPHONY_CONFIG_UPDATED, config_id, Change("name", f"n{i}", f"n{i + 1}"))
            for i in range(5)  # more than a page and the one row read beyond it
        ])


MANY_HISTORIES = """{ telephonyConfigs(first: 100) { nodes { id
  auditEvents(first: 2) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node {
    id occurredAt action entityId actor { apiKeyId label system } requestId changes { field before after secret } } } }
} } }"""


@pytest.mark.parametrize("compiled_plans", [True, False], ids=["plan", "generic"])
async def test_histories_of_many_configs_take_a_fixed_number_of_statements(api, compiled_plans):
    async with app_client(api.runtime.settings, beside=api.runtime, compiled_plans=compiled_plans,
                          response_cache_mb=0) as served:
        reader = api.through(served)
        await seed_histories(api, 0, 5)
        with counting_statements(api.runtime) as at_5:
            few = await reader.gql(MANY_HISTORIES)
        await seed_histories(api, 5, 45)
        with counting_statements(api.runtime) as at_50:
            many = await reader.gql(MANY_HISTORIES)
        paths = reader.runtime.read_paths
        assert (paths.planned, paths.generic) == ((2, 0) if compiled_plans else (0, 2))
    assert len(few["telephonyConfigs"]["nodes"]) == 5 and len(many["telephonyConfigs"]["nodes"]) == 50
    for node in many["telephonyConfigs"]["nodes"]:
        history = node["auditEvents"]
        assert history["totalCount"] == 6 and history["pageInfo"]["hasNextPage"] is True  # created, 5 updates
        assert [edge["node"]["changes"][0]["after"] for edge in history["edges"]] == ["n5", "n4"]
        assert {edge["node"]["entityId"] for edge in history["edges"]} == {node["id"]}
    # The key, the page of configs (and its read session), one statement for every history page,
    # one for every history's count.
    selects = [s for s in at_50 if "audit_event" in s]
    assert len(selects) == 2, selects
    assert len(at_5) == len(at_50)


async def test_both_executors_answer_the_trail_alike(api):
    await seed_seven(api)
    await seed_histories(api, 0, 3)
    documents = [
        (EVENTS, {}), (EVENTS, {"first": 2, "filter": {"action": "TELEPHONY_CONFIG_CREATED"}}),
        (EVENTS, {"filter": {"entityId": "nope"}}), (EVENTS, {"after": "garbage"}),
        (MANY_HISTORIES, {}), (HISTORIES, {}),
        ('{ auditEvents(first: 3, filter: {action: TELEPHONY_CONFIG_UPDATED, since: "2026-03-01T13:00:00Z"}) '
         "{ totalCount nodes { id action occurredAt } } }", {}),
    ]
    answers = {}
    for compiled_plans in (True, False):
        async with app_client(api.runtime.settings, beside=api.runtime, compiled_plans=compiled_plans,
                              response_cache_mb=0) as served:
            reader = api.through(served)
            answers[compiled_plans] = [(await reader.post(query, variables)).text for query, variables in documents]
            if compiled_plans:
                assert reader.runtime.read_paths.planned == 5
    assert answers[True] == answers[False]



async def test_times_at_the_ends_of_the_calendar_are_answered_not_a_fault(api):
    """An offset that carries a time past year 1 or 9999 in UTC cannot be converted: it stands
    for the calendar's end it is nearest to."""
    await seed_seven(api)
    for bounds, count in (({"since": "0001-01-01T00:00:00+05:00"}, 7), ({"until": "9999-12-31T23:59:59-01:00"}, 7),
                          ({"since": "9999-12-31T23:59:59-01:00"}, 0), ({"until": "0001-01-01T00:00:00+05:00"}, 0)):
        body = await events(api, filter=bounds)
        assert "errors" not in body, (bounds, body)
        assert body["data"]["auditEvents"]["totalCount"] == count, bounds
