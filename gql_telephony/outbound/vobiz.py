"""Vobiz: the account and its numbers, through Vobiz's REST API (docs.vobiz.ai), which
authenticates every request with the X-Auth-ID and X-Auth-Token headers.

What this check can tell, and what it cannot: whether Vobiz accepts the auth ID and token, and
whether it reports the account inactive or disabled (SUSPENDED) or a trial (TRIAL); whether a
number is assigned to the account and enabled for voice. Vobiz has no "closed" state, and lists
a master account's numbers together with its sub-accounts' (it does not say which are usable).

Vobiz names its credentials as Plivo does, but its endpoints and answers are its own: the account
is `GET /api/v1/auth/me`, numbers are `GET /api/v1/account/{auth_id}/numbers` with items under
`items` in E.164 (`e164`). Its documentation pages disagree on how to ask for a page (page and
per_page, or limit and offset); both are sent, saying the same thing, and the answer's `total`
decides when to stop. It documents no read of a single number, so one is found in the list.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from ..domain.provider_checks import AccountAnswer, AccountStatus, InventoryNumber
from ..domain.providers import ProviderKey
from .answers import as_list, as_object, count, flag, scan_for
from .base import Account
from .http import ProviderHttp
from .numbers import as_e164

PROVIDER = ProviderKey.VOBIZ
PUBLIC_ORIGIN = "https://api.vobiz.ai"
PAGE_SIZE = 100  # Vobiz's maximum per_page
ACCOUNT_PATH = "/api/v1/auth/me"


def numbers_path(auth_id: str) -> str:
    return f"/api/v1/account/{quote(auth_id, safe='')}/numbers"


def auth_headers(auth_id: str, auth_token: str) -> dict[str, str]:
    return {"X-Auth-ID": auth_id, "X-Auth-Token": auth_token, "Accept": "application/json"}


def page_params(page: int) -> dict[str, str | int]:
    """Page `page` (from 1) in both spellings Vobiz documents."""
    return {"page": page, "per_page": PAGE_SIZE, "limit": PAGE_SIZE, "offset": (page - 1) * PAGE_SIZE}


def account_answer(body: Any) -> AccountAnswer:
    account = as_object(body, PROVIDER)
    if flag(account.get("is_active")) is False or flag(account.get("enabled")) is False:
        return AccountAnswer(AccountStatus.SUSPENDED, "Vobiz says the account is not active.")
    if flag(account.get("is_trial_account")) is True:
        return AccountAnswer(AccountStatus.TRIAL, "Vobiz says this is a trial account.")
    return AccountAnswer(AccountStatus.ACTIVE)


def inventory_number(entry: Any) -> InventoryNumber | None:
    """One phone number object; `voice_enabled` when given, else `capabilities.voice`."""
    if not isinstance(entry, dict) or not isinstance(entry.get("e164"), str):
        return None
    number = as_e164(entry["e164"])
    if number is None:
        return None
    voice = flag(entry.get("voice_enabled"))
    capabilities = entry.get("capabilities")
    if voice is None and isinstance(capabilities, dict):
        voice = flag(capabilities.get("voice"))
    return InventoryNumber(number, voice)


@dataclass(frozen=True)
class NumberPage:
    numbers: list[InventoryNumber]
    more: bool


def number_page(body: Any, page: int) -> NumberPage:
    answer = as_object(body, PROVIDER)
    entries = as_list(answer.get("items", []), PROVIDER)
    numbers = [n for n in (inventory_number(e) for e in entries) if n is not None]
    total = count(answer.get("total"))
    # An empty page ends the list even if `total` promises more (it would never come).
    more = bool(entries) and (total > page * PAGE_SIZE if total is not None else len(entries) >= PAGE_SIZE)
    return NumberPage(numbers, more)


class VobizClient:
    looks_up_one_number = False
    async def check_account(self, http: ProviderHttp, account: Account) -> AccountAnswer:
        origin, _, headers = _session(http, account)
        reply = await http.get(PROVIDER, origin + ACCOUNT_PATH, headers=headers)
        reply.require_ok()
        return account_answer(reply.json())

    async def find_number(self, http: ProviderHttp, account: Account, number: str) -> InventoryNumber | None:
        return await scan_for(self.inventory(http, account), number)

    async def inventory(self, http: ProviderHttp, account: Account) -> AsyncIterator[InventoryNumber]:
        origin, auth_id, headers = _session(http, account)
        page, more = 1, True
        while more:
            reply = await http.get(PROVIDER, origin + numbers_path(auth_id), params=page_params(page), headers=headers)
            reply.require_ok()
            answer = number_page(reply.json(), page)
            for number in answer.numbers:
                yield number
            page, more = page + 1, answer.more


def _session(http: ProviderHttp, account: Account) -> tuple[str, str, dict[str, str]]:
    origin, _ = http.origin(PROVIDER, PUBLIC_ORIGIN)
    auth_id = account.value("auth_id")
    return origin, auth_id, auth_headers(auth_id, account.value("auth_token"))


CLIENT = VobizClient()
