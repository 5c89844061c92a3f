"""A PostgreSQL database that is not there yet: say what to do, or create it when asked.

Creation happens only on request (`--create-database`): creating whatever the URL names would turn
a typo in GQL_TELEPHONY_DATABASE_URL into a new, empty database that a server then serves from.
Messages name the host, port, role and database, never the password.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

import asyncpg  # type: ignore[import-untyped]  # no stubs; the calls here are few and simple
from sqlalchemy.engine import make_url

MISSING_DATABASE = "3D000"  # SQLSTATE invalid_catalog_name
MAINTENANCE_DATABASES = ("postgres", "template1")  # where a role connects to create another database
CONNECT_TIMEOUT_SECONDS = 10


class DatabaseProblem(Exception):
    """The database cannot be used as configured; the message says what to do, without the password."""


@dataclass(frozen=True)
class Target:
    host: str
    port: int
    user: str
    database: str
    password: str | None

    @classmethod
    def from_url(cls, url: str) -> Target:
        parsed = make_url(url)
        return cls(host=parsed.host or "localhost", port=parsed.port or 5432, user=parsed.username or "postgres",
                   database=parsed.database or "postgres", password=parsed.password)

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    def createdb_command(self) -> str:
        return shlex.join(["createdb", "-h", self.host, "-p", str(self.port), "-U", self.user, self.database])


def is_missing_database(error: BaseException) -> bool:
    """Whether the error (or one it wraps: SQLAlchemy's, the driver's) says the database does not exist."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if MISSING_DATABASE in (getattr(current, "sqlstate", None), getattr(current, "pgcode", None)):
            return True
        current = getattr(current, "orig", None) or current.__cause__ or current.__context__
    return False


async def _connect_to_maintenance(target: Target) -> asyncpg.Connection:
    last: BaseException | None = None
    for database in MAINTENANCE_DATABASES:
        try:
            return await asyncpg.connect(host=target.host, port=target.port, user=target.user,
                                         password=target.password, database=database,
                                         timeout=CONNECT_TIMEOUT_SECONDS)
        except asyncpg.InvalidCatalogNameError as error:
            last = error
    raise DatabaseProblem(f"cannot connect to {target.where} as {target.user!r} to create a database: "
                          f"neither 'postgres' nor 'template1' exists ({type(last).__name__})")


async def _may_create(connection: asyncpg.Connection) -> bool:
    return bool(await connection.fetchval(
        "SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user"))


async def missing_database_problem(url: str) -> DatabaseProblem:
    """What to tell the user about the missing database of `url`: how to create it, and whether
    --create-database would work with this role."""
    target = Target.from_url(url)
    head = f"database {target.database!r} does not exist on {target.where}"
    try:
        connection = await _connect_to_maintenance(target)
        try:
            allowed = await _may_create(connection)
        finally:
            await connection.close()
    except (OSError, TimeoutError, asyncpg.PostgresError, DatabaseProblem):
        allowed = None
    if allowed is False:
        return DatabaseProblem(
            f"{head}, and the role {target.user!r} may not create databases: ask an administrator to run "
            f"`createdb -h {target.host} -p {target.port} -O {target.user} {target.database}` "
            f"(or to grant CREATEDB), then run this command again")
    return DatabaseProblem(
        f"{head}: create it with `{target.createdb_command()}`, or run this command again with "
        f"--create-database (the role {target.user!r} needs the CREATEDB privilege)")


async def create_database_if_missing(url: str) -> bool:
    """Create the database that `url` names unless it exists; True if it was created."""
    target = Target.from_url(url)
    try:
        connection = await _connect_to_maintenance(target)
    except (OSError, TimeoutError) as error:
        raise DatabaseProblem(f"cannot connect to PostgreSQL at {target.where}: {type(error).__name__}") from None
    except asyncpg.PostgresError as error:
        raise DatabaseProblem(f"PostgreSQL at {target.where} refused the role {target.user!r}: "
                              f"{type(error).__name__}") from None
    try:
        if await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", target.database):
            return False
        if not await _may_create(connection):
            raise DatabaseProblem(
                f"database {target.database!r} does not exist on {target.where}, and the role {target.user!r} "
                f"may not create databases: ask an administrator to run "
                f"`createdb -h {target.host} -p {target.port} -O {target.user} {target.database}`")
        quoted = '"' + target.database.replace('"', '""') + '"'  # an identifier: no parameter can stand in
        try:
            await connection.execute(f"CREATE DATABASE {quoted}")
        except asyncpg.DuplicateDatabaseError:  # another process created it meanwhile
            return False
        return True
    finally:
        await connection.close()
