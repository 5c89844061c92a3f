"""The application shell: health endpoints, migrations matching the tables, logs, settings."""

from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from gql_telephony.settings import Settings, SettingsError
from gql_telephony.storage.db import Database
from gql_telephony.storage.migrate import head_revision
from gql_telephony.storage.tables import metadata

from .documents import add_number, create_config
from .support import bearer


async def test_health_and_readiness(api):
    assert (await api.client.get("/healthz")).json() == {"status": "ok"}
    ready = await api.client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["database"] == "up"


async def test_readiness_fails_when_the_database_cannot_answer(api, monkeypatch):
    monkeypatch.setattr(api.runtime.db, "reading", _failing_context)
    ready = await api.client.get("/readyz")
    assert ready.status_code == 503


class _failing_context:
    def __init__(self, *args, **kwargs):
        pass

    async def __aenter__(self):
        raise OSError("database unreachable")

    async def __aexit__(self, *exc):
        return False


async def test_migrated_schema_matches_the_tables(runtime):
    async with runtime.db.write_engine.connect() as connection:
        differences = await connection.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync), metadata)
        )
    assert differences == []
    async with runtime.db.reading() as session:
        version = (await session.execute(sa.text("SELECT version_num FROM alembic_version"))).scalar_one()
    assert version == head_revision()


async def test_sqlite_is_set_up_for_concurrent_writers(runtime):
    if not runtime.db.is_sqlite:
        pytest.skip("SQLite settings do not apply to PostgreSQL")
    for engine in runtime.db.engines:
        async with engine.connect() as connection:
            assert (await connection.exec_driver_sql("PRAGMA journal_mode")).scalar() == "wal"
            assert (await connection.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
            assert (await connection.exec_driver_sql("PRAGMA busy_timeout")).scalar() >= 5000


async def test_request_log_has_no_query_string(api, caplog):
    caplog.set_level("INFO", logger="gql_telephony.access")
    canary = "CANARY-SECRET-9f8e7d"
    await api.client.get("/graphql", params={"query": "{ telephonyProviders { key } }", "variables": f'{{"x": "{canary}"}}'},
                         headers=bearer(api.key))
    lines = [r.getMessage() for r in caplog.records if r.name == "gql_telephony.access"]
    assert lines and lines[-1].startswith("GET /graphql 200")
    assert canary not in caplog.text and api.key not in caplog.text


async def test_debug_logs_hold_no_stored_value(api, caplog):
    """Even with every logger at DEBUG, a write's values (a number, a secret) are not logged."""
    caplog.set_level(logging.DEBUG)
    secret = "KEY-canary-0123456789-secret"
    config = await create_config(api, "TELNYX", "Canary", config={"api_key": secret})
    await add_number(api, config["telephonyConfig"]["id"], "+14155550177")
    assert secret not in caplog.text and "+14155550177" not in caplog.text


def test_pool_settings_come_from_the_environment():
    settings = Settings.from_env({
        "GQL_TELEPHONY_DATABASE_URL": "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres",
        "GQL_TELEPHONY_DB_POOL_SIZE": "7",
        "GQL_TELEPHONY_DB_POOL_TIMEOUT": "3",
    })
    db = Database(settings)
    assert db.write_engine.pool.size() == 7
    assert db.write_engine.pool._timeout == 3  # the pool has no public accessor for it
    for bad in ("0", "-1", "many"):
        with pytest.raises(SettingsError):
            Settings.from_env({"GQL_TELEPHONY_DB_POOL_SIZE": bad})


def test_an_in_memory_sqlite_database_is_refused():
    with pytest.raises(SettingsError):
        Settings.from_env({"GQL_TELEPHONY_DATABASE_URL": "sqlite+aiosqlite:///:memory:"})
