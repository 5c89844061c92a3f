"""A unique secret written through every mutation path appears in no response, no log line and
no stored byte: not in the SQLite files, not in any PostgreSQL column."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

import sqlalchemy as sa

from gql_telephony.domain.providers import PROVIDERS, ProviderKey

from .documents import ADD_NUMBER, CREATE, DELETE, UPDATE, UPDATE_NUMBER, VALID


async def stored_text(api) -> str:
    """Every stored byte an attacker with the database would see."""
    path = api.runtime.settings.sqlite_path
    if path is not None:
        files = [path, Path(f"{path}-wal")]
        return "".join(f.read_bytes().decode("latin-1") for f in files if f.exists())
    async with api.runtime.db.reading() as session:
        parts = []
        for table in ("organization", "api_key", "telephony_config", "phone_number"):
            rows = (await session.execute(sa.text(f"SELECT * FROM {table}"))).all()
            parts.extend(str(tuple(row)) for row in rows)
    return "\n".join(parts)


async def test_a_canary_secret_leaks_nowhere(api, caplog):
    caplog.set_level(logging.DEBUG)
    canary = f"CANARY{uuid.uuid4().hex}"
    responses: list[str] = []

    async def send(query, variables=None):
        response = await api.post(query, variables)
        responses.append(response.text)
        return response.json()

    # Every secret field of every provider, on create ...
    ids = {}
    for provider, valid in VALID.items():
        config = dict(valid)
        secret_keys = {f.key for f in _provider(provider).fields if f.secret}
        for key in secret_keys:
            config[key] = f"{canary}{key}" if key not in ("account_sid", "auth_token", "private_key") else config[key]
        body = await send(CREATE, {"input": {"name": f"Canary {provider}", "provider": provider, "config": config}})
        payload = body["data"]["createTelephonyConfig"]
        assert payload["userErrors"] == [], payload
        ids[provider] = payload["telephonyConfig"]["id"]
    # ... on update, and in every wrong place a client could put it.
    await send(UPDATE, {"input": {"id": ids["TELNYX"], "config": {"api_key": canary}}})
    await send(UPDATE, {"input": {"id": ids["TWILIO"], "config": {"auth_token": canary, "account_sid": canary}}})
    await send(UPDATE, {"input": {"id": ids["ARI"], "config": {"ari_endpoint": f"https://admin:{canary}@pbx.example.com"}}})
    await send(UPDATE, {"input": {"id": ids["PLIVO"], "config": {"auth_token": "****" + canary}}})
    await send(UPDATE, {"input": {"id": ids["VOBIZ"], "name": canary * 3, "expectedVersion": 99}})
    await send(CREATE, {"input": {"name": "x", "provider": "TELNYX", "config": {"api_key": canary, "unknown": canary}}})
    await send(CREATE, {"input": {"name": "x", "provider": canary, "config": {}}})
    await send(ADD_NUMBER, {"input": {"telephonyConfigId": ids["TELNYX"], "phoneNumber": canary, "region": canary}})
    await send(UPDATE_NUMBER, {"input": {"id": canary, "label": "x"}})
    await send(DELETE, {"input": {"id": canary, "expectedVersion": canary}})
    await send("{ telephonyConfigs { nodes { config } } }")
    await send(f'mutation {{ createTelephonyConfig(input: {{name: "{canary}", provider: TELNYX, config: {{api_key: 5}}}}) {{ userErrors {{ message }} }} }}')

    # The canary was stored, under encryption only.
    async with api.runtime.db.reading() as session:
        tokens = (await session.execute(sa.text("SELECT secrets FROM telephony_config"))).scalars().all()
    assert any(api.runtime.vault.decrypt_json(t).get("api_key") == canary for t in tokens)
    assert canary not in await stored_text(api)
    for text in responses:
        assert canary not in text
    assert canary not in caplog.text


def _provider(key: str):
    return PROVIDERS[ProviderKey(key)]
