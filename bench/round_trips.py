"""Round trips to PostgreSQL of one cold dashboard request, against the denormalized floor's.

Seeds a fresh database on the server (bench/seed.py), then serves the dashboard in-process
through bench/pg_wire.py's probe: the server's app with the response cache off (every request
reads, as the cold target of bench/dashboard.py), and the floor's read
(bench/denormalized_endpoint.py on its asyncpg pool). Prints each exchange with the server of
the request after a warm-up (connections open, statements prepared), and of the first request
on fresh connections. With --requests N, then times N cold requests one after another, straight
to the server (no probe): wall and CPU milliseconds per request of this process (app and client
together), the wait for round trips being the difference.

Usage: .venv/bin/python -m bench.round_trips [--shape 5x10] [--postgres URL] [--requests N]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from gql_telephony.app import build_runtime, create_app
from gql_telephony.crypto import Vault
from gql_telephony.settings import Settings
from tests.documents import DASHBOARD

from . import denormalized_endpoint, denormalized_tables
from .databases import database
from .pg_wire import WireProbe
from .pools import pool_for
from .seed import seed

POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"


async def server_round_trips(settings: Settings, key: str, probe: WireProbe) -> tuple[list[str], list[str]]:
    """(the first request's exchanges, the exchanges of one request after a warm-up)."""
    runtime = build_runtime(replace(settings, database_url=probe.url(settings.database_url), response_cache_mb=0))
    try:
        transport = httpx.ASGITransport(app=create_app(runtime=runtime))
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            async def ask() -> list[str]:
                mark = probe.mark()
                response = await client.post("/graphql", json={"query": DASHBOARD},
                                             headers={"authorization": f"Bearer {key}"})
                if response.status_code != 200 or "errors" in response.json():
                    raise SystemExit(f"the dashboard query failed: {response.status_code} {response.text[:500]}")
                return probe.since(mark)

            first = await ask()
            for _ in range(3):
                await ask()
            return first, await ask()
    finally:
        await runtime.broker.close()
        await runtime.db.dispose()


async def floor_round_trips(url: str, key: str, probe: WireProbe) -> list[str]:
    pool = pool_for(probe.url(url).replace("ssl=disable", "sslmode=disable"), 1)  # libpq's name for asyncpg's DSN
    await pool.open()
    try:
        for _ in range(3):
            await denormalized_endpoint.dashboard(pool, key)
        mark = probe.mark()
        await denormalized_endpoint.dashboard(pool, key)
        return probe.since(mark)
    finally:
        await pool.close()


def show(title: str, exchanges: list[str]) -> None:
    print(f"{title}: {len(exchanges)} round trips")
    for index, exchange in enumerate(exchanges, 1):
        print(f"  {index:2}. {exchange[:150]}")


async def timed(settings: Settings, key: str, requests: int) -> None:
    runtime = build_runtime(replace(settings, response_cache_mb=0))
    try:
        transport = httpx.ASGITransport(app=create_app(runtime=runtime))
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            headers = {"authorization": f"Bearer {key}"}
            for _ in range(20):
                await client.post("/graphql", json={"query": DASHBOARD}, headers=headers)
            wall, cpu = time.perf_counter(), time.process_time()
            for _ in range(requests):
                response = await client.post("/graphql", json={"query": DASHBOARD}, headers=headers)
                assert response.status_code == 200
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    finally:
        await runtime.broker.close()
        await runtime.db.dispose()
    print(f"{requests} cold requests one at a time: {wall * 1000 / requests:.2f} ms wall, "
          f"{cpu * 1000 / requests:.2f} ms CPU of this process per request")


async def measure(url: str, secret_key: str, key: str, requests: int) -> None:
    host = urlsplit(url)
    async with WireProbe(host.hostname or "127.0.0.1", host.port or 5432) as probe:
        settings = Settings(database_url=url, secret_keys=(secret_key,))
        first, warm = await server_round_trips(settings, key, probe)
        show("server, cold read (response cache off), warm connections", warm)
        show("server, the first request (fresh connections)", first)
        show("floor (bench/denormalized_endpoint.py)", await floor_round_trips(url, key, probe))
    if requests:
        await timed(Settings(database_url=url, secret_keys=(secret_key,)), key, requests)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shape", default="5x10", metavar="CxN")
    parser.add_argument("--postgres", default=POSTGRES, metavar="URL")
    parser.add_argument("--requests", type=int, default=0, metavar="N", help="also time N cold requests (default: none)")
    args = parser.parse_args()
    configs, numbers = map(int, args.shape.split("x"))
    from cryptography.fernet import Fernet

    secret_key = Fernet.generate_key().decode()
    with tempfile.TemporaryDirectory(prefix="gqlt-rt-") as tmp, database(args.postgres, Path(tmp), "round_trips") as url:
        key, _ = asyncio.run(seed(Settings(database_url=url, secret_keys=(secret_key,)), configs, numbers))
        asyncio.run(denormalized_tables.build(url, Vault([secret_key])))
        asyncio.run(measure(url, secret_key, key, args.requests))


if __name__ == "__main__":
    main()
