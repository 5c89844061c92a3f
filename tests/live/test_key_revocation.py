"""`revoke-api-key` run in its own process reaches every server process through the database
(the default broker is in-process): the key's open WebSockets are closed with 4403 within 5
seconds, an operation sent after the revocation does not run, and HTTP refuses the key at once.
A key row deleted outright stops its sockets the same way."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, asynccontextmanager
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import websockets
from cryptography.fernet import Fernet
from sqlalchemy.ext.asyncio import create_async_engine

from gql_telephony.api.http.ws_auth import KEY_NOT_VALID
from gql_telephony.services.tenancy import create_api_key, create_organization, list_api_keys
from gql_telephony.settings import Settings
from gql_telephony.storage.db import Database
from gql_telephony.storage.migrate import upgrade_to_head

from .. import backends
from ..documents import CREATE, VALID
from ..support import bearer
from .server import Server, cli, running_server, server_env
from .ws_client import Subscriber

REVOCATION_SECONDS = 5  # the contract: effective everywhere within 5 seconds
COUNT = {"query": "{ telephonyConfigs { totalCount } }"}


@asynccontextmanager
async def database_url(backend: str, tmp_path: Any) -> AsyncIterator[tuple[str, str]]:
    keys = (Fernet.generate_key().decode(),)
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'revocation.sqlite3'}", keys[0]
        return
    async with backends.postgres_database(keys) as url:
        yield url, keys[0]


def servers(env: dict[str, str], tmp_path: Any, count: int) -> Iterator[list[Server]]:
    with ExitStack() as stack:
        yield [stack.enter_context(running_server(env, tmp_path / f"server{i}.log")) for i in range(count)]


@pytest.fixture(params=[("postgresql", 2), ("sqlite", 1)], ids=["postgresql-2-servers", "sqlite-1-server"])
async def deployment(request, tmp_path):
    backend, count = request.param
    if backend not in backends.BACKENDS:
        pytest.skip(f"{backend} is not among GQL_TELEPHONY_TEST_BACKENDS")
    async with database_url(backend, tmp_path) as (url, secret):
        env = server_env(GQL_TELEPHONY_DATABASE_URL=url, GQL_TELEPHONY_SECRET_KEYS=secret)
        keys, ids = await made_keys(Settings(database_url=url, secret_keys=(secret,)), ("admin", "victim", "deleted"))
        for running in servers(env, tmp_path, count):
            yield {"servers": running, "env": env, "url": url, "keys": keys, "ids": ids, "tmp_path": tmp_path}


async def made_keys(settings: Settings, labels: tuple[str, ...]) -> tuple[dict[str, str], dict[str, str]]:
    """An organization with one key per label (made in this process, faster than the CLI): the
    keys and their ids, by label."""
    db = Database(settings)
    try:
        await upgrade_to_head(db)
        org_id = await create_organization(db, "Revocation")
        keys = {label: await create_api_key(db, org_id, label=label) for label in labels}
        ids = {key.label: str(key.id) for key in await list_api_keys(db, org_id) if key.label}
    finally:
        await db.dispose()
    return keys, ids


async def opened(server: Server, key: str, subscribe: bool) -> Subscriber:
    subscriber = Subscriber(server.ws, key)
    assert (await subscriber.connect())["type"] == "connection_ack"
    if subscribe:
        await subscriber.subscribe(operation_id="summary")
        await subscriber.next_data()
    return subscriber


async def close_code(subscriber: Subscriber, seconds: float = REVOCATION_SECONDS) -> int:
    """How the server closed the socket, waiting at most `seconds` (a `next` is ignored)."""
    try:
        async with asyncio.timeout(seconds):
            while True:
                await subscriber.receive(timeout=seconds)
    except websockets.ConnectionClosed as closed:
        assert closed.rcvd is not None, "dropped without a close frame"
        return closed.rcvd.code
    except TimeoutError:
        return 0  # still open


async def total_count(server: Server, key: str) -> int:
    async with httpx.AsyncClient() as client:
        answer = await client.post(f"{server.http}/graphql", json=COUNT, headers=bearer(key))
    return answer.json()["data"]["telephonyConfigs"]["totalCount"]


async def test_revoked_and_deleted_keys_sockets_close_with_4403_on_every_server(deployment):
    servers_, keys, ids = deployment["servers"], deployment["keys"], deployment["ids"]
    # On each server: one socket that sends a mutation after the revocation, one that only listens.
    talking = [await opened(server, keys["victim"], subscribe=False) for server in servers_]
    listening = [await opened(server, keys["victim"], subscribe=True) for server in servers_]
    untouched = [await opened(server, keys["admin"], subscribe=True) for server in servers_]

    await asyncio.to_thread(cli, ["revoke-api-key", ids["victim"]], deployment["env"])

    variables = {"input": {"name": "After revocation", "provider": "TELNYX", "config": VALID["TELNYX"]}}
    for subscriber in talking:
        try:
            await subscriber.send({"id": "late", "type": "subscribe", "payload": {"query": CREATE, "variables": variables}})
        except websockets.ConnectionClosed:
            pass  # already closed by the server's check: close_code reads how
    codes = await asyncio.gather(*(close_code(s) for s in talking + listening))
    assert codes == [4403] * len(codes)
    for server in servers_:
        async with httpx.AsyncClient() as client:
            refused = await client.post(f"{server.http}/graphql", json=COUNT,
                                        headers=bearer(keys['victim']))
        assert refused.status_code == 401
        with pytest.raises(websockets.ConnectionClosed) as closed:  # a new socket: refused for its key
            await opened(server, keys["victim"], subscribe=False)
        assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4401, KEY_NOT_VALID)
        assert await total_count(server, keys["admin"]) == 0  # the mutation sent after it never ran
    # Other keys' sockets stay open.
    assert await asyncio.gather(*(close_code(s, 0.5) for s in untouched)) == [0] * len(untouched)
    for subscriber in untouched:
        await subscriber.close()

    # A key whose row is deleted outright (not through revoke-api-key) is stopped the same way.
    sockets = [await opened(server, keys["deleted"], subscribe=True) for server in servers_]
    engine = create_async_engine(deployment["url"])
    try:
        async with engine.begin() as connection:
            await connection.execute(sa.text("DELETE FROM api_key WHERE id = :id"), {"id": int(ids["deleted"])})
    finally:
        await engine.dispose()
    assert await asyncio.gather(*(close_code(s) for s in sockets)) == [4403] * len(sockets)

    logs = "".join((deployment["tmp_path"] / f"server{i}.log").read_text() for i in range(len(servers_)))
    levels = {json.loads(line)["level"] for line in logs.splitlines() if line.startswith("{")}
    assert "Traceback" not in logs and "ERROR" not in levels and keys["victim"] not in logs
    assert "INFO" in levels  # the lines were read: a test of their levels that saw none would prove nothing
