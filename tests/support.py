"""What the tests share besides fixtures: settings for a SQLite file, the app behind an httpx
client, the API client acting with one key, headers, a statement counter, hand-written ids."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet
from sqlalchemy import event
from starlette.applications import Starlette

from gql_telephony.api.runtime import Runtime
from gql_telephony.app import build_runtime, create_app
from gql_telephony.services.tenancy import create_api_key, create_organization
from gql_telephony.settings import Settings


def sqlite_settings(path: Path, **extra: Any) -> Settings:
    return Settings(
        database_url=f"sqlite+aiosqlite:///{path}",
        secret_keys=(Fernet.generate_key().decode(),),
        **extra,
    )


def bearer(key: str, **extra: str) -> dict[str, str]:
    """Request headers that authenticate with the key (and any others given)."""
    return {"authorization": f"Bearer {key}", **extra}


def opaque_id(text: str) -> str:
    """`text` written as the server writes ids and cursors (base64url, unpadded): for ids made
    by hand, well formed or not."""
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@asynccontextmanager
async def asgi_client(app: Starlette, *, address: str | None = None,
                      headers: dict[str, str] | None = None) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client calling the app in this process; `address`: the client's IP as the app sees it."""
    transport = httpx.ASGITransport(app=app, **({"client": (address, 40000)} if address else {}))
    async with httpx.AsyncClient(transport=transport, base_url="http://test", headers=headers) as client:
        yield client


@dataclass
class AppClient:
    """An app made for a test, the client calling it, and its runtime."""

    client: httpx.AsyncClient
    app: Starlette
    runtime: Runtime


@asynccontextmanager
async def app_client(settings: Settings, *, beside: Runtime | None = None, address: str | None = None,
                     headers: dict[str, str] | None = None, **overrides: Any) -> AsyncIterator[AppClient]:
    """An app built from the settings with `overrides` applied, behind a client. `beside`: on
    that runtime's database, vault and broker (the same connections, still its to close);
    otherwise on its own, closed at the end. The database is used as it is, not migrated."""
    settings = replace(settings, **overrides)
    if beside is None:
        runtime = build_runtime(settings)
    else:
        runtime = build_runtime(settings, db=beside.db, vault=beside.vault, broker=beside.broker)
    app = create_app(runtime=runtime)
    try:
        async with asgi_client(app, address=address, headers=headers) as client:
            yield AppClient(client=client, app=app, runtime=runtime)
    finally:
        if app.state.rate_buckets is not None:  # as the app's lifespan would at shut-down
            await app.state.rate_buckets.close()
        await runtime.provider_http.aclose()
        if beside is None:
            await runtime.broker.close()
            await runtime.db.dispose()


@dataclass
class Api:
    """A client of the running app, acting with one API key."""

    client: httpx.AsyncClient
    runtime: Runtime
    key: str
    org_id: int

    def through(self, other: AppClient) -> Api:
        """The same key, calling another app (one made by `app_client(..., beside=self.runtime)`)."""
        return replace(self, client=other.client, runtime=other.runtime)

    async def post(self, query: str, variables: dict[str, Any] | None = None, *, key: str | None = None,
                   headers: dict[str, str] | None = None) -> httpx.Response:
        all_headers = {**bearer(key or self.key), **(headers or {})}
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


@contextmanager
def counting_statements(runtime: Runtime) -> Iterator[list[str]]:
    """Every SQL statement the runtime's engines send while the block runs, in order."""
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        statements.append(statement)

    for engine in runtime.db.engines:
        event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        for engine in runtime.db.engines:
            event.remove(engine.sync_engine, "before_cursor_execute", record)
