"""The audit trail as the mutations leave it, read through the API: the actions in order, who
made each (the key's id and label, kept after revocation; the request id), what changed, and
never a secret's value."""

from __future__ import annotations

from gql_telephony.services.tenancy import create_api_key, list_api_keys, revoke_api_key

from ..documents import DELETE, REMOVE_NUMBER, TWILIO, UPDATE, UPDATE_NUMBER, add_number, create_config
from ..support import bearer

CANARY = "c0ffee00" * 4  # a valid Twilio auth token, found nowhere else
TRAIL = """query($filter: AuditEventFilter) { auditEvents(first: 100, filter: $filter) { totalCount nodes {
  id action entityType entityId requestId actor { apiKeyId label system } changes { field before after secret }
} } }"""
HISTORY = """query($id: ID!) { node(id: $id) {
  ... on TelephonyConfig { auditEvents { totalCount nodes { action entityId } } }
  ... on PhoneNumber { auditEvents { totalCount nodes { action entityId } } }
} }"""


async def labelled_key(api, label: str) -> tuple[str, str]:
    """A new key of the organization with a label, and its id as list-api-keys prints it."""
    key = await create_api_key(api.runtime.db, api.org_id, label=label)
    (listed,) = [k for k in await list_api_keys(api.runtime.db, api.org_id) if k.label == label]
    return key, str(listed.id)


async def test_every_mutation_is_read_back_newest_first_without_secrets(api):
    key, key_id = await labelled_key(api, "deploy bot")
    config = (await create_config(api, "TWILIO", "Main", config={**TWILIO, "auth_token": CANARY}))["telephonyConfig"]
    changed = {"id": config["id"], "name": "Main line", "config": {"auth_token": CANARY[::-1]}}
    response = await api.client.post("/graphql", json={"query": UPDATE, "variables": {"input": changed}},
                                     headers=bearer(key, **{"x-request-id": "deploy-42"}))
    assert response.json()["data"]["updateTelephonyConfig"]["userErrors"] == []
    number = (await add_number(api, config["id"], "+14155550100", label="Sales"))["phoneNumber"]
    payload = await api.gql(UPDATE_NUMBER, {"input": {"id": number["id"], "label": "Support"}})
    assert payload["updatePhoneNumber"]["userErrors"] == []
    assert (await api.gql(REMOVE_NUMBER, {"input": {"id": number["id"]}}))["removePhoneNumber"]["userErrors"] == []
    # A refused mutation leaves nothing.
    refused = await api.gql(UPDATE, {"input": {"id": config["id"], "name": ""}})
    assert refused["updateTelephonyConfig"]["userErrors"]

    response = await api.post(TRAIL)
    assert CANARY not in response.text and CANARY[::-1] not in response.text
    trail = response.json()["data"]["auditEvents"]["nodes"]
    actions = [(event["action"], event["entityId"]) for event in trail]
    assert actions == [
        ("PHONE_NUMBER_REMOVED", number["id"]), ("PHONE_NUMBER_UPDATED", number["id"]),
        ("PHONE_NUMBER_ADDED", number["id"]), ("TELEPHONY_CONFIG_UPDATED", config["id"]),
        ("TELEPHONY_CONFIG_CREATED", config["id"]),
    ]
    assert all(event["actor"]["system"] is False and event["actor"]["apiKeyId"] for event in trail)
    update = trail[3]
    assert update["actor"] == {"apiKeyId": key_id, "label": "deploy bot", "system": False}
    assert update["requestId"] == "deploy-42"
    changes = {change["field"]: change for change in update["changes"]}
    assert changes["name"] == {"field": "name", "before": "Main", "after": "Main line", "secret": False}
    assert changes["config.auth_token"] == {"field": "config.auth_token", "before": None, "after": None, "secret": True}
    created = {change["field"]: change for change in trail[4]["changes"]}
    assert created["name"] == {"field": "name", "before": None, "after": "Main", "secret": False}
    assert created["provider"] == {"field": "provider", "before": None, "after": "TWILIO", "secret": False}
    for secret in ("config.account_sid", "config.auth_token"):
        assert created[secret] == {"field": secret, "before": None, "after": None, "secret": True}
    relabelled = {change["field"]: change for change in trail[1]["changes"]}
    assert relabelled["label"]["before"] == "Sales" and relabelled["label"]["after"] == "Support"

    # Each entity's own history; a removed number's, through the filter.
    history = (await api.gql(HISTORY, {"id": config["id"]}))["node"]["auditEvents"]
    assert [e["action"] for e in history["nodes"]] == ["TELEPHONY_CONFIG_UPDATED", "TELEPHONY_CONFIG_CREATED"]
    gone = (await api.gql(TRAIL, {"filter": {"entityId": number["id"]}}))["auditEvents"]
    assert [e["action"] for e in gone["nodes"]] == ["PHONE_NUMBER_REMOVED", "PHONE_NUMBER_UPDATED", "PHONE_NUMBER_ADDED"]

    # The key is revoked: its events still name it, by id and label; a read-only key reads them.
    await revoke_api_key(api.runtime.db, int(key_id))
    read_only = await api.new_key(read_only=True)
    again = (await api.gql(TRAIL, {"filter": {"action": "TELEPHONY_CONFIG_UPDATED"}}, key=read_only))["auditEvents"]
    assert [e["actor"] for e in again["nodes"]] == [{"apiKeyId": key_id, "label": "deploy bot", "system": False}]


async def test_a_deleted_configurations_history_stays_readable_by_its_id(api):
    config = (await create_config(api, "TWILIO", "Temporary", config={**TWILIO, "auth_token": CANARY}))["telephonyConfig"]
    assert (await api.gql(DELETE, {"input": {"id": config["id"]}}))["deleteTelephonyConfig"]["userErrors"] == []
    response = await api.post(TRAIL, {"filter": {"entityId": config["id"]}})
    assert CANARY not in response.text
    trail = response.json()["data"]["auditEvents"]
    assert [e["action"] for e in trail["nodes"]] == ["TELEPHONY_CONFIG_DELETED", "TELEPHONY_CONFIG_CREATED"]
    assert trail["totalCount"] == 2
    assert (await api.gql(HISTORY, {"id": config["id"]}))["node"] is None  # the configuration itself is gone
