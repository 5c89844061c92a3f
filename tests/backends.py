"""Test databases: a SQLite file per test, or a PostgreSQL database per test copied from a
migrated template (the server on 127.0.0.1:5432 unless GQL_TELEPHONY_TEST_POSTGRES_URL says
otherwise). Without PostgreSQL its tests skip, unless GQL_TELEPHONY_REQUIRE_SERVICES=1."""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import NoReturn

import asyncpg
import pytest

from gql_telephony.settings import Settings

REQUIRE_SERVICES = os.environ.get("GQL_TELEPHONY_REQUIRE_SERVICES") == "1"
POSTGRES_URL = os.environ.get("GQL_TELEPHONY_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
BACKENDS = [b.strip() for b in os.environ.get("GQL_TELEPHONY_TEST_BACKENDS", "sqlite,postgresql").split(",") if b.strip()]

_counter = itertools.count()
_template: str | None = None
_unavailable: str | None = None


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


async def _ensure_template(secret_keys: tuple[str, ...]) -> str:
    """Made and migrated once per test run; every test database is a copy of it."""
    global _template, _unavailable
    if _unavailable:
        skip_or_fail(_unavailable)
    if _template is not None:
        return _template
    name = f"gqlt_test_{os.getpid()}_template"
    try:
        await _admin(f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"')
    except (OSError, asyncpg.PostgresError, asyncio.TimeoutError) as error:
        _unavailable = f"PostgreSQL is not reachable at {_admin_dsn()}: {type(error).__name__}"
        skip_or_fail(_unavailable)
    from gql_telephony.storage.db import Database  # noqa: PLC0415
    from gql_telephony.storage.migrate import upgrade_to_head  # noqa: PLC0415

    db = Database(Settings(database_url=_url_for(name), secret_keys=secret_keys))
    await upgrade_to_head(db)
    await db.dispose()
    _template = name
    return name


@asynccontextmanager
async def postgres_database(secret_keys: tuple[str, ...]) -> AsyncIterator[str]:
    """A fresh, migrated database for one test; dropped afterwards. Yields its URL."""
    template = await _ensure_template(secret_keys)
    name = f"gqlt_test_{os.getpid()}_{next(_counter)}"
    await _admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        yield _url_for(name)
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def drop_template() -> None:
    if _template is not None:
        await _admin(f'DROP DATABASE IF EXISTS "{_template}" WITH (FORCE)')
