"""Dashboard throughput: the GraphQL server against a hand-written endpoint serving the same JSON.

Usage: .venv/bin/python -m bench.dashboard [--shape 25x40 ...] [--duration 50] [--rounds 5]
                                           [--clients 8] [--no-pin] [--profile py-spy|cprofile]
(`make bench` runs it with the defaults; `make bench BENCH_ARGS="--shape 5x10 100x100"`.)

For each shape CONFIGSxNUMBERS it
  1. seeds one organization on a fresh temporary SQLite file: CONFIGS telephony configurations
     (a mix of providers, created through the service layer, so secrets are encrypted as in
     production) with NUMBERS phone numbers each (inserted with SQL, interleaved across configs);
  2. starts two server processes on that file: `gql-telephony serve` (the real server) and
     bench/raw_endpoint.py (Starlette + aiosqlite + orjson, plain SQL, the project's Vault and
     masking), and checks that both answer the same JSON (the GraphQL `data`), or stops;
  3. counts the SQL statements of one dashboard request, in-process, with engine event listeners;
  4. after a short warm-up, alternates rounds between the two (ABBA order) with CLIENTS
     keep-alive clients in a closed loop; every response must be 200 with the expected body;
  5. prints requests/s (median of rounds, min-max), p50/p99 latency over all requests,
     statements per request, each server's CPU time per request and peak RSS (VmHWM), and how
     much CPU other processes took meanwhile (a busy machine gives low figures).

On a machine with two or more cores the servers are pinned to CPU 1 and this process (the
load generator) to CPU 0, so that the client does not steal the server's CPU; --no-pin leaves
scheduling to the OS.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from cryptography.fernet import Fernet

from gql_telephony.app import build_runtime, create_app
from gql_telephony.domain.phone_numbers import normalize_number
from gql_telephony.domain.providers import PROVIDERS, ProviderKey
from gql_telephony.services.tenancy import create_api_key, create_organization
from gql_telephony.settings import Settings
from gql_telephony.storage.migrate import upgrade_to_head
from gql_telephony.storage.tables import PhoneNumberRow, utcnow

from tests.fixtures import DASHBOARD, VONAGE
from tests.live.server import healthy_process

from . import raw_endpoint
from .load import Round, Target, cpu_seconds, fetch, percentile, run_round

ROOT = Path(__file__).resolve().parents[1]

# Twenty configs' worth of providers, roughly as accounts use them: mostly Twilio and Telnyx.
P = ProviderKey
PROVIDER_MIX = [P.TWILIO, P.TELNYX, P.TWILIO, P.VONAGE, P.TELNYX, P.TWILIO, P.PLIVO, P.SIGNALWIRE,
                P.TELNYX, P.TWILIO, P.CLOUDONIX, P.TWILIO, P.TELNYX, P.VONAGE, P.PLIVO, P.TWILIO,
                P.SIGNALWIRE, P.TELNYX, P.VOBIZ, P.ARI]
REGIONS = ["US East", "US West", "EU", "UK", "APAC", "Canada", "LATAM"]
AREA_CODES = ["415", "212", "312", "646", "206", "617", "303", "512", "305", "702"]
LABELS = ["Sales", "Support", "Outbound", "Collections", "Reminders"]
PAUSED = 13  # every 20th config from this one has all its numbers inactive (a warning)


# -- seeding ---------------------------------------------------------------------------------

def provider_config(provider: ProviderKey, i: int) -> dict[str, Any]:
    """Valid settings that vary from config to config, some missing an optional key (a warning)."""
    rng = random.Random(i)

    def token(n: int = 16) -> str:
        return f"{rng.getrandbits(n * 8):0{n * 2}x}"

    def uuid() -> str:
        h = token(16)
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    if provider is P.TWILIO:
        return {"account_sid": "AC" + token(), "auth_token": token(), **({"amd_enabled": True} if i % 3 == 0 else {})}
    if provider is P.TELNYX:
        extra = {"webhook_public_key": "pk_" + token(22)} if i % 2 == 0 else {}
        return {"api_key": "KEY" + token(20).upper(), "connection_id": str(1_800_000_000 + i), **extra}
    if provider is P.VONAGE:
        extra = {"signature_secret": token(12)} if i % 2 == 1 else {}
        return {"application_id": uuid(), "private_key": VONAGE["private_key"], "api_key": token(4),
                "api_secret": token(8), **extra}
    if provider is P.PLIVO:
        return {"auth_id": "MA" + token(9).upper(), "auth_token": token(20), "application_id": str(10**10 + i)}
    if provider is P.CLOUDONIX:
        return {"bearer_token": "XI-" + token(), "domain_id": f"tenant{i}", "application_name": "voice-ai"}
    if provider is P.VOBIZ:
        return {"auth_id": f"MA_VOBIZ{i:06d}", "auth_token": token(20)}
    if provider is P.SIGNALWIRE:
        return {"project_id": uuid(), "api_token": "PT" + token(24), "space_url": f"https://tenant{i}.signalwire.com/"}
    return {"ari_endpoint": f"https://pbx{i}.example.com:8089", "app_name": "voice-ai",
            "app_password": token(12), "ws_client_name": f"pbx{i}"}


async def seed(settings: Settings, configs: int, numbers: int) -> str:
    """One organization with `configs` configs of `numbers` numbers each; returns an API key."""
    runtime = build_runtime(settings)
    try:
        await upgrade_to_head(runtime.db)
        org_id = await create_organization(runtime.db, "Bench Inc.")
        key = await create_api_key(runtime.db, org_id, read_only=True)
        created = []
        for i in range(configs):
            provider = PROVIDER_MIX[i % len(PROVIDER_MIX)]
            row, _ = await runtime.configs.create(
                org_id, name=f"{PROVIDERS[provider].name} {REGIONS[i % len(REGIONS)]} #{i}", provider=provider,
                config=provider_config(provider, i), make_default=i == 0,
            )
            created.append(row)
        rows, k, now = [], 0, utcnow()
        for n in range(numbers):  # as numbers are bought over time: interleaved across configs
            for i, config in enumerate(created):
                connectivity = PROVIDERS[ProviderKey(config.provider)].connectivity
                raw = (f"sip:agent{k}@pbx{i}.example.com" if connectivity.value == "SIP" and n % 4 == 3
                       else f"+1{AREA_CODES[k % len(AREA_CODES)]}{2_000_000 + k:07d}")
                rows.append({
                    "organization_id": org_id, "telephony_config_id": config.id,
                    "phone_number": normalize_number(raw, region=None, connectivity=connectivity),
                    "label": f"{LABELS[n % len(LABELS)]} {n}" if n % 3 == 0 else None,
                    "is_active": i % 20 != PAUSED and n % 10 != 9,
                    "created_at": now, "updated_at": now,
                })
                k += 1
        if rows:
            async with runtime.db.writing() as session:
                await session.execute(sa.insert(PhoneNumberRow.__table__), rows)  # type: ignore[attr-defined]
        return key
    finally:
        await runtime.broker.close()
        await runtime.db.dispose()


# -- statements per request, in-process ------------------------------------------------------

async def count_statements(settings: Settings, key: str) -> tuple[int, list[str], dict[str, Any], int, list[str]]:
    """(GraphQL statements, their SQL, its data, raw endpoint statements, their SQL) of one dashboard
    request, after a first one has warmed the caches. Counted as tests/test_statement_count.py does:
    every statement the engines send to the driver (the BEGIN of each short session included)."""
    runtime = build_runtime(settings)
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    try:
        app = create_app(runtime=runtime)
        transport = httpx.ASGITransport(app=app)
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

    raw_statements: list[str] = []
    pool = raw_endpoint.Pool(str(settings.sqlite_path), 1, raw_statements.append)
    await pool.open()
    try:
        await raw_endpoint.dashboard(pool, runtime.vault, key)
        raw_statements.clear()
        await raw_endpoint.dashboard(pool, runtime.vault, key)
    finally:
        await pool.close()
    return len(statements), statements, data, len(raw_statements), raw_statements


# -- server processes ------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(**settings: str) -> dict[str, str]:
    """This process's environment without any GQL_TELEPHONY_ setting, plus `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GQL_TELEPHONY_")}
    env.update(settings)
    return env


@dataclass
class Process:
    name: str
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    def memory(self, field: str) -> float | None:
        """A /proc/PID/status figure (VmRSS now, VmHWM the peak) in MiB; None off Linux."""
        try:
            for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
        except OSError:
            return None
        return None


@contextmanager
def started(name: str, command: list[str], env: dict[str, str], port: int, log: Path, cpu: int | None) -> Iterator[Process]:
    try:
        with healthy_process(command, env, port, log, timeout=60) as process:
            if cpu is not None:
                os.sched_setaffinity(process.pid, {cpu})
            yield Process(name, process, port, log)
    except RuntimeError as failed:
        raise SystemExit(f"{name}: {failed}") from None


@contextmanager
def py_spy(pid: int, out: Path) -> Iterator[subprocess.Popen[bytes] | None]:
    """py-spy sampling the server (collapsed stacks) while the block runs."""
    exe = Path(sys.executable).with_name("py-spy")
    command = [str(exe) if exe.exists() else "py-spy", "record", "--pid", str(pid), "--format", "raw",
               "--rate", "250", "--gil", "--nonblocking", "--output", str(out)]
    try:
        spy = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    except FileNotFoundError:
        raise SystemExit("--profile py-spy needs py-spy: .venv/bin/pip install py-spy") from None
    time.sleep(1)
    if spy.poll() is not None:
        raise SystemExit(f"py-spy could not attach: {spy.stderr.read().decode()[-1000:] if spy.stderr else ''}")
    try:
        yield spy
    finally:
        spy.send_signal(signal.SIGINT)
        try:
            spy.wait(timeout=60)
        except subprocess.TimeoutExpired:
            spy.kill()


# -- checking the two answers ----------------------------------------------------------------

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
        for i, (x, y) in enumerate(zip(a, b)):
            found = first_difference(x, y, f"{path}[{i}]")
            if found:
                return found
        return None
    return None if a == b else f"{path}: {json.dumps(a)[:200]} != {json.dumps(b)[:200]}"


def check_same(graphql_body: bytes, raw_body: bytes, in_process: dict[str, Any], configs: int, numbers: int) -> None:
    body = json.loads(graphql_body)
    if "errors" in body or "data" not in body:
        raise SystemExit(f"FAIL: the GraphQL server answered errors: {graphql_body[:2000]!r}")
    data, raw = body["data"], json.loads(raw_body)
    for label, other in (("raw endpoint", raw), ("the in-process GraphQL app", in_process)):
        difference = first_difference(data, other)
        if difference:
            raise SystemExit(f"FAIL: the GraphQL server and {label} answer different JSON; first difference:\n  {difference}")
    edges = data["telephonyConfigs"]["edges"]
    assert len(edges) == min(configs, 100), len(edges)
    assert all(len(e["node"]["phoneNumbers"]["nodes"]) == min(numbers, 50) for e in edges)


# -- one shape -------------------------------------------------------------------------------

@dataclass
class Result:
    configs: int
    numbers: int
    response_kib: float
    rounds: dict[str, list[Round]]
    statements: int
    raw_statements: int
    rss_before: dict[str, float | None]
    rss_peak: dict[str, float | None]
    foreign: float | None  # share of a CPU other processes used while measuring
    pinned: bool

    def rates(self, name: str) -> list[float]:
        return [r.rate for r in self.rounds[name]]

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
        for target in targets if index % 2 == 0 else list(reversed(targets)):  # ABBA: drift hits both alike
            results[target.name].append(await run_round(target, clients=clients, seconds=seconds, pid=pids[target.name]))
    return results


def run_shape(configs: int, numbers: int, args: argparse.Namespace, pinned: bool) -> Result:
    with tempfile.TemporaryDirectory(prefix="gqlt-bench-") as tmp, ExitStack() as stack:
        db = Path(tmp) / "bench.sqlite3"
        secret_key = Fernet.generate_key().decode()
        settings = Settings(database_url=f"sqlite+aiosqlite:///{db}", secret_keys=(secret_key,))
        began = time.perf_counter()
        key = asyncio.run(seed(settings, configs, numbers))
        statements, sql, in_process, raw_statements, raw_sql = asyncio.run(count_statements(settings, key))
        print(f"  seeded {configs} configs x {numbers} numbers in {time.perf_counter() - began:.1f} s; "
              f"SQL statements per dashboard request: GraphQL {statements}, raw {raw_statements}", flush=True)
        if args.verbose:
            for line in sql:
                print("    graphql:", " ".join(line.split())[:160])
            for line in raw_sql:
                print("    raw:    ", " ".join(line.split())[:160])

        # One API key asks for everything here: a per-key rate limit (where the server has one)
        # would measure the limit, not the server. Its middleware still runs.
        env = server_env(GQL_TELEPHONY_DATABASE_URL=settings.database_url, GQL_TELEPHONY_SECRET_KEYS=secret_key,
                         GQL_TELEPHONY_RATE_LIMIT_PER_MINUTE="0")
        cpu = 1 if pinned else None
        gql_port, raw_port = free_port(), free_port()
        gql_command = [sys.executable, "-m", "gql_telephony.cli", "serve", "--port", str(gql_port)]
        if args.profile == "cprofile":
            gql_command[1:1] = ["-m", "cProfile", "-o", str(args.profile_out)]
        gql = stack.enter_context(started("GraphQL server", gql_command, env, gql_port, Path(tmp) / "gql.log", cpu))
        raw = stack.enter_context(started(
            "raw endpoint", [sys.executable, "-m", "bench.raw_endpoint", "--db", str(db), "--port", str(raw_port)],
            env, raw_port, Path(tmp) / "raw.log", cpu,
        ))

        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json", "Accept": "application/json"}
        gql_target = Target.of("GraphQL server", gql_port, "POST", "/graphql", headers, json.dumps({"query": DASHBOARD}).encode())
        raw_target = Target.of("raw endpoint", raw_port, "GET", "/dashboard", {"Authorization": f"Bearer {key}"})

        async def answers() -> tuple[tuple[int, bytes], tuple[int, bytes]]:
            return await fetch(gql_target), await fetch(raw_target)

        (gql_status, gql_body), (raw_status, raw_body) = run_async(answers())
        if gql_status != 200 or raw_status != 200:
            raise SystemExit(f"FAIL: status {gql_status} (GraphQL) / {raw_status} (raw): {gql_body[:500]!r} {raw_body[:500]!r}")
        check_same(gql_body, raw_body, in_process, configs, numbers)
        print(f"  both answer the same JSON ({len(raw_body) / 1024:.1f} KiB of data)", flush=True)
        rss_before = {gql.name: gql.memory("VmRSS"), raw.name: raw.memory("VmRSS")}

        targets = [gql_target.expecting(gql_body), raw_target.expecting(raw_body)]
        seconds = args.duration / (2 * args.rounds)
        noise: dict[str, float] = {}
        with py_spy(gql.process.pid, args.profile_out) if args.profile == "py-spy" else ExitStack(), \
                foreign_load([gql.process.pid, raw.process.pid], cpu, noise):
            rounds = run_async(measure(targets, {gql.name: gql.process.pid, raw.name: raw.process.pid}, rounds=args.rounds,
                                       seconds=seconds, clients=args.clients, warmup=args.warmup))
        rss_peak = {gql.name: gql.memory("VmHWM"), raw.name: raw.memory("VmHWM")}
    return Result(configs, numbers, len(raw_body) / 1024, rounds, statements, raw_statements, rss_before, rss_peak,
                  noise.get("foreign"), pinned)


def run_async(coroutine: Any) -> Any:
    try:
        import uvloop  # noqa: PLC0415 - a cheaper client loop where available

        return uvloop.run(coroutine)
    except ImportError:
        return asyncio.run(coroutine)


# -- report ----------------------------------------------------------------------------------

def mib(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f}"


def cpu_text(result: Result, name: str) -> tuple[str, str]:
    cpu = result.server_cpu(name)
    return ("n/a", "n/a") if cpu is None else (f"{cpu[0]:.2f}", f"{100 * cpu[1]:.0f}%")


def report(result: Result) -> None:
    print(f"  {'':<16} {'req/s median':>12} {'(min-max)':>15} {'p50 ms':>7} {'p99 ms':>7} {'requests':>8} "
          f"{'SQL/req':>7} {'CPU ms/req':>10} {'server CPU':>10} {'client CPU':>10} {'RSS MiB start':>13} {'peak':>5}")
    for name, stmts in (("GraphQL server", result.statements), ("raw endpoint", result.raw_statements)):
        rates, lat = result.rates(name), result.latencies_ms(name)
        per_request, share = cpu_text(result, name)
        print(f"  {name:<16} {statistics.median(rates):>12.1f} {f'({min(rates):.1f}-{max(rates):.1f})':>15} "
              f"{percentile(lat, 0.5):>7.1f} {percentile(lat, 0.99):>7.1f} {len(lat):>8} {stmts:>7} "
              f"{per_request:>10} {share:>10} {100 * result.client_share(name):>9.0f}% "
              f"{mib(result.rss_before[name]):>13} {mib(result.rss_peak[name]):>5}")
    ratio = statistics.median(result.rates("GraphQL server")) / statistics.median(result.rates("raw endpoint"))
    print(f"  ratio server/raw (req/s): {ratio:.3f}  (the raw endpoint serves {1 / ratio:.1f}x as many)")
    if result.foreign is not None:
        where = "on CPU 1, the servers' CPU" if result.pinned else "on all CPUs"
        warning = "  WARNING: the machine was not quiet, figures are low" if result.foreign > 0.1 else ""
        print(f"  other processes used {100 * result.foreign:.0f}% of a CPU {where} while measuring{warning}")
    sys.stdout.flush()


def markdown_row(result: Result) -> str:
    g, r = "GraphQL server", "raw endpoint"
    gr, rr = result.rates(g), result.rates(r)
    gl, rl = result.latencies_ms(g), result.latencies_ms(r)
    return (f"| {result.configs}x{result.numbers} | {result.response_kib:.0f} | "
            f"{statistics.median(gr):.1f} ({min(gr):.1f}-{max(gr):.1f}) | {statistics.median(rr):.1f} ({min(rr):.1f}-{max(rr):.1f}) | "
            f"{statistics.median(gr) / statistics.median(rr):.3f} | {cpu_text(result, g)[0]} / {cpu_text(result, r)[0]} | "
            f"{percentile(gl, 0.5):.0f} / {percentile(gl, 0.99):.0f} | {percentile(rl, 0.5):.1f} / {percentile(rl, 0.99):.1f} | "
            f"{result.statements} / {result.raw_statements} | {mib(result.rss_peak[g])} / {mib(result.rss_peak[r])} |")


MARKDOWN_HEAD = ("| shape | data KiB | GraphQL req/s (min-max) | raw req/s (min-max) | server/raw | CPU ms/req GraphQL / raw "
                 "| GraphQL p50 / p99 ms | raw p50 / p99 ms | SQL/req GraphQL / raw | peak RSS MiB GraphQL / raw |\n"
                 "|---|---|---|---|---|---|---|---|---|---|")


def shape(text: str) -> tuple[int, int]:
    try:
        configs, numbers = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError("a shape is CONFIGSxNUMBERS, e.g. 25x40") from None
    if not 1 <= configs or not 0 <= numbers:
        raise argparse.ArgumentTypeError("at least one config, and no negative count of numbers")
    return configs, numbers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shape", type=shape, nargs="+", default=[(25, 40)], metavar="CxN",
                        help="configs x phone numbers per config; several run one after another (default 25x40)")
    parser.add_argument("--duration", type=float, default=50,
                        help="measured seconds per shape, split over the rounds of both targets (default 50)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per target (default 5)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent keep-alive clients (default 8)")
    parser.add_argument("--warmup", type=float, default=1.5, help="unmeasured seconds per target first (default 1.5)")
    parser.add_argument("--no-pin", action="store_true", help="do not pin servers to CPU 1 and the client to CPU 0")
    parser.add_argument("--profile", choices=["py-spy", "cprofile"],
                        help="profile the GraphQL server (its figures are then not comparable)")
    parser.add_argument("--profile-out", type=Path, default=Path("bench-profile.txt"),
                        help="py-spy collapsed stacks, or cProfile stats (default bench-profile.txt)")
    parser.add_argument("--verbose", action="store_true", help="also print the SQL of one request")
    args = parser.parse_args()
    args.profile_out = args.profile_out.resolve()

    pinned = not args.no_pin and hasattr(os, "sched_setaffinity") and len(os.sched_getaffinity(0)) >= 2
    if pinned:
        os.sched_setaffinity(0, {0})
    print(f"dashboard benchmark: {os.cpu_count()} CPUs ({'servers on CPU 1, client on CPU 0' if pinned else 'not pinned'}), "
          f"{args.clients} clients, {args.rounds} rounds x {args.duration / (2 * args.rounds):.1f} s per target, "
          f"Python {sys.version.split()[0]}", flush=True)
    results = []
    for configs, numbers in args.shape:
        print(f"\n{configs} configs x {numbers} numbers", flush=True)
        result = run_shape(configs, numbers, args, pinned)
        report(result)
        results.append(result)
    print("\n" + MARKDOWN_HEAD)
    for result in results:
        print(markdown_row(result))
    if args.profile:
        from .profile_summary import summarize  # noqa: PLC0415

        print()
        summarize(args.profile, args.profile_out)


if __name__ == "__main__":
    main()
