"""A small graphql-transport-ws client over the `websockets` package."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import websockets

SUMMARY = "subscription { telephonyConfigWarningsChanged { totalCount configsWithWarningsCount byCode { code count } hasDefaultOutbound } }"


class Subscriber:
    def __init__(self, url: str, key: str | None, origin: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        self.url, self.key, self.origin, self.headers = url, key, origin, headers  # headers: of the upgrade request
        self.socket: Any = None

    async def connect(self, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        self.socket = await websockets.connect(self.url, subprotocols=["graphql-transport-ws"], origin=self.origin,
                                               additional_headers=self.headers)
        init = payload if payload is not None else {"Authorization": f"Bearer {self.key}"}
        await self.send({"type": "connection_init", "payload": init})
        return await self.receive()

    async def subscribe(self, query: str = SUMMARY, operation_id: str = "1") -> None:
        await self.send({"id": operation_id, "type": "subscribe", "payload": {"query": query}})

    async def send(self, message: dict[str, Any]) -> None:
        await self.socket.send(json.dumps(message))

    async def receive(self, timeout: float = 10) -> dict[str, Any]:
        while True:
            message = json.loads(await asyncio.wait_for(self.socket.recv(), timeout))
            if message.get("type") == "ping":
                await self.send({"type": "pong"})
                continue
            return message

    async def next_data(self, timeout: float = 10) -> dict[str, Any]:
        message = await self.receive(timeout)
        assert message["type"] == "next", message
        return message["payload"]["data"]["telephonyConfigWarningsChanged"]

    async def close(self) -> None:
        if self.socket is not None:
            await self.socket.close()
