"""A webhook receiver in a process of its own, for bench/webhooks.py: answers every POST with 204
once its body is read (no verification: the server's cost is measured, not the receiver's), and
/healthz for the start-up wait. Counts what it received at GET /count.

Usage: .venv/bin/python -m bench.webhook_receiver --port 8200
"""

from __future__ import annotations

import argparse

import uvicorn
from starlette.types import Receive, Scope, Send

received = 0


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    global received
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    if scope["method"] == "POST":
        received += 1
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        return
    body = str(received).encode() if scope["path"] == "/count" else b"ok"
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": body})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", lifespan="off", access_log=False)


if __name__ == "__main__":
    main()
