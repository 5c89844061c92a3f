"""Memory: what 20,000 distinct queries leave behind in one server process.

Usage: .venv/bin/python -m bench.memory_growth [--queries 20000] [--cache-mb 64] [--no-pin]
(`make bench` runs it once.)

Seeds 5 configurations x 10 numbers (bench/seed.py) on a fresh SQLite file, starts one server
with GQL_TELEPHONY_RESPONSE_CACHE_MB=64 (gql_telephony/settings.py, `response_cache_mb`), and
sends it QUERIES dashboard queries that are all different documents (each its own operation
name and alias, so each is parsed, validated, compiled into a plan and cached as a response of
its own: about 7 KiB each, 140 MiB in all, twice the cache's bound), from 8 keep-alive clients.
Every answer must be 200 without errors. The server's VmRSS (/proc/PID/status) is read after a
warm-up of 500 other distinct queries, then every quarter of the way; the growth from the
warm-up to the end is the figure, set against the cache's bound.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
from pathlib import Path

from cryptography.fernet import Fernet

from gql_telephony.settings import Settings
from tests.documents import DASHBOARD

from . import goals
from .load import Connection, Target
from .processes import Process, free_port, server_env, started
from .seed import seed

CLIENTS = 8
WARMUP = 500


def document(i: int) -> str:
    """The dashboard query, made a different document by its operation name and one alias."""
    return DASHBOARD.replace("query Dashboard {", f"query Dashboard{i} {{", 1).replace(
        "telephonyConfigWarnings {", f"w{i}: telephonyConfigWarnings {{", 1)


async def send_all(port: int, key: str, numbers: range) -> None:
    counter = iter(numbers)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

    async def client() -> None:
        connection = await Connection(port).open()
        try:
            for i in counter:
                request = Target.of("q", port, "POST", "/graphql", headers, json.dumps({"query": document(i)}).encode()).request
                status, body = await connection.send(request)
                if status != 200 or b'"errors"' in body:
                    raise SystemExit(f"FAIL: query {i} answered {status}: {body[:300]!r}")
        finally:
            await connection.close()

    await asyncio.gather(*(client() for _ in range(CLIENTS)))


def measure(queries: int, cache_mb: int, pinned: bool) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="gqlt-memory-") as tmp:
        secret_key = Fernet.generate_key().decode()
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'memory.sqlite3'}"
        key, _ = asyncio.run(seed(Settings(database_url=url, secret_keys=(secret_key,)), 5, 10))
        env = server_env(GQL_TELEPHONY_DATABASE_URL=url, GQL_TELEPHONY_SECRET_KEYS=secret_key,
                         GQL_TELEPHONY_RESPONSE_CACHE_MB=str(cache_mb))
        port = free_port()
        with started("server", [sys.executable, "-m", "gql_telephony.cli", "serve", "--port", str(port)], env, port,
                     Path(tmp) / "server.log", 1 if pinned else None) as server:
            return asyncio.run(grow(server, port, key, queries))


async def grow(server: Process, port: int, key: str, queries: int) -> dict[str, float]:
    started_at = server.memory("VmRSS") or 0.0
    await send_all(port, key, range(queries, queries + WARMUP))  # numbers the measured run does not use
    found = {"start": started_at, "before": server.memory("VmRSS") or 0.0}
    start = 0
    for quarter in (1, 2, 3, 4):
        end = queries * quarter // 4
        await send_all(port, key, range(start, end))
        found[f"after {end}"] = server.memory("VmRSS") or 0.0
        start = end
    found["after"] = found[f"after {queries}"]
    found["peak"] = server.memory("VmHWM") or 0.0
    found["growth"] = found["after"] - found["before"]
    return found


def report(found: dict[str, float], queries: int, cache_mb: int) -> None:
    steps = ", ".join(f"{k.removeprefix('after ')}: {v:.0f}" for k, v in found.items()
                      if k.startswith("after ") and k != "after")
    print(f"  server VmRSS at start {found['start']:.0f} MiB, after the warm-up {found['before']:.0f} MiB; after "
          f"each quarter of {queries} distinct queries (MiB) {steps}; peak (VmHWM) {found['peak']:.0f} MiB; "
          f"growth from the start {found['after'] - found['start']:.1f} MiB")
    goals.record(f"memory: RSS growth over {queries} distinct queries", f"{found['growth']:.1f} MiB",
                 f"<= {cache_mb} MiB", found["growth"] <= cache_mb)
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queries", type=int, default=20_000)
    parser.add_argument("--cache-mb", type=int, default=64)
    parser.add_argument("--no-pin", action="store_true")
    args = parser.parse_args()
    pinned = not args.no_pin and len(os.sched_getaffinity(0)) >= 2
    if pinned:
        os.sched_setaffinity(0, {0})
    report(measure(args.queries, args.cache_mb, pinned), args.queries, args.cache_mb)


if __name__ == "__main__":
    main()

