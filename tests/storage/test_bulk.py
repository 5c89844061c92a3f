"""Rows written as one packed parameter (storage/bulk.py: the import's numbers, their checks, a
write's many audit events) are stored exactly as the same rows inserted one by one, in the order
given, on both backends."""

from __future__ import annotations

from datetime import timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from gql_telephony.domain.audit import Actor, AuditAction, Change, Happening
from gql_telephony.domain.ids import decode_id
from gql_telephony.domain.provider_checks import NumberCheck, NumberStatus
from gql_telephony.storage import audit, checks
from gql_telephony.storage.audit import AUDIT_EVENTS, EventFilter
from gql_telephony.storage.checks import NUMBER_CHECKS
from gql_telephony.storage.queries import NUMBERS
from gql_telephony.storage.tables import utcnow
from tests.documents import create_config

# Out of order on purpose: ids must follow the order given, not the numbers'.
NUMBERS_GIVEN = ["+14155550107", "+14155550101", "+14155550109", "+14155550103", "+14155550100"]


async def config_ids(api: Any, count: int) -> list[int]:
    created = [await create_config(api, name=f"Config {i}") for i in range(count)]
    return [int(decode_id(payload["telephonyConfig"]["id"])[1]) for payload in created]


async def raw(api: Any, sql: str) -> list[tuple[Any, ...]]:
    """Rows as the database holds them (SQLite: its text), through no column type."""
    async with api.runtime.db.reading_rows() as connection:
        return [tuple(row) for row in (await connection.execute(sa.text(sql))).all()]


async def test_new_numbers_are_stored_as_one_by_one_inserts_store_them_with_ids_in_the_order_given(api):
    packed_config, by_row_config = await config_ids(api, 2)
    now = utcnow()
    async with api.runtime.db.writing() as session:
        added = await checks.insert_new_numbers(
            session, org_id=api.org_id, config_id=packed_config, numbers=NUMBERS_GIVEN, now=now)
        await session.execute(sa.insert(NUMBERS), [
            {"organization_id": api.org_id, "telephony_config_id": by_row_config, "phone_number": "+1212555" + n[-4:],
             "label": None, "is_active": True, "created_at": now, "updated_at": now}
            for n in NUMBERS_GIVEN
        ])
    assert list(added) == NUMBERS_GIVEN
    assert list(added.values()) == sorted(added.values())
    columns = "organization_id, label, is_active, created_at, updated_at"
    packed = await raw(api, f"SELECT {columns} FROM phone_number WHERE telephony_config_id = {packed_config} ORDER BY id")
    by_row = await raw(api, f"SELECT {columns} FROM phone_number WHERE telephony_config_id = {by_row_config} ORDER BY id")
    assert packed == by_row and len(packed) == len(NUMBERS_GIVEN)
    stored = await raw(api, f"SELECT phone_number FROM phone_number WHERE telephony_config_id = {packed_config} ORDER BY id")
    assert [number for (number,) in stored] == NUMBERS_GIVEN


async def test_numbers_the_organization_holds_are_left_and_not_returned(api):
    [config_id] = await config_ids(api, 1)
    async with api.runtime.db.writing() as session:
        first = await checks.insert_new_numbers(
            session, org_id=api.org_id, config_id=config_id, numbers=NUMBERS_GIVEN[:2], now=utcnow())
    async with api.runtime.db.writing() as session:
        second = await checks.insert_new_numbers(
            session, org_id=api.org_id, config_id=config_id, numbers=NUMBERS_GIVEN, now=utcnow())
    assert list(second) == NUMBERS_GIVEN[2:]
    assert min(second.values()) > max(first.values())
    assert len(await raw(api, "SELECT id FROM phone_number")) == len(NUMBERS_GIVEN)


async def test_a_number_too_long_for_its_column_is_refused_on_postgresql_not_cut(api):
    [config_id] = await config_ids(api, 1)
    long_number = "+1" + "2" * 400  # phone_number is VARCHAR(300)
    if api.runtime.db.is_sqlite:  # SQLite keeps any length, as it does for a row inserted alone
        async with api.runtime.db.writing() as session:
            await checks.insert_new_numbers(session, org_id=api.org_id, config_id=config_id, numbers=[long_number],
                                            now=utcnow())
        assert await raw(api, "SELECT phone_number FROM phone_number") == [(long_number,)]
        return
    with pytest.raises(DBAPIError):
        async with api.runtime.db.writing() as session:
            await checks.insert_new_numbers(session, org_id=api.org_id, config_id=config_id, numbers=[long_number],
                                            now=utcnow())


async def test_checks_are_stored_as_one_by_one_inserts_store_them_and_replace_the_last(api):
    [config_id] = await config_ids(api, 1)
    now = utcnow()
    async with api.runtime.db.writing() as session:
        ids = list((await checks.insert_new_numbers(
            session, org_id=api.org_id, config_id=config_id, numbers=[f"+1415555{n:04d}" for n in range(8)],
            now=now)).values())
    answers = [
        NumberCheck(NumberStatus.IN_ACCOUNT, True, now, None),
        NumberCheck(NumberStatus.IN_ACCOUNT, False, now + timedelta(seconds=1), "Cannot carry voice \u2014 \u00e9"),
        NumberCheck(NumberStatus.NOT_IN_ACCOUNT, None, now + timedelta(microseconds=7), "Not listed."),
        NumberCheck(NumberStatus.UNKNOWN, None, now - timedelta(days=400), 'Quote " and \\ backslash'),
    ]
    packed_ids, by_row_ids = ids[:4], ids[4:]
    async with api.runtime.db.writing() as session:
        await checks.record_numbers(session, zip(packed_ids, answers, strict=True))
        await session.execute(sa.insert(NUMBER_CHECKS), [
            {"phone_number_id": number_id, "status": check.status.value, "voice_capable": check.voice_capable,
             "message": check.message, "checked_at": check.checked_at}
            for number_id, check in zip(by_row_ids, answers, strict=True)
        ])
    columns = "status, voice_capable, message, checked_at"
    packed = await raw(api, f"SELECT {columns} FROM phone_number_check WHERE phone_number_id IN "
                            f"({', '.join(map(str, packed_ids))}) ORDER BY phone_number_id")
    by_row = await raw(api, f"SELECT {columns} FROM phone_number_check WHERE phone_number_id IN "
                            f"({', '.join(map(str, by_row_ids))}) ORDER BY phone_number_id")
    assert packed == by_row
    # Recorded again: the new answers replace the stored ones.
    async with api.runtime.db.writing() as session:
        await checks.record_numbers(session, [(packed_ids[0], answers[2]), (by_row_ids[0], answers[1])])
    async with api.runtime.db.reading_rows() as connection:
        found = await checks.number_checks(connection, number_ids=[packed_ids[0], by_row_ids[0]])
    assert found[packed_ids[0]] == answers[2] and found[by_row_ids[0]] == answers[1]


async def test_values_every_row_shares_are_stored_as_one_by_one_inserts_store_them(api):
    """What all rows hold as one object (an import's one answer and one time) is one parameter:
    stored the same; values that are only equal (one instant in two time zones) are not merged."""
    [config_id] = await config_ids(api, 1)
    now = utcnow()
    async with api.runtime.db.writing() as session:
        ids = list((await checks.insert_new_numbers(
            session, org_id=api.org_id, config_id=config_id, numbers=[f"+1415555{n:04d}" for n in range(12)],
            now=now)).values())
    shared = NumberCheck(NumberStatus.IN_ACCOUNT, True, now, None)
    elsewhere = now.astimezone(timezone(timedelta(hours=2)))  # the same instant, another offset
    zoned = [NumberCheck(NumberStatus.IN_ACCOUNT, None, at, None) for at in (now, elsewhere)]
    for answers, packed_ids, by_row_ids in (([shared] * 4, ids[:4], ids[4:8]), (zoned, ids[8:10], ids[10:12])):
        async with api.runtime.db.writing() as session:
            await checks.record_numbers(session, zip(packed_ids, answers, strict=True))
            await session.execute(sa.insert(NUMBER_CHECKS), [
                {"phone_number_id": number_id, "status": check.status.value, "voice_capable": check.voice_capable,
                 "message": check.message, "checked_at": check.checked_at}
                for number_id, check in zip(by_row_ids, answers, strict=True)
            ])
        columns = "status, voice_capable, message, checked_at"
        packed = await raw(api, f"SELECT {columns} FROM phone_number_check WHERE phone_number_id IN "
                                f"({', '.join(map(str, packed_ids))}) ORDER BY phone_number_id")
        by_row = await raw(api, f"SELECT {columns} FROM phone_number_check WHERE phone_number_id IN "
                                f"({', '.join(map(str, by_row_ids))}) ORDER BY phone_number_id")
        assert packed == by_row and len(packed) == len(answers)


def happenings(count: int) -> list[Happening]:
    kinds = [
        (Change("phoneNumber", None, "+14155550100"), Change("label", None, None), Change("isActive", None, True)),
        (Change("label", "Old \u00e9", 'New "quoted" \u2603'), Change("config.auth_token", secret=True)),
        (Change("settings", {"nested": [1, 2.5, None]}, {"nested": []}),),
        (Change("ports", {5060: "udp"}, {5061: "tls"}),),  # keys as json.dumps writes them: text
        (),
    ]
    return [Happening(AuditAction.PHONE_NUMBER_ADDED if i % 2 else AuditAction.TELEPHONY_CONFIG_UPDATED,
                      "PhoneNumber" if i % 2 else "TelephonyConfig", f"Entity{i}" if i % 5 else None,
                      kinds[i % len(kinds)])
            for i in range(count)]


async def test_many_audit_events_are_stored_as_a_few_are(api, monkeypatch):
    count = audit.BULK_EVENTS + 3
    actor = Actor(api_key_id=42, label="Deploy \u2014 key", request_id="req-1")
    now = utcnow()
    async with api.runtime.db.writing() as session:
        await audit.insert_events(session, org_id=api.org_id, actor=actor, happenings=happenings(count),
                                  now=now)
    monkeypatch.setattr(audit, "BULK_EVENTS", count + 1)  # the same events, the executemany way
    async with api.runtime.db.writing() as session:
        await audit.insert_events(session, org_id=api.org_id, actor=actor, happenings=happenings(count),
                                  now=now)
    async with api.runtime.db.reading_rows() as connection:
        rows = await audit.event_page(connection, org_id=api.org_id, events=EventFilter(), limit=500, before_id=None)
    rows.reverse()  # oldest first: ids in the order given
    assert len(rows) == 2 * count
    assert [row.id for row in rows] == sorted(row.id for row in rows)

    def shown(row: Any) -> tuple[Any, ...]:
        return (row.organization_id, row.occurred_at, row.action, row.entity_type, row.entity_id, row.api_key_id,
                row.api_key_label, row.request_id, row.changes)

    packed, by_row = [shown(row) for row in rows[:count]], [shown(row) for row in rows[count:]]
    assert packed == by_row
    assert packed[1][-1] == [change.as_json() for change in happenings(count)[1].changes]
    # And as stored: the time as the same text (on SQLite, where it is text).
    stored = await raw(api, f"SELECT occurred_at, changes FROM {AUDIT_EVENTS.name} ORDER BY id")
    assert {occurred for occurred, _ in stored} == {stored[0][0]}
