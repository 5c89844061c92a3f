"""Plivo: the account and its rented numbers, through Plivo's REST API (basic auth auth_id:auth_token).

What this check can tell, and what it cannot: whether Plivo accepts the auth ID and token, and
whether the account is a paid (standard) or free-trial (developer) one; whether a number is rented
in the account and can receive calls (`voice_enabled`). Plivo's account has no status field, so
a suspended or closed account cannot be told apart from refused credentials.

The auth ID is a secret and sits in every path: no URL ever goes into a message.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from ..domain.provider_checks import AccountAnswer, AccountStatus, InventoryNumber
from ..domain.providers import ProviderKey
from .answers import as_list, as_object, count, flag
from .base import Account
from .http import ProviderHttp
from .numbers import as_e164

PROVIDER = ProviderKey.PLIVO
PUBLIC_ORIGIN = "https://api.plivo.com"
PAGE_SIZE = 20  # Plivo's maximum `limit`

# Plivo documents two account types: standard (paid) and developer (free trial).
ACCOUNT_TYPES = {"standard": AccountStatus.ACTIVE, "developer": AccountStatus.TRIAL}


def account_path(auth_id: str) -> str:
    return f"/v1/Account/{quote(auth_id, safe='')}/"


def numbers_path(auth_id: str) -> str:
    return f"{account_path(auth_id)}Number/"


def number_path(auth_id: str, number: str) -> str:
    """Plivo spells numbers as digits with the country code and no '+'."""
    return f"{numbers_path(auth_id)}{quote(number.removeprefix('+'), safe='')}/"


def account_answer(body: Any) -> AccountAnswer:
    account_type = as_object(body, PROVIDER).get("account_type")
    status = ACCOUNT_TYPES.get(account_type.lower()) if isinstance(account_type, str) else None
    if status is None:
        return AccountAnswer(AccountStatus.ACTIVE, "Plivo accepted the credentials; its account type is new to us.")
    if status is AccountStatus.TRIAL:
        return AccountAnswer(status, "Plivo says this is a free-trial (developer) account.")
    return AccountAnswer(status)


def inventory_number(entry: Any) -> InventoryNumber | None:
    """One AccountPhoneNumber object; None when its number is not a valid phone number."""
    if not isinstance(entry, dict) or not isinstance(entry.get("number"), str):
        return None
    number = as_e164(entry["number"])
    return None if number is None else InventoryNumber(number, flag(entry.get("voice_enabled")))


@dataclass(frozen=True)
class NumberPage:
    numbers: list[InventoryNumber]
    next_offset: int | None  # None: this was the last page


def number_page(body: Any, offset: int) -> NumberPage:
    """A page of the number list. Plivo's `meta.next` is a path holding the auth ID: it is not
    followed, only read as "there is more"; the next offset is counted from what came."""
    page = as_object(body, PROVIDER)
    entries = as_list(page.get("objects", []), PROVIDER)
    meta = page.get("meta")
    meta = meta if isinstance(meta, dict) else {}
    numbers = [n for n in (inventory_number(e) for e in entries) if n is not None]
    following = offset + len(entries)
    total = count(meta.get("total_count"))
    more = bool(meta.get("next")) and bool(entries) and (total is None or following < total)
    return NumberPage(numbers, following if more else None)


class PlivoClient:
    looks_up_one_number = True
    async def check_account(self, http: ProviderHttp, account: Account) -> AccountAnswer:
        origin, auth_id, auth = _session(http, account)
        reply = await http.get(PROVIDER, origin + account_path(auth_id), auth=auth)
        reply.require_ok()
        return account_answer(reply.json())

    async def find_number(self, http: ProviderHttp, account: Account, number: str) -> InventoryNumber | None:
        origin, auth_id, auth = _session(http, account)
        reply = await http.get(PROVIDER, origin + number_path(auth_id, number), auth=auth)
        if reply.status == 404:  # Plivo's answer for a number that is not in the account
            return None
        reply.require_ok()
        found = inventory_number(reply.json())
        return found if found is not None and found.number == number else None

    async def inventory(self, http: ProviderHttp, account: Account) -> AsyncIterator[InventoryNumber]:
        origin, auth_id, auth = _session(http, account)
        offset: int | None = 0
        while offset is not None:
            reply = await http.get(
                PROVIDER, origin + numbers_path(auth_id), params={"limit": PAGE_SIZE, "offset": offset}, auth=auth
            )
            reply.require_ok()
            page = number_page(reply.json(), offset)
            for number in page.numbers:
                yield number
            offset = page.next_offset


def _session(http: ProviderHttp, account: Account) -> tuple[str, str, tuple[str, str]]:
    origin, _ = http.origin(PROVIDER, PUBLIC_ORIGIN)
    auth_id = account.value("auth_id")
    return origin, auth_id, (auth_id, account.value("auth_token"))


CLIENT = PlivoClient()
