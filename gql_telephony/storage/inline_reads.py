"""SQLite reads on the event loop's own thread.

A driver read through aiosqlite is a hand-over to the connection's thread and back for every
statement, and a greenlet for the pool's checkout and checkin: for a key's look-up (one indexed
SELECT, tens of microseconds in SQLite) that hand-over was most of the request's cost
(docs/PERFORMANCE.md, "Per-request fixed costs"). Here the statements of `Database.reading_driver`
run on plain `sqlite3` connections kept by the database, called directly.

The loop is held while each statement runs: microseconds for a key's look-up, a few milliseconds
for the page statement of a 100x100 dashboard (on a thread, those milliseconds were spent in
hand-overs of the GIL instead). What it must never do is wait. In WAL mode a reader never waits
for a writer; the only waits left are locks no writer of ours takes (another process in exclusive
locking mode, a crash recovery being run by another connection): these connections do not wait at
all (busy timeout 0), and a read that meets such a lock runs on a pooled aiosqlite connection
instead, which waits on its own thread. A read transaction's snapshot starts at its first SELECT,
so the switch is only made there; later statements cannot meet that lock.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

from .driver import DriverReads, Rows, Statements

# Idle connections kept; more may be open at once (one per read in flight), and are closed when
# they come back beyond this.
KEPT_CONNECTIONS = 8

Fallback = Callable[[bool], AbstractAsyncContextManager[DriverReads]]


class InlineConnections:
    """Read-only `sqlite3` connections on one file, handed to one read at a time."""

    def __init__(self, path: Path) -> None:
        self.path, self.keep = path, KEPT_CONNECTIONS
        self._idle: list[sqlite3.Connection] = []
        self._closed = False  # after close(): a connection coming back is closed, not kept

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: transactions begin where the reads say, not where sqlite3 guesses.
        # check_same_thread=False: a connection is used by one read at a time, whatever thread
        # its event loop runs on (tests run loops on several threads).
        connection = sqlite3.connect(self.path, timeout=0, isolation_level=None, check_same_thread=False)
        connection.execute("PRAGMA query_only=ON")
        return connection

    @asynccontextmanager
    async def reading(self, statements: Statements, *, snapshot: bool,
                      fallback: Fallback) -> AsyncIterator[DriverReads]:
        try:
            connection = self._idle.pop()
        except IndexError:  # (not a test first: loops on other threads take from the same list)
            connection = self._connect()
        reads = InlineReads(statements, connection, snapshot=snapshot, fallback=fallback)
        try:
            async with reads.stack:  # a read moved to a pooled connection gives it back here
                if snapshot:
                    reads.heard("BEGIN", ())
                    connection.execute("BEGIN")
                yield reads
        finally:
            healthy = True
            try:
                if connection.in_transaction:
                    connection.rollback()
            except sqlite3.Error:
                healthy = False  # a transaction may still be open on it: not used again
            if healthy and not self._closed and len(self._idle) < self.keep:
                self._idle.append(connection)
            else:
                connection.close()

    def close(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()


class InlineReads(DriverReads):
    """The statements of one read, on an inline connection (or, once a lock was met at its
    first SELECT, on the pooled aiosqlite connection it moved to)."""

    def __init__(self, statements: Statements, connection: sqlite3.Connection, *, snapshot: bool,
                 fallback: Fallback) -> None:
        self._statements, self._driver = statements, connection
        self._snapshot, self._fallback = snapshot, fallback
        self._started = False  # a SELECT ran: the snapshot is taken, the read stays here
        self._moved: DriverReads | None = None
        self.stack = AsyncExitStack()

    async def execute(self, statement: Any, params: Mapping[str, Any] | None = None) -> Rows:
        if self._moved is not None:
            return await self._moved.execute(statement, params)
        compiled, sql, positional = self._statements.sql(statement, params)
        self.heard(sql, positional)
        try:
            raw = self._driver.execute(sql, positional).fetchall()
        except sqlite3.OperationalError as error:
            # The primary code: SQLite reports extended ones (SQLITE_BUSY_RECOVERY is BUSY's).
            if self._started or error.sqlite_errorcode & 0xFF not in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                raise
            self._moved = await self.stack.enter_async_context(self._fallback(self._snapshot))
            return await self._moved.execute(statement, params)
        self._started = True
        return Rows(compiled, raw)
