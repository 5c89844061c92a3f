"""One request's CPU as valgrind counts it in instructions: a figure this machine's noise does not move.

On a shared machine two runs of the same tree differ by 5% to 15% in CPU time, more than most
single changes gain. An instruction count differs by less than 0.1%. So a change to the fixed
costs of a request is measured here, then confirmed with `make bench`.

The app runs in-process, as `gql-telephony serve` configures it (JSON log lines, here to
/dev/null; the collector's thresholds; the response cache off, so every dashboard is a cold read;
the rate limit off, as in `make bench`), on a fresh database seeded by bench/seed.py. Requests go
straight into the ASGI app: no socket and no HTTP server, whose cost the floor endpoints pay too.
The same process runs twice under callgrind, with N1 and with N2 requests after the same warm-up;
(count(N2) - count(N1)) / (N2 - N1) is one request, with start-up and warm-up cancelled out.

Usage: python -m bench.request_instructions [--postgres URL | --sqlite] [--shape 5x10]
       [--requests 100,400] [--query dashboard|rename]
Needs valgrind (Debian: apt-get install valgrind). Both counts run at once: about a minute on two cores.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from gql_telephony.app import build_runtime, create_app
from gql_telephony.domain.ids import encode_id
from gql_telephony.logs import configure_logging
from gql_telephony.server import GC_THRESHOLDS
from gql_telephony.settings import Settings
from tests.documents import DASHBOARD

from .databases import database
from .seed import seed
from .writes import MUTATIONS

DEFAULT_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
WARM_UP = 50
COLLECTED = re.compile(r"Collected : (\d+)")


async def requests_into_app(url: str, secret: str, key: str, query: str, count: int) -> None:
    """The child's work: WARM_UP requests, then `count` more, each checked to have succeeded."""
    settings = Settings(database_url=url, secret_keys=(secret,), response_cache_mb=0, rate_limit_per_minute=0)
    runtime = build_runtime(settings)
    app = create_app(runtime=runtime)
    if query == "rename":  # as bench/writes.py renames: two names in turn, each a real change
        bodies = [json.dumps({"query": MUTATIONS["rename"], "variables": {"input": {
            "id": encode_id("TelephonyConfig", 1), "name": f"Renamed {turn}"}}}).encode() for turn in range(2)]
    else:
        bodies = [json.dumps({"query": DASHBOARD}).encode()]
    sent_count = 0

    async def one() -> None:
        nonlocal sent_count
        encoded = bodies[sent_count % len(bodies)]
        sent_count += 1
        headers = [(b"host", b"bench"), (b"content-type", b"application/json"), (b"accept", b"application/json"),
                   (b"authorization", f"Bearer {key}".encode()), (b"content-length", str(len(encoded)).encode())]
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
                 "scheme": "http", "path": "/graphql", "raw_path": b"/graphql", "query_string": b"",
                 "root_path": "", "headers": headers, "client": ("127.0.0.1", 40000),
                 "server": ("127.0.0.1", 8000), "state": {}}
        received = False
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            nonlocal received
            if received:  # only a disconnect would come next: none does
                await asyncio.Event().wait()
            received = True
            return {"type": "http.request", "body": encoded, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await app(scope, receive, send)
        if sent[0]["status"] != 200 or b'"errors"' in sent[1]["body"]:
            raise SystemExit(f"the request failed: {sent[0]['status']} {sent[1]['body'][:500]!r}")

    gc.set_threshold(*GC_THRESHOLDS)
    try:
        for _ in range(WARM_UP):
            await one()
        gc.collect()
        gc.freeze()  # as the server's lifespan does
        for _ in range(count):
            await one()
    finally:
        await runtime.broker.close()
        await runtime.db.dispose()


def counted(args: argparse.Namespace, url: str, secret: str, key: str, counts: list[int], workdir: Path) -> list[int]:
    """The process's instructions with each count of requests after the warm-up (the runs side
    by side: what one process counts does not depend on the other)."""
    running = []
    for count in counts:
        log = workdir / f"callgrind-{count}.log"
        command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={workdir / f'callgrind-{count}.out'}",
                   f"--log-file={log}", sys.executable, "-m", "bench.request_instructions", "--child",
                   json.dumps([url, secret, key, args.query, count])]
        running.append((log, subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                              env={**os.environ, "PYTHONHASHSEED": "0"})))
    found = []
    for log, process in running:
        if process.wait() != 0:
            raise SystemExit(f"the counted run failed (status {process.returncode}): see {log}")
        collected = COLLECTED.search(log.read_text())
        if collected is None:
            raise SystemExit(f"valgrind counted nothing: see {log}")
        found.append(int(collected[1]))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="a server to make the database on")
    parser.add_argument("--sqlite", action="store_true", help="a SQLite file instead of PostgreSQL")
    parser.add_argument("--shape", default="5x10", help="configurations x numbers (default 5x10)")
    parser.add_argument("--requests", default="100,400", help="N1,N2 (default 100,400)")
    parser.add_argument("--query", choices=("dashboard", "rename"), default="dashboard")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        url, secret, key, query, count = json.loads(args.child)
        configure_logging()  # a line per request, as `serve` writes (to /dev/null here)
        asyncio.run(requests_into_app(url, secret, key, query, count))
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is needed: apt-get install valgrind")
    configs, numbers = (int(part) for part in args.shape.split("x"))
    first, second = (int(part) for part in args.requests.split(","))
    with tempfile.TemporaryDirectory(prefix="bench-instructions-") as scratch:
        workdir = Path(scratch)
        with database(None if args.sqlite else args.postgres, workdir, "instructions") as url:
            secret = Fernet.generate_key().decode()
            read_key, write_key = asyncio.run(seed(Settings(database_url=url, secret_keys=(secret,)), configs, numbers))
            key = write_key if args.query == "rename" else read_key
            with_first, with_second = counted(args, url, secret, key, [first, second], workdir)
    per_request = (with_second - with_first) / (second - first)
    print(f"{'SQLite' if args.sqlite else 'PostgreSQL'} {args.shape} {args.query}: "
          f"{per_request / 1e6:.3f} M instructions per request "
          f"({with_first:,} with {first} requests, {with_second:,} with {second})")


if __name__ == "__main__":
    main()
