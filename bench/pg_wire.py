"""A probe for PostgreSQL round trips: a TCP proxy in front of the server that reads what the
client sends (the frontend messages of the wire protocol) and forwards everything unchanged.

Statement counts do not see round trips: a BEGIN sent by the driver, a ping, a PREPARE, a
ROLLBACK when a connection goes back to its pool. Here each Sync or Flush (extended protocol) or
Query (simple protocol) message ends one exchange that the client waits for: one round trip
(asyncpg waits after each; a client that pipelines would be over-counted). Each is recorded as a short label: `query: BEGIN ...`, `prepare: SELECT ...`,
`execute: SELECT ...` (a Bind of a statement prepared before, named by its SQL).

Usage (in-process): `async with WireProbe("127.0.0.1", 5432) as probe:` then connect to
`probe.url(database_url)`; `probe.exchanges` grows as clients talk, `probe.mark()` and
`probe.since(mark)` cut out one request's.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import Callable
from types import TracebackType
from urllib.parse import urlsplit, urlunsplit

STARTUP_CODE = 196608  # protocol 3.0; anything else before it (SSL, GSS requests) carries no type byte


class _ClientStream:
    """Frontend messages of one connection, parsed as they pass."""

    def __init__(self, exchanges: list[str]) -> None:
        self.exchanges = exchanges
        self.buffer = bytearray()
        self.started = False
        self.statements: dict[bytes, str] = {}  # prepared statement name -> its SQL
        self.pending: list[str] = []  # what the exchange under way did so far

    def feed(self, data: bytes) -> None:
        self.buffer += data
        while True:
            if not self.started:
                if len(self.buffer) < 8:
                    return
                (length, code) = struct.unpack("!ii", self.buffer[:8])
                if len(self.buffer) < length:
                    return
                del self.buffer[:length]
                self.started = code == STARTUP_CODE
                continue
            if len(self.buffer) < 5:
                return
            kind, length = chr(self.buffer[0]), struct.unpack("!i", self.buffer[1:5])[0]
            if len(self.buffer) < 1 + length:
                return
            body = bytes(self.buffer[5:1 + length])
            del self.buffer[:1 + length]
            self._message(kind, body)

    def _message(self, kind: str, body: bytes) -> None:
        if kind == "Q":
            self.exchanges.append("query: " + _text(body.split(b"\0", 1)[0]))
        elif kind == "P":
            name, sql = body.split(b"\0", 2)[:2]
            self.statements[name] = _text(sql)
            self.pending.append("prepare: " + _text(sql))
        elif kind == "B":
            _portal, name = body.split(b"\0", 2)[:2]
            if not any(step.startswith("prepare: ") for step in self.pending):
                self.pending.append("execute: " + self.statements.get(name, "?"))
        elif kind in "SH":  # Sync; Flush, after which asyncpg waits for a statement's description
            self.exchanges.append("; ".join(self.pending) or "sync")
            self.pending = []
        elif kind == "X":
            self.exchanges.append("terminate")


def _text(sql: bytes) -> str:
    return " ".join(sql.decode("utf-8", "replace").split())


class WireProbe:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.exchanges: list[str] = []
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._open: list[_Link] = []

    @property
    def address(self) -> tuple[str, int]:
        assert self._server is not None
        host, port = self._server.sockets[0].getsockname()[:2]
        return host, port

    def url(self, database_url: str) -> str:
        """The same database, reached through the probe (SSL off: the probe reads plain text)."""
        parts = urlsplit(database_url)
        userinfo = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
        host, port = self.address
        query = "&".join(filter(None, [parts.query, "ssl=disable"]))
        return urlunsplit(parts._replace(netloc=f"{userinfo}{host}:{port}", query=query))

    def drop_silently(self) -> None:
        """The connections open now are lost on the way, as behind a NAT or firewall that timed
        them out: neither end hears a thing until the client next sends, which is answered with
        a reset and reaches no server."""
        for link in self._open:
            link.dropped = True

    def mark(self) -> int:
        return len(self.exchanges)

    def since(self, mark: int) -> list[str]:
        return self.exchanges[mark:]

    async def __aenter__(self) -> WireProbe:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _serve(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        server_reader, server_writer = await asyncio.open_connection(self.host, self.port)
        stream = _ClientStream(self.exchanges)
        link = _Link(client_writer)
        self._open.append(link)
        upstream = asyncio.ensure_future(_pump(client_reader, server_writer, link.guard(stream.feed)))
        downstream = asyncio.ensure_future(_pump(server_reader, client_writer, None))
        for task in (upstream, downstream):
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        await asyncio.wait({upstream, downstream}, return_when=asyncio.FIRST_COMPLETED)
        for task in (upstream, downstream):
            task.cancel()
        for writer in (client_writer, server_writer):
            writer.close()
        self._open.remove(link)


class _Link:
    """One client's connection through the probe, which `drop_silently` can cut."""

    def __init__(self, client_writer: asyncio.StreamWriter) -> None:
        self.client_writer = client_writer
        self.dropped = False

    def guard(self, seen: Callable[[bytes], None]) -> Callable[[bytes], None]:
        def passing(data: bytes) -> None:
            if self.dropped:
                # A reset, not a FIN: linger 0, then abort.
                sock = self.client_writer.get_extra_info("socket")
                if sock is not None:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.client_writer.transport.abort()
                raise ConnectionResetError("dropped on the way")
            seen(data)
        return passing


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, seen: object) -> None:
    with contextlib.suppress(ConnectionError, asyncio.CancelledError):
        while data := await reader.read(65536):
            if callable(seen):
                seen(data)
            writer.write(data)
            await writer.drain()
