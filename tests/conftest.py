"""Shared fixtures: a real SQLite file per test, migrated, behind the real ASGI app over httpx."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet

from gql_telephony.api.graph.context import Runtime
from gql_telephony.app import build_runtime, create_app
from gql_telephony.services.tenancy import create_api_key, create_organization
from gql_telephony.settings import Settings
from gql_telephony.storage.migrate import upgrade_to_head

from . import backends



def sqlite_settings(path: Path, **extra: Any) -> Settings:
    return Settings(
        database_url=f"sqlite+aiosqlite:///{path}",
        secret_keys=(Fernet.generate_key().decode(),),
        **extra,
    )


@dataclass
class Api:
    """A client of the running app, acting with one API key."""

    client: httpx.AsyncClient
    runtime: Runtime
    key: str
    org_id: int

    async def post(self, query: str, variables: dict[str, Any] | None = None, *, key: str | None = None,
                   headers: dict[str, str] | None = None) -> httpx.Response:
        all_headers = {"authorization": f"Bearer {key or self.key}", **(headers or {})}
        return await self.client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=all_headers)

    async def gql(self, query: str, variables: dict[str, Any] | None = None, *, key: str | None = None) -> dict[str, Any]:
        """The `data` of a request that must succeed without GraphQL errors."""
        response = await self.post(query, variables, key=key)
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body
        return body["data"]

    async def new_key(self, *, read_only: bool = False, org_id: int | None = None) -> str:
        return await create_api_key(self.runtime.db, org_id or self.org_id, read_only=read_only)

    async def new_org(self, name: str = "Other org") -> tuple[int, str]:
        org_id = await create_organization(self.runtime.db, name)
        return org_id, await create_api_key(self.runtime.db, org_id)


@pytest.fixture(params=backends.BACKENDS)
async def settings(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Settings]:
    """Each test that uses the database runs once per backend."""
    if request.param == "sqlite":
        yield sqlite_settings(tmp_path / "db" / "test.sqlite3")
        return
    keys = (Fernet.generate_key().decode(),)
    async with backends.postgres_database(keys) as url:
        yield Settings(database_url=url, secret_keys=keys)


@pytest.fixture(scope="session", autouse=True)
async def _drop_postgres_template() -> AsyncIterator[None]:
    yield
    await backends.drop_template()


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    runtime = build_runtime(settings)
    await upgrade_to_head(runtime.db)
    yield runtime
    await runtime.broker.close()
    await runtime.db.dispose()


@pytest.fixture
async def api(runtime: Runtime) -> AsyncIterator[Api]:
    app = create_app(runtime=runtime)
    org_id = await create_organization(runtime.db, "Acme")
    key = await create_api_key(runtime.db, org_id)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield Api(client=client, runtime=runtime, key=key, org_id=org_id)
