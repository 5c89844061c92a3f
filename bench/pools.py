"""Connection pools for the hand-written endpoints: aiosqlite or asyncpg behind one interface.

SQL is written once with `?` placeholders (SQLite's); for PostgreSQL they become `$1, $2, ...`.
`reading()` is one read transaction (one snapshot), `writing()` one write transaction; both
yield `fetch(sql, params) -> rows` (tuples), and `writing()` also `many(sql, rows)`.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import Any, Protocol

import aiosqlite
import asyncpg

Fetch = Callable[..., Any]


class Pool(Protocol):
    dialect: str

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    def reading(self) -> Any: ...

    def writing(self) -> Any: ...


@lru_cache(maxsize=256)
def numbered(sql: str) -> str:
    """`?` placeholders as asyncpg's `$n`, in order."""
    counter = iter(range(1, 10_000))
    return re.sub(r"\?", lambda _: f"${next(counter)}", sql)


class SqlitePool:
    """A few aiosqlite connections (each its own thread), handed out one request at a time."""

    dialect = "sqlite"

    def __init__(self, path: str, size: int, on_statement: Callable[[str], None] | None = None) -> None:
        self.path, self.size, self.on_statement = path, size, on_statement
        self._idle: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        self._all: list[aiosqlite.Connection] = []

    async def open(self) -> None:
        for _ in range(self.size):
            connection = await aiosqlite.connect(self.path, isolation_level=None)
            await connection.execute("PRAGMA busy_timeout=30000")
            # As the server's engine sets them (gql_telephony/storage/db.py): the same durability.
            for pragma in ("PRAGMA foreign_keys=ON", "PRAGMA synchronous=NORMAL"):
                await connection.execute(pragma)
            self._all.append(connection)
            self._idle.put_nowait(connection)

    async def close(self) -> None:
        for connection in self._all:
            await connection.close()

    @asynccontextmanager
    async def _transaction(self, begin: str, commit: bool) -> AsyncIterator[tuple[Fetch, Fetch]]:
        connection = await self._idle.get()
        try:
            async def fetch(sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
                if self.on_statement is not None:
                    self.on_statement(sql)
                async with connection.execute(sql, params) as cursor:
                    return list(await cursor.fetchall())

            async def many(sql: str, rows: Sequence[Sequence[Any]]) -> None:
                if self.on_statement is not None:
                    self.on_statement(sql)
                await connection.executemany(sql, rows)

            await fetch(begin)
            try:
                yield fetch, many
            except BaseException:
                await connection.rollback()
                raise
            if commit:
                await connection.commit()
            else:
                await connection.rollback()
        finally:
            self._idle.put_nowait(connection)

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[Fetch]:
        async with self._transaction("BEGIN", commit=False) as (fetch, _):
            yield fetch

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[tuple[Fetch, Fetch]]:
        # IMMEDIATE: the write lock first, as the server's SQLite engine takes it.
        async with self._transaction("BEGIN IMMEDIATE", commit=True) as pair:
            yield pair


class PostgresPool:
    """An asyncpg pool; statements prepared and cached by asyncpg per connection."""

    dialect = "postgresql"

    def __init__(self, dsn: str, size: int, on_statement: Callable[[str], None] | None = None) -> None:
        self.dsn = dsn.replace("postgresql+asyncpg://", "postgresql://", 1)
        self.size, self.on_statement = size, on_statement
        self._pool: asyncpg.Pool | None = None

    async def open(self) -> None:
        self._pool = await asyncpg.create_pool(self.dsn, min_size=self.size, max_size=self.size)

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()

    @asynccontextmanager
    async def _transaction(self, readonly: bool) -> AsyncIterator[tuple[Fetch, Fetch]]:
        assert self._pool is not None
        async with self._pool.acquire() as connection:
            async def fetch(sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
                if self.on_statement is not None:
                    self.on_statement(sql)
                return [tuple(row) for row in await connection.fetch(numbered(sql), *params)]

            async def many(sql: str, rows: Sequence[Sequence[Any]]) -> None:
                if self.on_statement is not None:
                    self.on_statement(sql)
                await connection.executemany(numbered(sql), rows)

            if self.on_statement is not None:
                self.on_statement("BEGIN")
            async with connection.transaction(isolation="repeatable_read" if readonly else "read_committed",
                                              readonly=readonly):
                yield fetch, many

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[Fetch]:
        async with self._transaction(readonly=True) as (fetch, _):
            yield fetch

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[tuple[Fetch, Fetch]]:
        async with self._transaction(readonly=False) as pair:
            yield pair


def pool_for(database: str, size: int, on_statement: Callable[[str], None] | None = None) -> SqlitePool | PostgresPool:
    """A pool for a SQLAlchemy URL (sqlite+aiosqlite:///PATH or postgresql+asyncpg://...) or a bare SQLite path."""
    if database.startswith("postgresql"):
        return PostgresPool(database, size, on_statement)
    return SqlitePool(database.removeprefix("sqlite+aiosqlite:///"), size, on_statement)
