"""Reads run by the driver (storage/driver.py) give the rows SQLAlchemy gives, keep the snapshot
they promise, and leave no transaction open on the pooled connection."""

from __future__ import annotations

import contextlib

import pytest
import sqlalchemy as sa

from gql_telephony.storage import audit, checks, driver, queries, webhooks
from gql_telephony.storage.db import Database, retrying_disconnects
from gql_telephony.storage.summary_inputs import PagesWanted, SummaryInputs, summary_inputs

from ..documents import add_number, create_config
from ..support import Api


async def seeded(api: Api) -> tuple[int, int]:
    """Two configurations (the first the default) with two numbers each: their ids."""
    ids = []
    for index, provider in enumerate(("TWILIO", "TELNYX")):
        created = await create_config(api, provider, f"Config {index}", default=index == 0)
        config_id = created["telephonyConfig"]["id"]
        for n in range(2):
            assert (await add_number(api, config_id, f"+1415555{index:02d}{n:02d}"))["userErrors"] == []
    async with api.runtime.db.reading_rows() as connection:
        rows = await queries.all_configs(connection, org_id=api.org_id)
    ids = [row.id for row in rows]
    return ids[0], ids[1]


def as_plain(rows: object) -> list[tuple[tuple[str, ...], tuple[object, ...]]]:
    """Rows as their column names and values, whoever made them."""
    return [(tuple(row._fields), tuple(row)) for row in rows]  # type: ignore[attr-defined]


async def test_driver_rows_are_sqlalchemys_rows(api: Api) -> None:
    first, second = await seeded(api)
    db: Database = api.runtime.db

    async def both(read):  # the same query function through SQLAlchemy, then through the driver
        async with db.reading_rows() as connection:
            through_sqlalchemy = await read(connection)
        async with db.reading_driver(snapshot=True) as reads:
            through_driver = await read(reads)
        return through_sqlalchemy, through_driver

    # JSON settings, booleans and timestamps: converted as SQLAlchemy converts them.
    sa_rows, driver_rows = await both(lambda s: queries.all_configs(s, org_id=api.org_id, timestamps=True))
    assert as_plain(driver_rows) == as_plain(sa_rows)
    assert isinstance(driver_rows[0].settings, dict) and driver_rows[0].is_default_outbound is True
    # IN lists of different lengths, and a statement with literal values built for each call:
    # a later call's values, not the first call's, are the ones sent.
    for ids in ([first], [first, second], [second]):
        sa_found, driver_found = await both(lambda s, ids=ids: queries.configs_by_ids(s, org_id=api.org_id, ids=ids))
        assert sorted(driver_found) == sorted(sa_found) == sorted(ids)
        assert as_plain(driver_found.values()) == as_plain(sa_found.values())
    for config_id in (first, second, first):
        sa_numbers, driver_numbers = await both(lambda s, c=config_id: checks.numbers_to_check(s, config_id=c))
        assert driver_numbers == sa_numbers and len(driver_numbers) == 2
    sa_counts, driver_counts = await both(lambda s: queries.number_counts(s, config_ids=[first, second]))
    assert driver_counts == sa_counts == {first: (2, 2), second: (2, 2)}
    sa_count, driver_count = await both(lambda s: queries.count_configs(s, org_id=api.org_id))
    assert driver_count == sa_count == 2
    sa_org, driver_org = await both(lambda s: queries.organization(s, org_id=api.org_id))
    assert tuple(driver_org) == tuple(sa_org)
    assert (await both(lambda s: queries.organization(s, org_id=-1))) == (None, None)


async def test_a_driver_snapshot_does_not_see_a_later_commit(api: Api) -> None:
    db: Database = api.runtime.db
    async with db.reading_driver(snapshot=True) as reads:
        before = await queries.organization(reads, org_id=api.org_id)
        async with db.writing() as session:
            await session.execute(sa.text("UPDATE organization SET data_version = data_version + 1 WHERE id = :id"),
                                  {"id": api.org_id})
        during = await queries.organization(reads, org_id=api.org_id)
    async with db.reading_driver(snapshot=False) as reads:
        after = await queries.organization(reads, org_id=api.org_id)
    assert before is not None and during is not None and after is not None
    assert during.data_version == before.data_version
    assert after.data_version == before.data_version + 1


async def test_a_driver_read_leaves_no_transaction_open(api: Api) -> None:
    db: Database = api.runtime.db
    for snapshot in (True, False):
        async with db.reading_driver(snapshot=snapshot) as reads:
            driver = reads._driver
            await queries.organization(reads, org_id=api.org_id)
        in_transaction = driver.in_transaction if db.is_sqlite else driver.is_in_transaction()
        assert not in_transaction, f"snapshot={snapshot}"


async def test_configs_come_with_what_the_summary_reads_apart(api: Api) -> None:
    """The plan's first read carries each configuration's number counts and account check, and
    the failing endpoints: the same as the statements that read each (a configuration with an
    inactive number, one with none, one with an answered check)."""
    first, second = await seeded(api)
    empty = (await create_config(api, "VONAGE", "No numbers"))["telephonyConfig"]["id"]
    db: Database = api.runtime.db
    async with db.writing() as session:
        await session.execute(sa.text(
            "UPDATE phone_number SET is_active = false WHERE id = (SELECT min(id) FROM phone_number"
            " WHERE telephony_config_id = :config)"), {"config": second})
        await session.execute(sa.text("DELETE FROM provider_check WHERE telephony_config_id = :config"),
                              {"config": first})
        await session.execute(sa.text(
            "INSERT INTO provider_check (telephony_config_id, organization_id, status, message, first_asked_at,"
            " answered_at, wanted) VALUES (:config, :org, 'SUSPENDED', 'on hold', CURRENT_TIMESTAMP,"
            " CURRENT_TIMESTAMP, 1)"), {"config": first, "org": api.org_id})
        other = (await session.execute(sa.text(
            "INSERT INTO organization (name, data_version, created_at) VALUES ('Other', 1, CURRENT_TIMESTAMP)"
            " RETURNING id"))).scalar_one()
        for org, enabled, reason in ((api.org_id, False, "FAILING"), (api.org_id, False, "FAILING"),
                                     (api.org_id, False, "USER"), (api.org_id, True, None), (other, False, "FAILING")):
            await session.execute(sa.text(
                "INSERT INTO webhook_endpoint (organization_id, url, events, enabled, disabled_reason, secret,"
                " version, created_at, updated_at) VALUES (:org, 'https://example.com/hook', '[]', :enabled,"
                " :reason, 'x', 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"),
                {"org": org, "enabled": enabled, "reason": reason})
    for reading in (db.reading_rows(), db.reading_driver(snapshot=True)):
        async with reading as session:
            inputs = await summary_inputs(session, org_id=api.org_id, timestamps=False)
            ids = [row.id for row in inputs.configs]
            counted = await queries.number_counts(session, config_ids=ids)
            accounts = await checks.account_checks(session, config_ids=ids)
            failing = await webhooks.failing_endpoint_count(session, org_id=api.org_id)
            plain = await queries.all_configs(session, org_id=api.org_id, timestamps=False)
            none = await summary_inputs(session, org_id=-1, timestamps=False)
            without_configs = await summary_inputs(session, org_id=other, timestamps=False)
        assert len(ids) == 3 and empty
        assert inputs.counts == {row.id: counted.get(row.id, (0, 0)) for row in inputs.configs}
        assert inputs.counts == {first: (2, 2), second: (2, 1), ids[2]: (0, 0)}
        assert inputs.accounts == accounts and list(accounts) == [first]
        assert inputs.failing_endpoints == failing == 2
        # The configuration's own columns where all_configs has them.
        assert [tuple(row)[:len(plain[0])] for row in inputs.configs] == [tuple(row) for row in plain]
        postgres = not db.is_sqlite
        assert none == SummaryInputs([], {}, {}, None, {} if postgres else None)
        # An organization without configurations: its failing endpoints all the same.
        assert without_configs == SummaryInputs([], {}, {}, 1, {} if postgres else None)


async def test_configs_come_with_their_problems_and_pages_on_postgresql(api: Api) -> None:
    """On PostgreSQL the same statement brings each configuration's problems and the pages of
    numbers asked for: the same as the statements that read each (pages after a configuration,
    after a number, active only, and a configuration beyond the page); elsewhere, neither."""
    first, second = await seeded(api)
    third = (await create_config(api, "PLIVO", "Third"))["telephonyConfig"]["id"]
    assert (await add_number(api, third, "+14155550300"))["userErrors"] == []
    db: Database = api.runtime.db
    async with db.writing() as session:
        numbers = (await session.execute(sa.text("SELECT id FROM phone_number ORDER BY id"))).scalars().all()
        for number_id, status, voice in ((numbers[0], "NOT_IN_ACCOUNT", None), (numbers[1], "IN_ACCOUNT", False),
                                         (numbers[2], "IN_ACCOUNT", True), (numbers[3], "NOT_IN_ACCOUNT", False)):
            await session.execute(sa.text(
                "INSERT INTO phone_number_check (phone_number_id, status, voice_capable, checked_at)"
                " VALUES (:id, :status, :voice, CURRENT_TIMESTAMP)"), {"id": number_id, "status": status, "voice": voice})
        await session.execute(sa.text("UPDATE phone_number SET is_active = false WHERE id = :id"), {"id": numbers[2]})
        # A new version of the row, after the others in the table and in the index of configurations
        # (a changed indexed column: not updated in place): pages keep the order of ids all the same.
        await session.execute(sa.text("UPDATE phone_number SET phone_number = '+14155559900' WHERE id = :id"),
                              {"id": numbers[0]})
    ids = [first, second]
    async with db.reading_driver(snapshot=True) as reads:
        if not db.is_sqlite:  # numbers read in the table's order, unless the statement orders them
            for setting in ("enable_indexscan", "enable_bitmapscan"):
                await reads.execute(sa.select(sa.func.set_config(setting, "off", True)))
        all_ids = [row.id for row in await queries.all_configs(reads, org_id=api.org_id, timestamps=False)]
        problems = await checks.number_problems(reads, config_ids=all_ids)
        for wanted in (PagesWanted(2, None, 2, None, False), PagesWanted(5, first, 1, numbers[0], True),
                       PagesWanted(1, None, 10, numbers[1], False), PagesWanted(3, None, 1, None, True)):
            inputs = await summary_inputs(reads, org_id=api.org_id, timestamps=False, pages=wanted)
            if db.is_sqlite:
                assert (inputs.problems, inputs.pages) == (None, None)
                continue
            assert inputs.problems == {key: tuple(found) for key, found in problems.items()}
            on_page = [key for key in all_ids if wanted.after_config is None or key > wanted.after_config]
            on_page = on_page[:wanted.configs]
            expected = await queries.number_pages(reads, config_ids=on_page, limit=wanted.limit,
                                                  after_id=wanted.after_id, active_only=wanted.active_only,
                                                  timestamps=False, plain=True)
            assert inputs.pages is not None
            assert {key: [tuple(row) for row in rows] for key, rows in inputs.pages.items()} == {
                key: [tuple(row) for row in rows] for key, rows in expected.items()}, wanted
    assert len(all_ids) == 3 and set(ids) < set(all_ids)
    assert {problem.number_id for found in problems.values() for problem in found} == {numbers[0], numbers[1], numbers[3]}


async def test_in_lists_of_lengths_not_kept_are_expanded_each_time(api: Api, monkeypatch) -> None:
    """Past the lengths kept per statement, the SQL is made for each call: the same rows."""
    monkeypatch.setattr(driver, "MAX_KEPT_LENGTHS", 1)
    first, second = await seeded(api)
    db: Database = api.runtime.db
    for ids in ([first, second, first + second + 1000], [second], [first, second], [first, second]):
        async with db.reading_driver(snapshot=False) as reads:
            found = await queries.configs_by_ids(reads, org_id=api.org_id, ids=ids)
        assert sorted(found) == sorted(set(ids) & {first, second})


async def test_a_list_of_tuples_is_expanded_as_sqlalchemy_does(api: Api) -> None:
    """An IN list of tuples (more parameters than items) is not kept: expanded for each call."""
    first, second = await seeded(api)
    configs = queries.CONFIGS
    for pairs in ([(first, api.org_id)], [(first, api.org_id), (second, api.org_id)], [(second, -1)]):
        statement = sa.select(configs.c.id).where(
            sa.tuple_(configs.c.id, configs.c.organization_id).in_(pairs)).order_by(configs.c.id)
        async with api.runtime.db.reading_driver(snapshot=False) as reads:
            found = (await reads.execute(statement)).scalars()
        assert found == [config for config, org in pairs if org == api.org_id]


async def test_an_in_list_beside_a_converted_parameter_converts_both(api: Api, monkeypatch) -> None:
    """A timestamp beside an IN list is sent as SQLAlchemy sends it (on SQLite, text in its own
    format): otherwise the row whose time equals the bound silently drops out. Kept and unkept
    lengths, literal and named parameters."""
    await seeded(api)
    db: Database = api.runtime.db
    events = audit.AUDIT_EVENTS
    async with db.reading_rows() as connection:
        rows = (await connection.execute(sa.select(events.c.id, events.c.occurred_at).order_by(events.c.id))).all()
    ids = [row.id for row in rows]
    since = rows[len(rows) // 2].occurred_at
    named = sa.select(events.c.id).where(
        events.c.occurred_at >= sa.bindparam("since", type_=events.c.occurred_at.type),
        events.c.id.in_(sa.bindparam("ids", expanding=True))).order_by(events.c.id)
    for kept in (64, 0):
        monkeypatch.setattr(driver, "MAX_KEPT_LENGTHS", kept)
        for n in (1, 2, len(ids)):
            literal = sa.select(events.c.id).where(events.c.occurred_at >= since, events.c.id.in_(ids[:n])).order_by(events.c.id)
            for statement, params in ((literal, None), (named, {"since": since, "ids": ids[:n]})):
                async with db.reading_rows() as connection:
                    expected = (await connection.execute(statement, params)).scalars().all()
                async with db.reading_driver(snapshot=False) as reads:
                    assert (await reads.execute(statement, params)).scalars() == expected, (kept, n)
    assert [row.id for row in rows if row.occurred_at >= since]  # the bound's own row is among them


async def test_a_missing_parameter_is_an_error_not_null(api: Api) -> None:
    statement = sa.select(queries.CONFIGS.c.id).where(queries.CONFIGS.c.organization_id == sa.bindparam("org_id"))
    async with api.runtime.db.reading_driver(snapshot=False) as reads:
        with pytest.raises(sa.exc.ArgumentError, match="org_id"):
            await reads.execute(statement)
        assert (await reads.execute(statement, {"org_id": None})).scalars() == []  # given, even as None


async def test_a_column_the_driver_path_cannot_read_is_refused_clearly(api: Api) -> None:
    statement = sa.select(sa.cast(1.5, sa.Numeric(10, 2)).label("n"))
    async with api.runtime.db.reading_driver(snapshot=False) as reads:
        if api.runtime.db.is_sqlite:
            assert (await reads.execute(statement)).scalar() == 1.5
        else:
            with pytest.raises(sa.exc.ArgumentError, match="NUMERIC"):
                await reads.execute(statement)


async def test_reads_go_on_after_a_migration_changed_a_column_they_prepared(api: Api) -> None:
    """PostgreSQL: each pooled connection's prepared statements go stale when a column's type
    changes under them; the read is run again on fresh connections, not failed once per
    pooled connection."""
    db: Database = api.runtime.db
    if db.is_sqlite:
        pytest.skip("SQLite prepares nothing across statements")
    await seeded(api)

    async def read() -> SummaryInputs:
        async with db.reading_driver(snapshot=True) as reads:
            return await summary_inputs(reads, org_id=api.org_id, timestamps=True)

    async with contextlib.AsyncExitStack() as stack:  # four pooled connections, each with the statement
        for _ in range(4):
            reads = await stack.enter_async_context(db.reading_driver(snapshot=True))
            await summary_inputs(reads, org_id=api.org_id, timestamps=True)
    async with db.writing() as session:
        await session.execute(sa.text("ALTER TABLE telephony_config ALTER COLUMN name TYPE varchar(301)"))
    for _ in range(8):
        assert len((await retrying_disconnects(read)).configs) == 2
