"""A real server against slow and piling-up connections: clients that trickle header lines
(slowloris) are closed after GQL_TELEPHONY_HEADER_TIMEOUT while normal requests are served,
connections beyond GQL_TELEPHONY_MAX_CONNECTIONS get 503 at once, and both are logged once
(not once per connection). Outcomes only, with generous deadlines: no timing assertions."""

from __future__ import annotations

import asyncio
import time
from contextlib import AsyncExitStack
from pathlib import Path

import httpx
from websockets.asyncio.client import connect

from .server import running_server, server_env

TRICKLERS = 150


async def trickle(port: int, closed: list[float], stop: asyncio.Event) -> None:
    """A request line, then a header line every 0.3 s, never the blank line that ends them."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        n = 0
        while not stop.is_set():
            try:
                if await asyncio.wait_for(reader.read(1024), 0.3) == b"":
                    closed.append(time.monotonic())
                    return
            except TimeoutError:
                pass
            n += 1
            try:
                writer.write(f"X-Trickle-{n}: {n}\r\n".encode())
                await writer.drain()
            except ConnectionError:
                closed.append(time.monotonic())
                return
    except ConnectionError:
        closed.append(time.monotonic())
    finally:
        writer.close()


async def test_trickling_header_lines_are_cut_off_while_normal_requests_are_served(tmp_path: Path):
    env = server_env(GQL_TELEPHONY_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}",
                     GQL_TELEPHONY_HEADER_TIMEOUT="1")
    log = tmp_path / "server.log"
    with running_server(env, log) as server:
        closed: list[float] = []
        stop = asyncio.Event()
        tricklers = [asyncio.create_task(trickle(server.port, closed, stop)) for _ in range(TRICKLERS)]
        served = []
        async with httpx.AsyncClient(base_url=server.http, timeout=10) as client:
            deadline = time.monotonic() + 60
            while len(closed) < TRICKLERS and time.monotonic() < deadline:
                served.append((await client.get("/healthz")).status_code)
                await asyncio.sleep(0.05)
        stop.set()
        await asyncio.gather(*tricklers)
    assert len(closed) == TRICKLERS  # every trickling connection was closed by the server
    assert served and set(served) == {200}  # and normal requests were served meanwhile
    warnings = [line for line in log.read_text().splitlines() if "no complete request headers" in line]
    assert 1 <= len(warnings) <= 3, warnings  # logged, but not once per connection
    assert '"WARNING"' in warnings[0] or "WARNING" in warnings[0]


async def test_over_the_cap_a_new_connection_takes_the_place_of_the_slowest(tmp_path: Path):
    """10 connections that sent nothing fill the cap of 10: each normal request that comes
    closes the oldest of them instead of being refused."""
    env = server_env(GQL_TELEPHONY_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}",
                     GQL_TELEPHONY_MAX_CONNECTIONS="10", GQL_TELEPHONY_HEADER_TIMEOUT="60")
    log = tmp_path / "server.log"
    with running_server(env, log) as server:
        idle = [await asyncio.open_connection("127.0.0.1", server.port) for _ in range(10)]
        try:
            await asyncio.sleep(0.2)  # let the server accept them all
            async with AsyncExitStack() as stack:  # four clients, each keeping its connection open
                for _ in range(4):
                    client = await stack.enter_async_context(httpx.AsyncClient(base_url=server.http, timeout=10))
                    assert (await client.get("/healthz")).status_code == 200
            ends = [await asyncio.wait_for(reader.read(), 10) for reader, _ in idle[:4]]
            assert ends == [b""] * 4  # the four oldest were closed, without an answer
        finally:
            for _, writer in idle:
                writer.close()
    warnings = [line for line in log.read_text().splitlines() if "to make room under the cap of 10" in line]
    assert len(warnings) == 1, warnings


async def test_over_a_cap_of_busy_connections_a_new_one_gets_503_at_once(tmp_path: Path):
    env = server_env(GQL_TELEPHONY_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}",
                     GQL_TELEPHONY_MAX_CONNECTIONS="10", GQL_TELEPHONY_WS_INIT_TIMEOUT="60")
    log = tmp_path / "server.log"
    with running_server(env, log) as server:
        sockets = [await connect(server.ws, subprotocols=["graphql-transport-ws"]) for _ in range(10)]  # type: ignore[list-item]  # a plain str for websockets' Subprotocol
        try:
            answers = []
            for _ in range(3):
                reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
                answers.append(await asyncio.wait_for(reader.read(), 10))  # answered at once, then closed
                writer.close()
            assert all(answer.startswith(b"HTTP/1.1 503") for answer in answers), answers
        finally:
            for socket in sockets:
                await socket.close()
    warnings = [line for line in log.read_text().splitlines() if "over the cap of 10 open connections" in line]
    assert len(warnings) == 1, warnings
