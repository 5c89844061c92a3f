"""A fresh database for one benchmark run: a SQLite file, or a database made on a PostgreSQL server."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg


@contextmanager
def database(url: str | None, workdir: Path, name: str = "bench") -> Iterator[str]:
    """A fresh database's URL: a SQLite file in `workdir`, or a database made on the server of
    `url` (any database there that this user may connect to) and dropped afterwards."""
    if url is None:
        yield f"sqlite+aiosqlite:///{workdir / (name + '.sqlite3')}"
        return
    if not url.startswith("postgresql+asyncpg://"):
        raise SystemExit("a PostgreSQL URL must be postgresql+asyncpg://...")
    made = f"bench_{name}_{os.getpid()}"
    admin = url.replace("postgresql+asyncpg://", "postgresql://", 1)

    async def run(statement: str) -> None:
        connection = await asyncpg.connect(admin, timeout=10)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(run(f'DROP DATABASE IF EXISTS "{made}" WITH (FORCE)'))
    asyncio.run(run(f'CREATE DATABASE "{made}"'))
    try:
        yield url.rsplit("/", 1)[0] + "/" + made
    finally:
        asyncio.run(run(f'DROP DATABASE IF EXISTS "{made}" WITH (FORCE)'))


def reachable(url: str) -> bool:
    """Whether the PostgreSQL server of `url` answers (the benchmark skips it, saying so, if not)."""
    async def ping() -> None:
        connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://", 1), timeout=5)
        await connection.close()

    try:
        asyncio.run(ping())
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    return True
