"""Provider checks: how many one server process runs per second, against a fake Twilio.

Usage: .venv/bin/python -m bench.provider_checks [--configs 200] [--numbers 1 20] [--latency-ms 0 50]
           [--batch 4 16 64] [--rounds 3] [--slow-every 50] [--slow-ms 1000]
           [--database-url postgresql+asyncpg://...] [--no-pin] [--profile FILE]
(`make bench-checks` runs it with the defaults, about 4 minutes; options go in BENCH_ARGS.)

  1. Builds the runtime from Settings on a fresh SQLite file in a temporary directory (or, with
     --database-url, on a fresh database made on that PostgreSQL server and dropped at the end).
  2. Creates one organization and, for each NUMBERS shape, CONFIGS Twilio configurations with
     that many numbers each, through the services (runtime.configs.create, runtime.numbers.add),
     so secrets are encrypted and check rows made as in production. One number is looked up by
     itself (the account, then IncomingPhoneNumbers?PhoneNumber=); more than ten are read from the
     account's inventory (the account, then one page of up to 200 numbers). Two requests either way.
  3. For each latency, starts the fake provider (bench/provider_fake.py: the tests' Twilio fake on
     uvicorn) in a process of its own, answering each request after that delay, and points a
     fresh ProviderHttp at it (provider_api_origins={"TWILIO": its origin}).
  4. For each shape and each batch size, ROUNDS times: makes that shape's checks due, and drives the
     real CheckWorker(batch=B) with its own loop, `run()` (a freed slot is filled at once), until
     every check is done. Every check must end ACTIVE with every
     number IN_ACCOUNT, and every provider call must be answered `ok`, or the benchmark stops.
  5. Prints per variant: checks/s (median of the rounds, min-max), provider requests/s, p50/p95 of
     one check's duration (ProviderChecks.check: its reads, the provider calls and its write;
     not the claim or the lease's release), this process's CPU ms per check (every thread) and
     its share of its core, the share of its core the fake used (well under 100%: it was not the
     bottleneck), and what other processes took of the server's core meanwhile.
  6. Last, with --slow-every K (default 50; 0 skips it), a fake where about every Kth account answers each
     request --slow-ms later still (default 1000), at the last latency, on the first shape: a
     provider's slow tail, against the batch sizes.

With two or more cores this process (the server: event loop, aiosqlite's threads) is pinned to
CPU 1 and the fake to CPU 0; --no-pin leaves scheduling to the OS. PostgreSQL is never pinned.
--profile FILE runs cProfile over the measured rounds only (not the seeding or warm-ups), writes
its stats to FILE and prints own time by library; the figures are then not comparable.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import dataclasses
import os
import pstats
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from cryptography.fernet import Fernet

from gql_telephony.api.runtime import Runtime
from gql_telephony.app import build_runtime
from gql_telephony.domain.providers import ProviderKey
from gql_telephony.outbound.clients import CLIENTS
from gql_telephony.outbound.http import ProviderHttp
from gql_telephony.services.provider_checks import ProviderChecks
from gql_telephony.services.tenancy import create_organization
from gql_telephony.settings import Settings
from gql_telephony.storage import checks
from gql_telephony.storage.migrate import upgrade_to_head
from gql_telephony.storage.queries import NUMBERS
from gql_telephony.storage.tables import utcnow
from gql_telephony.workers.provider_checks import CheckWorker

from .dashboard import busy_seconds
from .databases import database
from .load import cpu_seconds, percentile
from .processes import Process, free_port, started
from .provider_fake import account_sid, auth_token, layout, numbers_of

SERVER_CPU, FAKE_CPU = 1, 0


@dataclass
class TimedChecks(ProviderChecks):
    """The real service; each check's duration is noted, whatever its outcome."""

    durations: list[float] = field(default_factory=list)

    async def check(self, config_id: int, *, wanted: int | None = None) -> bool:
        started_at = time.perf_counter()
        try:
            return await super().check(config_id, wanted=wanted)
        finally:
            self.durations.append(time.perf_counter() - started_at)


@dataclass
class Round:
    checks: int
    seconds: float
    requests: int
    durations: list[float]
    cpu: float  # this process, every thread
    fake_cpu: float | None
    foreign: float | None  # CPU seconds others took on the server's CPU

    @property
    def rate(self) -> float:
        return self.checks / self.seconds


@dataclass(frozen=True)
class FakeSetting:
    latency_ms: float
    slow_every: int = 0  # about every Kth account answers slow_ms later still (0: none)
    slow_ms: float = 0.0

    def label(self) -> str:
        return f"1 in {self.slow_every}: +{self.slow_ms:g}" if self.slow_every else "none"


@dataclass
class Variant:
    fake: FakeSetting
    numbers: int
    batch: int
    rounds: list[Round] = field(default_factory=list)

    def rates(self) -> list[float]:
        return [r.rate for r in self.rounds]

    def total(self, name: str) -> float:
        return float(sum(getattr(r, name) or 0 for r in self.rounds))

    def share(self, name: str) -> str:
        """A CPU time as a share of one core over the rounds."""
        if any(getattr(r, name) is None for r in self.rounds):
            return "-"
        return f"{100 * self.total(name) / self.total('seconds'):.0f}%"

    def row(self) -> str:
        rates = self.rates()
        durations = [d * 1000 for r in self.rounds for d in r.durations]
        return (f"| {self.fake.latency_ms:g} | {self.fake.label()} | {self.numbers} | {self.batch} | "
                f"{statistics.median(rates):.1f} ({min(rates):.1f}-{max(rates):.1f}) | "
                f"{self.total('requests') / self.total('seconds'):.1f} | "
                f"{percentile(durations, 0.5):.1f} / {percentile(durations, 0.95):.1f} | "
                f"{1000 * self.total('cpu') / self.total('checks'):.2f} | {self.share('cpu')} | "
                f"{self.share('fake_cpu')} | {self.share('foreign')} |")


HEADER = ("| latency ms | slow accounts, ms | numbers/config | batch | checks/s (min-max) | provider req/s "
          "| check p50 / p95 ms | CPU ms/check | server CPU | fake's CPU | others on CPU 1 |\n"
          "|---|---|---|---|---|---|---|---|---|---|---|")


# -- data --------------------------------------------------------------------------------------

async def seed(runtime: Runtime, configs: int, shapes: list[int]) -> dict[int, list[int]]:
    """The organization's configurations, by shape (numbers per configuration): their ids."""
    await upgrade_to_head(runtime.db)
    org_id = await create_organization(runtime.db, "Bench Checks Inc.")
    by_shape: dict[int, list[int]] = {count: [] for count in shapes}
    for index, count in enumerate(layout(configs, shapes)):
        row, _ = await runtime.configs.create(
            org_id, name=f"Twilio #{index}", provider=ProviderKey.TWILIO,
            config={"account_sid": account_sid(index), "auth_token": auth_token(index)}, make_default=index == 0,
        )
        assert row.id is not None
        for number in numbers_of(index, count):
            await runtime.numbers.add(org_id, row.id, phone_number=number, region=None, label=None, is_active=True)
        by_shape[count].append(row.id)
    return by_shape


async def make_due(runtime: Runtime, config_ids: list[int]) -> datetime:
    """Only these configurations' checks are due, from now."""
    now = utcnow()
    async with runtime.db.writing() as session:
        await session.execute(sa.update(checks.CHECKS).values(due_at=None))
        await session.execute(
            sa.update(checks.CHECKS).where(checks.CHECKS.c.telephony_config_id.in_(config_ids)).values(due_at=now)
        )
    return now


async def require_answered(runtime: Runtime, config_ids: list[int], numbers: int, since: datetime) -> None:
    """Each configuration answered ACTIVE after `since`, and each of its numbers IN_ACCOUNT."""
    ids = checks.CHECKS.c.telephony_config_id.in_(config_ids)
    async with runtime.db.reading_rows() as connection:
        active = await connection.scalar(sa.select(sa.func.count()).where(
            ids, checks.CHECKS.c.status == "ACTIVE", checks.CHECKS.c.answered_at >= since))
        in_account = await connection.scalar(
            sa.select(sa.func.count()).select_from(checks.NUMBER_CHECKS.join(
                NUMBERS, NUMBERS.c.id == checks.NUMBER_CHECKS.c.phone_number_id))
            .where(NUMBERS.c.telephony_config_id.in_(config_ids),
                   checks.NUMBER_CHECKS.c.status == "IN_ACCOUNT", checks.NUMBER_CHECKS.c.checked_at >= since))
    if active != len(config_ids) or in_account != len(config_ids) * numbers:
        raise SystemExit(f"FAIL: {active} of {len(config_ids)} configurations answered ACTIVE and {in_account} of "
                         f"{len(config_ids) * numbers} numbers IN_ACCOUNT")


# -- measuring ---------------------------------------------------------------------------------

async def one_round(runtime: Runtime, service: TimedChecks, fake: Process, config_ids: list[int], numbers: int,
                    batch: int, pinned: bool, profiler: cProfile.Profile | None = None) -> Round:
    # interval 0: checked once, then not due; a short poll, so that the end of a round is seen at once.
    worker = CheckWorker(runtime.db, service, interval=0, batch=batch, poll=0.05)
    since = await make_due(runtime, config_ids)
    service.durations = []
    outcomes_before = Counter(service.http.outcomes)
    busy_before = busy_seconds(SERVER_CPU) if pinned else None
    fake_before, cpu_before, started_at = cpu_seconds(fake.pid), time.process_time(), time.perf_counter()
    if profiler is not None:
        profiler.enable()
    loop = asyncio.create_task(worker.run())  # the worker's own loop, as a server runs it
    while worker.checks_run < len(config_ids) and not loop.done():
        await asyncio.sleep(0.005)
    loop.cancel()
    await asyncio.gather(loop, return_exceptions=True)
    done = worker.checks_run
    if profiler is not None:
        profiler.disable()
    seconds = time.perf_counter() - started_at
    cpu, fake_after, busy_after = time.process_time() - cpu_before, cpu_seconds(fake.pid), busy_seconds(SERVER_CPU)
    outcomes = Counter(service.http.outcomes)
    outcomes.subtract(outcomes_before)
    if set(+outcomes) != {("TWILIO", "ok")}:
        raise SystemExit(f"FAIL: provider calls ended {dict(+outcomes)}, not all ok")
    if done != len(config_ids):
        raise SystemExit(f"FAIL: {done} checks claimed for {len(config_ids)} due")
    await require_answered(runtime, config_ids, numbers, since)
    return Round(
        done, seconds, sum(outcomes.values()), service.durations, cpu,
        None if fake_before is None or fake_after is None else fake_after - fake_before,
        None if busy_before is None or busy_after is None else max(0.0, busy_after - busy_before - cpu),
    )


@contextmanager
def fake_provider(configs: int, shapes: list[int], setting: FakeSetting, log: Path, pinned: bool) -> Iterator[Process]:
    port = free_port()
    command = [sys.executable, "-m", "bench.provider_fake", "--port", str(port), "--configs", str(configs),
               "--numbers", *map(str, shapes), "--latency-ms", str(setting.latency_ms),
               "--slow-every", str(setting.slow_every), "--slow-ms", str(setting.slow_ms)]
    with started("fake Twilio", command, dict(os.environ), port, log, FAKE_CPU if pinned else None) as process:
        yield process


def fake_settings(args: argparse.Namespace) -> list[tuple[FakeSetting, list[int]]]:
    """Each setting of the fake, with the shapes measured against it: the slow-tail one (at the
    last latency) on the first shape only."""
    plain = [(FakeSetting(latency), list(args.numbers)) for latency in args.latency_ms]
    if not args.slow_every:
        return plain
    return [*plain, (FakeSetting(args.latency_ms[-1], args.slow_every, args.slow_ms), [args.numbers[0]])]


async def measure(args: argparse.Namespace, settings: Settings, workdir: Path, pinned: bool,
                  profiler: cProfile.Profile | None) -> list[Variant]:
    runtime = build_runtime(settings)
    variants: list[Variant] = []
    try:
        seeding = time.perf_counter()
        by_shape = await seed(runtime, args.configs, args.numbers)
        print(f"seeded {args.configs * len(args.numbers)} configurations with "
              f"{sum(args.configs * n for n in args.numbers)} numbers in {time.perf_counter() - seeding:.1f} s",
              flush=True)
        print(HEADER, flush=True)
        for n, (setting, shapes) in enumerate(fake_settings(args)):
            with fake_provider(args.configs, args.numbers, setting, workdir / f"fake-{n}.log", pinned) as fake:
                origin = f"http://127.0.0.1:{fake.port}"
                http = ProviderHttp.from_settings(dataclasses.replace(settings, provider_api_origins={"TWILIO": origin}))
                service = TimedChecks(runtime.db, runtime.vault, http, runtime.broker, CLIENTS)
                try:
                    for numbers in shapes:
                        # A warm-up round: connections, statement caches.
                        await one_round(runtime, service, fake, by_shape[numbers], numbers, max(args.batch), pinned)
                        for batch in args.batch:
                            variant = Variant(setting, numbers, batch)
                            for _ in range(args.rounds):
                                variant.rounds.append(await one_round(
                                    runtime, service, fake, by_shape[numbers], numbers, batch, pinned, profiler))
                            print(variant.row(), flush=True)
                            variants.append(variant)
                finally:
                    await http.aclose()
    finally:
        await runtime.broker.close()
        await runtime.db.dispose()
    return variants


# -- the database --------------------------------------------------------------------------------

LIBRARIES = ("sqlalchemy", "aiosqlite", "asyncpg", "httpx", "httpcore", "h11", "anyio", "greenlet", "cryptography",
             "phonenumbers", "orjson", "uvloop", "gql_telephony", "bench")


def print_own_time(path: Path, top: int = 15) -> None:
    """Own time by library (the first of LIBRARIES in the function's file path), then by function."""
    stats = pstats.Stats(str(path))
    by_library: Counter[str] = Counter()
    for (file, _line, _name), (_calls, _primitive, own, _cumulative, _callers) in stats.stats.items():  # type: ignore[attr-defined]  # pstats keeps it undeclared
        found = next((lib for lib in LIBRARIES if re.search(rf"[/\\]{lib}[/\\]", file)), None)
        by_library[found or ("C calls" if file == "~" else "stdlib, other")] += own
    total = sum(by_library.values()) or 1.0
    print(f"\nown time by library, cProfile over the measured rounds ({path}, {total:.1f} s):")
    for library, own in by_library.most_common():
        print(f"  {100 * own / total:5.1f}%  {library}")
    stats.sort_stats("tottime").print_stats(top)


def event_loop_runner() -> asyncio.Runner:
    """uvloop, as `gql-telephony serve` runs (uvicorn's default where it is installed)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.Runner()
    return asyncio.Runner(loop_factory=uvloop.new_event_loop)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", type=int, default=200, help="Twilio configurations per shape")
    parser.add_argument("--numbers", type=int, nargs="+", default=[1, 20], help="numbers per configuration (shapes)")
    parser.add_argument("--latency-ms", type=float, nargs="+", default=[0.0, 50.0], help="the fake's delay per request")
    parser.add_argument("--batch", type=int, nargs="+", default=[4, 16, 64], help="CheckWorker batch sizes")
    parser.add_argument("--slow-every", type=int, default=50,
                        help="a last fake where about every Kth account is slow, at the last latency (0: skip)")
    parser.add_argument("--slow-ms", type=float, default=1000.0, help="the slow accounts' extra delay per request")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", help="a PostgreSQL server to make a fresh database on (default: SQLite)")
    parser.add_argument("--no-pin", action="store_true")
    parser.add_argument("--profile", type=Path, help="cProfile the measured rounds, stats to this file")
    args = parser.parse_args()
    profiler = cProfile.Profile() if args.profile else None
    pinned = not args.no_pin and (os.cpu_count() or 1) >= 2
    if pinned:
        os.sched_setaffinity(0, {SERVER_CPU})  # before any thread starts: aiosqlite's threads inherit it
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-checks-")))
        url = stack.enter_context(database(args.database_url, workdir, "provider_checks"))
        settings = Settings(database_url=url, secret_keys=(Fernet.generate_key().decode(),), provider_check_interval=0)
        print(f"{'SQLite' if url.startswith('sqlite') else 'PostgreSQL'}, {args.configs} Twilio configurations per "
              f"shape, {args.rounds} rounds per variant{', pinned' if pinned else ''}", flush=True)
        with event_loop_runner() as runner:
            variants = runner.run(measure(args, settings, workdir, pinned, profiler))
    print("\nchecks/s: median of the rounds; the rest over all rounds. A check: ProviderChecks.check (reads, "
          "provider calls, write).")
    print(HEADER)
    for variant in variants:
        print(variant.row())
    if profiler is not None:
        profiler.dump_stats(args.profile)
        print_own_time(args.profile)


if __name__ == "__main__":
    main()
