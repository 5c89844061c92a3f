"""Fixtures of the live tests (real server processes)."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from .. import backends


@pytest.fixture(params=["sqlite", "postgresql"])
async def shared_database(request, tmp_path):
    """Settings for server processes on one database (a SQLite file, or a PostgreSQL database
    made for the test and dropped after it)."""
    key = Fernet.generate_key().decode()
    if request.param == "sqlite":
        path = tmp_path / "shared.sqlite3"
        yield {"GQL_TELEPHONY_DATABASE_URL": f"sqlite+aiosqlite:///{path}", "GQL_TELEPHONY_SECRET_KEYS": key}
        return
    async with backends.postgres_database((key,)) as url:
        yield {"GQL_TELEPHONY_DATABASE_URL": url, "GQL_TELEPHONY_SECRET_KEYS": key}
