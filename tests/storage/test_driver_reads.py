"""Reads run by the driver (storage/driver.py) give the rows SQLAlchemy gives, keep the snapshot
they promise, and leave no transaction open on the pooled connection."""

from __future__ import annotations

import sqlalchemy as sa

from gql_telephony.storage import checks, queries
from gql_telephony.storage.db import Database

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


async def test_configs_come_with_the_counts_number_counts_gives(api: Api) -> None:
    """The plan's first read carries each configuration's counts (all and active): the same as
    the counting statement's, for a configuration with an inactive number and one with none."""
    first, second = await seeded(api)
    empty = (await create_config(api, "VONAGE", "No numbers"))["telephonyConfig"]["id"]
    db: Database = api.runtime.db
    async with db.writing() as session:
        await session.execute(sa.text(
            "UPDATE phone_number SET is_active = false WHERE id = (SELECT min(id) FROM phone_number"
            " WHERE telephony_config_id = :config)"), {"config": second})
    for reading in (db.reading_rows(), db.reading_driver(snapshot=True)):
        async with reading as session:
            rows = await queries.all_configs_with_counts(session, org_id=api.org_id, timestamps=False)
            counted = await queries.number_counts(session, config_ids=[row.id for row in rows])
            plain = await queries.all_configs(session, org_id=api.org_id, timestamps=False)
        assert len(rows) == 3 and empty
        assert {row.id: (row[queries.NUMBER_TOTAL_AT], row[queries.NUMBER_ACTIVE_AT]) for row in rows} == {
            row.id: tuple(counted.get(row.id, (0, 0))) for row in rows
        } == {first: (2, 2), second: (2, 1), rows[2].id: (0, 0)}
        # The configuration's own columns where all_configs has them.
        assert [tuple(row)[:len(plain[0])] for row in rows] == [tuple(row) for row in plain]
