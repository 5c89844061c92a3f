"""The dashboard query runs a fixed number of SQL statements, whatever the number of configs."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import replace

import httpx
import pytest
from sqlalchemy import event

from gql_telephony.api.graph.context import Runtime
from gql_telephony.app import create_app

from .conftest import Api

from .fixtures import DASHBOARD, VALID, add_number, create_config


@contextmanager
def counting_statements(runtime) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        statements.append(statement)

    for engine in runtime.db.engines:
        event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        for engine in runtime.db.engines:
            event.remove(engine.sync_engine, "before_cursor_execute", record)


async def seed(api, configs: int, numbers_each: int, start: int = 0) -> None:
    providers = list(VALID)
    for index in range(start, start + configs):
        provider = providers[index % len(providers)]
        created = await create_config(api, provider, f"Config {index}", default=index == 0)
        config_id = created["telephonyConfig"]["id"]
        for n in range(numbers_each):
            payload = await add_number(api, config_id, f"+1415555{index:02d}{n:02d}")
            assert payload["userErrors"] == [], payload


@asynccontextmanager
async def reading_through(api, *, compiled_plans: bool) -> AsyncIterator[Api]:
    """The same database and key behind an app that answers reads one way, with no response
    cache, so that every request reads."""
    settings = replace(api.runtime.settings, compiled_plans=compiled_plans, response_cache_mb=0)
    runtime = Runtime(settings=settings, db=api.runtime.db, vault=api.runtime.vault, broker=api.runtime.broker)
    transport = httpx.ASGITransport(app=create_app(runtime=runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield replace(api, client=client, runtime=runtime)


async def dashboard_statements(api) -> tuple[int, dict]:
    """The SELECTs of one dashboard request (SQLite's BEGINs, one per read session, aside: they
    are statements there and not on PostgreSQL)."""
    with counting_statements(api.runtime) as statements:
        data = await api.gql(DASHBOARD)
    return len([s for s in statements if s.strip().upper() not in ("BEGIN", "BEGIN IMMEDIATE")]), data


# A compiled plan: the key with its data version, then in one read session every configuration,
# number counts and number pages. The generic executor: the key, then per batch and root field
# a page of configs, its total, number counts (once: the operation's Reader keeps them for the
# connections' totals a level below; before one Reader served both executors, that was a second
# statement), number pages, the warning summary's two statements, and the default.
EXPECTED = {True: 4, False: 8}


@pytest.mark.parametrize("compiled_plans", [True, False], ids=["plan", "generic"])
async def test_dashboard_statement_count_does_not_grow_with_configs(api, compiled_plans):
    await seed(api, configs=5, numbers_each=3)
    async with reading_through(api, compiled_plans=compiled_plans) as reader:
        at_5, data = await dashboard_statements(reader)
        assert data["telephonyConfigs"]["totalCount"] == 5
        assert all(len(e["node"]["phoneNumbers"]["nodes"]) == 3 for e in data["telephonyConfigs"]["edges"])

        await seed(api, configs=45, numbers_each=3, start=5)
        at_50, data = await dashboard_statements(reader)
        assert data["telephonyConfigs"]["totalCount"] == 50
        assert len(data["telephonyConfigs"]["edges"]) == 50
        paths = reader.runtime.read_paths
        assert (paths.planned, paths.generic) == ((2, 0) if compiled_plans else (0, 2))
    print(f"dashboard SQL statements: {at_5} at 5 configs, {at_50} at 50 configs")
    assert at_5 == at_50 == EXPECTED[compiled_plans]


async def test_a_repeated_dashboard_is_answered_by_authentication_alone(api):
    await seed(api, configs=3, numbers_each=2)
    first, data = await dashboard_statements(api)
    again, same = await dashboard_statements(api)
    assert same == data
    assert (first, again) == (EXPECTED[True], 1)  # the key with its data version


async def test_nested_config_of_numbers_is_batched(api):
    await seed(api, configs=4, numbers_each=5)
    query = """{ telephonyConfigs { nodes { phoneNumbers(first: 10) {
        nodes { phoneNumber telephonyConfig { name phoneNumberCount } } } } } }"""
    with counting_statements(api.runtime) as small:
        await api.gql(query)
    await seed(api, configs=8, numbers_each=5, start=4)
    with counting_statements(api.runtime) as large:
        data = await api.gql(query)
    assert sum(len(c["phoneNumbers"]["nodes"]) for c in data["telephonyConfigs"]["nodes"]) == 60
    assert len(large) == len(small)
