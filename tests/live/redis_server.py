"""Redis for tests: the shared service, or a private redis-server that a test may stop and start."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

from ..backends import skip_or_fail
from .server import free_port

SHARED_REDIS = ("127.0.0.1", 6379)


def require_shared_redis() -> str:
    try:
        with socket.create_connection(SHARED_REDIS, timeout=1):
            pass
    except OSError:
        skip_or_fail(f"Redis is not reachable at {SHARED_REDIS[0]}:{SHARED_REDIS[1]}")
    return f"redis://{SHARED_REDIS[0]}:{SHARED_REDIS[1]}/0"


class PrivateRedis:
    """A redis-server of the test's own on a free port, keeping nothing on disk."""

    def __init__(self, directory: Path) -> None:
        if shutil.which("redis-server") is None:
            skip_or_fail("redis-server is not installed")
        self.port = free_port()
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("private redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None
