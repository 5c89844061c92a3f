"""What a provider says about an account and its numbers, and what that means for the warnings.

Plain values and rules: the clients in `outbound/` produce the answers, the services store
them, and the warning rules (domain/warnings.py) read them back.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class AccountStatus(enum.Enum):
    ACTIVE = "ACTIVE"
    TRIAL = "TRIAL"
    SUSPENDED = "SUSPENDED"
    CLOSED = "CLOSED"
    REJECTED = "REJECTED"  # the credentials (or the host a tenant typed) were refused
    UNREACHABLE = "UNREACHABLE"  # no usable answer: timeout, refused connection, 5xx, 429 past retries


class NumberStatus(enum.Enum):
    IN_ACCOUNT = "IN_ACCOUNT"
    NOT_IN_ACCOUNT = "NOT_IN_ACCOUNT"
    UNKNOWN = "UNKNOWN"


# The longest message kept (the column's width); a longer one is cut.
MAX_MESSAGE_LENGTH = 300


def bounded(message: str | None) -> str | None:
    """A message as kept: printable ASCII (a provider's version string may hold anything; this
    also bounds its JSON to two bytes a character), cut to MAX_MESSAGE_LENGTH."""
    if message is None:
        return None
    text = "".join(ch if " " <= ch <= "~" else "?" for ch in message)
    return text if len(text) <= MAX_MESSAGE_LENGTH else text[: MAX_MESSAGE_LENGTH - 3] + "..."


# The statuses that are an answer from the provider about the account itself.
ANSWERED = frozenset({AccountStatus.ACTIVE, AccountStatus.TRIAL, AccountStatus.SUSPENDED, AccountStatus.CLOSED})


@dataclass(frozen=True)
class AccountAnswer:
    """The account as the provider described it (never REJECTED or UNREACHABLE: those are
    ProviderFailure)."""

    status: AccountStatus
    message: str | None = None


@dataclass(frozen=True)
class InventoryNumber:
    """One number of the account's inventory, in E.164 (or as the provider spells a SIP user)."""

    number: str
    voice: bool | None  # None: the provider does not say


@dataclass(frozen=True)
class AccountCheck:
    """A configuration's stored check: `checked_at` is when the provider last answered, or
    when it was first asked if it never has."""

    status: AccountStatus
    checked_at: datetime
    message: str | None


@dataclass(frozen=True)
class NumberCheck:
    status: NumberStatus
    voice_capable: bool | None
    checked_at: datetime
    message: str | None


@dataclass(frozen=True)
class NumberProblem:
    """A registered number the provider said something wrong about (for the warnings)."""

    number_id: int
    phone_number: str
    status: NumberStatus
    voice_capable: bool | None


class ProviderFailure(Exception):
    """The provider gave no usable answer. `message` is ours, for people: it never holds a
    secret or the provider's raw body."""

    def __init__(self, status: AccountStatus, message: str) -> None:
        assert status in (AccountStatus.REJECTED, AccountStatus.UNREACHABLE)
        super().__init__(message)
        self.status = status
        self.message = message


def number_check_from(
    number: str, inventory: dict[str, InventoryNumber], *, now: datetime, provider_name: str
) -> NumberCheck:
    """A registered number's check, given the account's numbers found (keyed by number)."""
    found = inventory.get(number)
    if found is None:
        message = f"{provider_name} does not list this number in the account."
        return NumberCheck(NumberStatus.NOT_IN_ACCOUNT, None, now, message)
    if found.voice is False:
        message = f"{provider_name} says this number cannot carry voice calls."
        return NumberCheck(NumberStatus.IN_ACCOUNT, False, now, message)
    return NumberCheck(NumberStatus.IN_ACCOUNT, found.voice, now, None)


def unknown_number(now: datetime, message: str) -> NumberCheck:
    return NumberCheck(NumberStatus.UNKNOWN, None, now, message)
