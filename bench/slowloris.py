"""What a slowloris does to a server: many connections that trickle header lines, never ending them.

Usage: .venv/bin/python -m bench.slowloris [--connections 1000] [--seconds 40] [--reconnect]
       [--descriptors 512] [--nginx]

Starts `gql-telephony serve` (SQLite, settings as they come) under a descriptor limit, opens the
trickling connections from this process (with --reconnect each one opens again as soon as the
server closes it, as a real attacker would), and meanwhile sends one normal request at a time
(a GraphQL query with a valid key). Prints, for the attack: normal requests served and failed
and their latencies, trickling connections closed by the server and when, how many were
refused at once, and the server's open descriptors (sampled from /proc).

With --nginx, both go through nginx run with deploy/nginx.conf (its upstream pointed at the
server, the server trusting it), the attack from 127.0.0.2 and the normal client from 127.0.0.1,
as two client addresses.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.live.server import ROOT, cli, free_port, running_server, server_env

QUERY = {"query": "{ telephonyProviders { key } }"}


@contextmanager
def nginx_in_front(server_port: int, directory: Path) -> Iterator[int]:
    """nginx with the deploy config, its upstream the server on this machine; yields its port."""
    port = free_port()
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    conf = conf.replace("resolver 127.0.0.11 valid=10s ipv6=off;", "")
    conf = conf.replace("set $api http://api:8000;", f"set $api http://127.0.0.1:{server_port};")
    conf = conf.replace("listen 8080;", f"listen 127.0.0.1:{port};")
    (directory / "nginx.conf").write_text(conf)
    process = subprocess.Popen(["nginx", "-c", str(directory / "nginx.conf"), "-p", str(directory),
                                "-g", f"daemon off; pid {directory}/nginx.pid; error_log {directory}/nginx.log;"])
    try:
        for _ in range(100):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


class Attack:
    def __init__(self, port: int, reconnect: bool, source: str = "127.0.0.1") -> None:
        self.port, self.reconnect, self.source = port, reconnect, source
        self.started = time.monotonic()
        self.closed_after: list[float] = []  # seconds each connection lived, when the server closed it
        self.refused = 0  # answered 503 at once, or not accepted at all
        self.stop = asyncio.Event()

    async def one(self) -> None:
        while not self.stop.is_set():
            opened = time.monotonic()
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", self.port, local_addr=(self.source, 0))
            except OSError:
                self.refused += 1
                await asyncio.sleep(0.2)
                continue
            try:
                writer.write(b"GET /graphql HTTP/1.1\r\nHost: x\r\n")
                n = 0
                while not self.stop.is_set():
                    try:
                        data = await asyncio.wait_for(reader.read(1024), 1.0)
                    except TimeoutError:
                        n += 1
                        writer.write(f"X-Slow-{n}: {n}\r\n".encode())
                        continue
                    if data.startswith(b"HTTP/1.1 503"):
                        self.refused += 1
                    else:
                        self.closed_after.append(time.monotonic() - opened)
                    break
            except ConnectionError:
                self.closed_after.append(time.monotonic() - opened)
            finally:
                writer.close()
            if not self.reconnect:
                return
            await asyncio.sleep(0.05)


def descriptors(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


async def run(args: argparse.Namespace) -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    directory = Path(tempfile.mkdtemp(prefix="slowloris-"))
    env = server_env(GQL_TELEPHONY_DATABASE_URL=f"sqlite+aiosqlite:///{directory / 'db.sqlite3'}",
                     GQL_TELEPHONY_TRUSTED_PROXIES="127.0.0.1")
    org = cli(["create-org", "Acme"], env)
    key = cli(["create-api-key", org], env)
    resource.setrlimit(resource.RLIMIT_NOFILE, (args.descriptors, hard))  # inherited by the server
    with running_server(env, directory / "server.log") as server:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # the attacker needs more
        if args.nginx:
            with nginx_in_front(server.port, directory) as port:
                await measure(args, server, key, directory, port, "127.0.0.2")
        else:
            await measure(args, server, key, directory, server.port, "127.0.0.1")


async def measure(args: argparse.Namespace, server: Any, key: str, directory: Path, port: int, source: str) -> None:
    """The attack from `source` and the normal requests, both to `port`; prints what happened."""
    attack = Attack(port, args.reconnect, source)
    tasks = [asyncio.create_task(attack.one()) for _ in range(args.connections)]
    latencies, failures, fds = [], 0, []
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10,
                                 headers={"authorization": f"Bearer {key}"}) as client:
        end = time.monotonic() + args.seconds
        while time.monotonic() < end:
            started = time.monotonic()
            try:
                response = await client.post("/graphql", json=QUERY)
                ok = response.status_code == 200
            except httpx.HTTPError:
                ok = False
            if ok:
                latencies.append((time.monotonic() - started) * 1000)
            else:
                failures += 1
            fds.append(descriptors(server.process.pid))
            await asyncio.sleep(0.1)
    attack.stop.set()
    await asyncio.gather(*tasks)
    log = (directory / "server.log").read_text().splitlines()
    closed = sorted(attack.closed_after)
    print(f"attack: {args.connections} trickling connections for {args.seconds} s, reconnect={args.reconnect}, "
          f"descriptor limit {args.descriptors}, through nginx: {args.nginx}")
    print(f"normal requests: {len(latencies)} served, {failures} failed")
    if latencies:
        latencies.sort()
        print(f"  latency ms: p50 {statistics.median(latencies):.1f}, p95 {latencies[int(len(latencies) * 0.95) - 1]:.1f}, "
              f"max {latencies[-1]:.1f}")
    if closed:
        print(f"trickling connections closed by the other end (server or nginx): {len(closed)}, after {closed[0]:.1f} to {closed[-1]:.1f} s "
              f"(median {statistics.median(closed):.1f} s)")
    print(f"refused at once (503 or not accepted): {attack.refused}")
    print(f"server descriptors: max {max(fds)}, last {fds[-1]}")
    print(f"warning lines logged: {sum(1 for line in log if 'WARNING' in line)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=40)
    parser.add_argument("--descriptors", type=int, default=512)
    parser.add_argument("--reconnect", action="store_true")
    parser.add_argument("--nginx", action="store_true", help="through nginx with deploy/nginx.conf")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
