"""How `gql-telephony serve` configures uvicorn: X-Forwarded-For names the client only when the
peer is one of GQL_TELEPHONY_TRUSTED_PROXIES (otherwise any client could pick the address its
requests are limited by); the connection cap stays below the descriptor limit; the garbage collector's
thresholds suit a process holding thousands of connections."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
import websockets

from gql_telephony.app import build_runtime, create_app
from gql_telephony.server import (
    GC_THRESHOLDS,
    RESERVED_DESCRIPTORS,
    connection_cap,
    descriptor_limit,
    serve,
    uvicorn_config,
)
from gql_telephony.settings import Settings, SettingsError
from gql_telephony.storage.migrate import upgrade_to_head

from .live.server import free_port
from .support import sqlite_settings

QUERY = {"query": "{ telephonyProviders { key } }"}


@asynccontextmanager
async def served(tmp_path: Path, **settings: object) -> AsyncIterator[httpx.AsyncClient]:
    """The app on uvicorn configured as `gql-telephony serve` configures it, in this process."""
    runtime = build_runtime(sqlite_settings(tmp_path / "proxies.sqlite3", rate_limit_per_minute=1,
                                            rate_limit_burst=2, **settings))
    await upgrade_to_head(runtime.db)
    port = free_port()
    server = uvicorn.Server(uvicorn_config(create_app(runtime=runtime), runtime.settings, "127.0.0.1", port,
                                           log_level="warning"))
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            yield client
    finally:
        server.should_exit = True
        await task


async def keyless(client: httpx.AsyncClient, forwarded_for: str) -> int:
    return (await client.post("/graphql", json=QUERY, headers={"x-forwarded-for": forwarded_for})).status_code


async def test_without_trusted_proxies_x_forwarded_for_is_ignored(tmp_path, monkeypatch):
    # uvicorn would trust 127.0.0.1 (or this variable) by default: the setting decides, not it.
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "127.0.0.1")
    async with served(tmp_path) as client:
        statuses = [await keyless(client, f"198.51.100.{n}") for n in range(3)]
    assert statuses == [401, 401, 429]  # one bucket: the peer's


async def test_a_trusted_proxy_names_the_client(tmp_path):
    async with served(tmp_path, trusted_proxies=("127.0.0.1",)) as client:
        assert [await keyless(client, f"198.51.100.{n}") for n in range(3)] == [401, 401, 401]
        assert [await keyless(client, "203.0.113.9") for _ in range(3)] == [401, 401, 429]


async def test_websockets_are_not_compressed(tmp_path):
    """Each subscription event would otherwise be compressed once per socket, with a compressor
    kept per socket: small JSON messages do not repay it (docs/PERFORMANCE.md, fan-out)."""
    async with served(tmp_path) as client:
        url = f"ws://127.0.0.1:{client.base_url.port}/graphql"
        async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as socket:
            assert socket.response is not None
            assert socket.response.headers.get("Sec-WebSocket-Extensions") is None
            assert socket.subprotocol == "graphql-transport-ws"


def test_trusted_proxies_are_addresses_or_networks():
    settings = Settings.from_env({"GQL_TELEPHONY_TRUSTED_PROXIES": "10.0.0.5, 172.29.80.0/24,::1"})
    assert settings.trusted_proxies == ("10.0.0.5", "172.29.80.0/24", "::1")
    assert Settings.from_env({}).trusted_proxies == ()
    for bad in ("*", "proxy", "10.0.0.1/8", "10.0.0.300"):
        with pytest.raises(SettingsError, match="GQL_TELEPHONY_TRUSTED_PROXIES"):
            Settings.from_env({"GQL_TELEPHONY_TRUSTED_PROXIES": bad})


def test_the_connection_cap_stays_below_the_descriptor_limit():
    room = descriptor_limit() - RESERVED_DESCRIPTORS
    assert connection_cap(Settings()) == room  # by default, all the room there is
    assert connection_cap(Settings(max_connections=50)) == 50
    with pytest.raises(SettingsError, match="GQL_TELEPHONY_MAX_CONNECTIONS"):
        connection_cap(Settings(max_connections=room + 1))
    settings = Settings.from_env({"GQL_TELEPHONY_MAX_CONNECTIONS": "300", "GQL_TELEPHONY_HEADER_TIMEOUT": "5"})
    assert (settings.max_connections, settings.header_timeout) == (300, 5.0)
    for name, bad in (("GQL_TELEPHONY_HEADER_TIMEOUT", "0"), ("GQL_TELEPHONY_MAX_CONNECTIONS", "-3")):
        with pytest.raises(SettingsError, match=name):
            Settings.from_env({name: bad})


def test_serve_sets_the_collector_thresholds_before_it_serves(monkeypatch):
    """The thresholds of GC_THRESHOLDS are in force when uvicorn starts serving."""
    seen: list[tuple[int, ...]] = []
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets=None: seen.append(gc.get_threshold()))
    before = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        serve(object(), Settings(), "127.0.0.1", free_port())
    finally:
        gc.set_threshold(*before)
    assert seen == [GC_THRESHOLDS]
    assert GC_THRESHOLDS[0] > 700 and GC_THRESHOLDS[2] > 10  # rarer young and full passes than CPython's
