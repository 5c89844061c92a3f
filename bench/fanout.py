"""Fan-out: the time from a mutation's response to each subscriber's event.

Usage: .venv/bin/python -m bench.fanout [--rounds 15] [--single 1000] [--spread 10000] [--processes 4]
           [--client-processes 4]
(`make bench` runs both parts once.)

  single  SINGLE subscribers on one server process (in-process broker), read by one client
          process; the server pinned to CPU 1 and the client to CPU 0 on a machine with two cores.
  spread  SPREAD subscribers over PROCESSES server processes sharing one SQLite file and the Redis
          on 127.0.0.1:6379 (pub/sub), read by CLIENT_PROCESSES client processes (each connects to
          every server in turn); nothing pinned.

The subscribers (bench/fanout_client.py) all subscribe to the warning summary. Per round, every
client process starts waiting, then this process toggles a phone number through the first
server (which changes the summary, so every subscriber gets one event) and notes when the
mutation's response arrived; each client notes when each of its subscribers got the event, on
the same monotonic clock. Printed: p50/p99 over every event of every round (the goal's figure),
and of the last subscriber per round.

The client must not be the bottleneck: each client process reports its CPU time per round, and
the share of a core it used from the response to its last event is printed (with a warning over
80%); spreading the subscribers over more client processes lowers it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from cryptography.fernet import Fernet

from tests.documents import ADD_NUMBER, CREATE, UPDATE_NUMBER, VALID
from tests.live.server import ROOT, cli, running_server, server_env

from . import goals
from .load import cpu_seconds, percentile
from .processes import pin

REDIS = "redis://127.0.0.1:6379/0"


@dataclass
class Fanout:
    subscribers: int
    processes: int
    clients: int
    each_ms: list[float] = field(default_factory=list)  # every event of every round
    last_ms: list[float] = field(default_factory=list)  # the last subscriber of each round
    client_share: list[float] = field(default_factory=list)  # per client process and round: CPU share of a core
    server_cpu_ms: float = 0.0  # the servers' CPU per round, all processes
    connect_seconds: float = 0.0

    def p99(self) -> float:
        return percentile(self.each_ms, 0.99)


def measure(subscribers: int, rounds: int, processes: int, clients: int, *, pinned: bool) -> Fanout:
    result = Fanout(subscribers, processes, clients)
    with tempfile.TemporaryDirectory(prefix="gqlt-fanout-") as tmp, ExitStack() as stack:
        env = server_env(
            GQL_TELEPHONY_DATABASE_URL=f"sqlite+aiosqlite:///{Path(tmp) / 'fanout.sqlite3'}",
            GQL_TELEPHONY_SECRET_KEYS=Fernet.generate_key().decode(),
            GQL_TELEPHONY_BROKER_URL=REDIS if processes > 1 else "memory://",
        )
        key = cli(["create-api-key", cli(["create-org", "Fan-out"], env)], env)
        servers = [stack.enter_context(running_server(env, Path(tmp) / f"server{i}.log")) for i in range(processes)]
        for server in servers:
            # Not pinned: on every CPU, not on the CPU this process may have pinned itself to.
            pin(server.process.pid, 1 if pinned else None)
        with httpx.Client(base_url=servers[0].http, headers={"authorization": f"Bearer {key}"}, timeout=60) as http:
            def post(query: str, variables: dict[str, object]) -> dict[str, object]:
                body = http.post("/graphql", json={"query": query, "variables": variables}).json()
                if "errors" in body:
                    raise SystemExit(f"FAIL: {json.dumps(body)[:500]}")
                return body["data"]  # type: ignore[no-any-return]  # JSON

            created = post(CREATE, {"input": {"name": "Fan-out", "provider": "TWILIO", "config": VALID["TWILIO"]}})
            config_id = created["createTelephonyConfig"]["telephonyConfig"]["id"]  # type: ignore[index]  # JSON
            added = post(ADD_NUMBER, {"input": {"telephonyConfigId": config_id, "phoneNumber": "+14155550100"}})
            number_id = added["addPhoneNumber"]["phoneNumber"]["id"]  # type: ignore[index]  # JSON

            began = time.perf_counter()
            children = [stack.enter_context(ClientProcess(
                [s.ws for s in servers], key, subscribers // clients + (i < subscribers % clients), pinned))
                for i in range(clients)]
            for child in children:
                expect(child, "ready")
            result.connect_seconds = time.perf_counter() - began

            active = True
            for _ in range(rounds):
                active = not active
                for child in children:
                    assert child.stdin is not None
                    child.stdin.write(b"arm\n")
                    child.stdin.flush()
                for child in children:
                    expect(child, "armed")
                cpu_before = sum(cpu_seconds(s.process.pid) or 0.0 for s in servers)
                post(UPDATE_NUMBER, {"input": {"id": number_id, "isActive": active}})
                responded = time.perf_counter()
                round_ms: list[float] = []
                for child in children:
                    assert child.stdout is not None
                    found = json.loads(child.stdout.readline())
                    delays = [(t - responded) * 1000 for t in found["arrivals"]]
                    round_ms += delays
                    result.client_share.append(found["cpu"] / max(max(delays) / 1000, 0.001))
                result.server_cpu_ms += 1000 * (sum(cpu_seconds(s.process.pid) or 0.0 for s in servers) - cpu_before)
                result.each_ms += round_ms
                result.last_ms.append(max(round_ms))
            result.server_cpu_ms /= max(rounds, 1)
    return result


def expect(child: subprocess.Popen[bytes], word: str) -> None:
    assert child.stdout is not None
    line = child.stdout.readline().decode().strip()
    if line != word:
        raise SystemExit(f"FAIL: a fan-out client said {line!r} instead of {word!r} (exit status {child.poll()})")


class ClientProcess:
    def __init__(self, urls: list[str], key: str, count: int, pinned: bool) -> None:
        self.command = [sys.executable, "-m", "bench.fanout_client", "--key", key, "--count", str(count), *urls]
        self.pinned = pinned

    def __enter__(self) -> subprocess.Popen[bytes]:
        self.child = subprocess.Popen(self.command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        pin(self.child.pid, 0 if self.pinned else None)
        return self.child

    def __exit__(self, *_: object) -> None:
        try:
            assert self.child.stdin is not None
            self.child.stdin.write(b"quit\n")
            self.child.stdin.close()
            self.child.wait(timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            self.child.kill()
            self.child.wait()


def report(found: Fanout, goal_ms: float) -> None:
    busiest = max(found.client_share, default=0.0)
    print(f"  {found.subscribers} subscribers on {found.processes} server process(es), read by {found.clients} client "
          f"process(es), {len(found.last_ms)} rounds (connected in {found.connect_seconds:.0f} s):")
    print(f"    every event: p50 {statistics.median(found.each_ms):.1f} / p99 {found.p99():.1f} ms; last subscriber per "
          f"round: p50 {statistics.median(found.last_ms):.1f} / p99 {percentile(found.last_ms, 0.99):.1f} ms; "
          f"server CPU per change {found.server_cpu_ms:.0f} ms (all processes)")
    print(f"    busiest client process: {100 * busiest:.0f}% of a core from the response to its last event"
          + ("  WARNING: the client may be the bottleneck" if busiest > 0.8 else " (not the bottleneck)"))
    goals.record(f"fan-out, {found.subscribers} subscribers on {found.processes} process(es): p99 of every event",
                 f"{found.p99():.1f} ms", f"< {goal_ms:.0f} ms", found.p99() < goal_ms)
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--single", type=int, default=1000, help="subscribers on one process (0 skips)")
    parser.add_argument("--spread", type=int, default=10_000, help="subscribers across the processes (0 skips)")
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--client-processes", type=int, default=4)
    parser.add_argument("--no-pin", action="store_true")
    args = parser.parse_args()
    pinned = not args.no_pin and len(os.sched_getaffinity(0)) >= 2
    if args.single:
        report(measure(args.single, args.rounds, 1, 1, pinned=pinned), 250)
    if args.spread:
        report(measure(args.spread, args.rounds, args.processes, args.client_processes, pinned=False), 1000)


if __name__ == "__main__":
    main()
