"""The live summary feed: a failed recompute is retried, and no listener gets the same summary twice."""

from __future__ import annotations

import asyncio

from gql_telephony.domain.providers import ProviderKey

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
