"""The SQL of one mutation of each kind through the server, in-process, against the hand-written
write's: where a single write's time goes, statement by statement.

Usage: .venv/bin/python -m bench.write_statements [--verbose] [--profile N]

Seeds 5 configurations x 10 numbers on a fresh SQLite file, sends each mutation of
bench/writes.py twice through the app (httpx's ASGI transport), and counts (and with --verbose
prints) every statement the engines send to the driver for the second, as
tests/test_statement_count.py counts reads. Then the same writes through
bench/write_endpoint.py's `Writes`, counted by its pool.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import aiosqlite
import httpx
import sqlalchemy as sa
from cryptography.fernet import Fernet

from gql_telephony.app import build_runtime, create_app
from gql_telephony.crypto import Vault
from gql_telephony.domain.ids import encode_id
from gql_telephony.settings import Settings

from .pools import pool_for
from .seed import seed
from .write_endpoint import Writes
from .writes import GRAPHQL_INPUT, MUTATIONS, OPS


def bodies(configs: list[int], numbers: list[int], turn: int) -> dict[str, dict[str, Any]]:
    c = [encode_id("TelephonyConfig", i) for i in configs]
    return {
        "rename": {"id": c[1], "name": f"Counted {turn}"},
        "addNumber": {"configId": c[0], "phoneNumber": f"+1628{5_000_000 + turn:07d}"},
        "label": {"id": encode_id("PhoneNumber", numbers[0]), "label": f"Counted {turn}"},
        "setDefault": {"id": c[2 + turn % 2]},
    }


GROUPS = [  # the first match in a function's file path names its group
    ("gql_telephony/api/middleware", "gql_telephony: middleware (request log, limits)"),
    ("gql_telephony/api/http", "gql_telephony: HTTP view, context, authentication"),
    ("gql_telephony/api/graph", "gql_telephony: GraphQL types and mutations"),
    ("gql_telephony/services", "gql_telephony: services (transactions, audit, events)"),
    ("gql_telephony/storage", "gql_telephony: storage"), ("gql_telephony/", "gql_telephony: other"),
    ("strawberry/", "strawberry"), ("graphql/", "graphql-core"), ("sqlalchemy/", "SQLAlchemy"),
    ("sqlmodel/", "SQLModel"), ("aiosqlite/", "aiosqlite"), ("starlette/", "Starlette"), ("httpx/", "httpx (the client)"),
    ("httpcore/", "httpx (the client)"), ("greenlet", "greenlet"), ("cryptography/", "cryptography"),
    ("asyncio/", "asyncio"), ("logging/", "logging"), ("json/", "json"),
]


def own_time(profiler: cProfile.Profile, writes: int, top: int = 12) -> None:
    """Own time by group and the functions with the most, per write (tottime: coroutines'
    resumptions make cProfile's cumulative figures unreliable, own time is not affected)."""
    stats = pstats.Stats(profiler)
    by_group: Counter[str] = Counter()
    by_function: Counter[str] = Counter()
    for (file, line, name), (_calls, _primitive, own, _cumulative, _callers) in stats.stats.items():  # type: ignore[attr-defined]  # pstats keeps it undeclared
        if "select.epoll" in name:
            continue  # the loop waiting: idle, or the work of aiosqlite's thread (cProfile's clock is the wall's)
        if "_queue.SimpleQueue" in name:
            by_group["handing work to aiosqlite's thread (waiting for the GIL back)"] += own
            continue
        by_group[next((label for needle, label in GROUPS if needle in file), "C calls, stdlib, other")] += own
        by_function[f"{name} ({file.rsplit('site-packages/', 1)[-1].rsplit('bench16/', 1)[-1]}:{line})"] += own
    total = sum(by_group.values())
    print(f"\nin-process cProfile of {writes} mutations (the four kinds in turn): {1000 * total / writes:.2f} ms "
          "of own time per write (the event loop's waits left out), by group:")
    for label, own in by_group.most_common():
        print(f"  {100 * own / total:5.1f}%  {1000 * own / writes:6.3f} ms  {label}")
    print(f"  top {top} functions by own time:")
    for label, own in [(f, o) for f, o in by_function.most_common(top + 1) if "select.epoll" not in f][:top]:
        print(f"  {100 * own / total:5.1f}%  {label}")


# Calls handed to aiosqlite's thread (each a hand-over of the GIL), by write: server, by hand.
trips: list[str] = []
trips_of: dict[str, list[int]] = {}


def count_trips() -> None:
    real = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        trips.append(getattr(fn, "__name__", repr(fn)))
        return await real(self, fn, *args, **kwargs)

    aiosqlite.Connection._execute = counted  # type: ignore[method-assign]  # a bench's own count


async def count(verbose: bool, profile_rounds: int = 0) -> dict[str, tuple[int, int]]:
    with tempfile.TemporaryDirectory(prefix="gqlt-write-sql-") as tmp:
        secret_key = Fernet.generate_key().decode()
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'sql.sqlite3'}"
        settings = Settings(database_url=url, secret_keys=(secret_key,), rate_limit_per_minute=0)  # 400 writes in seconds from one key
        _, write_key = await seed(settings, 5, 10)
        runtime = build_runtime(settings)
        statements: list[str] = []

        def record(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]  # SQLAlchemy's event arguments
            statements.append(statement)

        found: dict[str, list[int]] = {op: [] for op in OPS}
        trips.clear()
        profiler = cProfile.Profile() if profile_rounds else None
        try:
            async with runtime.db.reading_rows() as connection:
                configs = list((await connection.execute(sa.text("SELECT id FROM telephony_config ORDER BY id"))).scalars())
                numbers = list((await connection.execute(sa.text("SELECT id FROM phone_number ORDER BY id LIMIT 1"))).scalars())
            transport = httpx.ASGITransport(app=create_app(runtime=runtime))
            async with httpx.AsyncClient(transport=transport, base_url="http://bench",
                                         headers={"authorization": f"Bearer {write_key}"}) as client:
                for turn in (0, 1):
                    for op, body in bodies(configs, numbers, turn).items():
                        if turn:
                            for engine in runtime.db.engines:
                                sa.event.listen(engine.sync_engine, "before_cursor_execute", record)
                            trips.clear()
                        answer = (await client.post("/graphql", json={
                            "query": MUTATIONS[op], "variables": {"input": GRAPHQL_INPUT[op](body)}})).json()
                        if turn:
                            for engine in runtime.db.engines:
                                sa.event.remove(engine.sync_engine, "before_cursor_execute", record)
                            found[op].append(len(statements))
                            trips_of[op] = [len(trips), 0]
                            if verbose:
                                print(f"server {op} (trips: {' '.join(trips)}):")
                                for line in statements:
                                    print("   ", " ".join(line.split())[:150])
                            statements.clear()
                        assert "errors" not in answer, answer
                if profiler is not None:
                    profiler.enable()
                    for turn in range(3, 3 + profile_rounds):
                        for op, body in bodies(configs, numbers, turn).items():
                            answer = (await client.post("/graphql", json={
                                "query": MUTATIONS[op], "variables": {"input": GRAPHQL_INPUT[op](body)}})).json()
                            assert "errors" not in answer, answer
                    profiler.disable()
                    own_time(profiler, profile_rounds * len(OPS))
        finally:
            await runtime.broker.close()
            await runtime.db.dispose()

        by_hand: list[str] = []
        writes = Writes(url, Vault([secret_key]), None)
        writes.pool = pool_for(url, 1, by_hand.append)
        await writes.pool.open()
        try:
            for op, body in bodies(configs, numbers, 2).items():
                trips.clear()
                await writes.write(write_key, {"op": op, **body})
                trips_of[op][1] = len(trips)
                found[op].append(len(by_hand))
                if verbose:
                    print(f"by hand {op}:", *(" ".join(s.split())[:150] for s in by_hand), sep="\n    ")
                by_hand.clear()
        finally:
            await writes.pool.close()
    return {op: (server, hand) for op, (server, hand) in found.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--verbose", action="store_true", help="print the statements")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="also profile N rounds of the four mutations in-process (cProfile, own time)")
    args = parser.parse_args()
    count_trips()
    for op, (server, hand) in asyncio.run(count(args.verbose, args.profile)).items():
        server_trips, hand_trips = trips_of[op]
        print(f"{op:<12} server {server:>3} statements, by hand {hand:>3} (BEGIN counted, COMMIT not); "
              f"trips to aiosqlite's thread: server {server_trips:>3}, by hand {hand_trips:>3}")


if __name__ == "__main__":
    main()
