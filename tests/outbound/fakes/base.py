"""What every provider fake shares: a request log, injected faults, and a real loopback server.

A fake is a Starlette app built by `Fake.app(routes)`. Tests queue faults (`fake.fail(...)`):
each queued fault answers the next request in place of the route, so retries, Retry-After and
timeouts are exercised through the real client. `serve(fake)` runs it on 127.0.0.1 in a thread
of its own (so a server subprocess can call it while the test waits synchronously).
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send


@dataclass(frozen=True)
class Fault:
    status: int = 500
    headers: dict[str, str] = field(default_factory=dict)
    body: object = None
    hang: float = 0.0  # seconds to wait before answering (past the client's timeout)


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    query: str
    authorization: str | None
    at: float = 0.0  # time.monotonic() when it arrived


class Fake:
    def __init__(self, routes: Sequence[BaseRoute]) -> None:
        self.requests: list[Seen] = []
        self.faults: deque[Fault] = deque()
        self._lock = threading.Lock()
        self.app: ASGIApp = self._faulty(Starlette(routes=list(routes)))

    def fail(self, *faults: Fault) -> None:
        with self._lock:
            self.faults.extend(faults)

    def seen(self, path_part: str = "") -> list[Seen]:
        with self._lock:
            return [r for r in self.requests if path_part in r.path]

    def _faulty(self, inner: ASGIApp) -> ASGIApp:
        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                return await inner(scope, receive, send)
            request = Request(scope)
            with self._lock:
                self.requests.append(Seen(
                    request.method, request.url.path, request.url.query, request.headers.get("authorization"),
                    time.monotonic(),
                ))
                fault = self.faults.popleft() if self.faults else None
            if fault is None:
                return await inner(scope, receive, send)
            if fault.hang:
                await asyncio.sleep(fault.hang)
            response: Response = (
                JSONResponse(fault.body, fault.status, fault.headers) if fault.body is not None
                else Response(b"", fault.status, fault.headers)
            )
            await response(scope, receive, send)

        return app


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serve(fake: Fake) -> Iterator[str]:
    """The fake on a real loopback server until the block ends; yields its origin."""
    with serve_app(fake.app) as origin:
        yield origin


@contextmanager
def serve_app(app: ASGIApp, port: int | None = None) -> Iterator[str]:
    """An ASGI app on 127.0.0.1 (on `port`, or a free one) in a thread of its own until the block
    ends, so a server subprocess can reach it while the test waits; yields its origin."""
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"the app on port {port} did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
