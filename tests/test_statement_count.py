"""The dashboard query runs a fixed number of SQL statements, whatever the number of configs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from .documents import DASHBOARD, VALID, add_number, create_config
from .support import Api, app_client, counting_statements


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
    async with app_client(api.runtime.settings, beside=api.runtime, compiled_plans=compiled_plans,
                          response_cache_mb=0) as served:
        yield api.through(served)


async def dashboard_statements(api) -> tuple[int, dict]:
    """The SELECTs of one dashboard request (SQLite's BEGINs, one per read session, aside: they
    are statements there and not on PostgreSQL)."""
    with counting_statements(api.runtime) as statements:
        data = await api.gql(DASHBOARD)
    return len([s for s in statements if s.strip().upper() not in ("BEGIN", "BEGIN IMMEDIATE")]), data


# A compiled plan: the key with its data version, then in one read session every configuration
# with its number counts, its account check and the failing webhook endpoints (one statement,
# storage/summary_inputs.py), the numbers the providers found wrong (for the warnings), and
# number pages; on PostgreSQL, the last two come in the same statement as the configurations
# (they would cost a round trip each there). The generic executor: the key, then per batch and
# root field a page of configs, its total, number counts (once: the operation's Reader keeps them
# for the connections' totals a level below; before one Reader served both executors, that was a
# second statement), the two check reads for the page's warnings, number pages, the warning
# summary's five statements (the fifth counts the webhook endpoints disabled for failing), and
# the default.
EXPECTED = {(True, "sqlite"): 4, (True, "postgresql"): 2, (False, "sqlite"): 13, (False, "postgresql"): 13}


def expected(api: Api, compiled_plans: bool) -> int:
    """A dashboard's statements on this database, by one executor."""
    return EXPECTED[compiled_plans, api.runtime.db.read_engine.dialect.name]


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
    assert at_5 == at_50 == expected(api, compiled_plans)


async def test_a_repeated_dashboard_is_answered_by_authentication_alone(api):
    await seed(api, configs=3, numbers_each=2)
    first, data = await dashboard_statements(api)
    again, same = await dashboard_statements(api)
    assert same == data
    assert (first, again) == (expected(api, True), 1)  # the key with its data version


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
