"""The Reader's keyed reads: each key fetched once per operation, and a key already on its way
waited for, not fetched again (the generic executor's sibling resolvers read concurrently)."""

from __future__ import annotations

import asyncio
import gc
import weakref

from gql_telephony.services.reader import KeyedRows, Reader

from ..documents import add_number, create_config
from ..support import Api


async def test_concurrent_asks_for_the_same_keys_share_one_fetch() -> None:
    fetched: list[list[int]] = []
    release = asyncio.Event()

    async def fetch(keys: list[int]) -> dict[int, str]:
        fetched.append(keys)
        await release.wait()
        return {key: f"row {key}" for key in keys if key != 3}

    rows: KeyedRows[int, str | None] = KeyedRows(missing=None)
    first = asyncio.create_task(rows.get([1, 2, 3], fetch))
    await asyncio.sleep(0)  # the first fetch is on its way
    second = asyncio.create_task(rows.get([2, 3, 4], fetch))
    await asyncio.sleep(0)
    release.set()
    found_first, found_second = await first, await second
    assert fetched == [[1, 2, 3], [4]]  # 2 and 3 were waited for, only 4 fetched again
    assert [found_first[key] for key in (1, 2, 3)] == ["row 1", "row 2", None]
    assert [found_second[key] for key in (2, 3, 4)] == ["row 2", None, "row 4"]
    await rows.get([1, 4], fetch)
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

    rows: KeyedRows[int, int] = KeyedRows(missing=0)
    failing = asyncio.create_task(rows.get([5], fetch))
    await on_its_way.wait()
    waiting = asyncio.create_task(rows.get([5], fetch))
    assert (await waiting)[5] == 50
    try:
        await failing
    except ConnectionError:
        pass
    else:
        raise AssertionError("the failed fetch's caller must see its error")
    assert calls == 2


async def test_a_reader_and_what_it_read_are_freed_when_the_read_ends(api: Api) -> None:
    """No reference cycle between a reader and its keyed rows: everything a cold read fetched is
    freed by reference counts as the request ends, not left to the garbage collector."""
    created = await create_config(api, "TWILIO", "Main")
    await add_number(api, created["telephonyConfig"]["id"], "+14155550100")
    runtime = api.runtime
    gc.collect()
    gc.disable()
    try:
        async with Reader.holding(runtime.db, api.org_id, runtime.vault, config_timestamps=True,
                                  number_timestamps=True) as reader:
            rows = await reader.all_configs()
            await reader.configs([rows[0].id])
            await reader.number_counts([rows[0].id])
            await reader.warnings(rows)
            watched = weakref.ref(reader)
        del reader, rows
        assert watched() is None
    finally:
        gc.enable()
