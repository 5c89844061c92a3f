"""Engines and units of work.

SQLite gets two engines on one file: readers run concurrently under WAL; writers share one
connection and open their transactions with BEGIN IMMEDIATE, so two writers never deadlock
on a lock upgrade and none sees "database is locked" while the busy timeout lasts. The driver
reads (`reading_driver`) run on plain sqlite3 connections on the event loop's own thread
(storage/inline_reads.py): a WAL reader never waits for a writer.

PostgreSQL: every round trip is waited for, so none is spent on what the statements do not need
(bench/round_trips.py lists them): no ping on a busy connection's checkout (a connection the
server closed is known closed without asking, and one idle long enough for a NAT or firewall to
have dropped it silently is pinged first, see `_checkout_guard`; one that still dies unnoticed
fails its first statement, and a read is retried once, see `retrying_disconnects`); a
single-statement read runs without BEGIN and ROLLBACK; a snapshot read sets its isolation in its
BEGIN.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, TypeVar

import orjson
from sqlalchemy import event, exc
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.util import greenlet_spawn

from ..settings import Settings
from .driver import DriverReads, Statements
from .driver_writes import DriverWrites, SQLiteWriter, postgres_transaction
from .inline_reads import InlineConnections
from .parked import ParkedConnections
from .sqlite_driver import OneTripDBAPI

SQLITE_BUSY_TIMEOUT_MS = 30_000
# A pooled PostgreSQL connection unused this long is pinged before it is handed out: idle
# timeouts of NATs and firewalls are minutes, and a write cannot be retried the way a read is.
IDLE_PING_SECONDS = 30.0
T = TypeVar("T")


class Database:
    def __init__(self, settings: Settings) -> None:
        self.url = settings.database_url
        self.is_sqlite = settings.is_sqlite
        self._parked: ParkedConnections | None = None
        if self.is_sqlite:
            # aiosqlite logs every statement with its parameters at DEBUG, whatever
            # hide_parameters says: keep it quiet even when the root logger is at DEBUG.
            logging.getLogger("aiosqlite").setLevel(logging.INFO)
            if settings.sqlite_path is not None:
                settings.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
            self.read_engine = _sqlite_engine(self.url, begin="BEGIN")
            # One writer connection: in-process writers queue for it instead of spinning on locks.
            self.write_engine = _sqlite_engine(
                self.url, begin="BEGIN IMMEDIATE", inline=True, pool_size=1, max_overflow=0, pool_timeout=120
            )
        else:
            self.read_engine = self.write_engine = create_async_engine(
                self.url,
                pool_size=settings.db_pool_size,
                max_overflow=settings.db_pool_size,
                pool_timeout=settings.db_pool_timeout,
                hide_parameters=True,
                json_deserializer=orjson.loads,
            )
            self.idle_ping_seconds = IDLE_PING_SECONDS
            # Driver reads keep their connections between reads, up to half the pool (parked.py).
            self._parked = ParkedConnections(max(1, settings.db_pool_size // 2), lambda: self.idle_ping_seconds)
            event.listen(self.read_engine.sync_engine, "checkout", self._checkout_guard)
            event.listen(self.read_engine.sync_engine, "checkin", _note_idle_since)
        # SQLite driver reads on the loop's own thread (storage/inline_reads.py); a file is needed:
        # each connection to :memory: would be a database of its own.
        self._inline = (InlineConnections(settings.sqlite_path)
                        if self.is_sqlite and settings.sqlite_path is not None else None)
        self._readers = async_sessionmaker(self.read_engine, expire_on_commit=False)
        self._statements = Statements(self.read_engine)
        self._writers = async_sessionmaker(self.write_engine, expire_on_commit=False)
        self._write_statements = Statements(self.write_engine)
        self._sqlite_writer = SQLiteWriter(SQLITE_BUSY_TIMEOUT_MS)

    def _checkout_guard(self, dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        """Instead of a ping on every checkout: asyncpg knows, without a round trip, that the
        server closed a connection (a terminated backend, a restart). A connection idle for long
        may have been dropped without a word on the way (no FIN, no RST until something is sent):
        only that one is pinged. Either way the pool throws it away and opens another."""
        if dbapi_connection.driver_connection.is_closed():
            raise exc.DisconnectionError("the server closed this pooled connection")
        idle_since = record.info.get("idle_since")
        if idle_since is not None and time.monotonic() - idle_since >= self.idle_ping_seconds:
            try:
                dbapi_connection.ping()
            except Exception as error:
                raise exc.DisconnectionError("a pooled connection idle for long no longer answers") from error

    def migration_engine(self) -> AsyncEngine:
        """SQLite migrations rebuild tables, which must not cascade deletes: foreign keys off
        (checked after the migration instead)."""
        if self.is_sqlite:
            return _sqlite_engine(self.url, begin="BEGIN IMMEDIATE", foreign_keys=False)
        return self.write_engine

    @property
    def engines(self) -> tuple[AsyncEngine, ...]:
        if self.read_engine is self.write_engine:
            return (self.read_engine,)
        return (self.read_engine, self.write_engine)

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """A session for reads only; its snapshot ends with the block."""
        await self._through_the_pool()
        async with self._readers() as session:
            yield session

    @asynccontextmanager
    async def reading_rows(self, *, one_statement: bool = False) -> AsyncIterator[AsyncConnection]:
        """A connection for plain-row reads (storage/queries.py), lighter than a session: no
        identity map, no ORM. Its snapshot ends with the block. `one_statement`: the block runs
        a single SELECT, which is its own snapshot, so SQLite needs no BEGIN for it."""
        await self._through_the_pool()
        async with self.read_engine.connect() as connection:
            if one_statement:
                # PostgreSQL: no transaction, so no BEGIN and no ROLLBACK round trip.
                await connection.execution_options(
                    one_statement=True, **({} if self.is_sqlite else {"isolation_level": "AUTOCOMMIT"})
                )
            yield connection

    @asynccontextmanager
    async def reading_snapshot(self) -> AsyncIterator[AsyncConnection]:
        """Like `reading_rows`, but every statement of the block sees the same committed state:
        SQLite's read transaction does already; PostgreSQL's default (READ COMMITTED) takes a
        snapshot per statement, so the block runs in REPEATABLE READ READ ONLY there (both said in
        the BEGIN that asyncpg sends anyway: no round trip of their own)."""
        await self._through_the_pool()
        async with self.read_engine.connect() as connection:
            if not self.is_sqlite:
                await connection.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
            yield connection

    def reading_driver(self, *, snapshot: bool) -> AbstractAsyncContextManager[DriverReads]:
        """A read connection whose statements its driver runs (storage/driver.py): the cheapest
        way to run a few SELECTs. On a SQLite file, a sqlite3 connection called on the loop's own
        thread (inline_reads.py); on PostgreSQL, a pooled one kept between reads (parked.py).
        `snapshot`: every statement of the block sees the same committed state, as in
        `reading_snapshot` (SQLite: BEGIN; PostgreSQL: REPEATABLE READ READ ONLY, said in the
        BEGIN); otherwise the block runs a single SELECT, its own snapshot.
        A connection found dead fails the block with a DBAPIError whose `connection_invalidated`
        is set, as SQLAlchemy's would, so that `retrying_disconnects` runs the read again.
        (The one it picks is handed back as it is: a layer around it cost each read a generator.)"""
        if self._inline is not None:
            return self._inline.reading(self._statements, snapshot=snapshot, fallback=self._reading_pooled)
        return self._reading_pooled(snapshot)

    @asynccontextmanager
    async def _reading_pooled(self, snapshot: bool) -> AsyncIterator[DriverReads]:
        """`reading_driver` on a pooled connection of the read engine."""
        pooled = None if self._parked is None else await self._parked.take(self.read_engine.sync_engine.pool)
        if pooled is None:
            pooled = await self.read_engine.raw_connection()
        driver: Any = pooled.driver_connection
        # Set once the read's transaction has ended (or it had none): the connection goes back to
        # the pool as it is. Otherwise (the rollback failed or was itself cancelled) a transaction
        # may still be open on it, which SQLAlchemy's adapter, not having begun it, would not end:
        # it is not used again.
        settled = False
        try:
            reads = DriverReads(self._statements, driver)
            transaction = None
            if snapshot and self.is_sqlite:
                reads.heard("BEGIN", ())
                await driver.execute("BEGIN")
            elif snapshot:
                transaction = driver.transaction(isolation="repeatable_read", readonly=True)
                await transaction.start()
            try:
                yield reads
            finally:
                # Also after an error or a cancellation: asyncpg waits for a cancelled statement
                # to end before it runs the next one, and aiosqlite runs its calls in order.
                if snapshot and self.is_sqlite:
                    await driver.rollback()
                elif transaction is not None and not driver.is_closed():
                    # Ours to end: SQLAlchemy's adapter did not begin it, so it would not.
                    await transaction.rollback()
                settled = self.is_sqlite or not driver.is_closed()
        except Exception as error:
            stale = not self.is_sqlite and _is_stale_statement(error)
            if not stale and (self.is_sqlite or not driver.is_closed()):
                raise
            # As SQLAlchemy does on a disconnect: this connection and the older ones are replaced.
            # So too when a migration changed what a prepared statement reads: every pooled
            # connection holds that statement, and new ones prepare it afresh.
            settled = False
            pool = self.read_engine.sync_engine.pool
            await greenlet_spawn(pool._invalidate, pooled, error)
            raise exc.DBAPIError(None, None, error, connection_invalidated=True) from error
        finally:
            if settled and self._parked is not None and self._parked.park(pooled, self.read_engine.sync_engine.pool):
                pass  # kept for the next driver read (storage/parked.py)
            elif settled:
                # Its transaction ended above (or it had none): the pool's own rollback on return
                # would be one more call to the driver (a hop to aiosqlite's thread) for nothing.
                # (In a greenlet all the same: a pool over its size closes what comes back.)
                await greenlet_spawn(pooled._checkin, True)
            elif pooled.is_valid:  # (not invalidated above already)
                # A transaction may be open on it, or about to be (a BEGIN cancelled on its way
                # still runs on aiosqlite's thread): thrown away, its close queued after it.
                await greenlet_spawn(pooled.invalidate)

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[AsyncSession]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        await self._through_the_pool()
        async with self._writers() as session, session.begin():
            yield session

    @asynccontextmanager
    async def writing_driver(self) -> AsyncIterator[DriverWrites]:
        """One transaction whose Core statements its driver runs (storage/driver_writes.py), on the
        write engine's connection: committed when the block ends, rolled back if it raises."""
        await self._through_the_pool()
        pooled = await self.write_engine.raw_connection()
        driver: Any = pooled.driver_connection
        transaction = self._sqlite_writer.transaction if self.is_sqlite else postgres_transaction
        # Set once the transaction has ended: the connection goes back to the pool as it is.
        # Otherwise (a cancellation, or a failure while it began or ended) a transaction may still
        # be open on it, or about to be: a BEGIN IMMEDIATE cancelled while it waited on aiosqlite's
        # thread still runs there, after the pool's rollback would have found nothing to roll
        # back. The connection is thrown away instead: on SQLite its close, queued on that thread
        # after what is in flight, rolls back and lets go of the write lock.
        settled = False
        try:
            async with transaction(self._write_statements, driver) as writes:
                yield writes
            settled = True
        except Exception:
            # Rolled back (nothing is queued on aiosqlite's thread after an awaited rollback).
            settled = (not driver._conn.in_transaction if self.is_sqlite
                       else not driver.is_closed() and not driver.is_in_transaction())
            raise
        finally:
            if settled:
                await greenlet_spawn(pooled._checkin, True)
            else:
                await greenlet_spawn(pooled.invalidate)

    async def _through_the_pool(self) -> None:
        """Before a checkout through the pool (PostgreSQL): the connections driver reads keep go
        back to it if it has no idle one left, so that they never make this checkout wait."""
        if self._parked is not None:
            await self._parked.give_back_if_busy(self.write_engine.sync_engine.pool)

    async def dispose(self) -> None:
        if self._inline is not None:
            self._inline.close()
        if self._parked is not None:
            await self._parked.drain()
        for engine in self.engines:
            await engine.dispose()


async def retrying_disconnects(read: Callable[[], Awaitable[T]]) -> T:
    """A read, run again once if its connection turned out dead (the server restarted, or
    ended the backend): SQLAlchemy has thrown that connection away, and older ones with it, so
    the second run gets a live one. Only for reads: they may run twice."""
    try:
        return await read()
    except exc.DBAPIError as error:
        if not error.connection_invalidated:
            raise
    return await read()


def _is_stale_statement(error: Exception) -> bool:
    """asyncpg's prepared statement no longer matches the table (an ALTER since it was prepared);
    SQLAlchemy's own path clears its caches on this, the driver path replaces the connections."""
    import asyncpg  # type: ignore[import-untyped]  # noqa: PLC0415 - no stubs; not loaded for SQLite

    stale = (asyncpg.exceptions.InvalidCachedStatementError, asyncpg.exceptions.OutdatedSchemaCacheError)
    return isinstance(error, stale)


def _note_idle_since(_dbapi_connection: Any, record: Any) -> None:
    record.info["idle_since"] = time.monotonic()


def _sqlite_engine(url: str, *, begin: str, foreign_keys: bool = True, inline: bool = False,
                   **pool: Any) -> AsyncEngine:
    engine = create_async_engine(
        url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, hide_parameters=True,
        json_deserializer=orjson.loads,
        # One trip to aiosqlite's thread per statement, none inside a transaction if `inline`
        # (storage/sqlite_driver.py).
        module=OneTripDBAPI(inline_in_transaction=inline),
        **pool,
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin (see the "begin" hook).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            "PRAGMA journal_mode=WAL",
            f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
            f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}",
            "PRAGMA synchronous=NORMAL",
        ):
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        if not connection.get_execution_options().get("one_statement"):
            connection.exec_driver_sql(begin)

    return engine
