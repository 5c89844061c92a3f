"""What one HTTP request costs the server before and after its own work: the fixed costs.

Usage: .venv/bin/python -m bench.fixed_costs [--requests 2000] [--tree PATH] [--py-spy FILE] [--only NAME]

Starts `gql-telephony serve` (SQLite, 5 configurations x 10 numbers, its log to a file as in
production: one JSON line per request) from this tree or from `--tree` (another copy of the
project, to compare before and after in alternation), then sends, one at a time over one kept-alive
connection, the same request `--requests` times for each of:

  warm      the dashboard query, answered from the response cache: the key's look-up, the HTTP
            stack, the middleware, the cache look-up and the response; no plan, no statement.
  cold      the dashboard query with the response cache off (a second server): a plan's 4 reads.
  notfound  a rename of a configuration that does not exist: the key's look-up, one statement,
            a NOT_FOUND user error through the generic executor.
  healthz   GET /healthz: the middleware and routing only.

and prints the server's CPU (user + system, from /proc) per request in ms. `--py-spy FILE`
samples the server with the cache (warm, notfound, healthz) during the runs (collapsed stacks,
for bench/profile_summary.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from cryptography.fernet import Fernet

from gql_telephony.domain.ids import encode_id
from gql_telephony.settings import Settings
from tests.documents import DASHBOARD

from .load import Connection, Target, cpu_seconds
from .processes import free_port, server_env, started
from .seed import seed

RENAME = ("mutation R($input: UpdateTelephonyConfigInput!) { updateTelephonyConfig(input: $input) "
          "{ telephonyConfig { id name version } userErrors { code message } } }")
ROOT = Path(__file__).resolve().parents[1]


def requests(port: int, key: str) -> dict[str, Target]:
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    dashboard = json.dumps({"query": DASHBOARD}).encode()
    rename = json.dumps({"query": RENAME, "variables": {"input": {
        "id": encode_id("TelephonyConfig", 10**9), "name": "Nobody"}}}).encode()
    return {
        "warm": Target.of("warm", port, "POST", "/graphql", headers, dashboard),
        "cold": Target.of("cold", port, "POST", "/graphql", headers, dashboard),
        "notfound": Target.of("notfound", port, "POST", "/graphql", headers, rename),
        "healthz": Target.of("healthz", port, "GET", "/healthz", {}),
    }


def thread_times(pid: int) -> dict[str, tuple[float, float, int, int]]:
    """Per thread name: (user, system) CPU seconds, context switches and minor page faults,
    summed over its threads."""
    tick = os.sysconf("SC_CLK_TCK")
    found: dict[str, tuple[float, float, int, int]] = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            stat = Path(f"/proc/{pid}/task/{tid}/stat").read_text()
            status = Path(f"/proc/{pid}/task/{tid}/status").read_text()
        except OSError:
            continue
        name = "main" if tid == str(pid) else stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat.rsplit(")", 1)[1].split()
        switches = sum(int(line.split()[1]) for line in status.splitlines() if "ctxt_switches" in line)
        user, system, before, faults = found.get(name, (0.0, 0.0, 0, 0))
        found[name] = (user + int(fields[11]) / tick, system + int(fields[12]) / tick, before + switches,
                       faults + int(fields[7]))
    return found


async def cpu_per_request(target: Target, count: int, pid: int, by_thread: bool = False) -> float:
    connection = await Connection(target.port).open()
    try:
        for _ in range(50):  # warm-up: documents prepared, plans compiled, the response cached
            status, body = await connection.send(target.request)
            if status != 200 or b'"errors"' in body or (target.name == "notfound" and b"NOT_FOUND" not in body):
                raise SystemExit(f"FAIL: {target.name}: {status} {body[:300]!r}")
        before, threads = cpu_seconds(pid) or 0.0, thread_times(pid)
        for _ in range(count):
            await connection.send(target.request)
        spent = 1000 * ((cpu_seconds(pid) or 0.0) - before) / count
        if by_thread:
            after, none = thread_times(pid), (0.0, 0.0, 0, 0)
            print(f"  {target.name}: " + "; ".join(
                f"{name} user {1000 * (u - threads.get(name, none)[0]) / count:.3f} "
                f"system {1000 * (s - threads.get(name, none)[1]) / count:.3f} ms, "
                f"{(c - threads.get(name, none)[2]) / count:.1f} switches, "
                f"{(f - threads.get(name, none)[3]) / count:.1f} page faults"
                for name, (u, s, c, f) in after.items() if c != threads.get(name, none)[2]))
        return spent
    finally:
        await connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--tree", type=Path, default=ROOT, help="the project copy whose server runs (default: this)")
    parser.add_argument("--py-spy", type=Path, metavar="FILE", help="sample into FILE the server with the cache (warm, notfound, healthz), or the one without it with --only cold")
    parser.add_argument("--cprofile", type=Path, metavar="FILE",
                        help="run the servers under cProfile, the cached one's stats to FILE (start-up included)")
    parser.add_argument("--only", action="append", choices=("warm", "cold", "notfound", "healthz"))
    parser.add_argument("--threads", action="store_true", help="also each thread's user and system CPU per request")
    args = parser.parse_args()
    names = args.only or ["warm", "cold", "notfound", "healthz"]
    tree = args.tree.resolve()
    with tempfile.TemporaryDirectory(prefix="gqlt-fixed-") as tmp, ExitStack() as stack:
        secret = Fernet.generate_key().decode()
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'fixed.sqlite3'}"
        key, write_key = asyncio.run(seed(Settings(database_url=url, secret_keys=(secret,)), 5, 10))
        env = server_env(GQL_TELEPHONY_DATABASE_URL=url, GQL_TELEPHONY_SECRET_KEYS=secret,
                         PYTHONPATH=str(tree))
        servers = {}
        for name, extra in (("cached", {}), ("uncached", {"GQL_TELEPHONY_RESPONSE_CACHE_MB": "0"})):
            port = free_port()
            profiled = ["-m", "cProfile", "-o", str(args.cprofile.resolve()) if name == "cached"
                        else str(Path(tmp) / "uncached.prof")] if args.cprofile else []
            command = [sys.executable, "-P", *profiled, "-m", "gql_telephony.cli", "serve", "--port", str(port)]
            process = stack.enter_context(started(name, command, {**env, **extra}, port, Path(tmp) / f"{name}.log", None))
            servers[name] = (port, process.pid)
        spy = None
        if args.py_spy:
            spy = subprocess.Popen([os.environ.get("PY_SPY", "/tmp/pyspy/bin/py-spy"), "record", "--pid",
                                    str(servers["uncached" if names == ["cold"] else "cached"][1]),
                                    "--rate", "200", "--format", "raw", "--gil", "--output", str(args.py_spy)],
                                   env={**os.environ, "PYTHONPATH": "/tmp/pyspy"}, stdout=subprocess.DEVNULL)
            time.sleep(1.0)

        async def measure() -> dict[str, float]:
            figures = {}
            for name in names:
                port, pid = servers["uncached" if name == "cold" else "cached"]
                target = requests(port, write_key if name == "notfound" else key)[name]
                figures[name] = await cpu_per_request(target, args.requests, pid, args.threads)
            return figures

        figures = asyncio.run(measure())
        if spy is not None:
            spy.send_signal(2)
            spy.wait(timeout=60)
    print(f"tree {tree} ({args.requests} requests each): server CPU ms per request: "
          + ", ".join(f"{name} {value:.3f}" for name, value in figures.items()))


if __name__ == "__main__":
    main()
