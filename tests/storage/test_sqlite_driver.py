"""SQLite's adapter (storage/sqlite_driver.py): one trip to aiosqlite's thread per statement, and
everything SQLAlchemy reads of a statement afterwards (rows, rowcount, errors) as sqlite3 gave it."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from gql_telephony.storage import sqlite_driver
from gql_telephony.storage.db import Database
from gql_telephony.storage.sqlite_driver import OneTripDBAPI

from ..support import sqlite_settings
from .watch import Trip, loop_gaps


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(sqlite_settings(tmp_path / "driver.sqlite3"))
    async with database.writing() as session:
        await session.execute(sa.text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL)"))
    yield database
    await database.dispose()


async def test_both_engines_use_the_one_trip_adapter(db: Database) -> None:
    for engine in db.engines:
        assert isinstance(engine.dialect.dbapi, OneTripDBAPI)


async def test_a_statement_is_one_trip_and_keeps_its_rows_and_rowcount(db: Database, trips: list[Trip]) -> None:
    """On the reading engine, whose statements all go to the thread (the writer's, inside a
    transaction, do not: below)."""
    async with db.read_engine.begin() as connection:
        await connection.execute(sa.text("SELECT 1"))  # the transaction's BEGIN goes first
        trips.clear()
        inserted = (await connection.execute(
            sa.text("INSERT INTO t (name) VALUES ('a'), ('b') RETURNING id, name")
        )).all()
        assert len(trips) == 1
        assert [tuple(row) for row in inserted] == [(1, "a"), (2, "b")]
        updated = await connection.execute(sa.text("UPDATE t SET name = name || '!' WHERE id > 0"))
        assert len(trips) == 2
        assert updated.rowcount == 2
        await connection.execute(sa.text("INSERT INTO t (name) VALUES (:name)"), [{"name": "c"}, {"name": "d"}])
        assert len(trips) == 3  # executemany: one trip too
    rows = [tuple(row) for row in (await _read(db, "SELECT id, name FROM t ORDER BY id"))]
    assert rows == [(1, "a!"), (2, "b!"), (3, "c"), (4, "d")]


async def test_the_writers_statements_after_its_begin_make_no_trip(db: Database, trips: list[Trip]) -> None:
    """BEGIN IMMEDIATE (which may wait for another process's lock) and COMMIT (which may
    checkpoint) on the thread; what runs between them on the loop, with the same rows, rowcount
    and errors; a bulk insert's packed payload and executemany still on the thread."""
    async with db.writing() as session:
        inserted = (await session.execute(
            sa.text("INSERT INTO t (name) VALUES ('a'), ('b') RETURNING id, name")
        )).all()
        assert [tuple(row) for row in inserted] == [(1, "a"), (2, "b")]
        updated = await session.execute(sa.text("UPDATE t SET name = name || '!' WHERE id > 0"))
        assert updated.rowcount == 2  # type: ignore[attr-defined]  # a CursorResult
        assert [trip.function for trip in trips] == ["_run"]  # the BEGIN IMMEDIATE only
        packed = "x" * (sqlite_driver.INLINE_MAX_PARAMETER + 1)
        await session.execute(sa.text("INSERT INTO t (name) VALUES (:name)"), {"name": packed})
        await session.execute(sa.text("INSERT INTO t (name) VALUES (:name)"), [{"name": "c"}, {"name": "d"}])
        await session.execute(sa.text("DELETE FROM t WHERE name = 'nobody'"))  # a DELETE may cascade: the thread
        assert [trip.function for trip in trips] == ["_run", "_run", "_run_many", "_run"]
    assert [trip.function for trip in trips][-1] == "commit"
    with pytest.raises(IntegrityError):  # raised on the loop as on the thread
        async with db.writing() as session:
            await session.execute(sa.text("INSERT INTO t (name) VALUES ('a!')"))
    rows = [tuple(row) for row in (await _read(db, "SELECT id, name FROM t WHERE length(name) < 10 ORDER BY id"))]
    assert rows == [(1, "a!"), (2, "b!"), (4, "c"), (5, "d")]


async def test_only_a_transaction_holding_the_write_lock_runs_on_the_loop(db: Database, trips: list[Trip]) -> None:
    """A transaction on the writer not begun by BEGIN IMMEDIATE (a deferred BEGIN) could still
    wait for a lock at any statement: its statements go to the thread."""
    async with db.write_engine.connect() as connection:
        await connection.execution_options(one_statement=True)  # no BEGIN IMMEDIATE from the engine
        await connection.exec_driver_sql("BEGIN")
        trips.clear()
        await connection.execute(sa.text("INSERT INTO t (name) VALUES ('deferred')"))
        assert [trip.function for trip in trips] == ["_run"]
        await connection.commit()
    trips.clear()
    async with db.writing() as session:  # and the flag ends with the transaction before
        await session.execute(sa.text("SELECT 1"))
    assert [trip.function for trip in trips] == ["_run", "commit"]


async def test_the_writers_core_connection_runs_its_statements_on_the_loop_too(db: Database) -> None:
    """SQLAlchemy's AsyncConnection (not a session) refuses a statement during which nothing
    was awaited, suspecting a synchronous driver: the writer's inline statements satisfy it."""
    async with db.write_engine.begin() as connection:
        await connection.execute(sa.text("INSERT INTO t (name) VALUES ('core')"))
        assert (await connection.execute(sa.text("SELECT name FROM t"))).scalar_one() == "core"


async def test_a_writer_waiting_for_another_processs_lock_does_not_hold_the_loop(db: Database, tmp_path: Path) -> None:
    locker = sqlite3.connect(tmp_path / "driver.sqlite3", isolation_level=None)
    locker.execute("BEGIN IMMEDIATE")
    locker.execute("INSERT INTO t (name) VALUES ('theirs')")
    asyncio.get_running_loop().call_later(0.5, locker.execute, "COMMIT")
    try:
        async with loop_gaps() as gaps, db.writing() as session:
            await session.execute(sa.text("INSERT INTO t (name) VALUES ('ours')"))
    finally:
        locker.close()
    assert [row[0] for row in await _read(db, "SELECT name FROM t ORDER BY id")] == ["theirs", "ours"]
    assert max(gaps) < 0.3, f"the loop stalled for {max(gaps):.2f} s"


async def test_no_trip_for_a_rollback_outside_a_transaction(db: Database, trips: list[Trip]) -> None:
    """A commit's connection goes back to the pool without a rollback sent after it; a read of one
    statement (no BEGIN) closes without one either."""
    async with db.writing() as session:
        await session.execute(sa.text("INSERT INTO t (name) VALUES ('a')"))
    assert [trip.function for trip in trips] == ["_run", "commit"]  # BEGIN IMMEDIATE (the INSERT: on the loop)
    await _read(db, "SELECT 1")  # the reader's connection is opened (its PRAGMAs) before counting
    trips.clear()
    async with db.reading_rows(one_statement=True) as connection:
        await connection.execute(sa.text("SELECT name FROM t"))
    assert [trip.function for trip in trips] == ["_run"]


async def test_a_rollback_inside_a_transaction_still_rolls_back(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.writing() as session:
            await session.execute(sa.text("INSERT INTO t (name) VALUES ('gone')"))
            raise RuntimeError("refused")
    assert await _read(db, "SELECT name FROM t") == []
    async with db.reading_rows() as connection:  # a read with BEGIN: its close ends it
        await connection.execute(sa.text("SELECT name FROM t"))
    async with db.writing() as session:  # so this BEGIN IMMEDIATE finds no transaction open
        await session.execute(sa.text("INSERT INTO t (name) VALUES ('kept')"))
    assert [row[0] for row in await _read(db, "SELECT name FROM t")] == ["kept"]


async def test_a_broken_constraint_is_an_integrity_error_and_the_connection_goes_on(db: Database) -> None:
    async with db.writing() as session:
        await session.execute(sa.text("INSERT INTO t (name) VALUES ('x')"))
    with pytest.raises(IntegrityError):
        async with db.writing() as session:
            await session.execute(sa.text("INSERT INTO t (name) VALUES ('x')"))
    async with db.writing() as session:
        await session.execute(sa.text("INSERT INTO t (name) VALUES ('y')"))
    assert [row[0] for row in await _read(db, "SELECT name FROM t ORDER BY id")] == ["x", "y"]


async def _read(db: Database, sql: str) -> list[Any]:
    async with db.reading_rows() as connection:
        return list((await connection.execute(sa.text(sql))).all())


async def test_rows_can_be_fetched_a_few_at_a_time(db: Database) -> None:
    async with db.writing() as session:
        await session.execute(sa.text("INSERT INTO t (name) VALUES ('a'), ('b'), ('c')"))
    async with db.reading_rows() as connection:
        result = await connection.execute(sa.text("SELECT name FROM t ORDER BY id"))
        assert [tuple(row) for row in result.fetchmany()] == [("a",)]  # one row, as sqlite3's arraysize
        assert [[tuple(row) for row in part] for part in result.partitions()] == [[("b",)], [("c",)]]
        assert result.fetchmany(5) == []
