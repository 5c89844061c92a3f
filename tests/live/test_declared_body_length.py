"""A real server hands the app no more of a body than its Content-Length declares: what follows
is read as the next request. The body limit (api/middleware/body_limit.py) relies on it to let a
request whose declared length is within the limit through without counting its bytes."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from .server import running_server, server_env

QUERY = json.dumps({"query": "{ __typename }"}).encode()


async def response(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    """One HTTP/1.1 response: its status line and its body (by its Content-Length)."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    return head.split(b"\r\n", 1)[0], await reader.readexactly(length)


async def post(port: int, body: bytes, *, declared: int) -> list[tuple[bytes, bytes]]:
    """The responses to a POST that declares `declared` bytes and sends `body`: one for each
    request the server found in what was sent (2 s without a byte ends the reading)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    answers = []
    try:
        writer.write(b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n" % declared + body)
        await writer.drain()
        while True:
            try:
                answers.append(await asyncio.wait_for(response(reader), 2))
            except (TimeoutError, asyncio.IncompleteReadError):
                return answers
    finally:
        writer.close()


async def test_bytes_beyond_the_declared_length_never_reach_the_app(tmp_path: Path):
    env = server_env(GQL_TELEPHONY_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}")
    with running_server(env, tmp_path / "server.log") as server:
        (exact,) = await post(server.port, QUERY, declared=len(QUERY))
        # What follows the declared body is a request of its own, not more of the body.
        after = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
        beyond = await post(server.port, QUERY + after, declared=len(QUERY))
    assert exact[0].startswith(b"HTTP/1.1 ") and (b'"errors"' in exact[1] or b'"data"' in exact[1]), exact
    assert len(beyond) == 2 and beyond[0] == exact, beyond
    assert beyond[1][0] == b"HTTP/1.1 200 OK", beyond
