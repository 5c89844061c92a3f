"""A real `gql-telephony serve` process for tests that need one (uvicorn, sockets, signals)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from gql_telephony.app import create_app
from gql_telephony.server import uvicorn_config

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "gql_telephony.cli"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GQL_TELEPHONY_")}
    # Test clients send thousands of requests a minute with one key: no rate limit unless a
    # test asks for one (tests/api/middleware/test_rate_limit.py tests the limit itself).
    env["GQL_TELEPHONY_RATE_LIMIT_PER_MINUTE"] = "0"
    # No provider is reachable from a test machine: checks run only where a test points them at
    # a fake provider (tests/live/test_provider_checks_live.py).
    env["GQL_TELEPHONY_PROVIDER_CHECKS"] = "0"
    env.update(settings)
    return env


def cli(args: list[str], env: dict[str, str]) -> str:
    """Run a command; its last line of output."""
    result = subprocess.run([*CLI, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"


@dataclass
class LiveServer:
    """A running server with an organization, one API key and the server's log (tests read it
    for tracebacks)."""

    server: Server
    key: str
    log_path: Path

    @property
    def url(self) -> str:
        return f"{self.server.http}/graphql"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextmanager
def healthy_process(command: list[str], env: dict[str, str], port: int, log_path: Path, *,
                    stop_signal: int = signal.SIGTERM, timeout: float = 30) -> Iterator[subprocess.Popen[bytes]]:
    """A process serving /healthz on the port, from its first 200 until the block ends; then it
    is stopped with the signal (killed if it hangs) and its exit status kept."""
    with open(log_path, "ab") as log:
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{command[-1]} did not start: {log_path.read_text()[-2000:]}")
            time.sleep(0.05)
        yield process
    finally:
        process.send_signal(stop_signal)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def running_server(env: dict[str, str], log_path: Path, *, extra_args: tuple[str, ...] = (),
                   stop_signal: int = signal.SIGTERM) -> Iterator[Server]:
    """A `gql-telephony serve` process until the block ends."""
    port = free_port()
    command = [*CLI, "serve", "--port", str(port), *extra_args]
    with healthy_process(command, env, port, log_path, stop_signal=stop_signal) as process:
        yield Server(process, port)


@asynccontextmanager
async def serving_in_process(runtime: Any, **uvicorn_options: Any) -> AsyncIterator[str]:
    """The app on a real uvicorn server in this process (so a test can inspect the runtime),
    configured as `gql-telephony serve` configures it; yields its host:port."""
    port = free_port()
    config = uvicorn_config(create_app(runtime=runtime), runtime.settings, "127.0.0.1", port,
                            **{"log_level": "warning", **uvicorn_options})
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
