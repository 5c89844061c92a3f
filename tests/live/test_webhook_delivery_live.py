"""The outbox across a `kill -9`: a change committed by a server that dies before delivering it
is delivered by the next server started on the same database."""

from __future__ import annotations

import signal
import time

import httpx
import sqlalchemy as sa
from standardwebhooks import Webhook

from gql_telephony.crypto import vault_from_settings
from gql_telephony.services.signing_secrets import new_secret, seal
from gql_telephony.settings import Settings
from gql_telephony.storage.db import Database
from gql_telephony.storage.deliveries import DELIVERIES, ENDPOINTS
from gql_telephony.storage.tables import utcnow

from ..documents import CREATE, VALID
from ..support import bearer
from ..webhook_receiver import Receiver, receiving
from .server import cli, running_server, server_env


async def test_a_change_committed_before_a_kill_9_is_delivered_after_the_restart(shared_database, tmp_path):
    receiver = Receiver()
    env = server_env(**shared_database, GQL_TELEPHONY_ALLOW_PRIVATE_WEBHOOK_HOSTS="1",
                     GQL_TELEPHONY_WEBHOOK_RETRY_BASE="0.2")
    cli(["migrate"], env)
    org = cli(["create-org", "Hooks"], env)
    key = cli(["create-api-key", org], env)
    settings = Settings(database_url=shared_database["GQL_TELEPHONY_DATABASE_URL"],
                        secret_keys=(shared_database["GQL_TELEPHONY_SECRET_KEYS"],))
    db = Database(settings)
    secret = new_secret()
    try:
        with receiving(receiver) as url:
            async with db.writing() as session:
                org_id = (await session.execute(sa.text("SELECT id FROM organization"))).scalar_one()
                await session.execute(sa.insert(ENDPOINTS).values(
                    organization_id=org_id, url=url, events=["TELEPHONY_CONFIG_CREATED"],
                    secret=seal(vault_from_settings(settings), secret), created_at=utcnow(), updated_at=utcnow(),
                ))
            # The first server commits the change and dies before sending it (its sender is off,
            # as if the process had been killed right after the commit).
            first_env = {**env, "GQL_TELEPHONY_WEBHOOK_DELIVERIES": "0"}
            with running_server(first_env, tmp_path / "a.log", stop_signal=signal.SIGKILL) as first:
                response = httpx.post(f"{first.http}/graphql", headers=bearer(key), timeout=30, json={
                    "query": CREATE, "variables": {"input": {"name": "Main", "provider": "TWILIO",
                                                             "config": VALID["TWILIO"]}},
                })
                created = response.json()["data"]["createTelephonyConfig"]
                assert created["userErrors"] == []
                time.sleep(0.5)
            assert first.process.returncode == -signal.SIGKILL
            assert receiver.all() == []
            async with db.reading() as session:
                (pending,) = (await session.execute(sa.select(DELIVERIES.c.status, DELIVERIES.c.attempt_count))).all()
            assert tuple(pending) == ("PENDING", 0)  # committed with the change, not sent

            with running_server(env, tmp_path / "b.log"):
                (item,) = receiver.wait_for(1, timeout=20)
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline:
                    async with db.reading() as session:
                        status = (await session.execute(sa.select(DELIVERIES.c.status))).scalar_one()
                    if status == "DELIVERED":
                        break
                    time.sleep(0.05)
            assert status == "DELIVERED"
    finally:
        await db.dispose()
    body = Webhook(secret).verify(item.body, item.headers)
    assert body["type"] == "telephony_config.created"
    assert body["data"]["id"] == created["telephonyConfig"]["id"]
    assert len(receiver.all()) == 1
    assert "Traceback" not in (tmp_path / "b.log").read_text()


async def test_two_servers_deliver_each_event_once(shared_database, tmp_path):
    """Two server processes on one database, changes made through both: every delivery of every
    endpoint reaches the receiver exactly once."""
    receiver = Receiver()
    receiver.delay = 0.02
    env = server_env(**shared_database, GQL_TELEPHONY_ALLOW_PRIVATE_WEBHOOK_HOSTS="1")
    cli(["migrate"], env)
    key = cli(["create-api-key", cli(["create-org", "Hooks"], env)], env)
    settings = Settings(database_url=shared_database["GQL_TELEPHONY_DATABASE_URL"],
                        secret_keys=(shared_database["GQL_TELEPHONY_SECRET_KEYS"],))
    db = Database(settings)
    try:
        with receiving(receiver) as url:
            async with db.writing() as session:
                org_id = (await session.execute(sa.text("SELECT id FROM organization"))).scalar_one()
                await session.execute(sa.insert(ENDPOINTS), [
                    {"organization_id": org_id, "url": f"{url}/{n}", "events": ["TELEPHONY_CONFIG_CREATED"],
                     "secret": seal(vault_from_settings(settings), new_secret()), "created_at": utcnow(),
                     "updated_at": utcnow()}
                    for n in range(3)
                ])
            with running_server(env, tmp_path / "a.log") as first, running_server(env, tmp_path / "b.log") as second:
                async with httpx.AsyncClient(headers=bearer(key), timeout=30) as client:
                    for n in range(12):
                        server = (first, second)[n % 2]
                        response = await client.post(f"{server.http}/graphql", json={
                            "query": CREATE, "variables": {"input": {
                                "name": f"Config {n}", "provider": "TWILIO", "config": VALID["TWILIO"]}},
                        })
                        assert response.json()["data"]["createTelephonyConfig"]["userErrors"] == []
                    deadline = time.monotonic() + 30
                    while len(receiver.all()) < 36 and time.monotonic() < deadline:
                        time.sleep(0.05)
                    time.sleep(1.0)  # time for a duplicate to show
                    metrics = [(await client.get(f"{s.http}/metrics")).text for s in (first, second)]
    finally:
        await db.dispose()
    sends = [(r.path, r.message_id) for r in receiver.all()]
    assert len(sends) == 36 and len(set(sends)) == 36
    assert all("gql_telephony_webhook_deliveries_total" in text for text in metrics)
    for name in ("a.log", "b.log"):
        assert "Traceback" not in (tmp_path / name).read_text()
