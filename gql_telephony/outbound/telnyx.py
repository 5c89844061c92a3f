"""Telnyx: the account balance and the account's phone numbers (API v2).

What this check can tell, and what it cannot: whether Telnyx accepts the API key and whether
credit is left (with none, Telnyx blocks calls for billing: read as SUSPENDED). Not a trial or a
verification level, nor a disabled account apart from a key without permission (both are a 403),
nor a number's voice capability, which the number list does not give (left unknown).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from ..domain.provider_checks import AccountAnswer, AccountStatus, InventoryNumber, ProviderFailure
from ..domain.providers import ProviderKey
from .base import Account, ProviderClient
from .http import ProviderHttp, Reply
from .numbers import as_e164

PUBLIC_ORIGIN = "https://api.telnyx.com"
MAX_PAGES = 500


def _unreadable() -> ProviderFailure:
    return ProviderFailure(AccountStatus.UNREACHABLE, "Telnyx answered with something this server cannot read.")


def _headers(account: Account) -> dict[str, str]:
    return {"Authorization": f"Bearer {account.value('api_key')}", "Accept": "application/json"}


def require_ok(reply: Reply) -> None:
    """A 403 is Telnyx accepting the key but refusing it this account's data: a key without the
    permission, or an account Telnyx disabled. Either way the configuration cannot work."""
    if reply.status == 403:
        raise ProviderFailure(
            AccountStatus.REJECTED,
            "Telnyx refused this API key access to the account (HTTP 403): the key lacks permission "
            "or the account is disabled.",
        )
    reply.require_ok()


def _decimal(value: Any) -> Decimal | None:
    # Telnyx sends amounts as decimal strings.
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None


def balance_answer(body: Any) -> AccountAnswer:
    """`data.available_credit` is the balance plus the credit limit; at zero or below Telnyx
    stops the account's calls until it is funded."""
    data = body.get("data") if isinstance(body, Mapping) else None
    if not isinstance(data, Mapping):
        raise _unreadable()
    available = _decimal(data.get("available_credit"))
    if available is None:
        balance, limit = _decimal(data.get("balance")), _decimal(data.get("credit_limit"))
        if balance is None:
            raise _unreadable()
        available = balance + (limit or 0)
    if available <= 0:
        return AccountAnswer(
            AccountStatus.SUSPENDED, "Telnyx reports no available credit: it blocks calls until the account is funded."
        )
    return AccountAnswer(AccountStatus.ACTIVE)


def number_params(page: int, page_size: int, number: str | None = None) -> dict[str, str | int]:
    params: dict[str, str | int] = {"page[number]": page, "page[size]": page_size}
    if number is not None:
        # The filter takes digits only (any other character matches nothing) and matches partially.
        params["filter[phone_number]"] = "".join(ch for ch in number if ch.isdigit())
    return params


def numbers_page(body: Any) -> tuple[list[InventoryNumber], int]:
    """A page of the number list: its numbers and `meta.total_pages` (0 when the page is empty,
    so that the listing ends there whatever the meta says)."""
    if not isinstance(body, Mapping) or not isinstance(body.get("data"), list):
        raise _unreadable()
    numbers = []
    for entry in body["data"]:
        raw = entry.get("phone_number") if isinstance(entry, Mapping) else None
        number = as_e164(raw) if isinstance(raw, str) else None
        if number is not None:
            numbers.append(InventoryNumber(number, None))  # Telnyx's number list says nothing of voice
    meta = body.get("meta")
    total = meta.get("total_pages") if isinstance(meta, Mapping) else None
    if not body["data"]:
        return numbers, 0
    return numbers, total if isinstance(total, int) and not isinstance(total, bool) else 1


async def _numbers(
    http: ProviderHttp, account: Account, params: dict[str, str | int]
) -> tuple[list[InventoryNumber], int]:
    origin, _ = http.origin(ProviderKey.TELNYX, PUBLIC_ORIGIN)
    reply = await http.get(ProviderKey.TELNYX, f"{origin}/v2/phone_numbers", params=params, headers=_headers(account))
    require_ok(reply)
    return numbers_page(reply.json())


@dataclass(frozen=True)
class TelnyxClient:
    looks_up_one_number = True
    page_size: int = 250  # Telnyx's largest page

    async def check_account(self, http: ProviderHttp, account: Account) -> AccountAnswer:
        origin, _ = http.origin(ProviderKey.TELNYX, PUBLIC_ORIGIN)
        reply = await http.get(ProviderKey.TELNYX, f"{origin}/v2/balance", headers=_headers(account))
        require_ok(reply)
        return balance_answer(reply.json())

    async def find_number(self, http: ProviderHttp, account: Account, number: str) -> InventoryNumber | None:
        numbers, _ = await _numbers(http, account, number_params(1, self.page_size, number))
        return next((found for found in numbers if found.number == number), None)

    async def inventory(self, http: ProviderHttp, account: Account) -> AsyncIterator[InventoryNumber]:
        for page in range(1, MAX_PAGES + 1):
            numbers, total_pages = await _numbers(http, account, number_params(page, self.page_size))
            for number in numbers:
                yield number
            if page >= total_pages:
                return
        raise ProviderFailure(AccountStatus.UNREACHABLE, f"Telnyx listed more than {MAX_PAGES} pages of numbers.")


CLIENT: ProviderClient = TelnyxClient()
