"""A small HTTP/1.1 keep-alive load generator, light enough to leave the servers the CPU.

Each client holds one connection and sends the next request as soon as the previous response
is read in full; every response must have status 200 and exactly the expected body.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass, field
from pathlib import Path


class BadResponse(AssertionError):
    pass


@dataclass(frozen=True)
class Target:
    name: str
    port: int
    request: bytes  # the whole request, head and body
    expected: bytes | None = None  # the body every response must have

    @classmethod
    def of(cls, name: str, port: int, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> Target:
        lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}",
                 *(f"{k}: {v}" for k, v in headers.items())]
        if body or method == "POST":
            lines.append(f"Content-Length: {len(body)}")
        return cls(name, port, ("\r\n".join(lines) + "\r\n\r\n").encode() + body)

    def expecting(self, body: bytes) -> Target:
        return Target(self.name, self.port, self.request, body)


class Connection:
    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader
        self.writer: asyncio.StreamWriter

    async def open(self) -> Connection:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port, limit=1 << 20)
        return self

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except OSError:
            pass

    async def send(self, request: bytes) -> tuple[int, bytes]:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length, chunked = None, False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        if chunked:
            parts = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    await self.reader.readuntil(b"\r\n")
                    break
                parts.append(await self.reader.readexactly(size))
                await self.reader.readexactly(2)
            return status, b"".join(parts)
        return status, await self.reader.readexactly(length or 0)


async def fetch(target: Target) -> tuple[int, bytes]:
    connection = await Connection(target.port).open()
    try:
        return await connection.send(target.request)
    finally:
        await connection.close()


def cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU time of a process, all its threads (Linux); None elsewhere."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Round:
    target: str
    seconds: float
    latencies: list[float] = field(default_factory=list)  # seconds, one per request
    server_cpu: float | None = None  # CPU seconds the server process used during the round
    client_cpu: float = 0.0  # CPU seconds this process (the load generator) used

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds


async def run_round(target: Target, *, clients: int, seconds: float, pid: int | None = None) -> Round:
    """`clients` connections in a closed loop for `seconds`; requests in flight at the end are
    finished and counted, over the time they took. `pid`: the server, whose CPU time is noted."""
    connections = [await Connection(target.port).open() for _ in range(clients)]
    latencies: list[float] = []
    server_before, client_before = cpu_seconds(pid), time.process_time()
    started = time.perf_counter()
    deadline = started + seconds

    async def client(connection: Connection) -> None:
        clock = time.perf_counter
        while clock() < deadline:
            sent = clock()
            status, body = await connection.send(target.request)
            latencies.append(clock() - sent)
            if status != 200 or (target.expected is not None and body != target.expected):
                raise BadResponse(f"{target.name}: status {status}, body {body[:300]!r}")

    try:
        await asyncio.gather(*(client(c) for c in connections))
    finally:
        elapsed = time.perf_counter() - started
        server_after, client_after = cpu_seconds(pid), time.process_time()
        for connection in connections:
            await connection.close()
    server_cpu = server_after - server_before if server_after is not None and server_before is not None else None
    return Round(target.name, elapsed, latencies, server_cpu, client_after - client_before)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]
