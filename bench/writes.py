"""Writes: single mutations and a bulk import through the server, against the same writes by hand.

Usage: .venv/bin/python -m bench.writes [--writes 200] [--import-numbers 10000] [--import-rounds 2] [--no-pin]
(`make bench` runs it once, after the dashboard.)

  1. Seeds one organization (25 configurations x 40 numbers, bench/seed.py) on a fresh SQLite
     file, and adds Twilio configurations whose accounts live in a fake Twilio (bench/import_fake.py,
     its own process) holding IMPORT_NUMBERS numbers each.
  2. Starts the server (`gql-telephony serve`, its defaults, Twilio's API pointed at the fake) and
     bench/write_endpoint.py (the same writes by hand, the same guarantees), each its own
     process, pinned to CPU 1 (this client on CPU 0).
  3. Single writes: for each of rename, add a number, update a label, set the default, N times
     each on both, one request at a time, taking turns which goes first; every write must be a
     real change (a new name, label or default; a new number) and must succeed. Prints p50/p99 of
     each and the ratio hand-written p50 / server p50 (1.0 means as fast as by hand; goal >= 0.5),
     and each process's CPU ms per write.
  4. Bulk import: ROUNDS times, `importPhoneNumbers` on the server into a configuration whose
     account has IMPORT_NUMBERS numbers, and the endpoint's import into another: the whole
     request's time, both paging the same fake provider; ratio hand-written / server (goal >= 0.3).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from cryptography.fernet import Fernet

from gql_telephony.app import build_runtime
from gql_telephony.domain.ids import encode_id
from gql_telephony.domain.providers import ProviderKey
from gql_telephony.settings import Settings

from . import goals
from .import_fake import account_sid, auth_token
from .load import Connection, Target, cpu_seconds, percentile
from .processes import free_port, server_env, started
from .seed import seed

OPS = ("rename", "addNumber", "label", "setDefault")
MUTATIONS = {
    "rename": "mutation R($input: UpdateTelephonyConfigInput!) { updateTelephonyConfig(input: $input) "
              "{ telephonyConfig { id name version } userErrors { code message } } }",
    "addNumber": "mutation A($input: AddPhoneNumberInput!) { addPhoneNumber(input: $input) "
                 "{ phoneNumber { id phoneNumber } userErrors { code message } } }",
    "label": "mutation L($input: UpdatePhoneNumberInput!) { updatePhoneNumber(input: $input) "
             "{ phoneNumber { id phoneNumber label isActive } userErrors { code message } } }",
    "setDefault": "mutation D($input: SetDefaultOutboundTelephonyConfigInput!) { setDefaultOutboundTelephonyConfig(input: $input) "
                  "{ telephonyConfig { id version } previousDefault { id } userErrors { code message } } }",
    "import": "mutation I($input: ImportPhoneNumbersInput!) { importPhoneNumbers(input: $input) "
              "{ importedCount alreadyRegisteredCount userErrors { code message } } }",
}
GRAPHQL_INPUT = {  # the hand-written endpoint's body -> the mutation's input
    "rename": lambda b: {"id": b["id"], "name": b["name"]},
    "addNumber": lambda b: {"telephonyConfigId": b["configId"], "phoneNumber": b["phoneNumber"]},
    "label": lambda b: {"id": b["id"], "label": b["label"]},
    "setDefault": lambda b: {"id": b["id"]},
    "import": lambda b: {"telephonyConfigId": b["configId"]},
}
SHAPE = (25, 40)


@dataclass
class Timed:
    server_ms: list[float] = field(default_factory=list)
    floor_ms: list[float] = field(default_factory=list)
    server_cpu: float = 0.0  # CPU seconds of the process over these writes
    floor_cpu: float = 0.0

    def ratio(self) -> float:
        return percentile(self.floor_ms, 0.5) / percentile(self.server_ms, 0.5)


@dataclass
class Ids:
    configs: list[str]  # global ids, in id order
    numbers: list[str]  # two numbers' global ids
    import_configs: list[str]  # Twilio configurations over the fake's accounts, in account order
    added: Iterator[int] = field(default_factory=itertools.count)  # numbers added so far (each new)
    current_default: str = ""  # the default configuration's global id

    def __post_init__(self) -> None:
        self.current_default = self.current_default or self.configs[0]  # the seed's default


class Client:
    def __init__(self, port: int, path: str, key: str) -> None:
        self.port, self.path, self.key = port, path, key
        self.connection: Connection | None = None

    async def reconnect(self) -> None:
        """A new connection for the next request: one left idle longer than the server's keep-alive
        (5 s, while the other target imports) is closed under it."""
        if self.connection is not None:
            await self.connection.close()
            self.connection = None

    async def send(self, body: dict[str, Any]) -> tuple[float, dict[str, Any]]:
        if self.connection is None:
            self.connection = await Connection(self.port).open()
        request = Target.of("w", self.port, "POST", self.path, {
            "Authorization": f"Bearer {self.key}", "Content-Type": "application/json"}, json.dumps(body).encode()).request
        began = time.perf_counter()
        status, answer = await self.connection.send(request)
        elapsed = (time.perf_counter() - began) * 1000
        if status != 200:
            raise SystemExit(f"FAIL: a write was refused ({self.path}): {status} {answer[:500]!r}")
        return elapsed, json.loads(answer)


async def write_both(server: Client, floor: Client, op: str, body: dict[str, Any], which: str) -> float:
    """One write on `which` ("server" or "floor"); its time in ms."""
    if which == "floor":
        elapsed, answer = await floor.send({"op": op, **body})
        if op == "import" and not answer.get("importedCount"):
            raise SystemExit(f"FAIL: the hand-written import imported nothing: {answer}")
        return elapsed
    elapsed, answer = await server.send({"query": MUTATIONS[op], "variables": {"input": GRAPHQL_INPUT[op](body)}})
    payload = next(iter((answer.get("data") or {}).values()), None)
    if "errors" in answer or payload is None or payload["userErrors"] or (op == "import" and not payload["importedCount"]):
        raise SystemExit(f"FAIL: the server refused {op}: {json.dumps(answer)[:500]}")
    return elapsed


async def single_writes(server: Client, floor: Client, ids: Ids, iterations: int, pids: dict[str, int]) -> dict[str, Timed]:
    results: dict[str, Timed] = {}
    default = ids.current_default
    for op in OPS:
        timed = results[op] = Timed()
        before = {name: cpu_seconds(pid) or 0.0 for name, pid in pids.items()}
        for i in range(iterations):
            for which in ("server", "floor") if i % 2 == 0 else ("floor", "server"):
                own = 1 if which == "server" else 2  # each target writes its own rows
                if op == "rename":
                    body = {"id": ids.configs[own], "name": f"Renamed {which} {i}"}
                elif op == "addNumber":
                    body = {"configId": ids.configs[0], "phoneNumber": f"+1628{3_000_000 + next(ids.added):07d}"}
                elif op == "label":
                    body = {"id": ids.numbers[own - 1], "label": f"Label {which} {i}"}
                else:
                    default = ids.configs[3] if default != ids.configs[3] else ids.configs[4]
                    body = {"id": default}
                    ids.current_default = default
                elapsed = await write_both(server, floor, op, body, which)
                (timed.server_ms if which == "server" else timed.floor_ms).append(elapsed)
        after = {name: cpu_seconds(pid) or 0.0 for name, pid in pids.items()}
        timed.server_cpu, timed.floor_cpu = after["server"] - before["server"], after["floor"] - before["floor"]
    return results


async def bulk_imports(server: Client, floor: Client, ids: Ids, rounds: int, numbers: int) -> Timed:
    timed = Timed()
    for r in range(rounds):
        for which in ("server", "floor") if r % 2 == 0 else ("floor", "server"):
            config = ids.import_configs[2 * r + (which == "floor")]
            await (server if which == "server" else floor).reconnect()
            elapsed = await write_both(server, floor, "import", {"configId": config}, which)
            (timed.server_ms if which == "server" else timed.floor_ms).append(elapsed)
    # Every number of every account must be registered, each once.
    return timed


async def prepare(settings: Settings, accounts: int) -> tuple[str, Ids]:
    key, write_key = await seed(settings, *SHAPE)
    runtime = build_runtime(settings)
    try:
        async with runtime.db.reading_rows() as connection:
            org_id = (await connection.execute(sa.text("SELECT id FROM organization"))).scalar_one()
            configs = (await connection.execute(sa.text("SELECT id FROM telephony_config ORDER BY id"))).scalars().all()
            numbers = (await connection.execute(sa.text("SELECT id FROM phone_number ORDER BY id LIMIT 2"))).scalars().all()
        imports = []
        for i in range(accounts):
            row, _ = await runtime.configs.create(org_id, name=f"Import {i}", provider=ProviderKey.TWILIO,
                                                  config={"account_sid": account_sid(i), "auth_token": auth_token(i)},
                                                  make_default=False)
            imports.append(encode_id("TelephonyConfig", row.id))
    finally:
        await runtime.broker.close()
        await runtime.db.dispose()
    del key
    return write_key, Ids([encode_id("TelephonyConfig", c) for c in configs],
                          [encode_id("PhoneNumber", n) for n in numbers], imports)


@dataclass
class WriteResults:
    singles: dict[str, Timed]
    bulk: Timed | None
    import_numbers: int


def run(writes: int, import_numbers: int, import_rounds: int, pinned: bool, profile: Path | None = None) -> WriteResults:
    """`profile`: the server runs under cProfile, its stats written there when it stops (its
    start-up included: the own-time table is what to read)."""
    cpu = 1 if pinned else None
    accounts = 2 * import_rounds
    with tempfile.TemporaryDirectory(prefix="gqlt-writes-") as tmp, ExitStack() as stack:
        secret_key = Fernet.generate_key().decode()
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'writes.sqlite3'}"
        settings = Settings(database_url=url, secret_keys=(secret_key,))
        write_key, ids = asyncio.run(prepare(settings, accounts))
        fake_port = free_port()
        stack.enter_context(started("fake Twilio", [
            sys.executable, "-m", "bench.import_fake", "--port", str(fake_port), "--accounts", str(accounts),
            "--numbers", str(import_numbers)], dict(os.environ), fake_port, Path(tmp) / "fake.log", 0 if pinned else None))
        origin = f"http://127.0.0.1:{fake_port}"
        env = server_env(GQL_TELEPHONY_DATABASE_URL=url, GQL_TELEPHONY_SECRET_KEYS=secret_key,
                         GQL_TELEPHONY_PROVIDER_API_TWILIO=origin)
        ports = {"server": free_port(), "floor": free_port()}
        processes = {
            "server": stack.enter_context(started("server", [
                sys.executable, *(["-m", "cProfile", "-o", str(profile)] if profile else []),
                "-m", "gql_telephony.cli", "serve", "--port", str(ports["server"])],
                env, ports["server"], Path(tmp) / "server.log", cpu)),
            "floor": stack.enter_context(started("write endpoint", [
                sys.executable, "-m", "bench.write_endpoint", "--db", url, "--port", str(ports["floor"]),
                "--twilio", origin], env, ports["floor"], Path(tmp) / "floor.log", cpu)),
        }

        async def measure() -> WriteResults:
            server = Client(ports["server"], "/graphql", write_key)
            floor = Client(ports["floor"], "/write", write_key)
            await single_writes(server, floor, ids, 3, {n: p.pid for n, p in processes.items()})  # warm-up
            singles = await single_writes(server, floor, ids, writes, {n: p.pid for n, p in processes.items()})
            bulk = await bulk_imports(server, floor, ids, import_rounds, import_numbers) if import_rounds else None
            for client in (server, floor):
                if client.connection is not None:
                    await client.connection.close()
            return WriteResults(singles, bulk, import_numbers)

        results = asyncio.run(measure())
        if import_rounds:
            check_imported(settings, accounts * import_numbers)
    return results


def check_imported(settings: Settings, expected: int) -> None:
    async def count() -> int:
        runtime = build_runtime(settings)
        try:
            async with runtime.db.reading_rows() as connection:
                return int((await connection.execute(sa.text(
                    "SELECT count(*) FROM phone_number WHERE phone_number LIKE '+1332%'"))).scalar_one())
        finally:
            await runtime.broker.close()
            await runtime.db.dispose()

    found = asyncio.run(count())
    if found != expected:
        raise SystemExit(f"FAIL: {found} imported numbers registered, {expected} expected")


def report(results: WriteResults) -> None:
    print(f"  {'write':<12} {'server p50 / p99 ms':>20} {'by hand p50 / p99 ms':>21} {'ratio':>6} "
          f"{'server CPU ms':>13} {'by hand CPU ms':>14}")
    for op, t in results.singles.items():
        n = len(t.server_ms)
        print(f"  {op:<12} {percentile(t.server_ms, 0.5):>9.1f} / {percentile(t.server_ms, 0.99):<8.1f} "
              f"{percentile(t.floor_ms, 0.5):>9.1f} / {percentile(t.floor_ms, 0.99):<9.1f} {t.ratio():>6.3f} "
              f"{1000 * t.server_cpu / n:>13.2f} {1000 * t.floor_cpu / n:>14.2f}")
    for op, t in results.singles.items():
        goals.record(f"write {op}: by hand p50 / server p50", f"{t.ratio():.3f}x", ">= 0.5x", t.ratio() >= 0.5)
    if results.bulk is not None:
        b = results.bulk
        print(f"  bulk import of {results.import_numbers} numbers: server {', '.join(f'{v:.0f}' for v in b.server_ms)} ms; "
              f"by hand {', '.join(f'{v:.0f}' for v in b.floor_ms)} ms")
        goals.record(f"bulk import of {results.import_numbers}: by hand / server", f"{b.ratio():.3f}x", ">= 0.3x",
                     b.ratio() >= 0.3)
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--writes", type=int, default=200, help="each single write, on each target (default 200)")
    parser.add_argument("--import-numbers", type=int, default=10_000, help="numbers per imported account (default 10000)")
    parser.add_argument("--import-rounds", type=int, default=2, help="imports on each target (default 2; 0 skips)")
    parser.add_argument("--no-pin", action="store_true")
    parser.add_argument("--profile", type=Path, metavar="FILE",
                        help="run the server under cProfile (stats to FILE), then summarize them")
    args = parser.parse_args()
    pinned = not args.no_pin and len(os.sched_getaffinity(0)) >= 2
    if pinned:
        os.sched_setaffinity(0, {0})
    print(f"writes: {args.writes} of each on each target; bulk import of {args.import_numbers} numbers x {args.import_rounds}")
    report(run(args.writes, args.import_numbers, args.import_rounds, pinned, args.profile and args.profile.resolve()))
    if args.profile:
        from .profile_summary import summarize

        summarize("cprofile", args.profile.resolve())


if __name__ == "__main__":
    main()
