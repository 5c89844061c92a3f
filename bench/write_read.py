"""Reads right after a write: the first read of new data, which no response cache can answer.

Against the cache-on server, one request at a time on keep-alive connections: each iteration
renames the first configuration through that server (back and forth between two names) and times
one dashboard read on it, then renames again and times one read on the raw endpoint (which of the
two goes first alternates). Every read must show the name just written. A second server read
right after the first, with no write between, shows what a repeated read costs at one client.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .load import Connection, Target

RENAME = """
mutation Rename($input: UpdateTelephonyConfigInput!) {
  updateTelephonyConfig(input: $input) { telephonyConfig { name } userErrors { code message } }
}"""


@dataclass
class AfterWrite:
    writes: int = 0
    seconds: float = 0.0  # the whole phase
    write_ms: list[float] = field(default_factory=list)  # each rename's own round trip
    server_ms: list[float] = field(default_factory=list)  # the server's first read after a write
    repeat_ms: list[float] = field(default_factory=list)  # its next read, nothing written between
    raw_ms: list[float] = field(default_factory=list)  # the raw endpoint's first read after a write


def first_name(data: dict[str, Any]) -> str:
    return data["telephonyConfigs"]["edges"][0]["node"]["name"]


async def reads_after_writes(server: Target, raw: Target, write_key: str, config_id: str, name: str,
                             iterations: int) -> AfterWrite:
    """`server` and `raw` are dashboard requests; the writes go to `server`'s port with `write_key`."""
    headers = {"Authorization": f"Bearer {write_key}", "Content-Type": "application/json"}
    names = [f"{name} (renamed)", name]  # an even number of writes ends on the original name
    renames = [Target.of("rename", server.port, "POST", "/graphql", headers, json.dumps(
        {"query": RENAME, "variables": {"input": {"id": config_id, "name": n}}}).encode()) for n in names]
    result = AfterWrite()
    writer, server_reader, raw_reader = [await Connection(t.port).open() for t in (server, server, raw)]

    async def write() -> str:
        index = result.writes % 2
        result.writes += 1
        began = time.perf_counter()
        status, body = await writer.send(renames[index].request)
        result.write_ms.append((time.perf_counter() - began) * 1000)
        answer = json.loads(body)
        if status != 200 or "errors" in answer or answer["data"]["updateTelephonyConfig"]["userErrors"]:
            raise SystemExit(f"FAIL: the rename between reads was refused: {status} {body[:500]!r}")
        return names[index]

    async def read(connection: Connection, target: Target, data_of: Callable[[Any], Any], expected: str) -> float:
        began = time.perf_counter()
        status, body = await connection.send(target.request)
        elapsed = (time.perf_counter() - began) * 1000
        seen = first_name(data_of(json.loads(body))) if status == 200 else None
        if seen != expected:
            raise SystemExit(f"FAIL: {target.name} answered {status} with name {seen!r} after the write of {expected!r}")
        return elapsed

    async def on_server() -> None:
        written = await write()
        result.server_ms.append(await read(server_reader, server, lambda body: body["data"], written))
        result.repeat_ms.append(await read(server_reader, server, lambda body: body["data"], written))

    async def on_raw() -> None:
        written = await write()
        result.raw_ms.append(await read(raw_reader, raw, lambda body: body, written))

    began = time.perf_counter()
    try:
        for i in range(iterations):
            for step in (on_server, on_raw) if i % 2 == 0 else (on_raw, on_server):
                await step()
    finally:
        for connection in (writer, server_reader, raw_reader):
            await connection.close()
    result.seconds = time.perf_counter() - began
    return result
