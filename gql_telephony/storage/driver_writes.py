"""Write transactions run straight on the driver's connection, as driver reads are (driver.py).

A single write (a rename, a label, a new default, an added number) is a handful of small
statements in one transaction. Through an AsyncSession each statement also paid for the ORM's
execution path, a greenlet, SQLAlchemy's execution context and result, and the session's begin,
commit and close: together about a third of the server's CPU per write (docs/PERFORMANCE.md,
"Round 6: single writes"). Here the same Core statements are compiled once per shape by the
dialect (driver.Statements) and run by the driver, in a transaction this module begins and ends:

- SQLite: the writer's one connection, all of it on the loop's own thread when nothing can make
  it wait (SQLiteWriter says when BEGIN IMMEDIATE and COMMIT go to aiosqlite's thread instead).
  Once the write lock is held, the statements run on the loop as the writer's statements through
  SQLAlchemy do (sqlite_driver.py), with the same exceptions: a DELETE, or a payload over
  INLINE_MAX_PARAMETER, goes to the thread.
- PostgreSQL: a pooled asyncpg connection, in an asyncpg transaction.

A broken constraint comes out as SQLAlchemy's IntegrityError (the services word it as a user
error, storage/constraints.py reads it); any other driver error as its DBAPIError.
An INSERT given a dict per row (`sa.insert(table)` with no values) gets the VALUES of the keys
given, and of the columns' Python-side defaults, as SQLAlchemy would give them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy import exc
from sqlalchemy.ext.asyncio import AsyncSession

from .driver import DriverReads, Rows, Statements
from .sqlite_driver import INLINE_MAX_PARAMETER, _run, _run_many

# Rows of an executemany run on the loop's thread up to this many (a write's one or two audit
# events); more (a check's numbers) go to aiosqlite's thread.
INLINE_MAX_ROWS = 50
_EMPTY: Mapping[str, Any] = {}
# INSERTs given VALUES, by (the statement, the keys given): the statement, the one with VALUES,
# and the columns whose Python-side defaults fill the rest. Statements are built once (module
# constants), so these are few; the bound only matters if they were built per call.
_INSERTS: dict[tuple[int, frozenset[str]], tuple[Any, Any, tuple[tuple[str, sa.ColumnDefault], ...]]] = {}
MAX_KEPT_INSERTS = 1_000
# Commits of the driver path on SQLite between two checkpoints (see SQLiteWriter).
CHECKPOINT_EVERY = 100


class DriverWrites(DriverReads):
    """The statements of one write transaction, run by the driver (see the module's note)."""

    def __init__(self, statements: Statements, driver: Any) -> None:
        super().__init__(statements, driver)
        self.info: dict[Any, Any] = {}  # as a session's: what a write learnt for later steps

    async def execute(self, statement: Any, params: Any = None) -> Rows:
        if isinstance(params, Sequence) and not isinstance(params, Mapping):
            return await self._execute_many(statement, params)
        statement, params = self._with_values(statement, params)
        compiled, sql, positional = self._statements.sql(statement, params)
        self.heard(sql, positional)
        try:
            return Rows(compiled, await self._run(sql, positional))
        except Exception as error:
            raise _translated(error, sql) from error

    async def _execute_many(self, statement: Any, rows: Sequence[Mapping[str, Any]]) -> Rows:
        if not rows:
            raise exc.ArgumentError("an executemany needs at least one row")
        prepared = [self._with_values(statement, row) for row in rows]
        statement = prepared[0][0]
        if getattr(statement, "_returning", ()):
            raise exc.ArgumentError("an executemany with RETURNING is not run on the driver path")
        compiled, sql, _ = self._statements.sql(statement, prepared[0][1])
        positional = [self._statements.sql(statement, row)[2] for _, row in prepared]
        self.heard(sql, positional, executemany=True)
        try:
            await self._run_many(sql, positional)
        except Exception as error:
            raise _translated(error, sql) from error
        return Rows(compiled, [])

    def _with_values(self, statement: Any, params: Mapping[str, Any] | None) -> tuple[Any, Mapping[str, Any]]:
        """An INSERT without VALUES as SQLAlchemy runs it with these parameters: the columns given,
        and those with a Python-side default (filled in here, as SQLAlchemy's execution would)."""
        params = params or _EMPTY
        if not isinstance(statement, sa.Insert) or statement._values or statement._multi_values \
                or statement.select is not None:
            return statement, params
        given = frozenset(params)
        found = _INSERTS.get((id(statement), given))
        if found is None or found[0] is not statement:
            table = cast(sa.Table, statement.table)
            defaults = tuple((column.key, column.default) for column in table.columns
                             if column.key not in given and isinstance(column.default, sa.ColumnDefault))
            keys = sorted(given | {key for key, _ in defaults})
            found = (statement, statement.values({key: sa.bindparam(key) for key in keys}), defaults)
            if len(_INSERTS) >= MAX_KEPT_INSERTS:
                _INSERTS.clear()
            _INSERTS[(id(statement), given)] = found
        _, with_values, defaults = found
        if defaults:
            params = {**params, **{key: _default_value(default) for key, default in defaults}}
        return with_values, params

    async def _run(self, sql: str, positional: tuple[Any, ...]) -> Sequence[Any]:
        raise NotImplementedError

    async def _run_many(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        raise NotImplementedError


def _default_value(default: sa.ColumnDefault) -> Any:
    if default.is_scalar:
        return default.arg
    if default.is_callable:
        return default.arg(None)  # SQLAlchemy wraps a callable of no argument to take its context
    raise exc.ArgumentError(f"a SQL default ({default!r}) is not run on the driver path: give the value")


# What a write's storage helpers are given: a session, or the driver's transaction.
Writer = AsyncSession | DriverWrites


class SQLiteWrites(DriverWrites):
    """On the writer's aiosqlite connection; `_driver` is aiosqlite's, `_connection` sqlite3's."""

    def __init__(self, statements: Statements, driver: Any) -> None:
        super().__init__(statements, driver)
        self._connection: sqlite3.Connection = driver._conn
        self._on_thread: Any = driver._execute  # aiosqlite's: runs a function on its thread

    async def _run(self, sql: str, positional: tuple[Any, ...]) -> Sequence[Any]:
        if _may_run_long(sql, positional):
            return cast(list[Any], (await self._on_thread(_run, self._connection, sql, positional))[3])
        return self._connection.execute(sql, positional).fetchall()

    async def _run_many(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        if len(rows) > INLINE_MAX_ROWS or any(_may_run_long(sql, row) for row in rows):
            await self._on_thread(_run_many, self._connection, sql, rows)
        else:
            self._connection.executemany(sql, rows)


def _may_run_long(sql: str, positional: tuple[Any, ...]) -> bool:
    """What stays off the loop's thread (sqlite_driver.py says why)."""
    return sql.lstrip()[:6].upper() == "DELETE" or any(
        isinstance(value, str | bytes) and len(value) > INLINE_MAX_PARAMETER for value in positional
    )


class PostgresWrites(DriverWrites):
    async def _run(self, sql: str, positional: tuple[Any, ...]) -> Sequence[Any]:
        return cast(Sequence[Any], await self._driver.fetch(sql, *positional))

    async def _run_many(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        await self._driver.executemany(sql, rows)


def _translated(error: Exception, sql: str) -> Exception:
    """The driver's error as SQLAlchemy would raise it (the services catch IntegrityError).
    asyncpg's classes are known by name: that module is not loaded for SQLite."""
    if isinstance(error, exc.SQLAlchemyError):
        return error
    names = {klass.__name__ for klass in type(error).__mro__}
    if isinstance(error, sqlite3.IntegrityError) or "IntegrityConstraintViolationError" in names:
        return exc.IntegrityError(sql, None, error)
    if isinstance(error, sqlite3.Error) or names & {"PostgresError", "InterfaceError"}:
        return exc.DBAPIError(sql, None, error)
    return error


class SQLiteWriter:
    """Transactions of the driver path on the SQLite writer's connection, begun and committed on
    the loop's own thread when nothing can make them wait (each trip to aiosqlite's thread is a
    hand-over of the GIL there and back: for a single write, BEGIN's and COMMIT's were about a
    fifth of the server's CPU).

    - BEGIN IMMEDIATE is tried at once with the busy timeout off: it only waits when another
      connection holds the write lock (another process; our writers share one connection). If it
      is held, BEGIN IMMEDIATE runs on aiosqlite's thread instead, waiting there with the
      connection's busy timeout.
    - COMMIT in WAL mode with synchronous=NORMAL appends to the WAL and syncs nothing, unless it
      runs the automatic checkpoint, whose copying and fsyncs could hold the loop for
      milliseconds. So the automatic checkpoint is off during this COMMIT, and every
      CHECKPOINT_EVERY commits of this path a PASSIVE checkpoint runs on aiosqlite's thread
      instead (this path's writes are a few pages each, so the WAL stays about as small as the
      automatic checkpoint keeps it; the ORM path's commits keep their automatic checkpoint).
    """

    def __init__(self, busy_timeout_ms: int) -> None:
        self.busy_timeout_ms = busy_timeout_ms
        self.commits_since_checkpoint = 0

    @asynccontextmanager
    async def transaction(self, statements: Statements, driver: Any) -> AsyncIterator[DriverWrites]:
        """BEGIN IMMEDIATE ... COMMIT on the writer's aiosqlite connection (rolled back on error)."""
        writes = SQLiteWrites(statements, driver)
        connection: sqlite3.Connection = driver._conn
        writes.heard("BEGIN IMMEDIATE", ())
        try:
            if not self._begun_at_once(connection):
                await driver._execute(_run, connection, "BEGIN IMMEDIATE", None)
        except sqlite3.Error as error:
            raise exc.DBAPIError("BEGIN IMMEDIATE", None, error) from error
        try:
            yield writes
        except BaseException:
            await driver.rollback()
            raise
        try:
            if not self._committed_at_once(connection):
                await driver.commit()
        except sqlite3.Error as error:
            await driver.rollback()
            raise _translated(error, "COMMIT") from error
        self.commits_since_checkpoint += 1
        if self.commits_since_checkpoint >= CHECKPOINT_EVERY:
            self.commits_since_checkpoint = 0
            await driver._execute(_run, connection, "PRAGMA wal_checkpoint(PASSIVE)", None)

    def _begun_at_once(self, connection: sqlite3.Connection) -> bool:
        connection.execute("PRAGMA busy_timeout=0")
        try:
            connection.execute("BEGIN IMMEDIATE")
            return True
        except sqlite3.OperationalError as error:
            if error.sqlite_errorcode & 0xFF not in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                raise
            return False  # another connection writes: wait for it on the thread
        finally:
            connection.execute(f"PRAGMA busy_timeout={self.busy_timeout_ms}")

    @staticmethod
    def _committed_at_once(connection: sqlite3.Connection) -> bool:
        automatic = connection.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
        connection.execute("PRAGMA wal_autocheckpoint=0")
        try:
            connection.commit()
            return True
        except sqlite3.OperationalError as error:
            if error.sqlite_errorcode & 0xFF not in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                raise
            return False  # (not seen with the write lock held; if it were, the thread waits)
        finally:
            connection.execute(f"PRAGMA wal_autocheckpoint={automatic}")


@asynccontextmanager
async def postgres_transaction(statements: Statements, driver: Any) -> AsyncIterator[DriverWrites]:
    writes = PostgresWrites(statements, driver)
    transaction = driver.transaction()
    await transaction.start()  # (not told to the listeners: a session's BEGIN on asyncpg is not either)
    try:
        yield writes
    except BaseException:
        if not driver.is_closed():
            await transaction.rollback()
        raise
    try:
        await transaction.commit()
    except Exception as error:
        raise _translated(error, "COMMIT") from error
