"""Shared fixtures: an empty database at the newest migration per test and backend, behind the
real ASGI app over httpx. Helpers the tests import live in support.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from gql_telephony.api.runtime import Runtime
from gql_telephony.app import build_runtime, create_app
from gql_telephony.services.tenancy import create_api_key, create_organization
from gql_telephony.settings import Settings

from . import backends
from .support import Api, asgi_client, sqlite_settings


@pytest.fixture(scope="session")
def _sqlite_scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sqlite-template")


@pytest.fixture(params=backends.BACKENDS)
async def settings(request: pytest.FixtureRequest, tmp_path: Path, _sqlite_scratch: Path) -> AsyncIterator[Settings]:
    """Each test that uses the database runs once per backend, on a database of its own that is
    empty and at the newest migration."""
    if request.param == "sqlite":
        path = tmp_path / "db" / "test.sqlite3"
        await backends.copy_migrated_sqlite(path, _sqlite_scratch)
        yield sqlite_settings(path)
        return
    keys = (Fernet.generate_key().decode(),)
    async with backends.postgres_database(keys) as url:
        yield Settings(database_url=url, secret_keys=keys)


@pytest.fixture(scope="session", autouse=True)
async def _drop_postgres_databases() -> AsyncIterator[None]:
    yield
    await backends.drop_databases()


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    runtime = build_runtime(settings)  # its database arrives migrated (see `settings`)
    yield runtime
    await runtime.provider_http.aclose()
    await runtime.broker.close()
    await runtime.db.dispose()


@pytest.fixture
async def api(runtime: Runtime) -> AsyncIterator[Api]:
    org_id = await create_organization(runtime.db, "Acme")
    key = await create_api_key(runtime.db, org_id)
    async with asgi_client(create_app(runtime=runtime)) as client:
        yield Api(client=client, runtime=runtime, key=key, org_id=org_id)
