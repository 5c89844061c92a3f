"""The invariants the database holds by itself, on a database built by the migrations (the path
production takes), on SQLite and PostgreSQL. Every write here goes around the services, as a
bug or a second writer would: the services' own checks must not be what makes these pass."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from gql_telephony.storage.constraints import broken_constraint

# A statement with its parameters.
Write = tuple[str, dict[str, Any]]

ORG = "INSERT INTO organization (name, created_at) VALUES (:name, CURRENT_TIMESTAMP) RETURNING id"
KEY = ("INSERT INTO api_key (organization_id, key_hash, read_only, created_at)"
       " VALUES (:org, :hash, false, CURRENT_TIMESTAMP) RETURNING id")
CONFIG = ("INSERT INTO telephony_config (organization_id, name, name_key, provider, settings, secrets,"
          " is_default_outbound, version, created_at, updated_at) VALUES (:org, :name, :key, 'TELNYX', '{}', '',"
          " :default, 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP) RETURNING id")
NUMBER = ("INSERT INTO phone_number (organization_id, telephony_config_id, phone_number, is_active,"
          " created_at, updated_at) VALUES (:org, :config, :number, true, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
          " RETURNING id")
ORPHANED_NUMBERS = ("SELECT count(*) FROM phone_number p LEFT JOIN telephony_config c ON c.id = p.telephony_config_id"
                    " WHERE c.id IS NULL")


def config(org: int, name: str, *, default: bool = False) -> Write:
    return CONFIG, {"org": org, "name": name, "key": name.casefold(), "default": default}


def number(org: int, config_id: int, phone_number: str) -> Write:
    return NUMBER, {"org": org, "config": config_id, "number": phone_number}


async def write(db, *statements: Write) -> list[Any]:
    """One transaction; the id each statement inserted (None for the others)."""
    async with db.writing() as session:
        results = [await session.execute(sa.text(sql), params) for sql, params in statements]
        return [result.scalar() if result.returns_rows else None for result in results]


async def scalar(db, sql: str, **params: Any) -> Any:
    async with db.reading() as session:
        return (await session.execute(sa.text(sql), params)).scalar()


async def refused(db, statement: Write) -> IntegrityError:
    with pytest.raises(IntegrityError) as caught:
        await write(db, statement)
    return caught.value


async def new_org(db, name: str = "Acme") -> int:
    (org_id,) = await write(db, (ORG, {"name": name}))
    return org_id


async def two_writers(db, first: Sequence[Write], second: Sequence[Write]) -> list[IntegrityError | None]:
    """Two transactions on two connections that both begin and read before either writes, then
    write at once: each could have checked that its write was allowed, and been right. (SQLite has
    one writer connection and BEGIN IMMEDIATE, so there they run one after the other.)"""
    both_began = None if db.is_sqlite else asyncio.Barrier(2)

    async def writer(statements: Sequence[Write]) -> IntegrityError | None:
        try:
            async with db.write_engine.connect() as connection, connection.begin():
                await connection.execute(sa.text("SELECT count(*) FROM telephony_config"))
                if both_began is not None:
                    await both_began.wait()
                for sql, params in statements:
                    await connection.execute(sa.text(sql), params)
        except IntegrityError as error:
            return error
        return None

    # A deadline that only catches a hang (a writer waiting for one that never commits).
    return await asyncio.wait_for(asyncio.gather(writer(first), writer(second)), 60)


# One default outbound configuration per organization ----------------------------------------

async def test_a_second_default_in_one_organization_is_refused(runtime):
    db = runtime.db
    org, other = await new_org(db), await new_org(db, "Other")
    await write(db, config(org, "First", default=True), config(org, "Plain"), config(org, "Plain too"))
    error = await refused(db, config(org, "Second", default=True))
    assert broken_constraint(error) == "uq_telephony_config_one_default"
    (plain,) = await write(db, config(org, "Third"))
    with pytest.raises(IntegrityError):
        await write(db, ("UPDATE telephony_config SET is_default_outbound = true WHERE id = :id", {"id": plain}))
    # One per organization, not one in all: another organization has its own.
    await write(db, config(other, "Theirs", default=True))
    assert await scalar(db, "SELECT count(*) FROM telephony_config WHERE is_default_outbound") == 2


async def test_two_writers_making_defaults_at_once_leave_one(runtime):
    db = runtime.db
    org = await new_org(db)
    outcomes = await two_writers(db, [config(org, "One", default=True)], [config(org, "Two", default=True)])
    assert sorted(outcome is None for outcome in outcomes) == [False, True], outcomes
    assert broken_constraint(next(o for o in outcomes if o is not None)) == "uq_telephony_config_one_default"
    assert await scalar(db, "SELECT count(*) FROM telephony_config WHERE is_default_outbound") == 1


# Names unique per organization, compared case-folded ----------------------------------------

async def test_a_name_taken_in_its_organization_is_refused_whatever_its_case(runtime):
    db = runtime.db
    org, other = await new_org(db), await new_org(db, "Other")
    await write(db, config(org, "Main Line"))
    for taken in ("Main Line", "MAIN LINE"):
        error = await refused(db, config(org, taken))
        assert broken_constraint(error) == "uq_telephony_config_org_name"
    await write(db, config(other, "Main Line"))  # another organization may use it


async def test_two_writers_taking_one_name_at_once_leave_one(runtime):
    db = runtime.db
    org = await new_org(db)
    outcomes = await two_writers(db, [config(org, "Taken")], [config(org, "TAKEN")])
    assert sorted(outcome is None for outcome in outcomes) == [False, True], outcomes
    assert await scalar(db, "SELECT count(*) FROM telephony_config WHERE name_key = 'taken'") == 1


# Phone numbers unique per organization ------------------------------------------------------

async def test_a_number_held_in_its_organization_is_refused_even_under_another_configuration(runtime):
    db = runtime.db
    org, other = await new_org(db), await new_org(db, "Other")
    first, second = await write(db, config(org, "First"), config(org, "Second"))
    (theirs,) = await write(db, config(other, "Theirs"))
    await write(db, number(org, first, "+14155550100"))
    for config_id in (first, second):
        error = await refused(db, number(org, config_id, "+14155550100"))
        assert broken_constraint(error) == "uq_phone_number_org_number"
    await write(db, number(other, theirs, "+14155550100"))  # another organization may hold it


async def test_two_writers_adding_one_number_at_once_leave_one(runtime):
    db = runtime.db
    org = await new_org(db)
    first, second = await write(db, config(org, "First"), config(org, "Second"))
    outcomes = await two_writers(db, [number(org, first, "+14155550101")], [number(org, second, "+14155550101")])
    assert sorted(outcome is None for outcome in outcomes) == [False, True], outcomes
    assert await scalar(db, "SELECT count(*) FROM phone_number") == 1


async def test_an_api_key_hash_is_stored_once(runtime):
    db = runtime.db
    org = await new_org(db)
    await write(db, (KEY, {"org": org, "hash": "a" * 64}))
    await refused(db, (KEY, {"org": await new_org(db, "Other"), "hash": "a" * 64}))


# References, and what deleting a parent takes with it ---------------------------------------

async def test_rows_that_name_a_missing_parent_are_refused(runtime):
    db = runtime.db
    org = await new_org(db)
    (config_id,) = await write(db, config(org, "Main"))
    missing = 10**6
    await refused(db, config(missing, "Nobody's"))
    await refused(db, (KEY, {"org": missing, "hash": "b" * 64}))
    await refused(db, number(org, missing, "+14155550102"))
    await refused(db, number(missing, config_id, "+14155550103"))


async def test_deleting_an_organization_deletes_everything_it_holds(runtime):
    db = runtime.db
    org, other = await new_org(db), await new_org(db, "Other")
    for owner, hash_char in ((org, "c"), (other, "d")):
        config_id, _ = await write(db, config(owner, "Main", default=True), (KEY, {"org": owner, "hash": hash_char * 64}))
        await write(db, number(owner, config_id, "+14155550104"), number(owner, config_id, "+14155550105"))
    await write(db, ("DELETE FROM organization WHERE id = :id", {"id": org}))
    for table in ("api_key", "telephony_config", "phone_number"):
        owners = await scalar(db, f"SELECT count(DISTINCT organization_id) FROM {table}")
        left = await scalar(db, f"SELECT count(*) FROM {table} WHERE organization_id = :org", org=org)
        assert (left, owners) == (0, 1), table


async def test_deleting_a_configuration_deletes_its_numbers_only(runtime):
    db = runtime.db
    org = await new_org(db)
    gone, kept = await write(db, config(org, "Gone"), config(org, "Kept"))
    await write(db, number(org, gone, "+14155550106"), number(org, kept, "+14155550107"))
    await write(db, ("DELETE FROM telephony_config WHERE id = :id", {"id": gone}))
    assert await scalar(db, "SELECT count(*) FROM phone_number WHERE telephony_config_id = :id", id=gone) == 0
    assert await scalar(db, "SELECT count(*) FROM phone_number WHERE telephony_config_id = :id", id=kept) == 1


async def test_a_number_added_while_its_configuration_is_deleted_never_outlives_it(runtime):
    db = runtime.db
    org = await new_org(db)
    (config_id,) = await write(db, config(org, "Doomed"))
    delete = ("DELETE FROM telephony_config WHERE id = :id", {"id": config_id})
    outcomes = await two_writers(db, [delete], [number(org, config_id, "+14155550108")])
    assert outcomes[0] is None, outcomes  # the delete always wins: it takes the number with it
    assert await scalar(db, ORPHANED_NUMBERS) == 0


# Ids are never handed out twice -------------------------------------------------------------

async def test_the_id_of_a_deleted_newest_row_is_never_reused(runtime):
    db = runtime.db
    (org,) = await write(db, (ORG, {"name": "Kept"}))
    (config_id,) = await write(db, config(org, "Kept"))
    makers: dict[str, Any] = {
        "organization": lambda n: (ORG, {"name": f"Org {n}"}),
        "api_key": lambda n: (KEY, {"org": org, "hash": f"{n}".rjust(64, "e")}),
        "telephony_config": lambda n: config(org, f"Config {n}"),
        "phone_number": lambda n: number(org, config_id, f"+1415555011{n}"),
    }
    for table, make in makers.items():
        (newest,) = await write(db, make(1))
        await write(db, (f"DELETE FROM {table} WHERE id = :id", {"id": newest}))
        (after,) = await write(db, make(2))
        assert after > newest, table
