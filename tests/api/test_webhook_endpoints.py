"""Webhook endpoints through the HTTP API, on SQLite and PostgreSQL: create, list, update,
disable and re-enable, delete, rotate the secret, and the rules a URL obeys."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from gql_telephony.domain.ids import decode_id_of, encode_id
from gql_telephony.services import signing_secrets

from ..support import app_client

PUBLIC_URL = "https://93.184.215.14/hooks/telephony"  # a global address: no resolution, no rule broken
ENDPOINT_FIELDS = """id url description events enabled disabledReason disabledAt failingSince signingSecret
  version createdAt updatedAt warnings { code severity message }"""

CREATE = """mutation ($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) {
  webhookEndpoint { %s } signingSecret userErrors { field message code } } }""" % ENDPOINT_FIELDS
UPDATE = """mutation ($input: UpdateWebhookEndpointInput!) { updateWebhookEndpoint(input: $input) {
  webhookEndpoint { %s } userErrors { field message code } } }""" % ENDPOINT_FIELDS
DELETE = """mutation ($input: DeleteWebhookEndpointInput!) { deleteWebhookEndpoint(input: $input) {
  deletedWebhookEndpointId userErrors { field message code } } }"""
ROTATE = """mutation ($input: RotateWebhookSecretInput!) { rotateWebhookSecret(input: $input) {
  webhookEndpoint { %s } signingSecret userErrors { field message code } } }""" % ENDPOINT_FIELDS
SEND_TEST = """mutation ($input: SendTestWebhookInput!) { sendTestWebhook(input: $input) {
  delivery { id webhookId eventType isTest status attemptCount nextAttemptAt payload attempts { statusCode } }
  userErrors { field message code } } }"""
LIST = """query ($first: Int, $after: String) { webhookEndpoints(first: $first, after: $after) {
  totalCount pageInfo { hasNextPage endCursor } nodes { %s } } }""" % ENDPOINT_FIELDS
NODE = "query ($id: ID!) { node(id: $id) { __typename ... on WebhookEndpoint { id url signingSecret } } }"


async def create(api, url: str = PUBLIC_URL, events: list[str] | None = None, **extra: Any) -> dict:
    """The createWebhookEndpoint payload of a create that must succeed."""
    variables = {"input": {"url": url, "events": events or ["TELEPHONY_CONFIG_UPDATED"], **extra}}
    payload = (await api.gql(CREATE, variables))["createWebhookEndpoint"]
    assert payload["userErrors"] == [], payload
    return payload


async def mutate(api, document: str, **input: Any) -> dict:
    (payload,) = (await api.gql(document, {"input": input})).values()
    return payload


def codes(payload: dict) -> list[tuple[list[str] | None, str]]:
    return [(error["field"], error["code"]) for error in payload["userErrors"]]


async def stored(api) -> list[dict]:
    async with api.runtime.db.reading() as session:
        rows = (await session.execute(sa.text("SELECT * FROM webhook_endpoint ORDER BY id"))).mappings().all()
    return [dict(row) for row in rows]


async def audit_rows(api) -> list[dict]:
    async with api.runtime.db.reading() as session:
        rows = (await session.execute(sa.text(
            "SELECT action, entity_type, entity_id, api_key_id, api_key_label, request_id, changes "
            "FROM audit_event ORDER BY id"
        ))).mappings().all()
    found = []
    for row in rows:
        changes = row["changes"]
        if isinstance(changes, str):  # SQLite hands JSON back as text through a plain SELECT
            changes = json.loads(changes)
        found.append({**dict(row), "changes": changes})
    return found


async def test_create_shows_the_secret_once_then_only_masked(api):
    payload = await create(api, description="  Billing  ", events=["WARNINGS_CHANGED", "PHONE_NUMBER_ADDED",
                                                                   "WARNINGS_CHANGED"])
    endpoint, secret = payload["webhookEndpoint"], payload["signingSecret"]
    assert secret.startswith("whsec_") and len(secret) > 40
    assert endpoint["signingSecret"] == signing_secrets.masked(secret) != secret
    assert endpoint["signingSecret"].endswith(secret[-4:])
    assert endpoint | {"id": None, "createdAt": None, "updatedAt": None, "signingSecret": None} == {
        "id": None, "url": PUBLIC_URL, "description": "Billing", "events": ["PHONE_NUMBER_ADDED", "WARNINGS_CHANGED"],
        "enabled": True, "disabledReason": None, "disabledAt": None, "failingSince": None, "signingSecret": None,
        "version": 1, "createdAt": None, "updatedAt": None, "warnings": [],
    }
    assert decode_id_of("WebhookEndpoint", endpoint["id"]) is not None

    planned = api.runtime.read_paths.planned
    listed = (await api.gql(LIST))["webhookEndpoints"]
    assert api.runtime.read_paths.planned == planned + 1  # a compiled plan answered it
    assert listed["totalCount"] == 1
    assert listed["nodes"] == [endpoint]
    async with app_client(api.runtime.settings, beside=api.runtime, compiled_plans=False, response_cache_mb=0) as other:
        assert (await api.through(other).gql(LIST))["webhookEndpoints"] == listed
    node = (await api.gql(NODE, {"id": endpoint["id"]}))["node"]
    assert node == {"__typename": "WebhookEndpoint", "id": endpoint["id"], "url": PUBLIC_URL,
                    "signingSecret": endpoint["signingSecret"]}
    (row,) = await stored(api)
    assert secret not in str(row)
    assert signing_secrets.unseal(api.runtime.vault, row["secret"]) == secret


async def test_endpoints_are_listed_oldest_first_in_pages(api):
    ids = [(await create(api, f"{PUBLIC_URL}/{n}"))["webhookEndpoint"]["id"] for n in range(3)]
    first = (await api.gql(LIST, {"first": 2}))["webhookEndpoints"]
    assert [n["id"] for n in first["nodes"]] == ids[:2] and first["pageInfo"]["hasNextPage"] is True
    rest = (await api.gql(LIST, {"first": 2, "after": first["pageInfo"]["endCursor"]}))["webhookEndpoints"]
    assert [n["id"] for n in rest["nodes"]] == ids[2:] and rest["pageInfo"]["hasNextPage"] is False
    assert rest["totalCount"] == 3


async def test_update_changes_what_is_given_and_nothing_else(api):
    endpoint = (await create(api, description="Old"))["webhookEndpoint"]
    changed = await mutate(api, UPDATE, id=endpoint["id"], url=PUBLIC_URL + "/v2",
                           events=["PHONE_NUMBER_REMOVED", "TELEPHONY_CONFIG_CREATED"])
    assert changed["userErrors"] == []
    updated = changed["webhookEndpoint"]
    assert (updated["url"], updated["events"], updated["description"], updated["version"]) == (
        PUBLIC_URL + "/v2", ["TELEPHONY_CONFIG_CREATED", "PHONE_NUMBER_REMOVED"], "Old", 2)
    cleared = (await mutate(api, UPDATE, id=endpoint["id"], description=None))["webhookEndpoint"]
    assert (cleared["description"], cleared["version"]) == (None, 3)
    # The same values again: no new version.
    same = (await mutate(api, UPDATE, id=endpoint["id"], url=PUBLIC_URL + "/v2", description="  "))["webhookEndpoint"]
    assert same["version"] == 3


async def test_disable_then_re_enable(api):
    endpoint = (await create(api))["webhookEndpoint"]
    disabled = (await mutate(api, UPDATE, id=endpoint["id"], enabled=False))["webhookEndpoint"]
    assert (disabled["enabled"], disabled["disabledReason"], disabled["version"]) == (False, "USER", 2)
    assert disabled["disabledAt"] is not None and disabled["warnings"] == []
    again = (await mutate(api, UPDATE, id=endpoint["id"], enabled=False))["webhookEndpoint"]
    assert again["version"] == 2  # already disabled: nothing changed
    enabled = (await mutate(api, UPDATE, id=endpoint["id"], enabled=True))["webhookEndpoint"]
    assert (enabled["enabled"], enabled["disabledReason"], enabled["disabledAt"], enabled["version"]) == (
        True, None, None, 3)


async def test_delete_removes_the_endpoint_and_its_deliveries(api):
    endpoint = (await create(api))["webhookEndpoint"]
    other = (await create(api, PUBLIC_URL + "/other"))["webhookEndpoint"]
    await mutate(api, SEND_TEST, endpointId=endpoint["id"])
    await mutate(api, SEND_TEST, endpointId=other["id"])
    deleted = await mutate(api, DELETE, id=endpoint["id"])
    assert deleted == {"deletedWebhookEndpointId": endpoint["id"], "userErrors": []}
    assert [n["id"] for n in (await api.gql(LIST))["webhookEndpoints"]["nodes"]] == [other["id"]]
    async with api.runtime.db.reading() as session:
        left = (await session.execute(sa.text("SELECT endpoint_id FROM webhook_delivery"))).scalars().all()
    assert left == [decode_id_of("WebhookEndpoint", other["id"])]
    again = await mutate(api, DELETE, id=endpoint["id"])
    assert codes(again) == [(["input", "id"], "NOT_FOUND")] and again["deletedWebhookEndpointId"] is None


async def test_rotation_shows_the_new_secret_once_and_keeps_the_old_one_signing_for_a_day(api):
    created = await create(api)
    endpoint, old = created["webhookEndpoint"], created["signingSecret"]
    rotated = await mutate(api, ROTATE, id=endpoint["id"])
    new = rotated["signingSecret"]
    assert rotated["userErrors"] == [] and new.startswith("whsec_") and new != old
    assert rotated["webhookEndpoint"]["signingSecret"] == signing_secrets.masked(new)
    assert rotated["webhookEndpoint"]["version"] == 2
    (row,) = await stored(api)
    vault = api.runtime.vault
    assert signing_secrets.unseal(vault, row["secret"]) == new
    assert signing_secrets.unseal(vault, row["previous_secret"]) == old
    until, updated = row["previous_secret_until"], row["updated_at"]
    if isinstance(until, str):  # SQLite through a plain SELECT
        from datetime import datetime  # noqa: PLC0415

        until, updated = datetime.fromisoformat(until), datetime.fromisoformat(updated)
    assert 86390 < (until - updated).total_seconds() <= 86400
    listed = (await api.gql(LIST))["webhookEndpoints"]["nodes"][0]
    assert listed["signingSecret"] == signing_secrets.masked(new)


async def test_bad_input_is_refused_with_every_error_at_once(api):
    payload = await mutate(api, CREATE, url="ftp://x", events=[], description="x" * 501)
    assert sorted(codes(payload)) == [(["input", "description"], "TOO_LONG"), (["input", "events"], "REQUIRED"),
                                      (["input", "url"], "INVALID")]
    assert payload["webhookEndpoint"] is None and payload["signingSecret"] is None
    assert await stored(api) == []
    endpoint = (await create(api))["webhookEndpoint"]
    refused = await mutate(api, UPDATE, id=endpoint["id"], url="https://u:p@example.com/", events=[])
    assert sorted(codes(refused)) == [(["input", "events"], "REQUIRED"), (["input", "url"], "INVALID")]
    (row,) = await stored(api)
    assert row["version"] == 1


PRIVATE_URLS = [
    "http://127.0.0.1:8080/hook", "http://localhost/hook", "http://[::1]/hook",
    "http://169.254.169.254/latest/meta-data", "https://10.1.2.3/hook", "http://[::ffff:192.168.1.1]/",
    "http://0.0.0.0/",
]


async def test_private_addresses_are_refused_naming_the_rule(api):
    endpoint = (await create(api))["webhookEndpoint"]
    for url in PRIVATE_URLS:
        payload = await mutate(api, CREATE, url=url, events=["WARNINGS_CHANGED"])
        assert codes(payload) == [(["input", "url"], "INVALID")], url
        message = payload["userErrors"][0]["message"]
        assert "GQL_TELEPHONY_ALLOW_PRIVATE_WEBHOOK_HOSTS" in message, message
        updated = await mutate(api, UPDATE, id=endpoint["id"], url=url)
        assert codes(updated) == [(["input", "url"], "INVALID")], url
    loopback = (await mutate(api, CREATE, url="http://localhost/", events=["WARNINGS_CHANGED"]))["userErrors"]
    assert "loopback" in loopback[0]["message"]
    metadata = (await mutate(api, CREATE, url="http://169.254.169.254/", events=["WARNINGS_CHANGED"]))["userErrors"]
    assert "metadata" in metadata[0]["message"]
    assert len(await stored(api)) == 1


async def test_a_host_that_does_not_resolve_is_refused(api):
    payload = await mutate(api, CREATE, url="https://no-such-host.invalid/hook", events=["WARNINGS_CHANGED"])
    assert codes(payload) == [(["input", "url"], "INVALID")]
    assert "does not resolve" in payload["userErrors"][0]["message"]


async def test_private_addresses_are_taken_when_the_operator_allows_them(api, settings):
    async with app_client(settings, beside=api.runtime, allow_private_webhook_hosts=True) as other:
        allowed = api.through(other)
        for url in PRIVATE_URLS:
            assert (await create(allowed, url))["webhookEndpoint"]["url"] == url
        # Still a host that resolves.
        payload = await mutate(allowed, CREATE, url="https://no-such-host.invalid/", events=["WARNINGS_CHANGED"])
        assert codes(payload) == [(["input", "url"], "INVALID")]


async def test_a_read_only_key_cannot_change_endpoints(api):
    endpoint = (await create(api))["webhookEndpoint"]
    read_only = await api.new_key(read_only=True)
    for document, input in [
        (CREATE, {"url": PUBLIC_URL, "events": ["WARNINGS_CHANGED"]}), (UPDATE, {"id": endpoint["id"], "enabled": False}),
        (DELETE, {"id": endpoint["id"]}), (ROTATE, {"id": endpoint["id"]}), (SEND_TEST, {"endpointId": endpoint["id"]}),
    ]:
        response = await api.post(document, {"input": input}, key=read_only)
        body = response.json()
        assert body.get("data") is None and body["errors"][0]["extensions"]["code"] == "FORBIDDEN", body
    # Reading is allowed.
    assert (await api.gql(LIST, key=read_only))["webhookEndpoints"]["totalCount"] == 1
    (row,) = await stored(api)
    assert (row["version"], row["enabled"]) == (1, True)


async def test_another_organizations_endpoint_is_not_found(api):
    endpoint = (await create(api))["webhookEndpoint"]
    _, other_key = await api.new_org()
    for document, input in [
        (UPDATE, {"id": endpoint["id"], "enabled": False}), (DELETE, {"id": endpoint["id"]}),
        (ROTATE, {"id": endpoint["id"]}),
    ]:
        (payload,) = (await api.gql(document, {"input": input}, key=other_key)).values()
        assert codes(payload) == [(["input", "id"], "NOT_FOUND")], payload
    (payload,) = (await api.gql(SEND_TEST, {"input": {"endpointId": endpoint["id"]}}, key=other_key)).values()
    assert codes(payload) == [(["input", "endpointId"], "NOT_FOUND")]
    assert (await api.gql(NODE, {"id": endpoint["id"]}, key=other_key))["node"] is None
    assert (await api.gql(LIST, key=other_key))["webhookEndpoints"] == {
        "totalCount": 0, "pageInfo": {"hasNextPage": False, "endCursor": None}, "nodes": []}
    # Ids of another type, or of nothing, name no endpoint either.
    for wrong in (encode_id("TelephonyConfig", decode_id_of("WebhookEndpoint", endpoint["id"])), "nonsense"):
        payload = await mutate(api, UPDATE, id=wrong, enabled=False)
        assert codes(payload) == [(["input", "id"], "NOT_FOUND")]
    (row,) = await stored(api)
    assert row["version"] == 1


async def test_an_organization_keeps_at_most_20_endpoints(api):
    for n in range(20):
        await create(api, f"{PUBLIC_URL}/{n}")
    payload = await mutate(api, CREATE, url=PUBLIC_URL, events=["WARNINGS_CHANGED"])
    assert codes(payload) == [(None, "INVALID")] and "at most 20" in payload["userErrors"][0]["message"]
    assert len(await stored(api)) == 20
    # Another organization has its own 20.
    _, other_key = await api.new_org()
    (other,) = (await api.gql(CREATE, {"input": {"url": PUBLIC_URL, "events": ["WARNINGS_CHANGED"]}},
                              key=other_key)).values()
    assert other["userErrors"] == []


async def test_every_endpoint_change_is_audited_with_its_key_and_no_secret(api):
    created = await create(api, description="Billing", events=["PHONE_NUMBER_ADDED"])
    endpoint_id = created["webhookEndpoint"]["id"]
    await mutate(api, UPDATE, id=endpoint_id, url=PUBLIC_URL + "/v2", events=["PHONE_NUMBER_ADDED"])
    await mutate(api, UPDATE, id=endpoint_id, enabled=False)
    await mutate(api, UPDATE, id=endpoint_id, enabled=False)  # no change: no event
    await mutate(api, UPDATE, id=endpoint_id, url="ftp://refused")  # refused: no event
    rotated = await mutate(api, ROTATE, id=endpoint_id)
    await mutate(api, DELETE, id=endpoint_id)
    events = await audit_rows(api)
    assert [(e["action"], e["entity_type"], e["entity_id"]) for e in events] == [
        ("WEBHOOK_ENDPOINT_CREATED", "WebhookEndpoint", endpoint_id),
        ("WEBHOOK_ENDPOINT_UPDATED", "WebhookEndpoint", endpoint_id),
        ("WEBHOOK_ENDPOINT_UPDATED", "WebhookEndpoint", endpoint_id),
        ("WEBHOOK_ENDPOINT_SECRET_ROTATED", "WebhookEndpoint", endpoint_id),
        ("WEBHOOK_ENDPOINT_DELETED", "WebhookEndpoint", endpoint_id),
    ]
    created_changes, url_changes, disabled, rotation, deletion = (e["changes"] for e in events)
    assert created_changes == [
        {"field": "description", "before": None, "after": "Billing", "secret": False},
        {"field": "enabled", "before": None, "after": True, "secret": False},
        {"field": "events", "before": None, "after": ["PHONE_NUMBER_ADDED"], "secret": False},
        {"field": "url", "before": None, "after": PUBLIC_URL, "secret": False},
        {"field": "signingSecret", "before": None, "after": None, "secret": True},
    ]
    assert url_changes == [{"field": "url", "before": PUBLIC_URL, "after": PUBLIC_URL + "/v2", "secret": False}]
    assert disabled == [{"field": "enabled", "before": True, "after": False, "secret": False}]
    assert rotation == [{"field": "signingSecret", "before": None, "after": None, "secret": True}]
    assert {c["field"] for c in deletion} == {"url", "description", "events", "enabled"}
    assert all(c["after"] is None for c in deletion)
    key_ids = {e["api_key_id"] for e in events}
    assert len(key_ids) == 1 and None not in key_ids
    assert all(e["request_id"] for e in events)
    for secret in (created["signingSecret"], rotated["signingSecret"]):
        assert secret not in str(events)


async def test_subscribing_to_warnings_changed_starts_from_the_summary_as_it_is(api):
    async with api.runtime.db.reading() as session:
        digest = (await session.execute(sa.text("SELECT warnings_digest FROM organization"))).scalar_one()
    assert digest is None
    endpoint = (await create(api, events=["PHONE_NUMBER_ADDED"]))["webhookEndpoint"]
    await mutate(api, UPDATE, id=endpoint["id"], events=["WARNINGS_CHANGED"])
    async with api.runtime.db.reading() as session:
        digest = (await session.execute(sa.text("SELECT warnings_digest FROM organization"))).scalar_one()
    assert digest is not None


async def test_concurrent_creates_never_pass_the_limit(api):
    import asyncio  # noqa: PLC0415

    await asyncio.gather(*(create(api, f"{PUBLIC_URL}/{n}") for n in range(15)))
    payloads = await asyncio.gather(*(
        mutate(api, CREATE, url=f"{PUBLIC_URL}/more/{n}", events=["WARNINGS_CHANGED"]) for n in range(10)
    ))
    assert sum(not p["userErrors"] for p in payloads) == 5
    assert len(await stored(api)) == 20


async def test_text_that_cannot_be_stored_is_refused_on_both_databases(api):
    for url, description in [(PUBLIC_URL + "/\ud800", None), (PUBLIC_URL + "/\u202e", None), (PUBLIC_URL, "a\x00b"),
                             (PUBLIC_URL, "x\ud800"), (PUBLIC_URL, "\u202eevil")]:
        # A lone surrogate travels as a JSON escape (httpx would refuse to encode it).
        body = json.dumps({"query": CREATE, "variables": {"input": {
            "url": url, "events": ["WARNINGS_CHANGED"], "description": description}}})
        response = await api.client.post("/graphql", content=body, headers={
            "authorization": f"Bearer {api.key}", "content-type": "application/json"})
        payload = response.json()["data"]["createWebhookEndpoint"]
        field = "url" if description is None else "description"
        assert codes(payload) == [(["input", field], "INVALID")], (url, description)
    assert await stored(api) == []
