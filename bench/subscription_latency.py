"""Time from a mutation's response to the last subscriber receiving its event.

Usage: .venv/bin/python -m bench.subscription_latency [--subscribers N] [--rounds R] [--processes 1|2]
(`make bench` runs `measure` once too, with 1,000 subscribers and 1 process.)

Starts real server processes on a temporary SQLite file (two processes share the Redis on
127.0.0.1:6379), connects N graphql-transport-ws subscribers to the last process, then in each
round toggles a phone number on the first process (which changes the warning summary) and
measures, from the moment the mutation's response arrives, when each subscriber has its event.
A negative figure means the event arrived before the response did.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import httpx
from cryptography.fernet import Fernet

from tests.documents import ADD_NUMBER, CREATE, UPDATE_NUMBER, VALID
from tests.live.server import cli, running_server, server_env
from tests.live.ws_client import Subscriber

from .load import percentile
from .processes import pin


async def wait_one(client: Subscriber, arrivals: list[float]) -> None:
    await client.next_data(timeout=60)
    arrivals.append(time.perf_counter())


async def measure(subscribers: int, rounds: int, processes: int = 1, *, cpu: int | None = None) -> dict[str, float]:
    """Median and p99 over the rounds of the last subscriber's delay (last_*), and over every
    event (each_*), in ms. `cpu`: pin the servers there (away from this process's subscribers)."""
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        env = server_env(
            GQL_TELEPHONY_DATABASE_URL=f"sqlite+aiosqlite:///{Path(tmp) / 'bench.sqlite3'}",
            GQL_TELEPHONY_SECRET_KEYS=Fernet.generate_key().decode(),
            GQL_TELEPHONY_BROKER_URL="redis://127.0.0.1:6379/0" if processes > 1 else "memory://",
        )
        key = cli(["create-api-key", cli(["create-org", "Bench"], env)], env)
        servers = [stack.enter_context(running_server(env, Path(tmp) / f"s{i}.log")) for i in range(processes)]
        for server in servers if cpu is not None else ():
            pin(server.process.pid, cpu)
        writer, reader = servers[0], servers[-1]
        headers = {"authorization": f"Bearer {key}"}
        async with httpx.AsyncClient(base_url=writer.http, headers=headers, timeout=60) as http:
            async def post(query, variables):
                body = (await http.post("/graphql", json={"query": query, "variables": variables})).json()
                assert "errors" not in body, body
                return body["data"]

            created = await post(CREATE, {"input": {"name": "Bench", "provider": "TWILIO", "config": VALID["TWILIO"]}})
            config_id = created["createTelephonyConfig"]["telephonyConfig"]["id"]
            added = await post(ADD_NUMBER, {"input": {"telephonyConfigId": config_id, "phoneNumber": "+14155550100"}})
            number_id = added["addPhoneNumber"]["phoneNumber"]["id"]

            clients = [Subscriber(reader.ws, key) for _ in range(subscribers)]
            for start in range(0, subscribers, 100):
                await asyncio.gather(*(c.connect() for c in clients[start:start + 100]))
            await asyncio.gather(*(c.subscribe() for c in clients))
            await asyncio.gather(*(c.next_data(timeout=60) for c in clients))

            last_arrivals: list[float] = []
            all_arrivals: list[float] = []
            active = True
            for _ in range(rounds):
                active = not active
                arrivals: list[float] = []
                waiting = [asyncio.create_task(wait_one(c, arrivals)) for c in clients]
                await asyncio.sleep(0)
                await post(UPDATE_NUMBER, {"input": {"id": number_id, "isActive": active}})
                responded = time.perf_counter()
                await asyncio.gather(*waiting)
                relative = [(t - responded) * 1000 for t in arrivals]
                last_arrivals.append(max(relative))
                all_arrivals.extend(relative)
            await asyncio.gather(*(c.close() for c in clients))
    return {
        "last_median_ms": statistics.median(last_arrivals),
        "last_p99_ms": percentile(last_arrivals, 0.99),
        "each_median_ms": statistics.median(all_arrivals),
        "each_p99_ms": percentile(all_arrivals, 0.99),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subscribers", type=int, nargs="+", default=[200, 1000])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--pin", action="store_true", help="servers on CPU 1, this process on CPU 0")
    args = parser.parse_args()
    cpu = None
    if args.pin and len(os.sched_getaffinity(0)) >= 2:
        os.sched_setaffinity(0, {0})
        cpu = 1
    print(f"{'subscribers':>11} {'processes':>9} {'last p50 ms':>11} {'last p99 ms':>11} {'each p50 ms':>11} {'each p99 ms':>11}")
    for processes in args.processes:
        for count in args.subscribers:
            result = asyncio.run(measure(count, args.rounds, processes, cpu=cpu))
            print(f"{count:>11} {processes:>9} {result['last_median_ms']:>11.1f} {result['last_p99_ms']:>11.1f} "
                  f"{result['each_median_ms']:>11.1f} {result['each_p99_ms']:>11.1f}", flush=True)


if __name__ == "__main__":
    main()
