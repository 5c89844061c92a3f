"""Migrations are the one way the schema is made, and upgrading keeps the data."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from gql_telephony.app import build_runtime
from gql_telephony.domain.errors import ErrorCode, UserErrors
from gql_telephony.domain.providers import ProviderKey
from gql_telephony.domain.text import name_key
from gql_telephony.services.telephony_configs import TelephonyConfigs
from gql_telephony.services.tenancy import authenticate, hash_key
from gql_telephony.storage.migrate import head_revision, upgrade_to_head
from gql_telephony.storage.tables import metadata

KEPT_KEY = "gqlt_made-before-the-upgrade"


async def test_upgrading_a_first_migration_database_with_data_keeps_it(settings):
    runtime = build_runtime(settings)
    db = runtime.db
    try:
        await _reset(db)
        await upgrade_to_head(db, "0001")
        async with db.writing() as session:  # as the first schema had it: no data version yet
            await session.execute(sa.text(
                "INSERT INTO organization (name, created_at) VALUES ('Before the upgrade', CURRENT_TIMESTAMP)"))
            org_id = (await session.execute(sa.text("SELECT max(id) FROM organization"))).scalar_one()
            # A key as the first schema had it: no label, last use or revocation yet.
            await session.execute(sa.text(
                "INSERT INTO api_key (organization_id, key_hash, read_only, created_at)"
                " VALUES (:org, :hash, false, CURRENT_TIMESTAMP)"), {"org": org_id, "hash": hash_key(KEPT_KEY)})
        secrets = runtime.vault.encrypt_json({"api_key": "KEY-kept-across-upgrade"})
        async with db.writing() as session:
            for index in range(3):
                await session.execute(sa.text(
                    "INSERT INTO telephony_config (organization_id, name, name_key, provider, settings, secrets,"
                    " is_default_outbound, version, created_at, updated_at) VALUES (:org, :name, :key, 'TELNYX',"
                    " '{}', :secrets, :default, 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"),
                    {"org": org_id, "name": f"Old {index}", "key": f"old {index}", "secrets": secrets, "default": index == 0})
            config_ids = (await session.execute(sa.text("SELECT id FROM telephony_config ORDER BY id"))).scalars().all()
            for index, config_id in enumerate(config_ids):
                await session.execute(sa.text(
                    "INSERT INTO phone_number (organization_id, telephony_config_id, phone_number, is_active,"
                    " created_at, updated_at) VALUES (:org, :config, :number, true, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"),
                    {"org": org_id, "config": config_id, "number": f"+1415555010{index}"})

        await upgrade_to_head(db)

        principal = await authenticate(db, KEPT_KEY)
        assert principal is not None and principal.data_version == 1 and principal.label is None
        async with db.reading() as session:
            configs = (await session.execute(sa.text("SELECT id, name, secrets, is_default_outbound FROM telephony_config ORDER BY id"))).all()
            numbers = (await session.execute(sa.text("SELECT telephony_config_id, phone_number FROM phone_number ORDER BY id"))).all()
            version = (await session.execute(sa.text("SELECT version_num FROM alembic_version"))).scalar_one()
        assert [c.name for c in configs] == ["Old 0", "Old 1", "Old 2"]
        assert [bool(c.is_default_outbound) for c in configs] == [True, False, False]
        assert runtime.vault.decrypt_json(configs[0].secrets) == {"api_key": "KEY-kept-across-upgrade"}
        assert [n.telephony_config_id for n in numbers] == [c.id for c in configs]
        assert version == head_revision()

        # Every configuration that existed before provider checks is due for its first one.
        async with db.reading() as session:
            due = (await session.execute(sa.text(
                "SELECT telephony_config_id FROM provider_check WHERE due_at IS NOT NULL ORDER BY 1"
            ))).scalars().all()
        assert due == [c.id for c in configs]

        # After the upgrade, a deleted row's id is never handed out again.
        async with db.writing() as session:
            await session.execute(sa.text("DELETE FROM phone_number WHERE telephony_config_id = :id"), {"id": configs[-1].id})
            await session.execute(sa.text("DELETE FROM telephony_config WHERE id = :id"), {"id": configs[-1].id})
            await session.execute(sa.text(
                "INSERT INTO telephony_config (organization_id, name, name_key, provider, settings, secrets,"
                " is_default_outbound, version, created_at, updated_at) VALUES (:org, 'New', 'new', 'TELNYX', '{}', '',"
                " false, 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"), {"org": org_id})
            newest = (await session.execute(sa.text("SELECT max(id) FROM telephony_config"))).scalar_one()
        assert newest > configs[-1].id
    finally:
        await db.dispose()


async def _old_organization(db, name: str) -> int:
    """An organization inserted as the old schema has it (the ORM model knows newer columns)."""
    async with db.writing() as session:
        await session.execute(sa.text(
            "INSERT INTO organization (name, data_version, created_at) VALUES (:name, 1, CURRENT_TIMESTAMP)"),
            {"name": name})
        return (await session.execute(sa.text("SELECT max(id) FROM organization"))).scalar_one()


async def _reset(db) -> None:
    """The `settings` databases of PostgreSQL arrive migrated: start this test from empty."""
    async with db.writing() as session:
        for table in [*(t.name for t in reversed(metadata.sorted_tables)), "alembic_version"]:
            await session.execute(sa.text(f"DROP TABLE IF EXISTS {table}"))


async def test_the_migrated_database_holds_every_invariant_the_tables_declare(runtime):
    """What the schema comparison (test_app_shell.py) leaves out: a partial index's condition,
    ON DELETE, SQLite's never-reused ids, unique constraints SQLite reports without a name.
    (That each invariant is there at all, and holds, is test_database_invariants.py's work.)"""
    dialect = "sqlite" if runtime.db.is_sqlite else "postgresql"
    async with runtime.db.write_engine.connect() as connection:
        reflected = sa.MetaData()
        await connection.run_sync(lambda sync: reflected.reflect(sync, only=list(metadata.tables)))
        autoincrement: set[str] = set()
        if runtime.db.is_sqlite:
            tables = await connection.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type = 'table'")
            autoincrement = {name for name, sql in tables if "AUTOINCREMENT" in sql.upper()}
    for name, declared in metadata.tables.items():
        migrated = invariants(reflected.tables[name], dialect)
        if name in autoincrement:
            migrated.add("ids never reused")
        assert migrated == invariants(declared, dialect), name


def invariants(table: sa.Table, dialect: str) -> set[str]:
    def columns(of) -> str:
        return ", ".join(column.name for column in of.columns)

    found = set()
    for constraint in table.constraints:
        if isinstance(constraint, sa.UniqueConstraint):
            found.add(f"unique ({columns(constraint)})")
        elif isinstance(constraint, sa.ForeignKeyConstraint):
            found.add(f"({columns(constraint)}) -> {constraint.referred_table.name}"
                      f" on delete {(constraint.ondelete or 'no action').lower()}")
    for index in table.indexes:
        if index.unique:
            where = index.dialect_options[dialect].get("where")
            found.add(f"unique ({columns(index)})" + (f" where {str(where).strip('() ')}" if where is not None else ""))
    if dialect == "sqlite" and table.dialect_options["sqlite"]["autoincrement"]:
        found.add("ids never reused")
    return found


async def test_names_stored_before_0005_are_rekeyed_and_collisions_kept(settings):
    """Keys were case folding only: "Café" in NFC and NFD, "MAIN" and full-width "Ｍａｉｎ" were
    two names each. After 0005 the oldest of each keeps the plain key, the others are kept,
    named as they were (in NFC), under a key marked as a duplicate; the upgrade does not fail."""
    runtime = build_runtime(settings)
    db = runtime.db
    try:
        await _reset(db)
        await upgrade_to_head(db, "0003")
        orgs = [await _old_organization(db, name) for name in ("One", "Two")]
        names = [(orgs[0], "Caf\u00e9"), (orgs[0], "Cafe\u0301"), (orgs[0], "MAIN"), (orgs[0], "\uff2d\uff41\uff49\uff4e"),
                 (orgs[0], "Other"), (orgs[1], "Cafe\u0301")]
        async with db.writing() as session:
            for org_id, name in names:
                await session.execute(sa.text(
                    "INSERT INTO telephony_config (organization_id, name, name_key, provider, settings, secrets,"
                    " is_default_outbound, version, created_at, updated_at) VALUES (:org, :name, :key, 'TELNYX',"
                    " '{}', '', false, 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"),
                    {"org": org_id, "name": name, "key": name.casefold()})

        await upgrade_to_head(db)

        async with db.reading() as session:
            rows = (await session.execute(sa.text(
                "SELECT organization_id, name, name_key FROM telephony_config ORDER BY id"))).all()
        assert [(row.organization_id, row.name) for row in rows] == [
            (orgs[0], "Caf\u00e9"), (orgs[0], "Caf\u00e9"), (orgs[0], "MAIN"), (orgs[0], "\uff2d\uff41\uff49\uff4e"),
            (orgs[0], "Other"), (orgs[1], "Caf\u00e9"),
        ]
        keys = [row.name_key for row in rows]
        assert [keys[0], keys[2], keys[4], keys[5]] == ["caf\u00e9", "main", "other", "caf\u00e9"]
        assert keys[1].startswith("caf\u00e9\x01") and keys[3].startswith("main\x01")
        assert len(set(keys[:5])) == 5

        configs = TelephonyConfigs(db, runtime.vault, runtime.broker)
        for name in ("CAFE\u0301", "main"):
            with pytest.raises(UserErrors) as caught:
                await configs.create(orgs[0], name=name, provider=ProviderKey.TELNYX,
                                     config={"api_key": "KEY0123456789SECRET"}, make_default=False)
            assert [error.code for error in caught.value.errors] == [ErrorCode.TAKEN]
        assert name_key("Caf\u00e9") == keys[0]
    finally:
        await runtime.broker.close()
        await db.dispose()
