"""PostgreSQL driver reads keep their connection checked out between reads (storage/parked.py):
no pool checkout (and its greenlet) per read, and none of the pool's rules skipped on reuse."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from sqlalchemy import event

from gql_telephony.settings import Settings
from gql_telephony.storage.db import Database, retrying_disconnects

from .. import backends

pytestmark = pytest.mark.skipif("postgresql" not in backends.BACKENDS, reason="PostgreSQL is not among the backends")


@pytest.fixture
async def db() -> AsyncIterator[Database]:
    keys = (Fernet.generate_key().decode(),)
    async with backends.postgres_database(keys) as url:
        database = Database(Settings(database_url=url, secret_keys=keys))
        yield database
        await database.dispose()


async def backend_pid(db: Database, attempts: list[str] | None = None) -> int:
    try:
        async with db.reading_driver(snapshot=True) as reads:
            pid = int((await reads.execute(sa.select(sa.func.pg_backend_pid()))).scalar_one())
    except sa.exc.DBAPIError as error:
        if attempts is not None:
            attempts.append("invalidated" if error.connection_invalidated else "failed")
        raise
    if attempts is not None:
        attempts.append("answered")
    return pid


def checkouts_of(db: Database) -> list[object]:
    seen: list[object] = []
    event.listen(db.read_engine.sync_engine.pool, "checkout", lambda *args: seen.append(args))
    return seen


async def test_reads_one_after_another_check_out_once(db: Database) -> None:
    checkouts = checkouts_of(db)
    pids = {await backend_pid(db) for _ in range(5)}
    assert len(pids) == 1 and len(checkouts) == 1
    # Reads at once take as many connections as they need, and keep them.
    async with db.reading_driver(snapshot=False) as first, db.reading_driver(snapshot=False) as second:
        assert first._driver is not second._driver
    assert len(checkouts) == 2
    await asyncio.gather(*(backend_pid(db) for _ in range(2)))
    assert len(checkouts) == 2


async def test_a_connection_parked_for_long_is_closed_not_reused(db: Database) -> None:
    """As the pool pings a connection idle for long, a parked one idle as long is replaced."""
    db.idle_ping_seconds = 0.2
    first = await backend_pid(db)
    assert await backend_pid(db) == first  # just parked: reused
    await asyncio.sleep(0.3)
    assert await backend_pid(db) != first


async def test_a_parked_connection_the_server_closed_is_not_handed_out(db: Database) -> None:
    """Known closed without a round trip: the read gets a live one at once, no retry needed."""
    first = await backend_pid(db)
    async with db.writing() as session:
        await session.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
    await asyncio.sleep(0.2)  # the terminated backend's goodbye reaches the parked connection
    attempts: list[str] = []
    second = await retrying_disconnects(lambda: backend_pid(db, attempts))
    assert second != first and attempts == ["answered"]


async def test_dispose_closes_parked_connections(db: Database) -> None:
    async with db.reading_driver(snapshot=False) as first, db.reading_driver(snapshot=False) as second:
        drivers = [first._driver, second._driver]
    assert not any(driver.is_closed() for driver in drivers)  # parked, open
    await db.dispose()
    assert all(driver.is_closed() for driver in drivers)


async def test_kept_connections_never_make_a_writer_wait() -> None:
    """Read and write through one pool (2 + 2 overflow, a 1 s wait): after reads at once have
    kept what they may, four writers at once, each holding its connection longer than the pool's
    wait, all get one."""
    keys = (Fernet.generate_key().decode(),)
    async with backends.postgres_database(keys) as url:
        db = Database(Settings(database_url=url, secret_keys=keys, db_pool_size=2, db_pool_timeout=1))
        try:
            async def slow_read() -> None:
                async with db.reading_driver(snapshot=False) as reads:
                    await reads.execute(sa.select(sa.func.pg_sleep(0.1)))

            await asyncio.gather(*(slow_read() for _ in range(4)))
            assert db._parked is not None and len(db._parked._parked) >= 1  # some were kept

            async def slow_write() -> None:
                async with db.writing() as session:
                    await session.execute(sa.text("SELECT pg_sleep(1.3)"))

            await asyncio.gather(*(slow_write() for _ in range(4)))
        finally:
            await db.dispose()
