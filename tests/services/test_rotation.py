"""rotate-secrets: every credential re-encrypted under the newest key, in batches, resumably."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from gql_telephony.crypto import Vault
from gql_telephony.services.rotation import rotate_secrets
from gql_telephony.storage.tables import TelephonyConfigRow

from ..documents import UPDATE, VALID, create_config
from ..support import app_client, bearer


async def stored_tokens(db) -> dict[int, str]:
    async with db.reading() as session:
        rows = (await session.execute(sa.select(TelephonyConfigRow.id, TelephonyConfigRow.secrets))).all()
    return dict(rows)


async def seed(api, count: int) -> dict[int, dict]:
    providers = list(VALID)
    for index in range(count):
        await create_config(api, providers[index % len(providers)], f"Rotated {index}")
    old = api.runtime.vault
    return {row_id: old.decrypt_json(token) for row_id, token in (await stored_tokens(api.runtime.db)).items()}


def new_vault_after(old_keys: tuple[str, ...]) -> tuple[Vault, Vault]:
    newest = Fernet.generate_key().decode()
    return Vault((newest, *old_keys)), Vault((newest,))


async def test_every_credential_moves_to_the_newest_key(api, settings):
    plain = await seed(api, 11)
    rotating, newest_only = new_vault_after(settings.secret_keys)
    batches = []
    report = await rotate_secrets(api.runtime.db, rotating, batch_size=4, progress=lambda r: batches.append(r.examined))
    assert (report.examined, report.rotated) == (11, 11)
    assert batches == [4, 8, 11]
    tokens = await stored_tokens(api.runtime.db)
    assert {row_id: newest_only.decrypt_json(token) for row_id, token in tokens.items()} == plain
    # Nothing left to do on a second run; versions and timestamps are not a config change.
    again = await rotate_secrets(api.runtime.db, rotating, batch_size=4)
    assert (again.examined, again.rotated) == (11, 0)
    data = await api.gql("{ telephonyConfigs { nodes { version } } }")
    assert {c["version"] for c in data["telephonyConfigs"]["nodes"]} == {1}


async def test_an_interrupted_rotation_resumes_where_it_stopped(api, settings):
    plain = await seed(api, 9)
    rotating, newest_only = new_vault_after(settings.secret_keys)

    def stop_after_first_batch(report) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        await rotate_secrets(api.runtime.db, rotating, batch_size=5, progress=stop_after_first_batch)
    half = await stored_tokens(api.runtime.db)
    assert sum(newest_only.is_current(t) for t in half.values()) == 5
    report = await rotate_secrets(api.runtime.db, rotating, batch_size=5)
    assert report.rotated == 4
    tokens = await stored_tokens(api.runtime.db)
    assert {row_id: newest_only.decrypt_json(token) for row_id, token in tokens.items()} == plain


async def test_a_server_given_the_new_key_list_keeps_serving_during_rotation(api, settings):
    """The runbook: restart the servers with NEW,OLD; rotate while they serve; then drop OLD."""
    plain = await seed(api, 12)
    newest = Fernet.generate_key().decode()
    async with app_client(settings, secret_keys=(newest, *settings.secret_keys), headers=bearer(api.key)) as served:
        client, runtime = served.client, served.runtime

        async def traffic() -> None:
            for index in range(10):
                read = await client.post("/graphql", json={"query": "{ telephonyConfigs { nodes { id config } } }"})
                assert "errors" not in read.json(), read.text
                first = read.json()["data"]["telephonyConfigs"]["nodes"][index]
                update = await client.post("/graphql", json={"query": UPDATE, "variables": {"input": {"id": first["id"], "name": f"Renamed {index}"}}})
                assert update.json()["data"]["updateTelephonyConfig"]["userErrors"] == [], update.text

        report, _ = await asyncio.gather(rotate_secrets(runtime.db, runtime.vault, batch_size=3), traffic())
    assert report.rotated + report.skipped_changed <= 12
    # Whatever rotation skipped was rewritten by an update, under the newest key too.
    newest_only = Vault((newest,))
    tokens = await stored_tokens(api.runtime.db)
    assert {row_id: newest_only.decrypt_json(token) for row_id, token in tokens.items()} == plain
