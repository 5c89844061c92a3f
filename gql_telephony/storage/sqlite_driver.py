"""SQLAlchemy's aiosqlite adapter, with each statement one trip to aiosqlite's thread.

SQLAlchemy's own adapter makes three or four trips per statement (open a cursor, execute, fetch
the rows, close the cursor), each a hand-over of the GIL between the event loop and aiosqlite's
thread: that hand-over was the largest single cost of a write (docs/PERFORMANCE.md, "Single
writes, round 3"). Here the cursor is opened, executed, read to the end and closed in one call
on that thread; what SQLAlchemy asks of it afterwards (description, rowcount, lastrowid, rows)
is kept from that call. Server-side cursors (streamed results) are SQLAlchemy's own, unchanged.

This leans on aiosqlite's `Connection._execute` (run a function on its thread), which is
private: requirements.lock pins aiosqlite, and tests/storage/test_sqlite_driver.py checks the
adapter is in use and what it keeps.
"""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, cast

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_

# A statement with a text or blob parameter longer than this (a bulk insert's packed rows) runs
# on aiosqlite's thread even inside a transaction: the loop is not held while it runs.
INLINE_MAX_PARAMETER = 16_384

# What one statement leaves behind: description, rowcount, lastrowid, rows.
Outcome = tuple[Any, int, int | None, list[Any]]


def _run(connection: sqlite3.Connection, operation: str, parameters: Any) -> Outcome:
    """On aiosqlite's thread: the whole statement, its cursor closed before returning."""
    cursor = connection.cursor()
    try:
        if parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        rows = cursor.fetchall() if cursor.description else []
        return cursor.description, cursor.rowcount, cursor.lastrowid, rows
    finally:
        cursor.close()


async def _nothing() -> None:
    return None


def _run_many(connection: sqlite3.Connection, operation: str, parameters: Sequence[Any]) -> Outcome:
    cursor = connection.cursor()
    try:
        cursor.executemany(operation, parameters)
        return None, cursor.rowcount, cursor.lastrowid, []
    finally:
        cursor.close()


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    __slots__ = ("_description", "_rowcount", "_lastrowid", "_arraysize")

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection) -> None:
        # No cursor is opened here: each statement opens and closes its own on the thread.
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]  # never an aiosqlite cursor here
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None
        self._arraysize = 1  # sqlite3's default: fetchmany() with no size takes one row

    @property
    def arraysize(self) -> int:
        return self._arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._arraysize = value

    def nextset(self) -> None:
        return None  # sqlite3 has no result sets beyond the first

    def setinputsizes(self, *inputsizes: Any) -> None:
        return None  # as sqlite3's: sizes are ignored

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> int:
        return self._lastrowid  # type: ignore[return-value]  # None before any insert, as sqlite3's

    async def _async_soft_close(self) -> None:
        return  # nothing is open on the thread after a statement

    def close(self) -> None:
        self._rows.clear()

    def _outcome(self, outcome: Outcome) -> Any:
        self._description, self._rowcount, self._lastrowid, rows = outcome
        self._rows = collections.deque(rows)

    def _on_thread(self, fn: Callable[..., Outcome], operation: Any, parameters: Any) -> Outcome:
        connection = cast(aiosqlite.Connection, self._connection)
        execute = cast(Callable[..., Awaitable[Outcome]], connection._execute)  # untyped in aiosqlite
        return await_(execute(fn, connection._conn, operation, parameters))

    def _inline(self, operation: Any, parameters: Any) -> sqlite3.Connection | None:
        """The sqlite3 connection, when this statement may run on the loop's own thread: inside
        a transaction whose BEGIN IMMEDIATE took the write lock (nothing left to wait for), and
        not one that may run long, holding the loop meanwhile: a DELETE (it may cascade over a
        configuration's numbers) or one carrying a bulk insert's payload."""
        adapted = cast(OneTripConnection, self._adapt_connection)
        if not adapted.write_locked:
            return None
        connection: sqlite3.Connection = cast(aiosqlite.Connection, self._connection)._conn
        if not connection.in_transaction or operation.lstrip()[:6].upper() == "DELETE":
            return None
        values = parameters.values() if isinstance(parameters, dict) else parameters or ()
        if any(isinstance(value, str | bytes) and len(value) > INLINE_MAX_PARAMETER for value in values):
            return None
        return connection

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        try:
            inline = self._inline(operation, parameters)
            if inline is not None:
                self._outcome(_run(inline, operation, parameters))
                # SQLAlchemy's AsyncConnection.execute insists that something was awaited (else it
                # suspects a synchronous driver): a finished coroutine, a few microseconds.
                await_(_nothing())
            else:
                self._outcome(self._on_thread(_run, operation, parameters))
                adapted = cast(OneTripConnection, self._adapt_connection)
                if adapted.dbapi.inline_in_transaction and operation == "BEGIN IMMEDIATE":
                    adapted.write_locked = True
        except Exception as error:
            self._adapt_connection._handle_exception(error)

    def executemany(self, operation: Any, seq_of_parameters: Any) -> Any:
        try:
            self._outcome(self._on_thread(_run_many, operation, seq_of_parameters))
        except Exception as error:
            self._adapt_connection._handle_exception(error)


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    # write_locked: this connection's BEGIN IMMEDIATE succeeded and its transaction has not ended
    # (only ever set on the writer, see OneTripDBAPI).
    __slots__ = ("write_locked",)
    _cursor_cls = OneTripCursor  # type: ignore[assignment]  # a subclass; mypy compares constructors

    def commit(self) -> None:
        self.write_locked = False
        super().commit()

    def rollback(self) -> None:
        self.write_locked = False
        # Outside a transaction sqlite3's rollback does nothing: no trip for it (the pool's reset
        # after every commit, the close of a read that sent no BEGIN). The flag is sqlite3's own,
        # read while nothing of this connection runs on the thread.
        connection = cast(aiosqlite.Connection, self._connection)._connection
        try:
            idle = connection is not None and not connection.in_transaction
        except sqlite3.ProgrammingError:
            idle = False  # a sqlite3 that will not answer from this thread: roll back on the thread
        if not idle:
            super().rollback()


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """Pass as create_async_engine(..., module=OneTripDBAPI()) with a sqlite+aiosqlite URL.

    `inline_in_transaction`: the statements of a transaction after its BEGIN IMMEDIATE run on the
    event loop's thread, with no trip (for the writer: BEGIN IMMEDIATE takes the write lock on
    aiosqlite's thread, waiting there if another process holds it; once it is held no statement
    can wait on a lock in WAL mode). The loop is held while each runs, so what may run long stays
    on the thread: a DELETE, executemany, a bulk payload; and the COMMIT, which may run a
    checkpoint with its fsyncs. Its connections are opened with check_same_thread=False."""

    def __init__(self, *, inline_in_transaction: bool = False) -> None:
        super().__init__(aiosqlite, sqlite3)
        self.inline_in_transaction = inline_in_transaction

    def connect(self, *arg: Any, **kw: Any) -> OneTripConnection:
        if self.inline_in_transaction:
            kw["check_same_thread"] = False  # used by one caller at a time, on the thread or the loop
        connection = aiosqlite.connect(*arg, **kw)
        connection._thread.daemon = True  # as SQLAlchemy's: a forgotten connection never holds the process
        adapted = OneTripConnection(self, cast(Any, await_(connection)))
        adapted.write_locked = False
        return adapted
