"""A real webhook receiver on loopback for the delivery tests: it keeps every request (headers,
body, the status it answered) and answers what the test tells it to. Runs in a thread of its own
(uvicorn), so a server subprocess can deliver to it while a test waits; it can be started on a
port chosen beforehand, so "down, then back" is a refused connection, then a listening server."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .outbound.fakes.base import serve_app


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: str
    status: int

    @property
    def message_id(self) -> str:
        return self.headers["webhook-id"]

    @property
    def data_id(self) -> str:
        return str(orjson.loads(self.body)["data"]["id"])


class Receiver:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self._lock = threading.Lock()
        # What to answer a request: (its body) -> HTTP status. 200 unless a test says otherwise.
        self.answer: Callable[[str], int] = lambda _body: 200
        self.delay = 0.0  # seconds to wait before answering
        self.app = Starlette(routes=[Route("/hook", self._hook, methods=["POST"]), Route("/hook/{name}", self._hook, methods=["POST"])])

    async def _hook(self, request: Request) -> Response:
        body = (await request.body()).decode()
        if self.delay:
            import asyncio  # noqa: PLC0415 - only slow receivers sleep

            await asyncio.sleep(self.delay)
        status = self.answer(body)
        with self._lock:
            self.received.append(Received(request.url.path, dict(request.headers), body, status))
        return Response(b"not today" if status >= 400 else b"", status)

    def all(self) -> list[Received]:
        with self._lock:
            return list(self.received)

    def delivered(self) -> list[Received]:
        """Requests answered 2xx, in arrival order."""
        return [r for r in self.all() if 200 <= r.status < 300]

    def wait_for(self, count: int, timeout: float = 20.0) -> list[Received]:
        """Blocks until `count` distinct webhook-ids were answered 2xx; their first 2xx each."""
        deadline = time.monotonic() + timeout
        while True:
            firsts = first_per_id(self.delivered())
            if len(firsts) >= count or time.monotonic() > deadline:
                return firsts
            time.sleep(0.02)


def first_per_id(received: list[Received]) -> list[Received]:
    """De-duplicated by webhook-id, as a receiver does: the first of each, in arrival order."""
    seen: dict[str, Received] = {}
    for item in received:
        seen.setdefault(item.message_id, item)
    return list(seen.values())


@contextmanager
def receiving(receiver: Receiver, port: int | None = None) -> Iterator[str]:
    """The receiver on 127.0.0.1 until the block ends; yields its hook URL."""
    with serve_app(receiver.app, port) as origin:
        yield f"{origin}/hook"
