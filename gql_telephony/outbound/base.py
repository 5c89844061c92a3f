"""What every provider client offers the services, and what it is given to do it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

from ..domain.config_rules import StoredConfig
from ..domain.provider_checks import AccountAnswer, InventoryNumber
from .http import ProviderHttp


@dataclass(frozen=True)
class Account:
    """A configuration as a client needs it: settings and secrets in clear. Never logged."""

    config: StoredConfig

    def value(self, key: str) -> str:
        """A required field's value (validation guarantees it is there)."""
        found = self.config.secrets.get(key, self.config.settings.get(key))
        return "" if found is None else str(found)

    def optional(self, key: str) -> str | None:
        found = self.config.secrets.get(key, self.config.settings.get(key))
        return None if found in (None, "") else str(found)


class ProviderClient(Protocol):
    """One per provider. Each method raises ProviderFailure (REJECTED or UNREACHABLE) when
    the provider gives no usable answer; a message never holds a secret or a raw body."""

    # Whether find_number asks the provider for the one number. False: the API has no such
    # request and find_number reads the inventory, so a check reads it once for all numbers.
    @property
    def looks_up_one_number(self) -> bool: ...

    async def check_account(self, http: ProviderHttp, account: Account) -> AccountAnswer:
        """The account's status (ACTIVE, TRIAL, SUSPENDED or CLOSED) and a short message."""
        ...

    async def find_number(self, http: ProviderHttp, account: Account, number: str) -> InventoryNumber | None:
        """The account's entry for one registered number (E.164), or None when it has none.
        Never called for a provider whose declaration says it does not check numbers."""
        ...

    def inventory(self, http: ProviderHttp, account: Account) -> AsyncIterator[InventoryNumber]:
        """Every number of the account, page after page, in E.164."""
        ...
