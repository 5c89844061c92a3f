"""Use cases of telephony configurations: create, update, delete, and the default outbound."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import cast

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from ..crypto import Vault
from ..domain.audit import SYSTEM, Actor, AuditAction, Change, Happening, changes_between
from ..domain.config_rules import StoredConfig, apply_config, present_config
from ..domain.errors import ErrorCode, UserError, UserErrors
from ..domain.ids import encode_id
from ..domain.providers import PROVIDERS, Provider, ProviderKey
from ..domain.text import check_name_key, clean_text, name_key
from ..storage import checks
from ..storage.constraints import broken_constraint
from ..storage.db import Database
from ..storage.driver_writes import Writer
from ..storage.queries import ConfigRow
from ..storage.tables import PhoneNumberRow, TelephonyConfigRow, utcnow
from . import audit
from .events import Broker
from .number_audit import number_removed
from .reads import AnyConfigRow, stored_config
from .unit_of_work import writing, writing_statements

MAX_NAME_LENGTH = 64
CONFIGS: sa.Table = TelephonyConfigRow.__table__  # type: ignore[attr-defined]  # SQLModel sets it undeclared
NAME_PATH = ("input", "name")
ID_PATH = ("input", "id")
VERSION_PATH = ("input", "expectedVersion")


def not_found(path: tuple[str, ...] = ID_PATH) -> UserErrors:
    return UserErrors.one(path, "No telephony configuration has this id.", ErrorCode.NOT_FOUND)


@dataclass
class TelephonyConfigs:
    db: Database
    vault: Vault
    events: Broker
    checks_due: Callable[[], None] = field(default=lambda: None)  # wakes this process's check worker
    webhooks_due: Callable[[], None] = field(default=lambda: None)  # wakes this process's webhook sender

    async def create(
        self, org_id: int, *, name: str, provider: ProviderKey, config: object, make_default: bool,
        actor: Actor = SYSTEM,
    ) -> tuple[TelephonyConfigRow, AnyConfigRow | None]:
        """The new configuration, and the one it demoted when created as the default."""
        errors: list[UserError] = []
        try:
            clean_name = _clean_name(name)
        except UserErrors as refused:
            errors += refused.errors
        try:
            stored = apply_config(PROVIDERS[provider], config)
        except UserErrors as refused:
            errors += refused.errors
        if errors:
            raise UserErrors(errors)
        now = utcnow()
        row = TelephonyConfigRow(
            organization_id=org_id, name=clean_name, name_key=name_key(clean_name),
            provider=provider.value, settings=stored.settings,
            secrets=self.vault.encrypt_json(stored.secrets), created_at=now, updated_at=now,
        )
        async with writing(self.db, org_id, _violation_error, endpoints_unchanged=True) as session:
            previous = None
            if make_default:
                previous = await _demote_default(session, org_id)
            row.is_default_outbound = make_default
            session.add(row)
            await session.flush()
            assert row.id is not None
            await checks.add_check(session, config_id=row.id, org_id=org_id, now=now)
            facts, secret = _audited(row, stored)
            facts["isDefaultOutbound"] = make_default
            happenings = [Happening(
                AuditAction.TELEPHONY_CONFIG_CREATED, "TelephonyConfig", _global_id(row),
                tuple(changes_between({}, facts, secret=secret)),
            )]
            if make_default:
                happenings.append(_default_moved(previous, row))
            queued = await audit.record(session, self.vault, org_id=org_id, actor=actor, happenings=happenings)
        await self.events.publish(org_id)
        self.checks_due()
        if queued:
            self.webhooks_due()
        return row, previous

    async def update(
        self, org_id: int, config_id: int | None, *, name: str | None, config: object | None,
        expected_version: int | None, actor: Actor = SYSTEM,
    ) -> AnyConfigRow:
        # Core statements only: no ORM row, no unit of work to flush; the driver runs them.
        async with writing_statements(self.db, org_id, _violation_error, endpoints_unchanged=True) as session:
            row = await _locked_config_row(session, org_id, config_id, expected_version)
            errors: list[UserError] = []
            new_name = row.name
            if name is not None:
                try:
                    new_name = _clean_name(name)
                except UserErrors as refused:
                    errors += refused.errors
            provider = PROVIDERS[ProviderKey(row.provider)]
            current = stored_config(row, self.vault)
            new_config = current
            if config is not None:
                try:
                    new_config = apply_config(provider, config, current)
                except UserErrors as refused:
                    errors += refused.errors
            if errors:
                raise UserErrors(errors)
            if new_name == row.name and _reads_the_same(provider, new_config, current):
                return row  # nothing changed: no new version, no event
            before, secret = _audited(row, current)
            # Any config change may change the answer (an ARI endpoint as much as a token).
            config_changed = not _reads_the_same(provider, new_config, current)
            if config_changed:
                await checks.ask_again(session, config_id=row.id, now=utcnow())
            secrets = row.secrets
            if new_config.secrets != current.secrets:
                secrets = self.vault.encrypt_json(new_config.secrets)
            row = cast(ConfigRow, (await session.execute(_UPDATE, {
                "row_id": row.id, "name": new_name, "name_key": name_key(new_name),
                "settings": new_config.settings, "secrets": secrets,
                "version": row.version + 1, "updated_at": utcnow(),
            })).one())
            after, secret_after = _audited(row, new_config)
            changes = changes_between(before, after, secret=secret | secret_after)
            queued = await audit.record(session, self.vault, org_id=org_id, actor=actor, happenings=[Happening(
                AuditAction.TELEPHONY_CONFIG_UPDATED, "TelephonyConfig", _global_id(row), tuple(changes),
            )])
        await self.events.publish(org_id)
        if config_changed:
            self.checks_due()
        if queued:
            self.webhooks_due()
        return row

    async def delete(
        self, org_id: int, config_id: int | None, *, expected_version: int | None, actor: Actor = SYSTEM,
    ) -> int:
        async with writing(self.db, org_id, _violation_error, endpoints_unchanged=True) as session:
            row = await _locked_config_row(session, org_id, config_id, expected_version, for_delete=True)
            # A delete records what was there (secrets only by name), as a create records what it made.
            facts, secret = _audited(row, stored_config(row, self.vault))
            happenings = [Happening(
                AuditAction.TELEPHONY_CONFIG_DELETED, "TelephonyConfig", _global_id(row),
                tuple(changes_between(facts, {}, secret=secret)),
            )]
            if row.is_default_outbound:
                happenings.append(_default_moved(row, None))
            # Its numbers go with it, each announced as removed.
            numbers = (await session.execute(
                select(PhoneNumberRow).where(col(PhoneNumberRow.telephony_config_id) == row.id)
                .order_by(col(PhoneNumberRow.id))
            )).scalars().all()
            happenings += [number_removed(number) for number in numbers]
            await session.execute(sa.delete(PhoneNumberRow).where(col(PhoneNumberRow.telephony_config_id) == row.id))
            await session.execute(sa.delete(CONFIGS).where(CONFIGS.c.id == row.id))
            queued = await audit.record(session, self.vault, org_id=org_id, actor=actor, happenings=happenings)
        await self.events.publish(org_id)
        if queued:
            self.webhooks_due()
        assert row.id is not None
        return row.id

    async def set_default(
        self, org_id: int, config_id: int | None, *, actor: Actor = SYSTEM,
    ) -> tuple[AnyConfigRow, AnyConfigRow | None]:
        async with writing_statements(self.db, org_id, _violation_error, endpoints_unchanged=True) as session:
            row = await _locked_config_row(session, org_id, config_id, None)
            if row.is_default_outbound:
                return row, None
            now = utcnow()
            previous = await _demote_default(session, org_id, now)
            row = (await session.execute(
                _PROMOTE, {"row_id": row.id, "version": row.version + 1, "updated_at": now}
            )).one()
            queued = await audit.record(session, self.vault, org_id=org_id, actor=actor,
                                        happenings=[_default_moved(previous, row)])
        await self.events.publish(org_id)
        if queued:
            self.webhooks_due()
        return row, previous


def _clean_name(name: str) -> str:
    cleaned = clean_text(name, NAME_PATH, what="Name", max_length=MAX_NAME_LENGTH, required=True)
    assert cleaned is not None  # a required text is never absent
    check_name_key(cleaned, NAME_PATH, "Name")
    return cleaned


def _violation_error(error: IntegrityError) -> Exception:
    constraint = broken_constraint(error)
    if constraint == "uq_telephony_config_org_name":
        return UserErrors.one(NAME_PATH, "Another configuration already has this name.", ErrorCode.TAKEN)
    if constraint == "uq_telephony_config_one_default":
        return UserErrors.one(
            ("input", "isDefaultOutbound"),
            "Another request changed the default outbound configuration at the same time; try again.",
            ErrorCode.CONFLICT,
        )
    return error


# Lock order on PostgreSQL, everywhere: the organization row (locked by `writing`, which bumps
# its data version first thing), then configuration rows. Locks
# that do not delete are FOR NO KEY UPDATE, so that inserts referencing the row (which take
# FOR KEY SHARE through their foreign key) never queue behind them. SQLite's BEGIN IMMEDIATE
# already serializes every writer, and SQLAlchemy leaves these clauses out there.


# Built once: the writes below run them with their parameters (no statement built per write).
_ROW_ID: sa.BindParameter[int] = sa.bindparam("row_id")
_LOCK = (
    sa.select(CONFIGS).where(CONFIGS.c.id == _ROW_ID, CONFIGS.c.organization_id == sa.bindparam("org_id"))
    .with_for_update(key_share=True)
)
# A delete takes the stronger lock: nothing may reference the row meanwhile.
_LOCK_FOR_DELETE = _LOCK.with_for_update()
_UPDATE = (
    sa.update(CONFIGS).where(CONFIGS.c.id == _ROW_ID)
    .values(name=sa.bindparam("name"), name_key=sa.bindparam("name_key"), settings=sa.bindparam("settings"),
            secrets=sa.bindparam("secrets"), version=sa.bindparam("version"), updated_at=sa.bindparam("updated_at"))
    .returning(*CONFIGS.c)
)
_PROMOTE = (
    sa.update(CONFIGS).where(CONFIGS.c.id == _ROW_ID)
    .values(is_default_outbound=True, version=sa.bindparam("version"), updated_at=sa.bindparam("updated_at"))
    .returning(*CONFIGS.c)
)
_DEMOTE = (
    sa.update(CONFIGS)
    .where(CONFIGS.c.organization_id == sa.bindparam("org_id"), CONFIGS.c.is_default_outbound)
    .values(is_default_outbound=False, version=CONFIGS.c.version + 1, updated_at=sa.bindparam("updated_at"))
    .returning(*CONFIGS.c)
)


async def _locked_config_row(
    session: Writer, org_id: int, config_id: int | None, expected_version: int | None,
    *, for_delete: bool = False,
) -> ConfigRow:
    """The configuration, locked until the transaction ends, at the version expected (if one is)."""
    row: ConfigRow | None = None
    if config_id is not None:
        lock = _LOCK_FOR_DELETE if for_delete else _LOCK
        row = (await session.execute(lock, {"row_id": config_id, "org_id": org_id})).first()
    if row is None:
        raise not_found()
    _check_version(row, expected_version)
    return row


def _check_version(row: AnyConfigRow, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != row.version:
        raise UserErrors.one(
            VERSION_PATH,
            f"The configuration has changed; it is now at version {row.version}.",
            ErrorCode.CONFLICT,
        )


async def _demote_default(session: Writer, org_id: int, now: datetime | None = None) -> AnyConfigRow | None:
    """The caller holds the organization lock. The previous default is locked too (by this
    UPDATE), so that a concurrent update or delete of it is neither lost nor demoted after it is
    gone; it is demoted before a new default is set, as the partial unique index wants."""
    return (await session.execute(_DEMOTE, {"org_id": org_id, "updated_at": now or utcnow()})).first()


def _reads_the_same(provider: Provider, new: StoredConfig, current: StoredConfig) -> bool:
    """No change as clients see it: a field's default given explicitly is not a change."""
    return new.secrets == current.secrets and present_config(provider, new) == present_config(provider, current)


def _global_id(row: AnyConfigRow) -> str:
    assert row.id is not None  # flushed
    return encode_id("TelephonyConfig", row.id)


def _audited(row: AnyConfigRow, stored: StoredConfig) -> tuple[dict[str, object], set[str]]:
    """The facts of a configuration as its audit events compare them (config keys as
    `config.<key>`), and which of them are secret (compared, never recorded)."""
    facts: dict[str, object] = {"name": row.name, "provider": row.provider}
    facts.update({f"config.{key}": value for key, value in stored.settings.items()})
    facts.update({f"config.{key}": value for key, value in stored.secrets.items()})
    return facts, {f"config.{key}" for key in stored.secrets}


def _default_moved(previous: AnyConfigRow | None, new: AnyConfigRow | None) -> Happening:
    """The default outbound configuration moved: the event is about the new default (or, when
    none is left, the one that stopped being it)."""
    about = new if new is not None else previous
    assert about is not None
    return Happening(AuditAction.DEFAULT_OUTBOUND_CHANGED, "TelephonyConfig", _global_id(about), (
        Change("defaultOutbound", _global_id(previous) if previous else None, _global_id(new) if new else None),
    ))
