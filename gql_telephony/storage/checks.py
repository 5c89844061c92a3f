"""Provider check rows: asking for a check, claiming due checks with a lease, storing answers.

The claim is one UPDATE whose WHERE repeats the due-and-unleased condition: on PostgreSQL a
second process that races for the same row re-reads it after the first commits and finds the
lease taken (and SKIP LOCKED lets it pass over rows being claimed); on SQLite writers take
turns. Either way a check is run by one process, however many share the database.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from ..domain.provider_checks import AccountCheck, AccountStatus, NumberCheck, NumberProblem, NumberStatus
from .bulk import Unpacked, constant
from .driver_writes import Writer
from .queries import CONFIGS, IDS, NUMBERS, Reader
from .tables import PhoneNumberCheckRow, ProviderCheckRow, UTCDateTime

CHECKS: sa.Table = ProviderCheckRow.__table__  # type: ignore[attr-defined]  # SQLModel sets it undeclared
NUMBER_CHECKS: sa.Table = PhoneNumberCheckRow.__table__  # type: ignore[attr-defined]  # SQLModel sets it undeclared


@dataclass(frozen=True)
class Claim:
    config_id: int
    org_id: int
    wanted: int


# --- Asking -------------------------------------------------------------------------------------


async def add_check(session: AsyncSession, *, config_id: int, org_id: int, now: datetime) -> None:
    """The row of a new configuration, due now."""
    await session.execute(sa.insert(CHECKS).values(
        telephony_config_id=config_id, organization_id=org_id, due_at=now, wanted=1,
    ))


# Built once: every add of a number and most configuration changes run it.
_ASK_AGAIN = (
    sa.update(CHECKS).where(CHECKS.c.telephony_config_id == sa.bindparam("config_id"))
    .values(due_at=sa.bindparam("now"), wanted=CHECKS.c.wanted + 1)
)


async def ask_again(session: Writer, *, config_id: int, now: datetime) -> None:
    """Something that a check looks at changed: check now, and drop an answer on its way for
    what was there before."""
    await session.execute(_ASK_AGAIN, {"config_id": config_id, "now": now})


# --- Claiming -----------------------------------------------------------------------------------


def _claimable(now: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(
        CHECKS.c.due_at <= now,
        sa.or_(CHECKS.c.lease_until.is_(None), CHECKS.c.lease_until < now),
    )


async def any_due(session: Reader, *, now: datetime) -> bool:
    """Whether a check is due and unclaimed: a read, so that an idle poll takes no write lock."""
    found = await session.execute(sa.select(CHECKS.c.telephony_config_id).where(_claimable(now)).limit(1))
    return found.first() is not None


async def claim_due(
    session: AsyncSession, *, owner: str, now: datetime, lease_until: datetime, limit: int
) -> list[Claim]:
    due = (
        sa.select(CHECKS.c.telephony_config_id).where(_claimable(now))
        .order_by(CHECKS.c.due_at).limit(limit)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    claimed = await session.execute(
        sa.update(CHECKS)
        .where(CHECKS.c.telephony_config_id.in_(due), _claimable(now))
        .values(lease_owner=owner, lease_until=lease_until)
        .returning(CHECKS.c.telephony_config_id, CHECKS.c.organization_id, CHECKS.c.wanted)
    )
    return [Claim(config_id, org_id, wanted) for config_id, org_id, wanted in claimed.all()]


async def finish(
    session: AsyncSession, *, config_id: int, owner: str, wanted: int, next_due: datetime | None
) -> None:
    """The lease ends; the next check is due at `next_due`, unless a change asked for one
    meanwhile (then it stays due now)."""
    await session.execute(
        sa.update(CHECKS)
        .where(CHECKS.c.telephony_config_id == config_id, CHECKS.c.lease_owner == owner)
        .values(
            lease_owner=None, lease_until=None,
            due_at=sa.case((CHECKS.c.wanted == wanted, next_due), else_=CHECKS.c.due_at),
        )
    )


# --- Answers ------------------------------------------------------------------------------------


async def wanted_now(session: AsyncSession, *, config_id: int) -> int | None:
    """The configuration's `wanted`, locked until the transaction ends (None: it is gone)."""
    found = await session.execute(
        sa.select(CHECKS.c.wanted).where(CHECKS.c.telephony_config_id == config_id)
        .with_for_update(key_share=True)
    )
    return found.scalar_one_or_none()


async def record_account(
    session: AsyncSession, *, config_id: int, status: AccountStatus, message: str | None, now: datetime,
) -> None:
    """`answered_at` moves only when the provider answered: unreachable keeps the last good time."""
    answered = status is not AccountStatus.UNREACHABLE
    await session.execute(
        sa.update(CHECKS).where(CHECKS.c.telephony_config_id == config_id).values(
            status=status.value, message=message,
            first_asked_at=sa.func.coalesce(CHECKS.c.first_asked_at, now),
            **({"answered_at": now} if answered else {}),
        )
    )


async def statuses_before(
    session: AsyncSession, *, config_id: int, number_ids: Sequence[int],
) -> tuple[str | None, dict[int, tuple[str, bool | None]]]:
    """The account's stored status, and the status and voice capability of the given numbers,
    before an answer is recorded."""
    account = (await session.execute(
        sa.select(CHECKS.c.status).where(CHECKS.c.telephony_config_id == config_id)
    )).scalar_one_or_none()
    numbers: dict[int, tuple[str, bool | None]] = {}
    if number_ids:
        rows = (await session.execute(
            sa.select(NUMBER_CHECKS.c.phone_number_id, NUMBER_CHECKS.c.status, NUMBER_CHECKS.c.voice_capable)
            .where(NUMBER_CHECKS.c.phone_number_id.in_(list(number_ids)))
        )).all()
        numbers = {number_id: (status, voice) for number_id, status, voice in rows}
    return account, numbers


async def record_numbers(session: AsyncSession, checks: Iterable[tuple[int, NumberCheck]]) -> None:
    """Each number's check, replacing the one stored (an import writes thousands: one statement)."""
    rows = [
        (number_id, check.status.value, check.voice_capable, check.message, check.checked_at)
        for number_id, check in checks
    ]
    if not rows:
        return
    source = Unpacked(session, {"phone_number_id": sa.Integer(), "status": sa.Text(), "voice_capable": sa.Boolean(),
                                "message": sa.Text(), "checked_at": UTCDateTime()}, rows)
    names = ["phone_number_id", "status", "voice_capable", "message", "checked_at"]
    insert = _insert(session, NUMBER_CHECKS).from_select(
        names,
        sa.select(*(source.column(name) for name in names)).select_from(source.source)
        .where(sa.true()).order_by(source.position),  # WHERE: SQLite reads ON CONFLICT as the join's ON without one
    )
    await session.execute(insert.on_conflict_do_update(
        index_elements=[NUMBER_CHECKS.c.phone_number_id],
        set_={name: insert.excluded[name] for name in ("status", "voice_capable", "message", "checked_at")},
    ))


# --- Reads --------------------------------------------------------------------------------------


# Built once (the reads of every dashboard): building a SELECT cost more than running it.
@cache
def _account_checks() -> Any:
    return (
        sa.select(CHECKS.c.telephony_config_id, CHECKS.c.status, CHECKS.c.message,
                  sa.type_coerce(sa.func.coalesce(CHECKS.c.answered_at, CHECKS.c.first_asked_at), UTCDateTime()))
        .where(CHECKS.c.telephony_config_id.in_(IDS), CHECKS.c.status.is_not(None))
    )


def problems_of(config_ids: sa.ColumnElement[bool], *columns: sa.ColumnElement[Any]) -> Any:
    """The numbers the provider found wrong of the configurations `config_ids` selects, in id
    order: these columns, then the number's id and number, the check's status and voice."""
    return (
        sa.select(*columns, NUMBERS.c.id, NUMBERS.c.phone_number, NUMBER_CHECKS.c.status, NUMBER_CHECKS.c.voice_capable)
        .join(NUMBER_CHECKS, NUMBER_CHECKS.c.phone_number_id == NUMBERS.c.id)
        .where(
            config_ids,
            sa.or_(NUMBER_CHECKS.c.status == NumberStatus.NOT_IN_ACCOUNT.value,
                   NUMBER_CHECKS.c.voice_capable.is_(False)),
        )
        .order_by(NUMBERS.c.id)
    )


def number_problem(number_id: int, phone_number: str, status: str, voice_capable: bool | None) -> NumberProblem:
    """A problem as `problems_of` reads it (its columns after those asked first)."""
    return NumberProblem(number_id, phone_number, NumberStatus(status), voice_capable)


@cache
def _number_problems() -> Any:
    return problems_of(NUMBERS.c.telephony_config_id.in_(IDS), NUMBERS.c.telephony_config_id)


async def account_checks(session: Reader, *, config_ids: Sequence[int]) -> dict[int, AccountCheck]:
    """The stored check of each configuration that was ever asked (others are absent)."""
    rows = await session.execute(_account_checks(), {"ids": list(config_ids)})
    return {
        config_id: account_check(status, message, checked_at)
        for config_id, status, message, checked_at in rows.all()
    }


def account_check(status: str, message: str | None, checked_at: datetime) -> AccountCheck:
    """A configuration's account check as stored (its status set: it was answered)."""
    return AccountCheck(AccountStatus(status), checked_at, message)


AnswerMark = tuple[str, str | None, datetime | None]  # an account check's status, message, checked at


async def answer_marks(session: Reader, *, org_id: int) -> dict[int, AnswerMark]:
    """Per configuration of the organization that was ever asked, what its providerCheck shows
    (status, message, checked at): a follower compares them to see a check that answered the
    same again (ix_provider_check_organization_id; one row per configuration)."""
    rows = await session.execute(
        sa.select(CHECKS.c.telephony_config_id, CHECKS.c.status, CHECKS.c.message,
                  sa.type_coerce(sa.func.coalesce(CHECKS.c.answered_at, CHECKS.c.first_asked_at), UTCDateTime()))
        .where(CHECKS.c.organization_id == org_id, CHECKS.c.status.is_not(None))
    )
    return {config_id: (status, message, checked_at) for config_id, status, message, checked_at in rows.all()}


async def number_checks(session: Reader, *, number_ids: Sequence[int]) -> dict[int, NumberCheck]:
    rows = await session.execute(
        sa.select(NUMBER_CHECKS).where(NUMBER_CHECKS.c.phone_number_id.in_(list(number_ids)))
    )
    return {
        row.phone_number_id: NumberCheck(NumberStatus(row.status), row.voice_capable, row.checked_at, row.message)
        for row in rows.all()
    }


async def number_problems(session: Reader, *, config_ids: Sequence[int]) -> dict[int, list[NumberProblem]]:
    """Per configuration, its numbers that are not in the account or cannot carry voice."""
    rows = await session.execute(_number_problems(), {"ids": list(config_ids)})
    found: dict[int, list[NumberProblem]] = {}
    for config_id, *problem in rows.all():
        found.setdefault(config_id, []).append(number_problem(*problem))
    return found


async def numbers_to_check(session: Reader, *, config_id: int) -> list[tuple[int, str]]:
    """(id, number) of every number of the configuration, active or not."""
    rows = await session.execute(
        sa.select(NUMBERS.c.id, NUMBERS.c.phone_number).where(NUMBERS.c.telephony_config_id == config_id)
        .order_by(NUMBERS.c.id)
    )
    return [(number_id, number) for number_id, number in rows.all()]


async def config_to_check(session: Reader, *, config_id: int) -> Any:
    """The configuration's provider and stored secrets, with its organization."""
    return (await session.execute(
        sa.select(CONFIGS.c.id, CONFIGS.c.organization_id, CONFIGS.c.provider, CONFIGS.c.settings, CONFIGS.c.secrets)
        .where(CONFIGS.c.id == config_id)
    )).first()


async def insert_new_numbers(
    session: AsyncSession, *, org_id: int, config_id: int, numbers: Sequence[str], now: datetime
) -> dict[str, int]:
    """Inserts, as active numbers of the configuration, those the organization does not hold
    yet, with ids in the order given; returns them with their ids, in that order. ON CONFLICT DO NOTHING: a
    number a concurrent request registered first is left to it, not an error."""
    if not numbers:
        return {}
    # All of them as one parameter of one statement (storage/bulk.py), not a row each.
    source = Unpacked(session, {"phone_number": sa.Text()}, [(number,) for number in numbers])
    result = await session.execute(
        _insert(session, NUMBERS).from_select(
            ["organization_id", "telephony_config_id", "phone_number", "label", "is_active", "created_at",
             "updated_at"],
            sa.select(constant(org_id, sa.Integer()), constant(config_id, sa.Integer()), source.column("phone_number"),
                      sa.null(), sa.true(), constant(now, UTCDateTime()), constant(now, UTCDateTime()))
            .select_from(source.source).where(sa.true()).order_by(source.position),
        )
        .on_conflict_do_nothing(index_elements=[NUMBERS.c.organization_id, NUMBERS.c.phone_number])
        .returning(NUMBERS.c.phone_number, NUMBERS.c.id)
    )
    return {number: number_id for number, number_id in sorted(result.all(), key=lambda row: row[1])}


def _insert(session: AsyncSession, table: sa.Table) -> Any:
    """The dialect's INSERT, which has ON CONFLICT (both spell it the same way)."""
    return (postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert)(table)
