"""The Redis broker never holds a mutation hostage to a Redis that does not answer."""

from __future__ import annotations

import asyncio

from gql_telephony.services.redis_events import PUBLISH_TIMEOUT_SECONDS, RedisBroker

from ..deadline import HANG_SECONDS


async def test_publishing_to_a_silent_redis_gives_up_and_notifies_local_subscribers():
    async def never_answer(reader, writer):
        await reader.read(1 << 20)
        await asyncio.sleep(3600)

    silent = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    broker = RedisBroker(f"redis://127.0.0.1:{port}/0")
    queue = broker._local.subscribe(7)  # a local subscriber without the listener
    assert PUBLISH_TIMEOUT_SECONDS <= 5  # how long a mutation may wait on Redis, timed by the broker
    # The silent server never answers: only the broker's own timeout lets the publish return.
    await asyncio.wait_for(broker.publish(7), HANG_SECONDS)
    assert queue.qsize() == 1
    await broker.close()
    silent.close()
