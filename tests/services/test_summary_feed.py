"""The live summary feed: a failed recompute (the first too) is retried, no listener gets the same
summary twice, and stopping a watcher leaves the caller's own cancellation alone."""

from __future__ import annotations

import asyncio

import pytest

from gql_telephony.domain.providers import ProviderKey
from gql_telephony.services.summary_feed import stop

from ..documents import VALID


async def next_within(feed, seconds: float = 5.0):
    return await asyncio.wait_for(feed.__anext__(), seconds)


async def test_a_failed_recompute_is_retried_and_subscribers_keep_receiving(api):
    runtime, org = api.runtime, api.org_id
    feed = runtime.summaries.follow(org)
    first = await next_within(feed)
    real_compute = runtime.summaries.compute
    failures = []

    async def flaky(org_id):
        if not failures:
            failures.append(org_id)
            raise OSError("database blip")
        return await real_compute(org_id)

    runtime.summaries.compute = flaky
    try:
        await runtime.configs.create(org, name="After blip", provider=ProviderKey.TELNYX, config=VALID["TELNYX"], make_default=False)
        changed = await next_within(feed)
    finally:
        runtime.summaries.compute = real_compute
    assert failures and changed.total_count == first.total_count + 2
    await feed.aclose()


async def test_a_listener_joining_during_a_recompute_gets_each_summary_once(api):
    runtime, org = api.runtime, api.org_id
    early = runtime.summaries.follow(org)
    await next_within(early)
    await runtime.configs.create(org, name="Change", provider=ProviderKey.TELNYX, config=VALID["TELNYX"], make_default=False)
    late = runtime.summaries.follow(org)  # may join while the change is being recomputed
    joined = await next_within(late)  # the summary before or after the change, whichever it caught
    await next_within(early)
    await runtime.configs.create(org, name="Another", provider=ProviderKey.TELNYX, config=VALID["TELNYX"], make_default=False)
    following = await next_within(late)
    assert following != joined  # never the same summary twice in a row
    await early.aclose()
    await late.aclose()


async def test_a_failed_first_compute_is_retried_and_the_subscriber_gets_the_summary(api):
    runtime, org = api.runtime, api.org_id
    real_compute = runtime.summaries.compute
    failures = []

    async def flaky(org_id):
        if not failures:
            failures.append(org_id)
            raise OSError("database blip")
        return await real_compute(org_id)

    runtime.summaries.compute = flaky
    feed = runtime.summaries.follow(org)
    try:
        first = await next_within(feed)
    finally:
        runtime.summaries.compute = real_compute
        await feed.aclose()
    assert failures and first == await real_compute(org)


async def test_stopping_a_watcher_lets_the_callers_own_cancellation_through():
    """A watcher slow to end: the caller waiting for it is cancelled meanwhile, and must end
    cancelled, not carry on as if the wait had simply finished."""
    async def slow_to_end() -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            await asyncio.sleep(0.2)  # a read finishing before the cancellation lands
            raise

    async def caller() -> str:
        watcher = asyncio.create_task(slow_to_end())
        await asyncio.sleep(0)
        await stop(watcher)
        return "carried on"

    task = asyncio.create_task(caller())
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert task.cancelled()


async def test_stopping_a_watcher_waits_for_its_end_and_keeps_its_failure_to_itself():
    async def failing_on_cancel() -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            raise RuntimeError("failed while ending") from None

    watcher = asyncio.create_task(failing_on_cancel())
    await asyncio.sleep(0)
    await stop(watcher)
    assert watcher.done() and isinstance(watcher.exception(), RuntimeError)
