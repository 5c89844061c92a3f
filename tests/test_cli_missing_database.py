"""`migrate` and `serve` against a PostgreSQL database that does not exist: a sentence saying what
to do (never the password, never a traceback), and the database created with --create-database."""

from __future__ import annotations

import asyncio
import secrets

import asyncpg
import pytest
from cryptography.fernet import Fernet

from .backends import POSTGRES_URL, _admin, skip_or_fail
from .test_cli import cli_env, run

PASSWORD = "pw-never-shown-" + secrets.token_hex(4)  # trust authentication ignores it; the output must too


def postgres_reachable() -> None:
    try:
        asyncio.run(_admin("SELECT 1"))
    except (TimeoutError, OSError, asyncpg.PostgresError) as error:
        skip_or_fail(f"PostgreSQL is not reachable at {POSTGRES_URL}: {type(error).__name__}")


@pytest.fixture
def missing_database(tmp_path):
    """A database name nobody uses, and the environment of a command pointed at it; dropped afterwards."""
    postgres_reachable()
    name = f"gqlt_missing_{secrets.token_hex(6)}"
    base = POSTGRES_URL.rsplit("/", 1)[0].replace("postgres@", f"postgres:{PASSWORD}@", 1)
    env = cli_env(tmp_path, GQL_TELEPHONY_DATABASE_URL=f"{base}/{name}",
                  GQL_TELEPHONY_SECRET_KEYS=Fernet.generate_key().decode())
    yield name, env
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def database_exists(name: str) -> bool:
    async def look() -> bool:
        connection = await asyncpg.connect(POSTGRES_URL.replace("+asyncpg", "", 1), timeout=5)
        try:
            return bool(await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name))
        finally:
            await connection.close()

    return asyncio.run(look())


@pytest.mark.parametrize("command", [["migrate"], ["serve", "--port", "1"], ["create-org", "Acme"]])
def test_a_missing_database_is_a_sentence_saying_what_to_do(missing_database, command):
    name, env = missing_database
    result = run(command, env, check=False)
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr and PASSWORD not in result.stderr + result.stdout, result.stderr
    assert f"database '{name}' does not exist on 127.0.0.1:5432" in result.stderr, result.stderr
    assert f"createdb -h 127.0.0.1 -p 5432 -U postgres {name}" in result.stderr
    if command[0] != "create-org":
        assert "--create-database" in result.stderr
    assert not database_exists(name)


def test_create_database_creates_it_once_and_migrates(missing_database):
    name, env = missing_database
    first = run(["migrate", "--create-database"], env)
    assert f"created database '{name}' on 127.0.0.1:5432" in first.stdout and PASSWORD not in first.stdout
    assert database_exists(name)
    second = run(["migrate", "--create-database"], env)
    assert "created" not in second.stdout and "up to date" in second.stdout
    org_id = run(["create-org", "Acme"], env).stdout.strip().splitlines()[-1]
    assert org_id.isdigit()


def test_a_role_that_may_not_create_databases_is_told_whom_to_ask(missing_database):
    name, env = missing_database
    role = f"gqlt_nocreate_{secrets.token_hex(4)}"
    asyncio.run(_admin(f'CREATE ROLE "{role}" LOGIN NOCREATEDB'))
    try:
        env = {**env, "GQL_TELEPHONY_DATABASE_URL": env["GQL_TELEPHONY_DATABASE_URL"].replace("//postgres:", f"//{role}:", 1)}
        for command in (["migrate"], ["migrate", "--create-database"]):
            result = run(command, env, check=False)
            assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
            assert f"the role '{role}' may not create databases" in result.stderr, result.stderr
            assert f"-O {role} {name}" in result.stderr and PASSWORD not in result.stderr
        assert not database_exists(name)
    finally:
        asyncio.run(_admin(f'DROP ROLE "{role}"'))
