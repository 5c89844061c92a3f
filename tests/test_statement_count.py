"""The dashboard query runs a fixed number of SQL statements, whatever the number of configs."""

from __future__ import annotations

from contextlib import contextmanager
from collections.abc import Iterator

from sqlalchemy import event

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


async def dashboard_statements(api) -> tuple[int, dict]:
    with counting_statements(api.runtime) as statements:
        data = await api.gql(DASHBOARD)
    return len(statements), data


async def test_dashboard_statement_count_does_not_grow_with_configs(api):
    await seed(api, configs=5, numbers_each=3)
    at_5, data = await dashboard_statements(api)
    assert data["telephonyConfigs"]["totalCount"] == 5
    assert all(len(e["node"]["phoneNumbers"]["nodes"]) == 3 for e in data["telephonyConfigs"]["edges"])

    await seed(api, configs=45, numbers_each=3, start=5)
    at_50, data = await dashboard_statements(api)
    assert data["telephonyConfigs"]["totalCount"] == 50
    assert len(data["telephonyConfigs"]["edges"]) == 50
    assert at_50 == at_5
    # Authentication, a page of configs, its total, number counts, number pages,
    # the warning summary (two), the default, and a BEGIN per short read session.
    print(f"dashboard SQL statements: {at_5} at 5 configs, {at_50} at 50 configs")
    assert at_50 <= 20


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
