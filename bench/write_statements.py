"""The SQL of one mutation of each kind through the server, in-process, against the hand-written
write's: where a single write's time goes, statement by statement.

Usage: .venv/bin/python -m bench.write_statements [--verbose]

Seeds 5 configurations x 10 numbers on a fresh SQLite file, sends each mutation of
bench/writes.py twice through the app (httpx's ASGI transport), and counts (and with --verbose
prints) every statement the engines send to the driver for the second, as
tests/test_statement_count.py counts reads. Then the same writes through
bench/write_endpoint.py's `Writes`, counted by its pool.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path
from typing import Any

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


async def count(verbose: bool) -> dict[str, tuple[int, int]]:
    with tempfile.TemporaryDirectory(prefix="gqlt-write-sql-") as tmp:
        secret_key = Fernet.generate_key().decode()
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'sql.sqlite3'}"
        settings = Settings(database_url=url, secret_keys=(secret_key,))
        _, write_key = await seed(settings, 5, 10)
        runtime = build_runtime(settings)
        statements: list[str] = []

        def record(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]  # SQLAlchemy's event arguments
            statements.append(statement)

        found: dict[str, list[int]] = {op: [] for op in OPS}
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
                        answer = (await client.post("/graphql", json={
                            "query": MUTATIONS[op], "variables": {"input": GRAPHQL_INPUT[op](body)}})).json()
                        if turn:
                            for engine in runtime.db.engines:
                                sa.event.remove(engine.sync_engine, "before_cursor_execute", record)
                            found[op].append(len(statements))
                            if verbose:
                                print(f"server {op}:")
                                for line in statements:
                                    print("   ", " ".join(line.split())[:150])
                            statements.clear()
                        assert "errors" not in answer, answer
        finally:
            await runtime.broker.close()
            await runtime.db.dispose()

        by_hand: list[str] = []
        writes = Writes(url, Vault([secret_key]), None)
        writes.pool = pool_for(url, 1, by_hand.append)
        await writes.pool.open()
        try:
            for op, body in bodies(configs, numbers, 2).items():
                await writes.write(write_key, {"op": op, **body})
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
    args = parser.parse_args()
    for op, (server, hand) in asyncio.run(count(args.verbose)).items():
        print(f"{op:<12} server {server:>3} statements, by hand {hand:>3} (BEGIN counted, COMMIT not)")


if __name__ == "__main__":
    main()
