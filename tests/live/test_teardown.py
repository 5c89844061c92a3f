"""Disconnecting subscribers leave nothing behind: no subscriber queue, no task, no extra Redis
subscription. The server runs in this process so that its state can be counted."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from redis import asyncio as aioredis

from gql_telephony.app import build_runtime
from gql_telephony.services.tenancy import create_api_key, create_organization
from gql_telephony.storage.migrate import upgrade_to_head
from gql_telephony.workers import BACKGROUND

from ..deadline import HANG_SECONDS
from .redis_server import PrivateRedis
from .server import serving_in_process
from .ws_client import Subscriber


async def wait_for(condition, timeout: float = HANG_SECONDS) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


@pytest.fixture(params=["memory", "redis"])
async def served(request, settings, tmp_path):
    redis = None
    if request.param == "redis":
        redis = PrivateRedis(tmp_path)
        redis.start()
        settings = replace(settings, broker_url=redis.url)
    runtime = build_runtime(settings)
    await upgrade_to_head(runtime.db)
    key = await create_api_key(runtime.db, await create_organization(runtime.db, "Teardown"))
    try:
        async with serving_in_process(runtime, lifespan="on") as host:
            yield runtime, f"ws://{host}/graphql", key, redis
    finally:
        if redis is not None:
            redis.stop()


def requests_tasks() -> int:
    """Tasks but those of the background loops, which come and go on their own schedule."""
    return sum(not task.get_name().startswith(BACKGROUND) for task in asyncio.all_tasks())


async def test_disconnects_leave_no_queue_task_or_subscription(served):
    runtime, url, key, redis = served
    baseline_tasks = requests_tasks()
    subscribers = [Subscriber(url, key) for _ in range(20)]
    await asyncio.gather(*(s.connect() for s in subscribers))
    for index, subscriber in enumerate(subscribers):
        await subscriber.subscribe(operation_id="a")
        if index % 2:
            await subscriber.subscribe(operation_id="b")  # two subscriptions on one socket
    await asyncio.gather(*(s.next_data() for s in subscribers))
    await wait_for(lambda: runtime.summaries.listener_count == 30)
    assert runtime.broker.subscriber_count == 1  # one watcher per organization and process
    if redis is not None:
        client = aioredis.from_url(redis.url)
        assert await client.execute_command("PUBSUB", "NUMPAT") == 1  # one per process, not per subscriber

    # Half complete their subscription politely, half just drop the connection.
    for subscriber in subscribers[:10]:
        await subscriber.send({"id": "a", "type": "complete"})
    await asyncio.gather(*(s.close() for s in subscribers))
    await wait_for(lambda: runtime.summaries.listener_count == 0)
    await wait_for(lambda: runtime.broker.subscriber_count == 0)
    # The Redis listener (one per process) may have started since the baseline.
    await wait_for(lambda: requests_tasks() <= baseline_tasks + (1 if redis else 0))
    if redis is not None:
        assert await client.execute_command("PUBSUB", "NUMPAT") == 1
        await runtime.broker.close()
        await wait_for_async(lambda: client.execute_command("PUBSUB", "NUMPAT"), 0)
        await client.aclose()


async def wait_for_async(read, expected, timeout: float = HANG_SECONDS) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while await read() != expected:
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.05)
