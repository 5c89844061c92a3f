"""Bring a database's schema up to the newest migration."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from .db import Database

MIGRATIONS = Path(__file__).with_name("migrations")
MIGRATION_LOCK_KEY = 0x67716C74  # "gqlt": any constant that this application alone uses


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


async def upgrade_to_head(db: Database, revision: str = "head") -> None:
    engine = db.migration_engine()
    try:
        async with engine.connect() as connection:
            if not db.is_sqlite:
                # Several servers starting at once on a new database: one migrates, the others
                # wait for its commit and then find nothing to do. (SQLite: BEGIN IMMEDIATE.)
                await connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})")
            await connection.run_sync(lambda sync: command.upgrade(alembic_config(sync), revision))
            if db.is_sqlite:
                broken = (await connection.exec_driver_sql("PRAGMA foreign_key_check")).all()
                if broken:
                    raise RuntimeError(f"the migration left {len(broken)} rows with broken references")
            await connection.commit()
    finally:
        if engine is not db.write_engine:
            await engine.dispose()


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head
