"""`make bench BENCH_ARGS=--quick`: every part of the benchmark still runs and prints its goal.

Not its figures (a quick run measures nothing): that the dashboard's targets on SQLite and
PostgreSQL answer the same JSON (the benchmark stops otherwise), that the writes succeed through
the server and by hand, that the bulk import registers every number, that the subscribers get
their events on one process and across processes through Redis, and that the memory part runs.
It starts some twenty processes: 127 to 173 s on the 2-core development machine while other suites kept
its load average near 11 (over the minute the issue hoped for; each part alone is a few seconds
of work, the rest is processes starting).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bench.databases import reachable
from bench.processes import ALL_CPUS, pin
from tests.backends import POSTGRES_URL, skip_or_fail

ROOT = Path(__file__).resolve().parents[1]
GOALS = [
    "SQLite 5x10 cold read / denormalized floor", "SQLite 5x10 warm read / denormalized floor",
    "PostgreSQL 5x10 cold read / denormalized floor", "PostgreSQL 5x10 warm read / denormalized floor",
    "write rename", "write addNumber", "write label", "write setDefault", "bulk import of 300",
    "fan-out, 20 subscribers on 1 process(es)", "fan-out, 40 subscribers on 2 process(es)",
    "memory: RSS growth over 200 distinct queries",
]


def redis_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=2):
            return True
    except OSError:
        return False


def test_quick_mode_runs_every_part() -> None:
    if not reachable(POSTGRES_URL):
        skip_or_fail(f"PostgreSQL does not answer at {POSTGRES_URL}")
    if not redis_answers():
        skip_or_fail("Redis does not answer at 127.0.0.1:6379")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GQL_TELEPHONY_")}
    done = subprocess.run(
        [sys.executable, "-m", "bench.dashboard", "--quick", "--no-pin", "--postgres", POSTGRES_URL],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    summary = done.stdout.split("every goal of issue 16")[-1]
    missing = [goal for goal in GOALS if goal not in summary]
    assert not missing, f"goals not printed: {missing}\n{done.stdout[-3000:]}"
    assert "SKIPPED" not in done.stdout and "FAIL" not in done.stdout


def test_a_process_left_unpinned_runs_on_every_cpu_though_the_benchmark_is_pinned() -> None:
    """The spread fan-out's processes are "not pinned": started by a benchmark that pinned
    itself to CPU 0 (bench/dashboard.py), they would inherit CPU 0 alone unless given every CPU
    again; `make bench` once ran its four servers and four clients on one core that way."""
    if len(ALL_CPUS) < 2:
        pytest.skip("pinning needs two CPUs")
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(ALL_CPUS)})
    try:
        child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    finally:
        os.sched_setaffinity(0, before)
    try:
        assert os.sched_getaffinity(child.pid) == {min(ALL_CPUS)}  # inherited
        pin(child.pid, None)
        assert os.sched_getaffinity(child.pid) == ALL_CPUS
        pin(child.pid, max(ALL_CPUS))
        assert os.sched_getaffinity(child.pid) == {max(ALL_CPUS)}
    finally:
        child.communicate(b"")
