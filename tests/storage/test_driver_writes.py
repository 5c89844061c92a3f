"""Write transactions run by the driver (storage/driver_writes.py): the rows SQLAlchemy would
return, its defaults and its IntegrityError, a rollback that leaves nothing behind, and the
single-write mutations running on it without an ORM session."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gql_telephony.storage import driver_writes, sqlite_driver
from gql_telephony.storage.constraints import broken_constraint
from gql_telephony.storage.db import SQLITE_BUSY_TIMEOUT_MS, Database
from gql_telephony.storage.tables import AuditEventRow, PhoneNumberRow, TelephonyConfigRow, utcnow

from ..backends import copy_migrated_sqlite
from ..documents import ADD_NUMBER, SET_DEFAULT, UPDATE, UPDATE_NUMBER, add_number, create_config
from ..support import Api, sqlite_settings
from .watch import Trip, loop_gaps

CONFIGS: sa.Table = TelephonyConfigRow.__table__  # type: ignore[attr-defined]
NUMBERS: sa.Table = PhoneNumberRow.__table__  # type: ignore[attr-defined]
EVENTS: sa.Table = AuditEventRow.__table__  # type: ignore[attr-defined]
RENAME = sa.update(CONFIGS).where(CONFIGS.c.id == sa.bindparam("row_id")).values(
    name=sa.bindparam("name"), name_key=sa.bindparam("name_key"), updated_at=sa.bindparam("now"),
).returning(*CONFIGS.c)
INSERT_NUMBER = sa.insert(NUMBERS).returning(*NUMBERS.c)


def as_plain(row: Any) -> tuple[tuple[str, ...], tuple[Any, ...]]:
    return tuple(row._fields), tuple(row)


async def one_config(api: Api) -> int:
    created = await create_config(api, "TWILIO", "Main", default=True)
    await add_number(api, created["telephonyConfig"]["id"], "+14155550100")
    async with api.runtime.db.reading_driver(snapshot=False) as reads:
        return int((await reads.execute(sa.select(CONFIGS.c.id))).scalar_one())


async def name_of(db: Database, config_id: int) -> str:
    async with db.reading_driver(snapshot=False) as reads:
        return str((await reads.execute(sa.select(CONFIGS.c.name).where(CONFIGS.c.id == config_id))).scalar_one())


async def test_returned_rows_are_sqlalchemys_rows(api: Api) -> None:
    """JSON settings, booleans and timestamps of a RETURNING, as a session returns them."""
    db: Database = api.runtime.db
    config_id = await one_config(api)
    now = utcnow()
    async with db.writing() as session:
        through_session = (await session.execute(RENAME, {"row_id": config_id, "name": "A", "name_key": "a", "now": now})).one()
    async with db.writing_driver() as writes:
        through_driver = (await writes.execute(RENAME, {"row_id": config_id, "name": "A", "name_key": "a", "now": now})).one()
    assert as_plain(through_driver) == as_plain(through_session)
    assert through_driver.is_default_outbound is True and through_driver.updated_at == now
    assert isinstance(through_driver.settings, dict)


async def test_an_insert_without_values_gets_the_columns_python_defaults(api: Api) -> None:
    """`sa.insert(table)` given some columns: the others with a Python-side default get it
    (created_at, is_active), as SQLAlchemy's execution gives them."""
    config_id = await one_config(api)
    before = utcnow()
    async with api.runtime.db.writing_driver() as writes:
        row = (await writes.execute(INSERT_NUMBER, {
            "organization_id": api.org_id, "telephony_config_id": config_id, "phone_number": "+14155550199",
        })).one()
    assert row.id is not None and row.label is None
    assert row.created_at >= before and row.updated_at >= before
    assert row.is_active is True


async def test_a_broken_constraint_is_an_integrity_error_and_nothing_is_kept(api: Api) -> None:
    db: Database = api.runtime.db
    config_id = await one_config(api)
    with pytest.raises(IntegrityError) as raised:
        async with db.writing_driver() as writes:
            await writes.execute(RENAME, {"row_id": config_id, "name": "Renamed", "name_key": "renamed", "now": utcnow()})
            await writes.execute(INSERT_NUMBER, {
                "organization_id": api.org_id, "telephony_config_id": config_id, "phone_number": "+14155550100",
            })
    assert broken_constraint(raised.value) == "uq_phone_number_org_number"
    assert await name_of(db, config_id) == "Main"  # the rename before it was rolled back
    async with db.writing_driver() as writes:  # and the writer is free and usable
        await writes.execute(RENAME, {"row_id": config_id, "name": "After", "name_key": "after", "now": utcnow()})
    assert await name_of(db, config_id) == "After"


async def test_an_error_or_a_cancellation_rolls_back_and_frees_the_writer(api: Api) -> None:
    db: Database = api.runtime.db
    config_id = await one_config(api)
    connects: list[object] = []
    event.listen(db.write_engine.sync_engine.pool, "connect", lambda *args: connects.append(args))
    with pytest.raises(RuntimeError):
        async with db.writing_driver() as writes:
            await writes.execute(RENAME, {"row_id": config_id, "name": "Lost", "name_key": "lost", "now": utcnow()})
            raise RuntimeError("the use case refused")
    assert await name_of(db, config_id) == "Main"
    async with db.writing_driver() as writes:
        await writes.execute(sa.select(1))
    assert connects == []  # rolled back, the connection was kept for the next write

    inside = asyncio.Event()

    async def cancelled_write() -> None:
        async with db.writing_driver() as writes:
            await writes.execute(RENAME, {"row_id": config_id, "name": "Cancelled", "name_key": "cancelled", "now": utcnow()})
            inside.set()
            await asyncio.sleep(30)

    task = asyncio.create_task(cancelled_write())
    await inside.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await name_of(db, config_id) == "Main"
    async with asyncio.timeout(10):  # not held by what the cancelled write left
        async with db.writing_driver() as writes:
            await writes.execute(RENAME, {"row_id": config_id, "name": "Later", "name_key": "later", "now": utcnow()})
    assert await name_of(db, config_id) == "Later"


async def test_an_executemany_inserts_every_row_in_order(api: Api) -> None:
    config_id = await one_config(api)
    now = utcnow()
    rows = [{"organization_id": api.org_id, "occurred_at": now, "action": "TEST", "entity_type": "TelephonyConfig",
             "entity_id": f"e{index}", "changes": [{"field": "n", "before": None, "after": index}]} for index in range(3)]
    async with api.runtime.db.writing_driver() as writes:
        await writes.execute(sa.insert(EVENTS), rows)
    async with api.runtime.db.reading_driver(snapshot=False) as reads:
        found = (await reads.execute(
            sa.select(EVENTS.c.entity_id, EVENTS.c.changes, EVENTS.c.api_key_label)
            .where(EVENTS.c.action == "TEST").order_by(EVENTS.c.id)
        )).all()
    assert [(row.entity_id, row.changes[0]["after"], row.api_key_label) for row in found] == [
        ("e0", 0, None), ("e1", 1, None), ("e2", 2, None)]
    assert config_id


async def test_an_executemany_with_returning_is_refused_before_it_runs(api: Api) -> None:
    """The driver path does not collect rows from an executemany: asked for them, it says so
    rather than returning none, and nothing is written."""
    config_id = await one_config(api)
    rows = [{"organization_id": api.org_id, "telephony_config_id": config_id, "phone_number": number}
            for number in ("+14155550101", "+14155550102")]
    with pytest.raises(sa.exc.ArgumentError, match="RETURNING"):
        async with api.runtime.db.writing_driver() as writes:
            await writes.execute(INSERT_NUMBER, rows)
    async with api.runtime.db.reading_driver(snapshot=False) as reads:
        numbers = (await reads.execute(sa.select(NUMBERS.c.phone_number).order_by(NUMBERS.c.id))).scalars()
    assert numbers == ["+14155550100"]


async def test_the_single_write_mutations_open_no_orm_session(api: Api) -> None:
    """Rename, set the default, add a number, update its label: the driver runs them."""
    first = (await create_config(api, "TWILIO", "First", default=True))["telephonyConfig"]["id"]
    second = (await create_config(api, "TELNYX", "Second"))["telephonyConfig"]["id"]
    number = (await add_number(api, first, "+14155550100"))["phoneNumber"]["id"]
    sessions: list[object] = []
    listener = lambda session, transaction, connection: sessions.append(session)  # noqa: E731
    event.listen(Session, "after_begin", listener)
    try:
        answers = [
            (await api.gql(UPDATE, {"input": {"id": first, "name": "Renamed"}}))["updateTelephonyConfig"],
            (await api.gql(SET_DEFAULT, {"id": second}))["setDefaultOutboundTelephonyConfig"],
            (await api.gql(ADD_NUMBER, {"input": {"telephonyConfigId": second, "phoneNumber": "+14155550101"}}))["addPhoneNumber"],
            (await api.gql(UPDATE_NUMBER, {"input": {"id": number, "label": "Front desk"}}))["updatePhoneNumber"],
        ]
    finally:
        event.remove(Session, "after_begin", listener)
    assert [answer["userErrors"] for answer in answers] == [[], [], [], []]
    assert answers[0]["telephonyConfig"]["name"] == "Renamed"
    assert answers[3]["phoneNumber"]["label"] == "Front desk"
    assert sessions == []


# --- SQLite: what runs on the loop's thread --------------------------------------------------


@pytest.fixture
async def sqlite_db(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Database]:
    path = tmp_path / "writes.sqlite3"
    await copy_migrated_sqlite(path, tmp_path_factory.mktemp("writes-template"))
    db = Database(sqlite_settings(path))
    yield db
    await db.dispose()


ORGANIZATION = sa.table("organization", sa.column("id"), sa.column("name"), sa.column("created_at"))


async def test_on_sqlite_only_a_delete_and_a_bulk_payload_go_to_the_thread(sqlite_db: Database, trips: list[Trip]) -> None:
    """BEGIN IMMEDIATE, the statements and COMMIT on the loop's thread, with no trip."""
    async with sqlite_db.writing_driver():
        pass  # the writer's connection is opened (its set-up goes to the thread)
    trips.clear()
    async with sqlite_db.writing_driver() as writes:
        await writes.execute(sa.insert(ORGANIZATION).values(id=1, name="Acme", created_at=utcnow()))
        await writes.execute(sa.update(ORGANIZATION).where(ORGANIZATION.c.id == 1).values(name="Acme 2"))
        assert trips == []
        await writes.execute(sa.update(ORGANIZATION).where(ORGANIZATION.c.id == 1).values(
            name="x" * (sqlite_driver.INLINE_MAX_PARAMETER + 1)))
        await writes.execute(sa.delete(ORGANIZATION).where(ORGANIZATION.c.id == 2))
        assert [str(trip) for trip in trips] == ["_run UPDATE organization SE", "_run DELETE FROM organizati"]
    assert len(trips) == 2  # the COMMIT too
    async with sqlite_db.reading_driver(snapshot=False) as reads:
        assert len((await reads.execute(sa.select(ORGANIZATION.c.name))).scalar_one()) > 16_384


async def test_on_sqlite_a_checkpoint_runs_on_the_thread_every_so_many_commits(
    sqlite_db: Database, trips: list[Trip], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The COMMIT on the loop runs no automatic checkpoint (its fsyncs would hold the loop): every
    CHECKPOINT_EVERY commits one runs on the thread, and the WAL is copied back."""
    monkeypatch.setattr(driver_writes, "CHECKPOINT_EVERY", 3)
    for index in range(6):
        async with sqlite_db.writing_driver() as writes:
            await writes.execute(sa.insert(ORGANIZATION).values(id=index + 1, name=f"Org {index}", created_at=utcnow()))
    # After the third and the sixth commit (the last: so every commit is copied back below).
    assert [str(trip) for trip in trips if "wal_checkpoint" in trip.statement] == ["_run PRAGMA wal_checkpoint("] * 2
    path = sqlite_db.url.split("///", 1)[1]
    with contextlib.closing(sqlite3.connect(path)) as other:
        assert other.execute("SELECT count(*) FROM organization").fetchone() == (6,)
        busy, frames, copied = other.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        assert busy == 0 and frames == copied
    async with sqlite_db.writing() as session:  # the ORM path keeps its automatic checkpoint
        assert (await session.execute(sa.text("PRAGMA wal_autocheckpoint"))).scalar_one() == 1000
        assert (await session.execute(sa.text("PRAGMA busy_timeout"))).scalar_one() == SQLITE_BUSY_TIMEOUT_MS


async def test_on_sqlite_a_write_waiting_for_another_processs_lock_does_not_hold_the_loop(
    sqlite_db: Database, trips: list[Trip],
) -> None:
    """BEGIN IMMEDIATE at once fails on the other's lock: it waits on aiosqlite's thread."""
    async with sqlite_db.writing_driver():
        pass
    path = sqlite_db.url.split("///", 1)[1]
    locker = sqlite3.connect(path, isolation_level=None)
    locker.execute("BEGIN IMMEDIATE")
    locker.execute("INSERT INTO organization (id, name, created_at) VALUES (1, 'theirs', '2026-01-01 00:00:00')")
    asyncio.get_running_loop().call_later(0.5, locker.execute, "COMMIT")
    trips.clear()
    try:
        async with loop_gaps() as gaps, sqlite_db.writing_driver() as writes:
            await writes.execute(sa.insert(ORGANIZATION).values(id=2, name="ours", created_at=utcnow()))
    finally:
        locker.close()
    assert [str(trip) for trip in trips] == ["_run BEGIN IMMEDIATE"]
    async with sqlite_db.reading_driver(snapshot=False) as reads:
        names = (await reads.execute(sa.select(ORGANIZATION.c.name).order_by(ORGANIZATION.c.id))).scalars()
    assert names == ["theirs", "ours"]
    assert max(gaps) < 0.3, f"the loop stalled for {max(gaps):.2f} s"


async def test_on_sqlite_the_commit_on_the_loop_writes_to_the_wal_only(sqlite_db: Database) -> None:
    """Even with a writer set to checkpoint after every commit, the COMMIT run on the loop leaves
    the database file as it was (no checkpoint, no fsync there); the setting is kept for others."""
    async with sqlite_db.writing() as session:
        await session.execute(sa.text("PRAGMA wal_autocheckpoint=1"))
        await session.execute(sa.insert(ORGANIZATION).values(id=1, name="Acme", created_at=utcnow()))
    path = Path(sqlite_db.url.split("///", 1)[1])
    before = path.read_bytes()
    async with sqlite_db.writing_driver() as writes:
        await writes.execute(sa.update(ORGANIZATION).where(ORGANIZATION.c.id == 1).values(name="Renamed"))
    assert path.read_bytes() == before
    async with sqlite_db.writing() as session:
        assert (await session.execute(sa.text("PRAGMA wal_autocheckpoint"))).scalar_one() == 1
        await session.execute(sa.update(ORGANIZATION).where(ORGANIZATION.c.id == 1).values(name="Again"))
    assert path.read_bytes() != before  # that commit's automatic checkpoint copied both


async def test_on_sqlite_a_write_cancelled_while_waiting_for_the_lock_leaves_no_transaction(sqlite_db: Database) -> None:
    """Its BEGIN IMMEDIATE still runs on aiosqlite's thread once the other lets go: the writer's
    connection is thrown away (closed after it, rolling it back), not returned with a write
    transaction open that would lock every other process out."""
    async with sqlite_db.writing_driver():
        pass
    path = sqlite_db.url.split("///", 1)[1]
    locker = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    locker.execute("BEGIN IMMEDIATE")

    async def write(name: str) -> None:
        async with sqlite_db.writing_driver() as writes:
            await writes.execute(sa.insert(ORGANIZATION).values(name=name, created_at=utcnow()))

    waiting = asyncio.create_task(write("cancelled"))
    await asyncio.sleep(0.3)  # its BEGIN IMMEDIATE waits on the thread
    waiting.cancel()
    # The other lets go a little later: the cancelled write's clean-up waits for its BEGIN.
    asyncio.get_running_loop().call_later(0.3, locker.execute, "COMMIT")
    with pytest.raises(asyncio.CancelledError):
        async with asyncio.timeout(10):
            await waiting
    locker.close()
    other = sqlite3.connect(path, isolation_level=None, timeout=0)
    try:
        other.execute("BEGIN IMMEDIATE")  # another process can write
        other.execute("ROLLBACK")
    finally:
        other.close()
    await write("next")
    async with sqlite_db.reading_driver(snapshot=False) as reads:
        assert (await reads.execute(sa.select(ORGANIZATION.c.name))).scalars() == ["next"]
