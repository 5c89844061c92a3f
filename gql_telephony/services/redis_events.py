"""Change notifications across processes through Redis pub/sub.

Each process holds one pattern subscription, whatever its number of subscribers, and fans
the notifications out to its local queues. After a lost connection it reconnects with
backoff and wakes every local subscriber once, since notifications sent during the gap are
lost: each subscriber then recomputes its state and sends only what really changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from redis import asyncio as aioredis
from redis.exceptions import RedisError

from .events import MemoryBroker

logger = logging.getLogger("gql_telephony.events")

CHANNEL_PREFIX = "gql-telephony:org:"
MAX_BACKOFF_SECONDS = 2.0
PUBLISH_TIMEOUT_SECONDS = 2.0


class RedisBroker:
    def __init__(self, url: str) -> None:
        # Listening waits indefinitely for messages; publishing runs after a commit, before the
        # mutation answers, so it must give up quickly on a half-open connection.
        self._redis = aioredis.from_url(url, socket_connect_timeout=2, socket_timeout=None)
        self._publisher = aioredis.from_url(
            url, socket_connect_timeout=PUBLISH_TIMEOUT_SECONDS, socket_timeout=PUBLISH_TIMEOUT_SECONDS
        )
        self._local = MemoryBroker()
        self._listener: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()

    async def publish(self, org_id: int) -> None:
        try:
            await asyncio.wait_for(self._publisher.publish(f"{CHANNEL_PREFIX}{org_id}", b""), PUBLISH_TIMEOUT_SECONDS)
        except (RedisError, OSError, TimeoutError):
            # This process's own subscribers still learn of the change; other processes
            # resynchronize when their connection comes back.
            logger.warning("could not publish a change to Redis; notifying local subscribers only")
            await self._local.publish(org_id)

    def subscribe(self, org_id: int) -> asyncio.Queue[None]:
        if self._listener is None:
            self._listener = asyncio.get_running_loop().create_task(self._listen(), name="redis-events")
        return self._local.subscribe(org_id)

    def unsubscribe(self, org_id: int, queue: asyncio.Queue[None]) -> None:
        self._local.unsubscribe(org_id, queue)

    @property
    def subscriber_count(self) -> int:
        return self._local.subscriber_count

    async def start(self) -> None:
        """Start listening now (otherwise the first subscriber starts it) and wait to be connected."""
        if self._listener is None:
            self._listener = asyncio.get_running_loop().create_task(self._listen(), name="redis-events")
        await asyncio.wait_for(self.connected.wait(), timeout=5)

    async def ping(self) -> bool:
        return bool(await self._publisher.ping())

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
        await self._local.close()
        await self._redis.aclose()
        await self._publisher.aclose()

    async def _listen(self) -> None:
        backoff = 0.05
        while True:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.psubscribe(f"{CHANNEL_PREFIX}*")
                self.connected.set()
                backoff = 0.05
                await self._local.publish_all()  # resynchronize after a gap (harmless on the first connect)
                async for message in pubsub.listen():
                    channel = message.get("channel", b"")
                    org_id = channel[len(CHANNEL_PREFIX):] if isinstance(channel, bytes) else b""
                    if message.get("type") == "pmessage" and org_id.isdigit():
                        await self._local.publish(int(org_id))
            except Exception as error:  # any failure: reconnect, never let the listener die
                if self.connected.is_set():
                    logger.warning("lost the Redis connection (%s); reconnecting", type(error).__name__)
                self.connected.clear()
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py leaves it unannotated
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
