"""The benchmark's server processes: starting, pinning, profiling and reading their /metrics."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.live.server import free_port, healthy_process, server_env  # noqa: F401 - shared with the benchmark

READ_PATHS = ("plan", "generic", "cache")
READ_PATH_LINE = re.compile(r'^gql_telephony_read_path_total\{[^}]*\bpath="(\w+)"[^}]*\}\s+(\S+)', re.MULTILINE)


# The CPUs this machine lets the benchmark use, read when it starts: a benchmark pins itself to
# CPU 0 (bench/dashboard.py), and every process it starts would inherit that.
ALL_CPUS = frozenset(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else frozenset()


def pin(pid: int, cpu: int | None) -> None:
    """Every thread of the process on `cpu` (None: on every CPU of ALL_CPUS, as a process not
    pinned). Threads started before this call (the raw endpoint's aiosqlite connections, say)
    keep the parent's affinity otherwise; later ones inherit it."""
    if not ALL_CPUS:
        return  # no affinity on this platform: nothing was pinned
    cpus = ALL_CPUS if cpu is None else {cpu}
    try:
        threads = [int(tid) for tid in os.listdir(f"/proc/{pid}/task")]
    except OSError:
        threads = [pid]
    for tid in threads:
        try:
            os.sched_setaffinity(tid, cpus)
        except ProcessLookupError:
            pass  # a thread that ended meanwhile


@dataclass
class Process:
    name: str
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def memory(self, field: str) -> float | None:
        """A /proc/PID/status figure (VmRSS now, VmHWM the peak) in MiB; None off Linux."""
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
        except OSError:
            return None
        return None

    def read_paths(self) -> dict[str, float] | None:
        """gql_telephony_read_path_total by path from /metrics; None where the server has no such counter."""
        try:
            text = httpx.get(f"http://127.0.0.1:{self.port}/metrics", timeout=10).text
        except httpx.HTTPError:
            return None
        found = {path: float(value) for path, value in READ_PATH_LINE.findall(text)}
        return found or None


@contextmanager
def started(name: str, command: list[str], env: dict[str, str], port: int, log: Path, cpu: int | None) -> Iterator[Process]:
    try:
        with healthy_process(command, env, port, log, timeout=60) as process:
            if cpu is not None:
                pin(process.pid, cpu)
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
