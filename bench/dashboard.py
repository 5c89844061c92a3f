"""The benchmark of `make bench`: dashboard reads, the server cold and warm, against two
hand-written endpoints serving the same JSON (the raw one, and the denormalized floor), on SQLite
and PostgreSQL; reads right after writes; then single writes and a bulk import against the same
by hand (bench/writes.py), subscription fan-out (bench/fanout.py) and memory
(bench/memory_growth.py). Each figure is printed against the goal of issue 16 as it comes, and all
together at the end (bench/goals.py).

Usage: .venv/bin/python -m bench.dashboard [--shape 5x10 25x40 100x100 ...] [--duration 60] [--rounds 5]
           [--clients 8] [--generic] [--writes 200] [--postgres URL | --no-postgres | --no-sqlite]
           [--write-count 200] [--import-numbers 10000] [--import-rounds 2]
           [--subscribers 1000] [--spread-subscribers 10000] [--spread-processes 4] [--client-processes 4]
           [--subscription-rounds 15] [--no-subscriptions] [--memory-queries 20000] [--cache-mb 64]
           [--quick] [--no-pin] [--profile py-spy|cprofile] [--verbose]
(`make bench` runs it with the defaults, about 30 minutes; `make bench-quick` with --quick, which
runs every part very briefly to check that it runs; its figures mean nothing.)

For each database (a fresh temporary SQLite file; then, unless --no-postgres, a fresh database
made on the PostgreSQL server of --postgres and dropped afterwards) and each shape CONFIGSxNUMBERS it
  1. seeds one organization: CONFIGS telephony configurations
     (a mix of providers, created through the service layer, so secrets are encrypted as in
     production) with NUMBERS phone numbers each (inserted with SQL, interleaved across configs);
  2. counts the SQL statements of one dashboard request, in-process, with engine event listeners:
     a cold read (response cache off) with compiled plans and, where the setting exists, with the
     generic executor; and a repeated read with the cache on;
  3. starts the targets on that file, each its own process:
       cold     `gql-telephony serve` with GQL_TELEPHONY_RESPONSE_CACHE_MB=0: every request is
                a cold read (as the first read after a write is), answered by compiled plans;
       warm     `gql-telephony serve` with its defaults (response cache on): repeated reads;
       raw      bench/raw_endpoint.py (Starlette + aiosqlite + orjson, plain SQL, the project's
                Vault and masking), the floor;
       generic  (--generic) `gql-telephony serve` with GQL_TELEPHONY_COMPILED_PLANS=0 and no
                cache: the generic graphql-core executor, for reference;
     and checks that all answer the same JSON (the GraphQL `data`, twice each), or stops;
  4. after a short warm-up, alternates rounds between the targets in a balanced rotation (ABCCBA)
     with CLIENTS keep-alive clients in a closed loop; every response must be 200 with the
     expected body;
  5. prints per target requests/s (median of rounds, min-max) and its ratio to raw, p50/p99
     latency over all requests, statements per request, CPU time per request and peak RSS
     (VmHWM), each server's gql_telephony_read_path_total counters from /metrics (which path
     answered: plan, generic or cache), and how much CPU other processes took meanwhile;
  6. with --writes N (default 200, 0 skips), one client: N times, renames a configuration
     through the warm server and times the next dashboard read on it, and likewise on the raw
     endpoint (bench/write_read.py): p50/p99 of a read that no cache can answer.
The targets: cold and warm (and generic) as above; raw, bench/raw_endpoint.py; floor,
bench/denormalized_endpoint.py over side tables that bench/denormalized_tables.py builds from the
seeded data (each configuration's masked config, warnings and counts, the organization's
summary: what a hand-tuned service would store at write time). Each read's ratio to the floor
is a goal (>= 0.5x).

On a machine with two or more cores the servers are pinned to CPU 1 and this process (the
load generator) to CPU 0, so that the client does not steal the server's CPU; --no-pin leaves
scheduling to the OS.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import sqlalchemy as sa
from cryptography.fernet import Fernet

from gql_telephony.app import build_runtime, create_app
from gql_telephony.crypto import Vault
from gql_telephony.settings import Settings
from tests.documents import DASHBOARD

from . import (
    denormalized_endpoint,
    denormalized_tables,
    fanout,
    goals,
    memory_growth,
    raw_endpoint,
    writes,
)
from .databases import database, reachable
from .load import Round, Target, cpu_seconds, fetch, percentile, run_round
from .pools import pool_for
from .processes import READ_PATHS, Process, free_port, py_spy, server_env, started
from .seed import seed
from .write_read import AfterWrite, reads_after_writes

# The real server's variants: its environment, and the same as Settings fields (for the in-process count).
SERVERS: dict[str, tuple[dict[str, str], dict[str, Any]]] = {
    "cold": ({"GQL_TELEPHONY_RESPONSE_CACHE_MB": "0"}, {"response_cache_mb": 0}),
    "warm": ({}, {}),
    "generic": ({"GQL_TELEPHONY_RESPONSE_CACHE_MB": "0", "GQL_TELEPHONY_COMPILED_PLANS": "0"},
                {"response_cache_mb": 0, "compiled_plans": False}),
}
LABELS = {"cold": "server, no cache", "warm": "server, cache", "raw": "raw endpoint", "floor": "denormalized floor",
          "generic": "server, generic"}
POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
COUNTED = {"cold": "cold read with plans", "generic": "cold read with the generic executor",
           "warm": "repeated read (cache on)", "raw": "raw", "floor": "denormalized floor"}
FLOORS = ("raw", "floor")  # the hand-written endpoints; each answers the data itself, not under "data"


# -- statements per request, in-process ------------------------------------------------------

def variant(settings: Settings, changes: dict[str, Any]) -> Settings | None:
    """`settings` with the changes this version of Settings knows; None when there is no
    compiled_plans switch (then there is no other executor to count)."""
    known = {f.name for f in dataclasses.fields(Settings)}
    if "compiled_plans" in changes and "compiled_plans" not in known:
        return None
    return dataclasses.replace(settings, **{k: v for k, v in changes.items() if k in known})


async def count_statements(settings: Settings, key: str) -> tuple[list[str], dict[str, Any]]:
    """(the SQL, the data) of the second of two dashboard requests in-process, so the first has
    warmed whatever it warms (with the response cache on, the second is a repeated read). Counted
    as tests/test_statement_count.py does: every statement the engines send to the driver (the
    BEGIN of each short session included)."""
    runtime = build_runtime(settings)
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]  # SQLAlchemy's event arguments
        statements.append(statement)

    try:
        transport = httpx.ASGITransport(app=create_app(runtime=runtime))
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            async def ask() -> dict[str, Any]:
                response = await client.post("/graphql", json={"query": DASHBOARD}, headers={"authorization": f"Bearer {key}"})
                body = response.json()
                if response.status_code != 200 or "errors" in body:
                    raise SystemExit(f"the dashboard query failed in-process: {response.status_code} {response.text[:1000]}")
                return body["data"]

            await ask()
            for engine in runtime.db.engines:
                sa.event.listen(engine.sync_engine, "before_cursor_execute", record)
            data = await ask()
            for engine in runtime.db.engines:
                sa.event.remove(engine.sync_engine, "before_cursor_execute", record)
    finally:
        await runtime.broker.close()
        await runtime.db.dispose()
    return statements, data


async def count_raw_statements(settings: Settings, key: str) -> tuple[list[str], dict[str, Any]]:
    statements: list[str] = []
    pool = pool_for(settings.database_url, 1, statements.append)
    await pool.open()
    try:
        vault = Vault(list(settings.secret_keys))
        await raw_endpoint.dashboard(pool, vault, key)
        statements.clear()
        data = await raw_endpoint.dashboard(pool, vault, key)
    finally:
        await pool.close()
    return statements, data or {}


async def count_floor_statements(settings: Settings, key: str, pages: bool) -> tuple[list[str], dict[str, Any]]:
    statements: list[str] = []
    pool = pool_for(settings.database_url, 1, statements.append)
    await pool.open()
    try:
        await denormalized_endpoint.dashboard(pool, key, pages)
        statements.clear()
        data = await denormalized_endpoint.dashboard(pool, key, pages)
    finally:
        await pool.close()
    return statements, orjson.loads(orjson.dumps(data or {}))  # its fragments as plain JSON


async def count_all(settings: Settings, key: str, names: list[str], pages: bool = False) -> dict[str, tuple[list[str], dict[str, Any]] | None]:
    counted: dict[str, tuple[list[str], dict[str, Any]] | None] = {}
    for name in names:
        if name == "raw":
            counted[name] = await count_raw_statements(settings, key)
        elif name == "floor":
            counted[name] = await count_floor_statements(settings, key, pages)
        else:
            changed = variant(settings, SERVERS[name][1])
            counted[name] = None if changed is None else await count_statements(changed, key)
    return counted


# -- checking the answers --------------------------------------------------------------------

def first_difference(a: Any, b: Any, path: str = "data") -> str | None:
    if type(a) is not type(b):
        return f"{path}: {type(a).__name__} {json.dumps(a)[:200]} != {type(b).__name__} {json.dumps(b)[:200]}"
    if isinstance(a, dict):
        if list(a) != list(b):
            return f"{path}: keys {list(a)} != {list(b)}"
        for k in a:
            found = first_difference(a[k], b[k], f"{path}.{k}")
            if found:
                return found
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} items != {len(b)} items"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            found = first_difference(x, y, f"{path}[{i}]")
            if found:
                return found
        return None
    return None if a == b else f"{path}: {json.dumps(a)[:200]} != {json.dumps(b)[:200]}"


def check_same(answers: dict[str, list[bytes]], in_process: dict[str, dict[str, Any]], configs: int, numbers: int) -> None:
    """Every answer's data (two HTTP answers per target, then the in-process ones) is the raw endpoint's."""
    datas: dict[str, Any] = {}
    for name, bodies in answers.items():
        for i, raw_body in enumerate(bodies):
            body = json.loads(raw_body)
            if name not in FLOORS and ("errors" in body or "data" not in body):
                raise SystemExit(f"FAIL: the {name} server answered errors: {raw_body[:2000]!r}")
            datas[f"{LABELS[name]} (answer {i + 1})"] = body if name in FLOORS else body["data"]
    datas.update({f"{LABELS[name]} in-process": data for name, data in in_process.items()})
    expected = json.loads(answers["raw"][0])
    for label, data in datas.items():
        difference = first_difference(data, expected)
        if difference:
            raise SystemExit(f"FAIL: {label} and the raw endpoint answer different JSON; first difference:\n  {difference}")
    edges = expected["telephonyConfigs"]["edges"]
    assert len(edges) == min(configs, 100), len(edges)
    assert all(len(e["node"]["phoneNumbers"]["nodes"]) == min(numbers, 50) for e in edges)


async def answers_of(targets: list[Target]) -> dict[str, list[bytes]]:
    """Two answers from each target (the second a repeated read), each of status 200."""
    answers: dict[str, list[bytes]] = {}
    for target in targets:
        for _ in range(2):
            status, body = await fetch(target)
            if status != 200:
                raise SystemExit(f"FAIL: {target.name} answered status {status}: {body[:500]!r}")
            answers.setdefault(target.name, []).append(body)
    return answers


# -- measuring -------------------------------------------------------------------------------

@dataclass
class Result:
    configs: int
    numbers: int
    response_kib: float
    names: list[str]  # the targets, in rotation order
    rounds: dict[str, list[Round]]
    statements: dict[str, int | None]
    rss_before: dict[str, float | None]
    rss_peak: dict[str, float | None]
    read_paths: dict[str, dict[str, float] | None]  # the servers' /metrics counters, after the rounds
    after_write: AfterWrite | None
    foreign: float | None  # share of a CPU other processes used while measuring
    pinned: bool
    database: str = "SQLite"

    def rates(self, name: str) -> list[float]:
        return [r.rate for r in self.rounds[name]]

    def rate(self, name: str) -> float:
        return statistics.median(self.rates(name))

    def latencies_ms(self, name: str) -> list[float]:
        return [s * 1000 for r in self.rounds[name] for s in r.latencies]

    def server_cpu(self, name: str) -> tuple[float, float] | None:
        """(CPU ms per request, CPU share of one core) of the server over its rounds."""
        rounds = self.rounds[name]
        if any(r.server_cpu is None for r in rounds):
            return None
        cpu = sum(r.server_cpu or 0 for r in rounds)
        return 1000 * cpu / sum(len(r.latencies) for r in rounds), cpu / sum(r.seconds for r in rounds)

    def client_share(self, name: str) -> float:
        rounds = self.rounds[name]
        return sum(r.client_cpu for r in rounds) / sum(r.seconds for r in rounds)


def busy_seconds(cpu: int | None) -> float | None:
    """CPU time spent busy (not idle or waiting for I/O) by one CPU, or all (cpu None), since boot."""
    name = "cpu" if cpu is None else f"cpu{cpu}"
    try:
        for line in Path("/proc/stat").read_text().splitlines():
            fields = line.split()
            if fields[0] == name:
                user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[1:9])
                return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError):
        return None
    return None


@contextmanager
def foreign_load(pids: list[int], cpu: int | None, out: dict[str, float]) -> Iterator[None]:
    """Sets out["foreign"]: the share of a CPU that processes other than ours used during the
    block, on the servers' CPU when they are pinned (else on all CPUs, our client counted as ours)."""
    def ours() -> float:
        total = sum(cpu_seconds(pid) or 0 for pid in pids)
        return total if cpu is not None else total + time.process_time()

    busy_before, ours_before, started_at = busy_seconds(cpu), ours(), time.perf_counter()
    yield
    busy_after, ours_after = busy_seconds(cpu), ours()
    if busy_before is not None and busy_after is not None:
        out["foreign"] = max(0.0, (busy_after - busy_before) - (ours_after - ours_before)) / (time.perf_counter() - started_at)


async def measure(targets: list[Target], pids: dict[str, int], *, rounds: int, seconds: float, clients: int,
                  warmup: float) -> dict[str, list[Round]]:
    for target in targets:
        await run_round(target, clients=clients, seconds=warmup)
    results: dict[str, list[Round]] = {t.name: [] for t in targets}
    for index in range(rounds):
        # ABC then CBA: each target's rounds sit at the same mean position, so drift hits all alike.
        for target in targets if index % 2 == 0 else list(reversed(targets)):
            results[target.name].append(await run_round(target, clients=clients, seconds=seconds, pid=pids[target.name]))
    return results


def run_shape(configs: int, numbers: int, args: argparse.Namespace, pinned: bool, postgres: str | None = None) -> Result:
    """One shape on a fresh SQLite file, or (`postgres`: a server's URL) on a fresh PostgreSQL database."""
    names = ["cold", "warm", "raw", "floor"] + (["generic"] if args.generic else [])
    with tempfile.TemporaryDirectory(prefix="gqlt-bench-") as tmp, ExitStack() as stack:
        url = stack.enter_context(database(postgres, Path(tmp), "dashboard"))
        secret_key = Fernet.generate_key().decode()
        settings = Settings(database_url=url, secret_keys=(secret_key,))
        began = time.perf_counter()
        key, write_key = asyncio.run(seed(settings, configs, numbers))
        asyncio.run(denormalized_tables.build(url, Vault([secret_key])))
        counted = asyncio.run(count_all(settings, key, list(COUNTED), args.floor_pages))  # the generic one even without --generic
        statements = {name: None if c is None else len(c[0]) for name, c in counted.items()}
        print(f"  seeded {configs} configs x {numbers} numbers in {time.perf_counter() - began:.1f} s; SQL statements per "
              "dashboard request: " + ", ".join(f"{label} {count_text(statements[name])}" for name, label in COUNTED.items()),
              flush=True)
        for name in COUNTED if args.verbose else ():
            for line in (counted[name] or ([], {}))[0]:
                print(f"    {name + ':':<8}", " ".join(line.split())[:160])

        # One API key asks for everything here: a per-key rate limit (where the server has one)
        # would measure the limit, not the server. Its middleware still runs.
        env = server_env(GQL_TELEPHONY_DATABASE_URL=settings.database_url, GQL_TELEPHONY_SECRET_KEYS=secret_key,
                         GQL_TELEPHONY_RATE_LIMIT_PER_MINUTE="0")
        cpu = 1 if pinned else None
        gql_headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json", "Accept": "application/json"}
        processes: dict[str, Process] = {}
        targets: dict[str, Target] = {}
        for name in names:
            port = free_port()
            if name in FLOORS:
                module = "bench.raw_endpoint" if name == "raw" else "bench.denormalized_endpoint"
                command = [sys.executable, "-m", module, "--db", url, "--port", str(port),
                           *(["--pages"] if name == "floor" and args.floor_pages else [])]
                targets[name] = Target.of(name, port, "GET", "/dashboard", {"Authorization": f"Bearer {key}"})
            else:
                command = [sys.executable, "-m", "gql_telephony.cli", "serve", "--port", str(port)]
                if name == "cold" and args.profile == "cprofile":
                    command[1:1] = ["-m", "cProfile", "-o", str(args.profile_out)]
                targets[name] = Target.of(name, port, "POST", "/graphql", gql_headers, json.dumps({"query": DASHBOARD}).encode())
            processes[name] = stack.enter_context(started(
                LABELS[name], command, {**env, **SERVERS.get(name, ({}, {}))[0]}, port, Path(tmp) / f"{name}.log", cpu))

        answers = run_async(answers_of(list(targets.values())))
        check_same(answers, {name: c[1] for name, c in counted.items() if c is not None}, configs, numbers)
        raw_body = answers["raw"][0]
        print(f"  all answer the same JSON ({len(raw_body) / 1024:.1f} KiB of data)", flush=True)
        rss_before = {name: p.memory("VmRSS") for name, p in processes.items()}

        # A repeated read's bytes are what the rounds get (the warm server's first answer filled its cache).
        expected = {name: targets[name].expecting(answers[name][1]) for name in names}
        seconds = args.duration / (len(names) * args.rounds)
        noise: dict[str, float] = {}
        with py_spy(processes["cold"].pid, args.profile_out) if args.profile == "py-spy" else ExitStack(), \
                foreign_load([p.pid for p in processes.values()], cpu, noise):
            rounds = run_async(measure([expected[n] for n in names], {n: p.pid for n, p in processes.items()},
                                       rounds=args.rounds, seconds=seconds, clients=args.clients, warmup=args.warmup))
        rss_peak = {name: p.memory("VmHWM") for name, p in processes.items()}
        read_paths = {name: p.read_paths() for name, p in processes.items() if name not in FLOORS}  # before the writes add to them

        after_write = None
        if args.writes:
            first = json.loads(raw_body)["telephonyConfigs"]["edges"][0]["node"]
            after_write = run_async(reads_after_writes(expected["warm"], expected["raw"], write_key, first["id"],
                                                       first["name"], args.writes))
    return Result(configs, numbers, len(raw_body) / 1024, names, rounds, statements, rss_before, rss_peak,
                  read_paths, after_write, noise.get("foreign"), pinned, "PostgreSQL" if postgres else "SQLite")


def run_async(coroutine: Any) -> Any:
    try:
        import uvloop  # a cheaper client loop where available

        return uvloop.run(coroutine)
    except ImportError:
        return asyncio.run(coroutine)


# -- report ----------------------------------------------------------------------------------

def mib(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f}"


def count_text(value: int | None) -> str:
    return "n/a" if value is None else str(value)


def cpu_text(result: Result, name: str) -> tuple[str, str]:
    cpu = result.server_cpu(name)
    return ("n/a", "n/a") if cpu is None else (f"{cpu[0]:.2f}", f"{100 * cpu[1]:.0f}%")


def spread(values: list[float]) -> str:
    return f"p50 {percentile(values, 0.5):.1f} / p99 {percentile(values, 0.99):.1f} ms"


def report(result: Result) -> None:
    print(f"  {'':<28} {'req/s median':>12} {'(min-max)':>17} {'x raw':>6} {'x floor':>7} {'p50 ms':>7} {'p99 ms':>7} {'requests':>8} "
          f"{'SQL/req':>7} {'CPU ms/req':>10} {'server CPU':>10} {'client CPU':>10} {'RSS MiB start':>13} {'peak':>5}")
    for name in result.names:
        rates, lat = result.rates(name), result.latencies_ms(name)
        per_request, share = cpu_text(result, name)
        print(f"  {f'{name} ({LABELS[name]})':<28} {result.rate(name):>12.1f} {f'({min(rates):.1f}-{max(rates):.1f})':>17} "
              f"{result.rate(name) / result.rate('raw'):>6.3f} {result.rate(name) / result.rate('floor'):>7.3f} {percentile(lat, 0.5):>7.1f} {percentile(lat, 0.99):>7.1f} "
              f"{len(lat):>8} {count_text(result.statements[name]):>7} {per_request:>10} {share:>10} "
              f"{100 * result.client_share(name):>9.0f}% {mib(result.rss_before[name]):>13} {mib(result.rss_peak[name]):>5}")
    ratios = [f"{name}/raw {result.rate(name) / result.rate('raw'):.3f}" for name in result.names if name not in FLOORS]
    print(f"  ratios (req/s): {', '.join(ratios)}")
    for name in ("cold", "warm"):
        ratio = result.rate(name) / result.rate("floor")
        goals.record(f"{result.database} {result.configs}x{result.numbers} {name} read / denormalized floor",
                     f"{ratio:.3f}x", ">= 0.5x", ratio >= 0.5)
    paths = {name: "n/a" if found is None else " ".join(f"{p}={found.get(p, 0):.0f}" for p in READ_PATHS)
             for name, found in result.read_paths.items()}
    print("  read paths (gql_telephony_read_path_total, checks and warm-up included): "
          + "; ".join(f"{name} {text}" for name, text in paths.items()))
    if result.after_write is not None:
        w = result.after_write
        print(f"  one client, {len(w.server_ms)} reads on each right after a rename (which no cache can answer), "
              f"in {w.seconds:.0f} s:\n"
              f"    warm server {spread(w.server_ms)}; raw endpoint {spread(w.raw_ms)}; "
              f"server/raw p50 {percentile(w.server_ms, 0.5) / percentile(w.raw_ms, 0.5):.1f}x\n"
              f"    the warm server's next read, nothing written between: {spread(w.repeat_ms)}; "
              f"the renames themselves: {spread(w.write_ms)}")
    if result.foreign is not None:
        where = "on CPU 1, the servers' CPU" if result.pinned else "on all CPUs"
        warning = "  WARNING: the machine was not quiet, figures are low" if result.foreign > 0.1 else ""
        print(f"  other processes used {100 * result.foreign:.0f}% of a CPU {where} while measuring{warning}")
    sys.stdout.flush()


MARKDOWN_HEAD = ("| database | shape | target | data KiB | req/s (min-max) | x raw | x floor | CPU ms/req | p50 / p99 ms "
                 "| SQL/req | peak RSS MiB |\n|---|---|---|---|---|---|---|---|---|---|---|")
MARKDOWN_WRITES = ("| shape | warm server, read after a write p50 / p99 ms | raw, read after a write p50 / p99 ms "
                   "| warm server, repeated read p50 / p99 ms |\n|---|---|---|---|")


def markdown_rows(result: Result) -> list[str]:
    rows = []
    for name in result.names:
        rates, lat = result.rates(name), result.latencies_ms(name)
        rows.append(f"| {result.database} | {result.configs}x{result.numbers} | {name} | {result.response_kib:.0f} | "
                    f"{result.rate(name):.1f} ({min(rates):.1f}-{max(rates):.1f}) | {result.rate(name) / result.rate('raw'):.3f} | "
                    f"{result.rate(name) / result.rate('floor'):.3f} | "
                    f"{cpu_text(result, name)[0]} | {percentile(lat, 0.5):.1f} / {percentile(lat, 0.99):.1f} | "
                    f"{count_text(result.statements[name])} | {mib(result.rss_peak[name])} |")
    return rows


def markdown_writes(result: Result) -> str:
    w = result.after_write
    assert w is not None
    cells = [f"{percentile(v, 0.5):.1f} / {percentile(v, 0.99):.1f}" for v in (w.server_ms, w.raw_ms, w.repeat_ms)]
    return f"| {result.configs}x{result.numbers} | " + " | ".join(cells) + " |"


def shape(text: str) -> tuple[int, int]:
    try:
        configs, numbers = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError("a shape is CONFIGSxNUMBERS, e.g. 25x40") from None
    if not 1 <= configs or not 0 <= numbers:
        raise argparse.ArgumentTypeError("at least one config, and no negative count of numbers")
    return configs, numbers


def quick(args: argparse.Namespace) -> None:
    """Every part, as briefly as it still runs (for CI: the benchmark works, not its figures)."""
    args.shape = [(5, 10)]
    args.duration, args.rounds, args.warmup, args.writes = 2.0, 1, 0.2, 2
    args.subscribers, args.subscription_rounds = 20, 2
    args.spread_subscribers, args.spread_processes, args.client_processes = 40, 2, 2
    args.write_count, args.import_numbers, args.import_rounds = 2, 300, 1
    args.memory_queries = 200


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shape", type=shape, nargs="+", default=[(5, 10), (25, 40), (100, 100)], metavar="CxN",
                        help="configs x phone numbers per config; several run one after another "
                             "(default 5x10 25x40 100x100)")
    parser.add_argument("--postgres", default=POSTGRES, metavar="URL",
                        help=f"also run every shape on a fresh database on this PostgreSQL server (default {POSTGRES})")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument("--floor-pages", action="store_true",
                        help="a stricter floor: it also reads each configuration's first page of numbers stored as JSON")
    parser.add_argument("--duration", type=float, default=60,
                        help="measured seconds per shape, split over the rounds of all targets (default 60)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per target (default 5)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent keep-alive clients (default 8)")
    parser.add_argument("--warmup", type=float, default=1.5, help="unmeasured seconds per target first (default 1.5)")
    parser.add_argument("--generic", action="store_true",
                        help="also measure the server with GQL_TELEPHONY_COMPILED_PLANS=0 and no cache")
    parser.add_argument("--writes", type=int, default=200, metavar="N",
                        help="reads right after a write, N on the warm server and N on raw (default 200; 0 skips)")
    parser.add_argument("--subscribers", type=int, default=1000, metavar="N", help="subscribers for the fan-out (default 1000)")
    parser.add_argument("--subscription-rounds", type=int, default=15, metavar="R", help="changes to fan out (default 15)")
    parser.add_argument("--no-subscriptions", action="store_true", help="skip the subscription fan-out (both parts)")
    parser.add_argument("--spread-subscribers", type=int, default=10_000, metavar="N",
                        help="subscribers across --spread-processes servers through Redis (default 10000; 0 skips)")
    parser.add_argument("--spread-processes", type=int, default=4, help="server processes for them (default 4)")
    parser.add_argument("--client-processes", type=int, default=4,
                        help="client processes reading them (default 4)")
    parser.add_argument("--write-count", type=int, default=200, metavar="N",
                        help="each single mutation, N times on the server and N by hand (default 200; 0 skips writes)")
    parser.add_argument("--import-numbers", type=int, default=10_000, help="numbers per bulk import (default 10000)")
    parser.add_argument("--import-rounds", type=int, default=2, help="bulk imports on each (default 2; 0 skips)")
    parser.add_argument("--memory-queries", type=int, default=20_000, metavar="N",
                        help="distinct queries for the memory figure (default 20000; 0 skips)")
    parser.add_argument("--cache-mb", type=int, default=64, help="the response cache for the memory figure (default 64)")
    parser.add_argument("--quick", action="store_true",
                        help="every part, very briefly: checks that the benchmark runs, its figures mean nothing")
    parser.add_argument("--no-pin", action="store_true", help="do not pin servers to CPU 1 and the client to CPU 0")
    parser.add_argument("--profile", choices=["py-spy", "cprofile"],
                        help="profile the cold server (its figures are then not comparable)")
    parser.add_argument("--profile-out", type=Path, default=Path("bench-profile.txt"),
                        help="py-spy collapsed stacks, or cProfile stats (default bench-profile.txt)")
    parser.add_argument("--verbose", action="store_true", help="also print the SQL of one request")
    args = parser.parse_args()
    args.profile_out = args.profile_out.resolve()
    if args.quick:
        quick(args)

    pinned = not args.no_pin and hasattr(os, "sched_setaffinity") and len(os.sched_getaffinity(0)) >= 2
    if pinned:
        os.sched_setaffinity(0, {0})
    targets = 4 + args.generic
    print(f"dashboard benchmark: {os.cpu_count()} CPUs ({'servers on CPU 1, client on CPU 0' if pinned else 'not pinned'}), "
          f"{args.clients} clients, {args.rounds} rounds x {args.duration / (targets * args.rounds):.1f} s per target, "
          f"Python {sys.version.split()[0]}", flush=True)
    results = []
    postgres = None if args.no_postgres else args.postgres
    if postgres and not reachable(postgres):
        print(f"\nPostgreSQL at {postgres} does not answer: its part is SKIPPED", flush=True)
        postgres = None
    servers = [server for server in [None, postgres] if server or not args.no_sqlite]
    if not servers:
        raise SystemExit("--no-sqlite: PostgreSQL is needed (it does not answer, or --no-postgres)")
    for server in servers:
        for configs, numbers in args.shape:
            print(f"\n{'PostgreSQL' if server else 'SQLite'}: {configs} configs x {numbers} numbers", flush=True)
            result = run_shape(configs, numbers, args, pinned, server)
            report(result)
            results.append(result)
    failed: list[str] = []

    def part(name: str, run: Callable[[], None]) -> None:
        """One part; a failure is reported and the next part still runs (the run fails at the end)."""
        try:
            run()
        except SystemExit as stopped:
            print(f"  FAILED: {name}: {stopped}", flush=True)
            failed.append(name)

    if args.write_count:
        print(f"\nwrites (SQLite, 25x40): {args.write_count} of each single mutation on each target; bulk import of "
              f"{args.import_numbers} numbers x {args.import_rounds} on each", flush=True)
        part("writes", lambda: writes.report(writes.run(args.write_count, args.import_numbers, args.import_rounds, pinned)))
    if not args.no_subscriptions:
        print(f"\nfan-out: {args.subscription_rounds} rounds", flush=True)
        if args.subscribers:
            part("fan-out on one process", lambda: fanout.report(
                fanout.measure(args.subscribers, args.subscription_rounds, 1, 1, pinned=pinned), 250))
        if args.spread_subscribers:
            part("fan-out across processes", lambda: fanout.report(fanout.measure(
                args.spread_subscribers, args.subscription_rounds, args.spread_processes, args.client_processes,
                pinned=False), 1000))
    if args.memory_queries:
        print(f"\nmemory: {args.memory_queries} distinct queries, response cache {args.cache_mb} MiB", flush=True)
        part("memory", lambda: memory_growth.report(memory_growth.measure(args.memory_queries, args.cache_mb, pinned),
                                                    args.memory_queries, args.cache_mb))
    print("\n" + MARKDOWN_HEAD)
    for result in results:
        print("\n".join(markdown_rows(result)))
    if args.writes:
        print("\n" + MARKDOWN_WRITES)
        for result in results:
            print(markdown_writes(result))
    if args.profile:
        from .profile_summary import summarize

        print()
        summarize(args.profile, args.profile_out)
    goals.summary()
    if args.quick:
        print("\n(quick mode: every part ran, briefly; these figures are not measurements)")
    if failed:
        raise SystemExit(f"FAIL: {', '.join(failed)} did not finish (see above)")


if __name__ == "__main__":
    main()
