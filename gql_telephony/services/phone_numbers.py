"""Use cases of phone numbers: add, update, remove."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, cast

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ..crypto import Vault
from ..domain.audit import SYSTEM, Actor, AuditAction, Happening, changes_between
from ..domain.errors import ErrorCode, UserError, UserErrors
from ..domain.phone_numbers import NUMBER_PATH, clean_label, normalize_number
from ..domain.providers import PROVIDERS, ProviderKey
from ..storage import checks, queries
from ..storage.constraints import broken_constraint
from ..storage.db import Database
from ..storage.driver_writes import Writer
from ..storage.tables import PhoneNumberRow, TelephonyConfigRow, utcnow
from . import audit
from .events import Broker
from .number_audit import number_added, number_facts, number_global_id, number_removed
from .telephony_configs import not_found
from .unit_of_work import writing, writing_statements

ID_PATH = ("input", "id")
NUMBERS: sa.Table = PhoneNumberRow.__table__  # type: ignore[attr-defined]  # SQLModel sets it undeclared
CONFIGS: sa.Table = TelephonyConfigRow.__table__  # type: ignore[attr-defined]  # SQLModel sets it undeclared

# Built once: the add and the update run them with their parameters, on the session's connection
# (no ORM row, no unit of work to flush).
_ROW_ID: sa.BindParameter[int] = sa.bindparam("row_id")
_ORG_ID: sa.BindParameter[int] = sa.bindparam("org_id")
_SHARED_CONFIG = (
    sa.select(CONFIGS.c.id, CONFIGS.c.provider).where(CONFIGS.c.id == _ROW_ID, CONFIGS.c.organization_id == _ORG_ID)
    .with_for_update(read=True, key_share=True)
)
_INSERT = sa.insert(NUMBERS).returning(*NUMBERS.c)
_LOCK = sa.select(NUMBERS).where(NUMBERS.c.id == _ROW_ID, NUMBERS.c.organization_id == _ORG_ID).with_for_update()
_UPDATE = (
    sa.update(NUMBERS).where(NUMBERS.c.id == _ROW_ID)
    .values(label=sa.bindparam("label"), is_active=sa.bindparam("is_active"), updated_at=sa.bindparam("updated_at"))
    .returning(*NUMBERS.c)
)


class NumberTaken(Exception):
    pass


@dataclass(frozen=True)
class AddedNumber:
    """The number added, and its configuration as it stood after the commit."""

    number: queries.NumberRow
    config: queries.ConfigRow


@dataclass
class PhoneNumbers:
    db: Database
    events: Broker
    vault: Vault  # the audit trail compares warning summaries, which look at configs' keys
    checks_due: Callable[[], None] = field(default=lambda: None)  # wakes this process's check worker
    webhooks_due: Callable[[], None] = field(default=lambda: None)  # wakes this process's webhook sender

    async def add(
        self, org_id: int, config_id: int | None, *, phone_number: str, region: str | None,
        label: str | None, is_active: bool, actor: Actor = SYSTEM,
    ) -> AddedNumber:
        try:
            async with writing_statements(self.db, org_id, _violation_error, endpoints_unchanged=True) as session:
                config = await _shared_config(session, org_id, config_id)
                if config is None:
                    raise not_found(("input", "telephonyConfigId"))
                connectivity = PROVIDERS[ProviderKey(config.provider)].connectivity
                normalized, clean, errors = None, None, []
                try:
                    normalized = normalize_number(phone_number, region=region, connectivity=connectivity)
                except UserErrors as refused:
                    errors += refused.errors
                try:
                    clean = clean_label(label)
                except UserErrors as refused:
                    errors += refused.errors
                if errors:
                    raise UserErrors(errors)
                assert normalized is not None and config.id is not None  # refused above; a stored row
                now = utcnow()
                row = (await session.execute(_INSERT, {
                    "organization_id": org_id, "telephony_config_id": config.id, "phone_number": normalized,
                    "label": clean, "is_active": is_active, "created_at": now, "updated_at": now,
                })).one()
                await checks.ask_again(session, config_id=config.id, now=now)
                queued = await audit.record(session, self.vault, org_id=org_id, actor=actor, happenings=[
                    number_added(row),
                ])
        except NumberTaken:
            raise await self._taken(org_id, normalized) from None
        await self.events.publish(org_id)
        self.checks_due()
        if queued:
            self.webhooks_due()
        # A delete of the configuration may commit right after the add (and take the number
        # with it): the answer is then NOT_FOUND, as if it had come first, never a payload
        # whose configuration cannot be read. The row read here is the one the payload shows.
        async with self.db.reading_driver(snapshot=False) as connection:
            found = await queries.configs_by_ids(connection, org_id=org_id, ids=[config.id])
        if config.id not in found:
            raise not_found(("input", "telephonyConfigId"))
        return AddedNumber(row, found[config.id])

    async def update(
        self, org_id: int, number_id: int | None, *, label: str | None, set_label: bool, is_active: bool | None,
        actor: Actor = SYSTEM,
    ) -> queries.NumberRow:
        async with writing_statements(self.db, org_id, endpoints_unchanged=True) as session:
            row = await _locked_number_row(session, org_id, number_id)
            new_label = clean_label(label) if set_label else row.label
            new_active = row.is_active if is_active is None else is_active
            if (new_label, new_active) == (row.label, row.is_active):
                return row
            before = number_facts(row)
            row = cast(queries.NumberRow, (await session.execute(_UPDATE, {
                "row_id": row.id, "label": new_label, "is_active": new_active, "updated_at": utcnow(),
            })).one())
            queued = await audit.record(session, self.vault, org_id=org_id, actor=actor, happenings=[Happening(
                AuditAction.PHONE_NUMBER_UPDATED, "PhoneNumber", number_global_id(row),
                tuple(changes_between(before, number_facts(row))),
            )], warnings_may_change=new_active != before["isActive"])
        await self.events.publish(org_id)
        if queued:
            self.webhooks_due()
        return row

    async def remove(self, org_id: int, number_id: int | None, *, actor: Actor = SYSTEM) -> int:
        async with writing(self.db, org_id, endpoints_unchanged=True) as session:
            row = await _locked_number_row(session, org_id, number_id)
            happening = number_removed(row)
            await session.execute(sa.delete(NUMBERS).where(NUMBERS.c.id == row.id))
            queued = await audit.record(session, self.vault, org_id=org_id, actor=actor, happenings=[happening])
        await self.events.publish(org_id)
        if queued:
            self.webhooks_due()
        assert row.id is not None
        return row.id

    async def _taken(self, org_id: int, normalized: str | None) -> UserErrors:
        async with self.db.reading() as session:
            holder = await queries.number_holder(session, org_id=org_id, phone_number=normalized or "")
        where = f' on the configuration "{holder.name}"' if holder is not None else ""
        return UserErrors.one(NUMBER_PATH, f"This number is already registered{where}.", ErrorCode.TAKEN)


def _violation_error(error: IntegrityError) -> Exception:
    constraint = broken_constraint(error)
    if constraint == "uq_phone_number_org_number":
        return NumberTaken()
    if constraint == "phone_number_telephony_config_id_fkey" or "FOREIGN KEY constraint failed" in str(error.orig):
        return not_found(("input", "telephonyConfigId"))  # the configuration was deleted meanwhile
    return error


class _JoinedConfig(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def provider(self) -> str: ...


async def _shared_config(session: Writer, org_id: int, config_id: int | None) -> _JoinedConfig | None:
    """The id and provider of the configuration a number joins, share-locked (PostgreSQL) so
    that it cannot be deleted before the number is in: a concurrent delete waits, then removes
    the number with it."""
    if config_id is None:
        return None
    return (await session.execute(_SHARED_CONFIG, {"row_id": config_id, "org_id": org_id})).first()


async def _locked_number_row(session: Writer, org_id: int, number_id: int | None) -> queries.NumberRow:
    """The number, locked until the transaction ends."""
    row = None
    if number_id is not None:
        row = (await session.execute(_LOCK, {"row_id": number_id, "org_id": org_id})).first()
    if row is None:
        raise UserErrors([UserError(ID_PATH, "No phone number has this id.", ErrorCode.NOT_FOUND)])
    return row
