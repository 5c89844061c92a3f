"""Asking providers about accounts and numbers, and importing an account's numbers.

The provider is asked with no transaction open (a call may take seconds); the answers are then
stored in one short transaction, and subscribers hear of them after it commits. An answer
that arrives after the configuration changed again (new credentials, a new number) is dropped:
a fresh check is already due.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa

from ..crypto import Vault
from ..domain.audit import SYSTEM, Actor, AuditAction, Change, Happening
from ..domain.errors import ErrorCode, UserErrors
from ..domain.ids import encode_id
from ..domain.provider_checks import (
    ANSWERED,
    AccountStatus,
    InventoryNumber,
    NumberCheck,
    NumberStatus,
    ProviderFailure,
    bounded,
    number_check_from,
    unknown_number,
)
from ..domain.providers import PROVIDERS, Provider, ProviderKey
from ..outbound.base import Account, ProviderClient
from ..outbound.http import ProviderHttp
from ..storage import checks, queries
from ..storage.db import Database
from ..storage.queries import ConfigRow
from ..storage.tables import utcnow
from . import audit
from .events import Broker
from .number_audit import NewNumber, numbers_added
from .reads import stored_config
from .unit_of_work import writing

CONFIG_PATH = ("input", "id")
IMPORT_PATH = ("input", "telephonyConfigId")
# Up to this many numbers are looked up one by one (where the API can look up one number); more,
# and the whole inventory is read once.
LOOKUPS_ONE_BY_ONE = 10
LOOKUPS_AT_ONCE = 4


@dataclass(frozen=True)
class Answers:
    status: AccountStatus
    message: str | None
    numbers: dict[int, NumberCheck]


@dataclass(frozen=True)
class Imported:
    imported_count: int
    already_registered_count: int


@dataclass
class ProviderChecks:
    db: Database
    vault: Vault
    http: ProviderHttp
    events: Broker
    clients: Mapping[ProviderKey, ProviderClient]
    budget: float = 30.0  # seconds for one check, the account and every number
    checks_due: Callable[[], None] = field(default=lambda: None)  # wakes this process's worker
    webhooks_due: Callable[[], None] = field(default=lambda: None)  # wakes this process's webhook sender

    async def check(self, config_id: int, *, wanted: int | None = None) -> bool:
        """Ask about the configuration and store the answers; False when it is gone or changed
        meanwhile (`wanted`: the change count the check was claimed for, None: as it is now)."""
        async with self.db.reading_rows() as connection:
            config = await checks.config_to_check(connection, config_id=config_id)
            numbers = await checks.numbers_to_check(connection, config_id=config_id)
            if wanted is None:
                wanted = (await connection.execute(
                    sa.select(checks.CHECKS.c.wanted).where(checks.CHECKS.c.telephony_config_id == config_id)
                )).scalar_one_or_none()
        if config is None or wanted is None:
            return False
        provider = PROVIDERS[ProviderKey(config.provider)]
        answers = await self.ask(provider, Account(stored_config(config, self.vault)), numbers)
        async with writing(self.db, config.organization_id) as session:
            if await checks.wanted_now(session, config_id=config_id) != wanted:
                return False
            now = utcnow()
            account_before, numbers_before = await checks.statuses_before(
                session, config_id=config_id, number_ids=list(answers.numbers)
            )
            await checks.record_account(
                session, config_id=config_id, status=answers.status, message=answers.message, now=now
            )
            await checks.record_numbers(session, answers.numbers.items())
            # The provider's answers are the server's doing, whoever asked for the check.
            queued = await audit.record(session, self.vault, org_id=config.organization_id, actor=SYSTEM,
                                        happenings=_status_changes(config_id, account_before, answers, numbers_before))
        await self.events.publish(config.organization_id)
        if queued:
            self.webhooks_due()
        return True

    async def check_now(self, org_id: int, config_id: int | None) -> ConfigRow:
        """checkTelephonyConfig: the organization's configuration, checked before this returns."""
        async with self.db.reading_rows() as connection:
            found = config_id is not None and await connection.scalar(
                sa.select(checks.CHECKS.c.telephony_config_id).where(
                    checks.CHECKS.c.telephony_config_id == config_id, checks.CHECKS.c.organization_id == org_id
                )
            )
        if not found:
            raise UserErrors.one(CONFIG_PATH, "No telephony configuration has this id.", ErrorCode.NOT_FOUND)
        assert config_id is not None
        await self.check(config_id)
        return await self._config_as_now(org_id, config_id, CONFIG_PATH)

    async def _config_as_now(self, org_id: int, config_id: int, path: tuple[str, ...]) -> ConfigRow:
        """The configuration for the payload, read after the commit (a delete may have won)."""
        async with self.db.reading_rows(one_statement=True) as connection:
            found = await queries.configs_by_ids(connection, org_id=org_id, ids=[config_id])
        if config_id not in found:
            raise UserErrors.one(path, "No telephony configuration has this id.", ErrorCode.NOT_FOUND)
        return found[config_id]

    async def ask(self, provider: Provider, account: Account, numbers: Sequence[tuple[int, str]]) -> Answers:
        """What the provider says, within the budget: what was learned before it ran out is kept."""
        name = provider.name
        status = AccountStatus.UNREACHABLE
        message: str | None = f"{name} did not answer within {self.budget:g} seconds."
        found: dict[int, NumberCheck] = {}
        client = self.clients[provider.key]
        try:
            async with asyncio.timeout(self.budget):
                try:
                    answer = await client.check_account(self.http, account)
                    status, message = answer.status, bounded(answer.message)
                except ProviderFailure as failure:
                    status, message = failure.status, bounded(failure.message)
                if status is AccountStatus.REJECTED and provider.checks_numbers:
                    unknown = unknown_number(utcnow(), f"{name} refused the credentials, so it was not asked.")
                    found.update((number_id, unknown) for number_id, _ in numbers)
                elif status in ANSWERED and provider.checks_numbers:
                    await self._ask_numbers(client, provider, account, numbers, found)
        except TimeoutError:
            pass
        return Answers(status, message, found)

    async def _ask_numbers(
        self, client: ProviderClient, provider: Provider, account: Account, numbers: Sequence[tuple[int, str]],
        found: dict[int, NumberCheck],
    ) -> None:
        """Fills `found` as answers come; a number the provider could not be asked about keeps
        its last check."""
        listed = [(number_id, number) for number_id, number in numbers if number.startswith("+")]
        for number_id, number in numbers:
            if not number.startswith("+"):
                found[number_id] = unknown_number(utcnow(), f"A SIP URI is not in {provider.name}'s number inventory.")
        if len(listed) <= LOOKUPS_ONE_BY_ONE and client.looks_up_one_number:
            gate = asyncio.Semaphore(LOOKUPS_AT_ONCE)

            async def look_up(number_id: int, number: str) -> None:
                async with gate:
                    try:
                        entry = await client.find_number(self.http, account, number)
                    except ProviderFailure:
                        return
                inventory = {} if entry is None else {number: entry}
                found[number_id] = number_check_from(number, inventory, now=utcnow(), provider_name=provider.name)

            await asyncio.gather(*(look_up(number_id, number) for number_id, number in listed))
            return
        try:
            inventory = {entry.number: entry async for entry in client.inventory(self.http, account)}
        except ProviderFailure:
            return
        now = utcnow()
        for number_id, number in listed:
            found[number_id] = number_check_from(number, inventory, now=now, provider_name=provider.name)

    async def import_numbers(
        self, org_id: int, config_id: int | None, *, actor: Actor = SYSTEM,
    ) -> tuple[Imported, ConfigRow]:
        """Registers every voice number of the account not yet registered in the organization."""
        async with self.db.reading_rows() as connection:
            config = None if config_id is None else await checks.config_to_check(connection, config_id=config_id)
        if config is None or config.organization_id != org_id:
            raise UserErrors.one(IMPORT_PATH, "No telephony configuration has this id.", ErrorCode.NOT_FOUND)
        provider = PROVIDERS[ProviderKey(config.provider)]
        if not provider.imports_numbers:
            raise UserErrors.one(
                IMPORT_PATH, f"{provider.name} has no number inventory to import from.", ErrorCode.INVALID
            )
        inventory = await self._whole_inventory(provider, Account(stored_config(config, self.vault)))
        voice = {entry.number: entry for entry in inventory if entry.voice is not False}
        now = utcnow()
        async with writing(self.db, org_id) as session:
            if await checks.wanted_now(session, config_id=config.id) is None:
                raise UserErrors.one(IMPORT_PATH, "No telephony configuration has this id.", ErrorCode.NOT_FOUND)
            added = await checks.insert_new_numbers(
                session, org_id=org_id, config_id=config.id, numbers=list(voice), now=now)
            await checks.record_numbers(session, (
                (number_id, NumberCheck(NumberStatus.IN_ACCOUNT, voice[number].voice, now, None))
                for number, number_id in added.items()
            ))
            queued = await audit.record(session, self.vault, org_id=org_id, actor=actor, happenings=numbers_added(
                NewNumber(number_id, number, config.id) for number, number_id in added.items()
            ))
        if added:
            await self.events.publish(org_id)
            if queued:
                self.webhooks_due()
        row = await self._config_as_now(org_id, config.id, IMPORT_PATH)
        return Imported(len(added), len(voice) - len(added)), row

    async def _whole_inventory(self, provider: Provider, account: Account) -> list[InventoryNumber]:
        client = self.clients[provider.key]
        try:
            async with asyncio.timeout(self.budget):
                return [entry async for entry in client.inventory(self.http, account)]
        except ProviderFailure as failure:
            raise UserErrors.one(IMPORT_PATH, failure.message, ErrorCode.PROVIDER_ERROR) from None
        except TimeoutError:
            message = f"{provider.name} did not list the numbers within {self.budget:g} seconds."
            raise UserErrors.one(IMPORT_PATH, message, ErrorCode.PROVIDER_ERROR) from None



def _status_changes(
    config_id: int, account_before: str | None, answers: Answers,
    numbers_before: Mapping[int, tuple[str, bool | None]],
) -> list[Happening]:
    """PROVIDER_CHECK_CHANGED for the account and for each number whose status or voice capability moved."""
    found = []
    if account_before != answers.status.value:
        found.append(Happening(AuditAction.PROVIDER_CHECK_CHANGED, "TelephonyConfig",
                               encode_id("TelephonyConfig", config_id),
                               (Change("providerCheck.status", account_before, answers.status.value),)))
    for number_id, check in answers.numbers.items():
        status, voice = numbers_before.get(number_id, (None, None))
        changes = tuple(change for change in (
            Change("providerCheck.status", status, check.status.value),
            Change("providerCheck.voiceCapable", voice, check.voice_capable),
        ) if change.before != change.after)
        if changes:
            found.append(Happening(AuditAction.PROVIDER_CHECK_CHANGED, "PhoneNumber",
                                   encode_id("PhoneNumber", number_id), changes))
    return found
