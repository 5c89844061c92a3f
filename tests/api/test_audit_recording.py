"""Every successful mutation leaves an audit event, written in its own transaction, and the
webhook deliveries that announce it (the outbox); a refused or no-op mutation leaves neither.

Read straight from the tables: what the audit trail records, not how a query shows it
(tests/api/test_audit_events.py reads it through the API).
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from gql_telephony.domain.audit import WebhookEventType
from gql_telephony.domain.ids import encode_id
from gql_telephony.services.signing_secrets import new_secret, seal
from gql_telephony.services.tenancy import hash_key
from gql_telephony.storage.tables import utcnow

from ..documents import (
    DELETE,
    REMOVE_NUMBER,
    SET_DEFAULT,
    TWILIO,
    UPDATE,
    UPDATE_NUMBER,
    add_number,
    create_config,
)

CANARY = "deadbeef" * 4  # a valid Twilio auth token found nowhere else


async def events(api) -> list[dict[str, Any]]:
    async with api.runtime.db.reading() as session:
        rows = (await session.execute(sa.text("SELECT * FROM audit_event ORDER BY id"))).mappings().all()
    return [
        {**row, "changes": row["changes"] if isinstance(row["changes"], list) else json.loads(row["changes"])}
        for row in rows
    ]


async def deliveries(api) -> list[dict[str, Any]]:
    async with api.runtime.db.reading() as session:
        rows = (await session.execute(sa.text("SELECT * FROM webhook_delivery ORDER BY id"))).mappings().all()
    return [dict(row) for row in rows]


async def key_id(api, key: str) -> int:
    async with api.runtime.db.reading() as session:
        return (await session.execute(
            sa.text("SELECT id FROM api_key WHERE key_hash = :hash"), {"hash": hash_key(key)}
        )).scalar_one()


async def subscribe(api, events: list[WebhookEventType], *, org_id: int | None = None) -> int:
    """An enabled endpoint, inserted as the endpoint mutations store one."""
    now = utcnow()
    async with api.runtime.db.writing() as session:
        result = await session.execute(sa.text(
            "INSERT INTO webhook_endpoint (organization_id, url, events, enabled, secret, version, created_at,"
            " updated_at) VALUES (:org, 'https://hooks.example.com/in', :events, true, :secret, 1, :now, :now)"
            " RETURNING id"),
            {"org": org_id or api.org_id, "events": json.dumps([event.value for event in events]),
             "secret": seal(api.runtime.vault, new_secret()), "now": now})
        return result.scalar_one()


def changes(event: dict[str, Any]) -> dict[str, tuple[Any, Any, bool]]:
    return {change["field"]: (change["before"], change["after"], change["secret"]) for change in event["changes"]}


async def test_a_create_records_every_field_its_key_and_request(api):
    response = await api.post(
        "mutation($input: CreateTelephonyConfigInput!) { createTelephonyConfig(input: $input) {"
        " telephonyConfig { id } userErrors { code } } }",
        {"input": {"name": "Main", "provider": "TWILIO", "config": TWILIO, "isDefaultOutbound": True}},
    )
    config_id = response.json()["data"]["createTelephonyConfig"]["telephonyConfig"]["id"]
    created, default = await events(api)
    assert (created["action"], created["entity_type"], created["entity_id"]) == (
        "TELEPHONY_CONFIG_CREATED", "TelephonyConfig", config_id)
    assert created["organization_id"] == api.org_id
    assert created["api_key_id"] == await key_id(api, api.key)
    assert created["request_id"] == response.headers["x-request-id"]
    assert changes(created) == {
        "name": (None, "Main", False), "provider": (None, "TWILIO", False), "isDefaultOutbound": (None, True, False),
        "config.account_sid": (None, None, True), "config.auth_token": (None, None, True),
    }
    assert default["action"] == "DEFAULT_OUTBOUND_CHANGED"
    assert changes(default) == {"defaultOutbound": (None, config_id, False)}


async def test_an_update_records_before_and_after_and_only_that_a_secret_changed(api):
    config_id = (await create_config(api, "TWILIO", "Main"))["telephonyConfig"]["id"]
    payload = (await api.gql(UPDATE, {"input": {"id": config_id, "name": "Renamed",
                                               "config": {"auth_token": CANARY}}}))["updateTelephonyConfig"]
    assert payload["userErrors"] == []
    updated = (await events(api))[-1]
    assert updated["action"] == "TELEPHONY_CONFIG_UPDATED" and updated["entity_id"] == config_id
    assert changes(updated) == {"name": ("Main", "Renamed", False), "config.auth_token": (None, None, True)}
    assert CANARY not in json.dumps([{**e, "occurred_at": str(e["occurred_at"])} for e in await events(api)])


async def test_refused_and_no_op_mutations_record_nothing(api):
    config_id = (await create_config(api, "TWILIO", "Main"))["telephonyConfig"]["id"]
    other = (await create_config(api, "TWILIO", "Other"))["telephonyConfig"]["id"]
    before = len(await events(api))
    # No-op: the same name, a field's value given again.
    await api.gql(UPDATE, {"input": {"id": config_id, "name": "Main", "config": {"auth_token": TWILIO["auth_token"]}}})
    # Refused: a name taken (the database's unique constraint), a stale version, an unknown id.
    taken = await api.gql(UPDATE, {"input": {"id": other, "name": "main"}})
    assert taken["updateTelephonyConfig"]["userErrors"][0]["code"] == "TAKEN"
    stale = await api.gql(DELETE, {"input": {"id": config_id, "expectedVersion": 7}})
    assert stale["deleteTelephonyConfig"]["userErrors"][0]["code"] == "CONFLICT"
    await api.gql(SET_DEFAULT, {"id": encode_id("TelephonyConfig", 999)})
    await add_number(api, config_id, "+14155550100")
    after_add = len(await events(api))
    assert after_add == before + 1
    taken_number = await add_number(api, other, "+14155550100")
    assert taken_number["userErrors"][0]["code"] == "TAKEN"
    assert len(await events(api)) == after_add


async def test_a_create_records_a_field_that_is_empty_too(api):
    config_id = (await create_config(api, "TWILIO", "Main"))["telephonyConfig"]["id"]
    await add_number(api, config_id, "+14155550100")  # no label
    assert changes((await events(api))[-1])["label"] == (None, None, False)


async def test_numbers_record_added_updated_removed(api):
    config_id = (await create_config(api, "TWILIO", "Main"))["telephonyConfig"]["id"]
    number_id = (await add_number(api, config_id, "+14155550100", label="Sales"))["phoneNumber"]["id"]
    await api.gql(UPDATE_NUMBER, {"input": {"id": number_id, "label": "Support", "isActive": False}})
    await api.gql(REMOVE_NUMBER, {"input": {"id": number_id}})
    added, updated, removed = (await events(api))[-3:]
    assert [e["action"] for e in (added, updated, removed)] == [
        "PHONE_NUMBER_ADDED", "PHONE_NUMBER_UPDATED", "PHONE_NUMBER_REMOVED"]
    assert {e["entity_id"] for e in (added, updated, removed)} == {number_id}
    assert changes(added) == {"phoneNumber": (None, "+14155550100", False), "label": (None, "Sales", False),
                              "isActive": (None, True, False), "telephonyConfigId": (None, config_id, False)}
    assert changes(updated) == {"label": ("Sales", "Support", False), "isActive": (True, False, False)}
    assert changes(removed)["phoneNumber"] == ("+14155550100", None, False)


async def test_a_delete_records_what_was_there_the_default_leaving_and_its_numbers_going(api):
    config_id = (await create_config(api, "TWILIO", "Main", default=True))["telephonyConfig"]["id"]
    numbers = [(await add_number(api, config_id, number))["phoneNumber"]["id"]
               for number in ("+14155550100", "+14155550101")]
    await api.gql(DELETE, {"input": {"id": config_id}})
    deleted, default, *removed = (await events(api))[-4:]
    assert [(e["action"], e["entity_id"]) for e in removed] == [("PHONE_NUMBER_REMOVED", n) for n in numbers]
    assert changes(removed[0])["phoneNumber"] == ("+14155550100", None, False)
    assert deleted["action"] == "TELEPHONY_CONFIG_DELETED"
    assert changes(deleted)["name"] == ("Main", None, False)
    assert changes(deleted)["config.auth_token"] == (None, None, True)
    assert default["action"] == "DEFAULT_OUTBOUND_CHANGED"
    assert changes(default) == {"defaultOutbound": (config_id, None, False)}


async def test_a_write_enqueues_a_delivery_per_subscribed_endpoint_in_its_transaction(api):
    everything = await subscribe(api, list(WebhookEventType))
    numbers_only = await subscribe(api, [WebhookEventType.PHONE_NUMBER_ADDED])
    other_org, _ = await api.new_org()
    await subscribe(api, list(WebhookEventType), org_id=other_org)
    config_id = (await create_config(api, "TWILIO", "Main"))["telephonyConfig"]["id"]
    await add_number(api, config_id, "+14155550100")
    refused = await add_number(api, config_id, "+14155550100")
    assert refused["userErrors"][0]["code"] == "TAKEN"

    rows = await deliveries(api)
    assert {row["organization_id"] for row in rows} == {api.org_id}
    by_endpoint = {endpoint: [row["event_type"] for row in rows if row["endpoint_id"] == endpoint]
                   for endpoint in (everything, numbers_only)}
    assert by_endpoint[numbers_only] == ["PHONE_NUMBER_ADDED"]
    # The first write sets the first warnings digest (nothing to compare with: no event); the
    # number clears the configuration's "no active number" warning.
    assert by_endpoint[everything] == ["TELEPHONY_CONFIG_CREATED", "PHONE_NUMBER_ADDED", "WARNINGS_CHANGED"]
    body = json.loads(rows[0]["body"])
    assert body["type"] == "telephony_config.created" and body["data"]["id"] == config_id
    assert body["timestamp"].endswith("Z")
    assert all(row["status"] == "PENDING" and row["next_attempt_at"] is not None for row in rows)
    added = [row for row in rows if row["event_type"] == "PHONE_NUMBER_ADDED"]
    assert len({row["message_id"] for row in added}) == 1  # one event, one webhook-id, on every endpoint


async def test_warnings_changed_is_announced_when_the_summary_changes_and_only_then(api):
    endpoint = await subscribe(api, [WebhookEventType.WARNINGS_CHANGED])
    config_id = (await create_config(api, "TWILIO", "Main"))["telephonyConfig"]["id"]  # first look
    await api.gql(UPDATE, {"input": {"id": config_id, "name": "Renamed"}})  # same warnings
    assert await deliveries(api) == []
    await add_number(api, config_id, "+14155550100")  # NO_ACTIVE_NUMBERS goes away
    rows = await deliveries(api)
    assert [(row["endpoint_id"], row["event_type"]) for row in rows] == [(endpoint, "WARNINGS_CHANGED")]
    data = json.loads(rows[0]["body"])["data"]
    assert data["id"] == encode_id("Organization", api.org_id)
    assert data["changedFields"] == ["totalCount", "configsWithWarningsCount"]
    assert all(event["action"] != "WARNINGS_CHANGED" for event in await events(api))  # derived: not audited
