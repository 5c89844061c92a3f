"""Test databases, each test starting from an empty database at the newest migration.

SQLite: a file per test, copied from one migrated once per run. PostgreSQL (the server on
127.0.0.1:5432 unless GQL_TELEPHONY_TEST_POSTGRES_URL says otherwise): databases copied from a
migrated template, then reused: after a test its tables are truncated (ids restarted), once the
database is checked to be shaped as the template still (else it is dropped). Making and dropping
a database costs about half a second of disk writes; truncating, a tenth, and that while the next
test runs on another copy. Without PostgreSQL its tests skip, unless GQL_TELEPHONY_REQUIRE_SERVICES=1."""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import NoReturn

import asyncpg
import pytest

from gql_telephony.settings import Settings
from gql_telephony.storage.db import Database
from gql_telephony.storage.migrate import upgrade_to_head

REQUIRE_SERVICES = os.environ.get("GQL_TELEPHONY_REQUIRE_SERVICES") == "1"
POSTGRES_URL = os.environ.get("GQL_TELEPHONY_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
BACKENDS = [b.strip() for b in os.environ.get("GQL_TELEPHONY_TEST_BACKENDS", "sqlite,postgresql").split(",") if b.strip()]

_counter = itertools.count()
_template: str | None = None
_template_shape: str | None = None
_idle: list[str] = []  # copies of the template, emptied, waiting for the next test
_emptying: set[asyncio.Task[None]] = set()  # copies a test has left, being emptied
_unavailable: str | None = None
_sqlite_template: Path | None = None

# The database's shape, as one text: what a test could change that truncation would not undo.
SHAPE = """
SELECT string_agg(item, E'\n' ORDER BY item) FROM (
    SELECT format('relation %s %s', relkind, relname) AS item FROM pg_class
     WHERE relnamespace = 'public'::regnamespace
    UNION ALL SELECT format('column %s.%s %s %s %s', table_name, column_name, data_type, is_nullable,
                            column_default) FROM information_schema.columns WHERE table_schema = 'public'
    UNION ALL SELECT format('index %s', indexdef) FROM pg_indexes WHERE schemaname = 'public'
    UNION ALL SELECT format('constraint %s %s %s', conrelid::regclass, conname, pg_get_constraintdef(oid))
      FROM pg_constraint WHERE connamespace = 'public'::regnamespace
    UNION ALL SELECT format('trigger %s', tgname) FROM pg_trigger WHERE NOT tgisinternal
    UNION ALL SELECT format('function %s', oid::regprocedure) FROM pg_proc
     WHERE pronamespace = 'public'::regnamespace
    UNION ALL SELECT format('schema %s', nspname) FROM pg_namespace
    UNION ALL SELECT format('migration %s', version_num) FROM alembic_version
) AS shape
"""


def _admin_dsn() -> str:
    return POSTGRES_URL.replace("postgresql+asyncpg://", "postgresql://", 1)


def _url_for(database: str) -> str:
    return POSTGRES_URL.rsplit("/", 1)[0] + "/" + database


def skip_or_fail(reason: str) -> NoReturn:
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (GQL_TELEPHONY_REQUIRE_SERVICES=1 makes this a failure, not a skip)")
    pytest.skip(reason)


async def _admin(*statements: str) -> None:
    connection = await asyncpg.connect(_admin_dsn(), timeout=5)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


async def _connect(database: str) -> asyncpg.Connection:
    return await asyncpg.connect(_url_for(database).replace("+asyncpg", "", 1), timeout=5)


async def _shape(database: str) -> str:
    connection = await _connect(database)
    try:
        return await connection.fetchval(SHAPE)
    finally:
        await connection.close()


async def _ensure_template(secret_keys: tuple[str, ...]) -> str:
    """Made and migrated once per test run; every test database is a copy of it."""
    global _template, _template_shape, _unavailable
    if _unavailable:
        skip_or_fail(_unavailable)
    if _template is not None:
        return _template
    name = f"gqlt_test_{os.getpid()}_template"
    try:
        await _admin(f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"')
    except (TimeoutError, OSError, asyncpg.PostgresError) as error:
        _unavailable = f"PostgreSQL is not reachable at {_admin_dsn()}: {type(error).__name__}"
        skip_or_fail(_unavailable)
    db = Database(Settings(database_url=_url_for(name), secret_keys=secret_keys))
    await upgrade_to_head(db)
    await db.dispose()
    _template, _template_shape = name, await _shape(name)
    return name


async def _emptied(database: str) -> bool:
    """Whether the database, its tables truncated, is as a fresh copy of the template again."""
    try:
        connection = await _connect(database)
    except (TimeoutError, OSError, asyncpg.PostgresError):
        return False
    try:
        # As DROP DATABASE ... WITH (FORCE) would: no connection the test left open survives.
        await connection.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                                 " WHERE datname = current_database() AND pid <> pg_backend_pid()")
        if await connection.fetchval(SHAPE) != _template_shape:
            return False
        tables = await connection.fetch("SELECT quote_ident(tablename) AS name FROM pg_tables"
                                        " WHERE schemaname = 'public' AND tablename <> 'alembic_version'")
        await connection.execute("SET lock_timeout = '5s'")
        await connection.execute(f"TRUNCATE {', '.join(t['name'] for t in tables)} RESTART IDENTITY CASCADE")
        # Every sequence restarted, as in a fresh copy (RESTART IDENTITY restarts the tables' own).
        return not await connection.fetchval("SELECT count(*) FROM pg_sequences"
                                              " WHERE schemaname = 'public' AND last_value IS NOT NULL")
    except (TimeoutError, OSError, asyncpg.PostgresError):
        return False
    finally:
        await connection.close()


async def _recycle(name: str) -> None:
    if await _emptied(name):
        _idle.append(name)
    else:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _take_copy(template: str) -> str:
    """An emptied copy: one waiting, else one being emptied (a tenth of a second at most), else a new one."""
    while not _idle and _emptying:
        await asyncio.wait(_emptying, return_when=asyncio.FIRST_COMPLETED)
    if _idle:
        return _idle.pop()
    name = f"gqlt_test_{os.getpid()}_{next(_counter)}"
    await _admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return name


@asynccontextmanager
async def postgres_database(secret_keys: tuple[str, ...]) -> AsyncIterator[str]:
    """An empty, migrated database for one test, used by nobody else meanwhile. Yields its URL."""
    name = await _take_copy(await _ensure_template(secret_keys))
    try:
        yield _url_for(name)
    finally:
        task = asyncio.get_running_loop().create_task(_recycle(name))  # while the next test runs
        _emptying.add(task)
        task.add_done_callback(_emptying.discard)


async def drop_databases() -> None:
    """The template and its copies, at the end of the run."""
    await asyncio.gather(*_emptying)
    names = [*_idle, *([_template] if _template is not None else [])]
    _idle.clear()
    if names:
        await _admin(*(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)' for name in names))


async def copy_migrated_sqlite(path: Path, scratch: Path) -> None:
    """Put an empty SQLite database at the newest migration at `path`: a copy of one migrated
    once per run (in `scratch`)."""
    global _sqlite_template
    if _sqlite_template is None:
        template = scratch / "template.sqlite3"
        db = Database(Settings(database_url=f"sqlite+aiosqlite:///{template}", secret_keys=()))
        await upgrade_to_head(db)
        await db.dispose()  # the last connection closed: the WAL is written back into the file
        assert not Path(f"{template}-wal").exists(), "the template would be copied without its WAL"
        _sqlite_template = template
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_sqlite_template, path)
