"""The Reader's keyed reads: each key fetched once per operation, and a key already on its way
waited for, not fetched again (the generic executor's sibling resolvers read concurrently)."""

from __future__ import annotations

import asyncio

from gql_telephony.services.reader import KeyedRows


async def test_concurrent_asks_for_the_same_keys_share_one_fetch() -> None:
    fetched: list[list[int]] = []
    release = asyncio.Event()

    async def fetch(keys: list[int]) -> dict[int, str]:
        fetched.append(keys)
        await release.wait()
        return {key: f"row {key}" for key in keys if key != 3}

    rows = KeyedRows(fetch, missing=None)
    first = asyncio.create_task(rows.get([1, 2, 3]))
    await asyncio.sleep(0)  # the first fetch is on its way
    second = asyncio.create_task(rows.get([2, 3, 4]))
    await asyncio.sleep(0)
    release.set()
    found_first, found_second = await first, await second
    assert fetched == [[1, 2, 3], [4]]  # 2 and 3 were waited for, only 4 fetched again
    assert [found_first[key] for key in (1, 2, 3)] == ["row 1", "row 2", None]
    assert [found_second[key] for key in (2, 3, 4)] == ["row 2", None, "row 4"]
    await rows.get([1, 4])
    assert len(fetched) == 2  # known keys cost nothing


async def test_a_failed_fetch_is_retried_by_whoever_waited_for_it() -> None:
    calls = 0
    on_its_way = asyncio.Event()

    async def fetch(keys: list[int]) -> dict[int, int]:
        nonlocal calls
        calls += 1
        if calls == 1:
            on_its_way.set()
            await asyncio.sleep(0)
            raise ConnectionError("the first read failed")
        return {key: key * 10 for key in keys}

    rows = KeyedRows(fetch, missing=0)
    failing = asyncio.create_task(rows.get([5]))
    await on_its_way.wait()
    waiting = asyncio.create_task(rows.get([5]))
    assert (await waiting)[5] == 50
    try:
        await failing
    except ConnectionError:
        pass
    else:
        raise AssertionError("the failed fetch's caller must see its error")
    assert calls == 2
