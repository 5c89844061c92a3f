"""A signing secret is shown in clear once, in the payload that made it, and then nowhere: not in
a later response, not in a log record, not in a stored byte, not in an audit event's changes."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

import sqlalchemy as sa

from gql_telephony.services import signing_secrets

from .test_webhook_deliveries import DELIVERIES
from .test_webhook_endpoints import CREATE, DELETE, LIST, NODE, ROTATE, SEND_TEST, UPDATE

TABLES = ("organization", "api_key", "audit_event", "webhook_endpoint", "webhook_delivery", "webhook_attempt")


async def stored_text(api) -> str:
    """Every stored byte an attacker with the database would see."""
    path = api.runtime.settings.sqlite_path
    if path is not None:
        files = [path, Path(f"{path}-wal")]
        return "".join(f.read_bytes().decode("latin-1") for f in files if f.exists())
    async with api.runtime.db.reading() as session:
        parts = []
        for table in TABLES:
            rows = (await session.execute(sa.text(f"SELECT * FROM {table}"))).all()
            parts.extend(str(tuple(row)) for row in rows)
    return "\n".join(parts)


async def test_a_signing_secret_is_shown_once_and_then_leaks_nowhere(api, caplog):
    caplog.set_level(logging.DEBUG)
    later: list[str] = []

    async def send(query, variables=None):
        response = await api.post(query, variables)
        later.append(response.text)
        return response.json()

    created = await api.post(CREATE, {"input": {"url": "https://93.184.215.14/in", "events": ["WARNINGS_CHANGED"]}})
    first = created.json()["data"]["createWebhookEndpoint"]
    endpoint_id, secrets = first["webhookEndpoint"]["id"], [first["signingSecret"]]
    rotated = await api.post(ROTATE, {"input": {"id": endpoint_id}})
    secrets.append(rotated.json()["data"]["rotateWebhookSecret"]["signingSecret"])
    assert secrets[0] not in rotated.text  # the old secret is not shown again either

    # A secret the client put where it does not belong is refused without being repeated.
    canary = f"CANARY{uuid.uuid4().hex}"
    await send(CREATE, {"input": {"url": f"https://user:{canary}@93.184.215.14/", "events": ["WARNINGS_CHANGED"]}})
    await send(CREATE, {"input": {"url": f"https://93.184.215.14/#{canary}", "events": ["WARNINGS_CHANGED"]}})
    await send(CREATE, {"input": {"url": f"https://{canary}.invalid/", "events": ["WARNINGS_CHANGED"]}})
    await send(UPDATE, {"input": {"id": endpoint_id, "url": f"ftp://{canary}", "description": canary * 20}})
    await send(CREATE, {"input": {"url": canary, "events": [canary]}})

    await send(LIST)
    await send(NODE, {"id": endpoint_id})
    await send(UPDATE, {"input": {"id": endpoint_id, "description": "Renamed", "enabled": False}})
    await send(UPDATE, {"input": {"id": endpoint_id, "enabled": True}})
    await send(SEND_TEST, {"input": {"endpointId": endpoint_id}})
    await send(DELIVERIES, {"id": endpoint_id})
    await send("{ webhookEndpoints { nodes { signingSecret } } }")

    async with api.runtime.db.reading() as session:
        sealed = (await session.execute(sa.text("SELECT secret, previous_secret FROM webhook_endpoint"))).one()
    vault = api.runtime.vault
    assert [signing_secrets.unseal(vault, token) for token in reversed(tuple(sealed))] == secrets
    async with api.runtime.db.reading() as session:
        changes = (await session.execute(sa.text("SELECT changes FROM audit_event"))).scalars().all()
    stored = await stored_text(api)
    for secret in secrets:
        # The key without its prefix too: what a leak of the bytes would show.
        for form in (secret, secret.removeprefix("whsec_")):
            assert not [text for text in later if form in text]
            assert form not in caplog.text
            assert form not in stored
            assert form not in str(changes)
    assert not [text for text in later if canary in text]
    assert canary not in caplog.text
    assert canary not in stored

    await send(DELETE, {"input": {"id": endpoint_id}})
    assert all(form not in later[-1] for form in secrets)
