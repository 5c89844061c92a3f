"""Change notifications per organization, delivered after commit."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Protocol


class Broker(Protocol):
    async def publish(self, org_id: int) -> None: ...

    def subscribe(self, org_id: int) -> asyncio.Queue[None]: ...

    def unsubscribe(self, org_id: int, queue: asyncio.Queue[None]) -> None: ...

    async def close(self) -> None: ...


class MemoryBroker:
    """One process: every subscriber of the organization gets a wake-up in its own queue.

    A queue holds at most one pending wake-up: a subscriber that is behind recomputes the
    current state once, however many changes it missed.
    """

    def __init__(self) -> None:
        self._queues: dict[int, set[asyncio.Queue[None]]] = defaultdict(set)

    async def publish(self, org_id: int) -> None:
        for queue in self._queues.get(org_id, ()):
            if queue.empty():
                queue.put_nowait(None)

    async def publish_all(self) -> None:
        for org_id in list(self._queues):
            await self.publish(org_id)

    def subscribe(self, org_id: int) -> asyncio.Queue[None]:
        queue: asyncio.Queue[None] = asyncio.Queue(maxsize=1)
        self._queues[org_id].add(queue)
        return queue

    def unsubscribe(self, org_id: int, queue: asyncio.Queue[None]) -> None:
        queues = self._queues.get(org_id)
        if queues is not None:
            queues.discard(queue)
            if not queues:
                del self._queues[org_id]

    @property
    def subscriber_count(self) -> int:
        return sum(len(queues) for queues in self._queues.values())

    async def close(self) -> None:
        self._queues.clear()
