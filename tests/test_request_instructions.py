"""bench/request_instructions.py's counted work still runs against the app: each request it sends
(the dashboard, and a rename that changes the name each time) succeeds, or the harness stops.
valgrind's count itself is not run here (a minute of CPU); the harness's checks are."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from bench.request_instructions import requests_into_app
from bench.seed import seed
from gql_telephony.settings import Settings
from gql_telephony.storage.db import Database


@pytest.mark.parametrize("query", ["dashboard", "rename"])
async def test_the_counted_requests_succeed(tmp_path, query):
    url, secret = f"sqlite+aiosqlite:///{tmp_path / 'counted.sqlite3'}", Fernet.generate_key().decode()
    settings = Settings(database_url=url, secret_keys=(secret,))
    read_key, write_key = await seed(settings, 2, 3)
    await requests_into_app(url, secret, write_key if query == "rename" else read_key, query, 3)
    db = Database(settings)
    try:
        async with db.reading() as session:
            names = (await session.execute(sa.text("SELECT name FROM telephony_config ORDER BY id"))).scalars().all()
    finally:
        await db.dispose()
    # the warm-up's 50 and the 3 counted renames, two names in turn: the last was "Renamed 0"
    assert (names[0] == "Renamed 0") == (query == "rename")
