"""Where a fan-out subscriber's server time goes: the server in this process, profiled only
while the events go out.

Usage: .venv/bin/python -m bench.fanout_profile [--subscribers 1000] [--rounds 6] [--profile OUT.prof]

The app runs on uvicorn in this process (on CPU 1); SUBSCRIBERS subscribers of the warning summary
in one bench/fanout_client.py process (on CPU 0). Per round a number is toggled (one event per
subscriber) and this process's CPU time is counted from the mutation until every subscriber has
its event. Printed: CPU per subscriber and event, and each round's p99 from the response. With
--profile, cProfile (on a CPU clock, so the waits are left out) runs over the same spans and
its stats are written to OUT.prof, with the inclusive share of the stages that matter printed
(the profiler inflates every figure: read the shares).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from gql_telephony.app import build_runtime
from gql_telephony.services.tenancy import create_api_key, create_organization
from gql_telephony.storage.migrate import upgrade_to_head
from tests.documents import ADD_NUMBER, CREATE, UPDATE_NUMBER, VALID
from tests.live.server import ROOT, serving_in_process
from tests.support import sqlite_settings

from .load import percentile

# (label, function name, part of its file's path): inclusive time, as a share of the total.
STAGES = [
    ("executing each event (per-event executor, fields)", "callback", "graphql/execution/execute.py"),
    ("Strawberry per result (extension hooks included)", "_handle_execution_result", "strawberry/schema/schema.py"),
    ("sending (message, JSON, frame, compression, socket)", "send_next", "graphql_transport_ws/handlers.py"),
]


async def measure(subscribers: int, rounds: int, profile: str | None) -> None:
    pinned = len(os.sched_getaffinity(0)) >= 2
    if pinned:
        os.sched_setaffinity(0, {1})
    with tempfile.TemporaryDirectory(prefix="gqlt-fanout-profile-") as tmp:
        runtime = build_runtime(sqlite_settings(Path(tmp) / "profile.sqlite3", rate_limit_per_minute=0))
        await upgrade_to_head(runtime.db)
        key = await create_api_key(runtime.db, await create_organization(runtime.db, "Profile"))
        try:
            async with serving_in_process(runtime) as host, \
                    httpx.AsyncClient(base_url=f"http://{host}", headers={"authorization": f"Bearer {key}"}) as http:
                await rounds_of_events(http, f"ws://{host}/graphql", key, subscribers, rounds, profile, pinned)
        finally:
            await runtime.broker.close()
            await runtime.db.dispose()


async def rounds_of_events(http: httpx.AsyncClient, ws_url: str, key: str, subscribers: int, rounds: int,
                           profile: str | None, pinned: bool) -> None:
    async def post(query: str, variables: dict[str, Any]) -> Any:
        body = (await http.post("/graphql", json={"query": query, "variables": variables})).json()
        if "errors" in body:
            raise SystemExit(f"FAIL: {json.dumps(body)[:500]}")
        return body["data"]

    created = await post(CREATE, {"input": {"name": "Fan-out", "provider": "TWILIO", "config": VALID["TWILIO"]}})
    config_id = created["createTelephonyConfig"]["telephonyConfig"]["id"]
    added = await post(ADD_NUMBER, {"input": {"telephonyConfigId": config_id, "phoneNumber": "+14155550100"}})
    number_id = added["addPhoneNumber"]["phoneNumber"]["id"]
    client = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.fanout_client", "--key", key, "--count", str(subscribers), ws_url,
        cwd=ROOT, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )
    assert client.stdin is not None and client.stdout is not None
    if pinned:
        os.sched_setaffinity(client.pid, {0})
    if (await client.stdout.readline()).strip() != b"ready":
        raise SystemExit("FAIL: the subscribers did not get their first event")
    profiler = cProfile.Profile(time.process_time) if profile else None
    cpu, p99s, active = 0.0, list[float](), True
    for _ in range(rounds):
        active = not active
        client.stdin.write(b"arm\n")
        await client.stdin.drain()
        assert (await client.stdout.readline()).strip() == b"armed"
        began = time.process_time()
        if profiler is not None:
            profiler.enable()
        await post(UPDATE_NUMBER, {"input": {"id": number_id, "isActive": active}})
        responded = time.perf_counter()
        arrivals = json.loads(await client.stdout.readline())["arrivals"]
        if profiler is not None:
            profiler.disable()
        cpu += time.process_time() - began
        p99s.append(percentile([(arrival - responded) * 1000 for arrival in arrivals], 0.99))
    client.stdin.write(b"quit\n")
    await client.stdin.drain()
    await client.wait()
    print(f"{subscribers} subscribers, {rounds} rounds: server CPU {1000 * cpu / rounds:.0f} ms per change, "
          f"{1000 * cpu / rounds / subscribers:.3f} ms per subscriber and event"
          f"{' (profiled)' if profiler else ''}; p99 per round {[round(p) for p in p99s]} ms")
    if profiler is not None and profile:
        profiler.dump_stats(profile)
        print_stages(profile)


def print_stages(path: str) -> None:
    stats: dict[tuple[str, int, str], tuple[Any, ...]] = pstats.Stats(path).stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in stats.values())  # own times add up to the whole
    for label, function, where in STAGES:
        inclusive = sum(entry[3] for (file, _, name), entry in stats.items() if name == function and where in file)
        print(f"  {100 * inclusive / total:5.1f}%  {label}")
    print(f"  (stats in {path}: python -m pstats {path})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--profile", metavar="OUT.prof", help="profile the rounds with cProfile into this file")
    args = parser.parse_args()
    asyncio.run(measure(args.subscribers, args.rounds, args.profile))


if __name__ == "__main__":
    main()
