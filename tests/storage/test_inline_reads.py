"""SQLite driver reads run on the event loop's own thread (storage/inline_reads.py): no pooled
aiosqlite connection for a key's look-up or a plan's reads, and a read that meets a lock waits on
a thread, not on the loop."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import event

from gql_telephony.app import build_runtime, create_app
from gql_telephony.services.tenancy import create_api_key, create_organization
from gql_telephony.storage import inline_reads, queries
from gql_telephony.storage.db import Database

from ..backends import copy_migrated_sqlite
from ..documents import DASHBOARD, add_number, create_config
from ..support import Api, asgi_client, sqlite_settings
from .watch import loop_gaps


@pytest.fixture
async def sqlite_api(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Api]:
    path = tmp_path / "inline.sqlite3"
    await copy_migrated_sqlite(path, tmp_path_factory.mktemp("inline-template"))
    runtime = build_runtime(sqlite_settings(path, response_cache_mb=0))
    org_id = await create_organization(runtime.db, "Acme")
    key = await create_api_key(runtime.db, org_id)
    async with asgi_client(create_app(runtime=runtime)) as client:
        yield Api(client=client, runtime=runtime, key=key, org_id=org_id)
    await runtime.provider_http.aclose()
    await runtime.broker.close()
    await runtime.db.dispose()


async def test_a_query_checks_out_no_pooled_read_connection(sqlite_api: Api) -> None:
    """The key's look-up and a dashboard's plan read on the loop's thread: the read engine's pool
    (aiosqlite, a thread per connection) is not used."""
    api = sqlite_api
    created = await create_config(api, "TWILIO", "Main", default=True)
    await add_number(api, created["telephonyConfig"]["id"], "+14155550100")
    checkouts: list[object] = []
    pool = api.runtime.db.read_engine.sync_engine.pool
    event.listen(pool, "checkout", lambda *args: checkouts.append(args))
    for _ in range(3):
        answer = await api.gql(DASHBOARD)
        assert answer["telephonyConfigs"]["edges"][0]["node"]["phoneNumbers"]["totalCount"] == 1
    assert checkouts == []


async def test_connections_kept_are_bounded_and_closed_on_dispose(sqlite_api: Api, monkeypatch) -> None:
    monkeypatch.setattr(inline_reads, "KEPT_CONNECTIONS", 2)
    db = Database(sqlite_settings(Path(api_path(sqlite_api))))
    async with db.reading_driver(snapshot=True) as a, db.reading_driver(snapshot=True) as b, \
            db.reading_driver(snapshot=False) as c:
        for reads in (a, b, c):
            assert (await queries.organization(reads, org_id=sqlite_api.org_id)) is not None
        held = [a._driver, b._driver, c._driver]
    assert db._inline is not None
    kept = list(db._inline._idle)
    assert len(kept) == 2 and all(connection in held for connection in kept)
    await db.dispose()
    assert db._inline._idle == []
    for connection in held:
        with pytest.raises(sqlite3.ProgrammingError):  # closed
            connection.execute("SELECT 1")


def api_path(api: Api) -> str:
    path = api.runtime.settings.sqlite_path
    assert path is not None
    return str(path)


async def test_a_read_that_meets_a_lock_waits_off_the_loop(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Another process holding the file in exclusive locking mode: the read does not stall the
    loop (it moves to a pooled connection, which waits on its own thread) and, once the lock is
    gone, answers with what that process committed."""
    path = tmp_path / "locked.sqlite3"
    await copy_migrated_sqlite(path, tmp_path_factory.mktemp("locked-template"))
    settings = sqlite_settings(path)
    setup = Database(settings)
    org_id = await create_organization(setup, "Acme")
    await setup.dispose()

    locker = sqlite3.connect(path, isolation_level=None)
    locker.execute("PRAGMA locking_mode=EXCLUSIVE")
    locker.execute("BEGIN EXCLUSIVE")
    locker.execute("UPDATE organization SET name = 'Renamed' WHERE id = ?", (org_id,))
    locker.execute("COMMIT")  # committed; the file stays locked until the connection closes

    db = Database(settings)
    loop = asyncio.get_running_loop()
    loop.call_later(0.6, locker.close)
    started = time.monotonic()
    try:
        async with loop_gaps() as gaps, db.reading_driver(snapshot=True) as reads:
            organization = await queries.organization(reads, org_id=org_id)
    finally:
        await db.dispose()
    assert organization is not None and organization.name == "Renamed"
    assert time.monotonic() - started >= 0.5  # it did wait for the lock
    assert max(gaps) < 0.3, f"the loop stalled for {max(gaps):.2f} s"


async def test_a_lock_reported_by_an_extended_code_moves_the_read_too(sqlite_api: Api, monkeypatch) -> None:
    """SQLite reports extended codes (a recovery run by another connection is SQLITE_BUSY_RECOVERY,
    261): the read still moves to a pooled connection instead of failing."""
    real_connect = inline_reads.InlineConnections._connect

    class Recovering:
        def __init__(self, connection: sqlite3.Connection) -> None:
            self.connection, self.failed = connection, False

        def execute(self, sql: str, *args: object) -> object:
            if sql.startswith("SELECT") and not self.failed:
                self.failed = True
                busy = sqlite3.OperationalError("database is locked")
                busy.sqlite_errorcode = 261  # type: ignore[attr-defined]  # set by SQLite, here by hand
                raise busy
            return self.connection.execute(sql, *args)

        def __getattr__(self, name: str) -> object:
            return getattr(self.connection, name)

    monkeypatch.setattr(inline_reads.InlineConnections, "_connect", lambda self: Recovering(real_connect(self)))
    db = sqlite_api.runtime.db
    assert db._inline is not None
    db._inline._idle.clear()
    async with db.reading_driver(snapshot=True) as reads:
        organization = await queries.organization(reads, org_id=sqlite_api.org_id)
        assert isinstance(reads, inline_reads.InlineReads) and reads._moved is not None
    assert organization is not None and organization.name == "Acme"


async def test_a_read_in_flight_when_the_database_is_disposed_closes_its_connection(sqlite_api: Api) -> None:
    db = Database(sqlite_settings(Path(api_path(sqlite_api))))
    async with db.reading_driver(snapshot=True) as reads:
        await queries.organization(reads, org_id=sqlite_api.org_id)
        await db.dispose()
        connection = reads._driver
    assert db._inline is not None and db._inline._idle == []
    with pytest.raises(sqlite3.ProgrammingError):  # closed, not kept
        connection.execute("SELECT 1")
