"""Vonage: the account balance and the account's numbers (the REST API on rest.nexmo.com).

What this check can tell, and what it cannot: whether Vonage accepts the API key and secret,
whether credit is left, and each number's features (VOICE among them). It cannot tell a trial
(demo) account, a suspension, or whether the application ID and private key (which place the
calls) are valid: the balance and number APIs take only the key and secret.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from ..domain.provider_checks import AccountAnswer, AccountStatus, InventoryNumber, ProviderFailure
from ..domain.providers import ProviderKey
from .base import Account, ProviderClient
from .http import ProviderHttp
from .numbers import as_e164

PUBLIC_ORIGIN = "https://rest.nexmo.com"
MAX_PAGES = 500


def _unreadable() -> ProviderFailure:
    return ProviderFailure(AccountStatus.UNREACHABLE, "Vonage answered with something this server cannot read.")


def refused_in_body(body: Any) -> None:
    """Vonage's older endpoints may carry their outcome in the body (`error-code`, as a string)
    even with HTTP 200; "401" there is refused credentials like the HTTP status."""
    if not isinstance(body, Mapping) or "error-code" not in body:
        return
    code = str(body["error-code"])
    if code == "200":
        return
    if code in ("401", "403"):
        raise ProviderFailure(AccountStatus.REJECTED, f"Vonage rejected the credentials (error {code}).")
    raise ProviderFailure(AccountStatus.UNREACHABLE, "Vonage answered with an error.")


def balance_answer(body: Any) -> AccountAnswer:
    """`value` is the prepaid balance in euros; at zero or below Vonage refuses what costs money,
    calls included, while the account itself stays active."""
    refused_in_body(body)
    value = body.get("value") if isinstance(body, Mapping) else None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _unreadable()
    try:
        balance = Decimal(str(value))
    except InvalidOperation:
        raise _unreadable() from None
    if not balance.is_finite():
        raise _unreadable()
    if balance <= 0:
        return AccountAnswer(AccountStatus.ACTIVE, "Vonage reports no credit left: calls fail until it is topped up.")
    return AccountAnswer(AccountStatus.ACTIVE)


def number_params(index: int, size: int, number: str | None = None) -> dict[str, str | int]:
    params: dict[str, str | int] = {"index": index, "size": size}
    if number is not None:
        # search_pattern 0 is "starts with"; msisdn is the number's digits without the +.
        params.update(pattern=number.lstrip("+"), search_pattern=0)
    return params


def numbers_page(body: Any) -> tuple[list[InventoryNumber], int]:
    """A page of owned numbers and `count`, the account's total (0 for an empty page, so that the
    listing ends there). Vonage leaves `numbers` out when there are none."""
    refused_in_body(body)
    if not isinstance(body, Mapping):
        raise _unreadable()
    entries = body.get("numbers", [])
    count = body.get("count", 0)
    if not isinstance(entries, list) or isinstance(count, bool) or not isinstance(count, int):
        raise _unreadable()
    numbers = []
    for entry in entries:
        raw = entry.get("msisdn") if isinstance(entry, Mapping) else None
        number = as_e164(raw) if isinstance(raw, str) else None
        if number is not None:
            numbers.append(InventoryNumber(number, _voice(entry.get("features"))))
    return numbers, count if entries else 0


def _voice(features: Any) -> bool | None:
    if not isinstance(features, list):
        return None
    return any(isinstance(f, str) and f.upper() == "VOICE" for f in features)


@dataclass(frozen=True)
class VonageClient:
    looks_up_one_number = True
    page_size: int = 100  # Vonage's largest page

    async def _get(self, http: ProviderHttp, account: Account, path: str, params: dict[str, str | int] | None) -> Any:
        origin, _ = http.origin(ProviderKey.VONAGE, PUBLIC_ORIGIN)
        # Basic auth keeps the secret out of the query string, where Vonage also accepts it.
        reply = await http.get(
            ProviderKey.VONAGE, f"{origin}{path}", params=params, headers={"Accept": "application/json"},
            auth=(account.value("api_key"), account.value("api_secret")),
        )
        reply.require_ok()
        return reply.json()

    async def check_account(self, http: ProviderHttp, account: Account) -> AccountAnswer:
        return balance_answer(await self._get(http, account, "/account/get-balance", None))

    async def find_number(self, http: ProviderHttp, account: Account, number: str) -> InventoryNumber | None:
        body = await self._get(http, account, "/account/numbers", number_params(1, self.page_size, number))
        numbers, _ = numbers_page(body)
        return next((found for found in numbers if found.number == number), None)

    async def inventory(self, http: ProviderHttp, account: Account) -> AsyncIterator[InventoryNumber]:
        for index in range(1, MAX_PAGES + 1):
            numbers, count = numbers_page(
                await self._get(http, account, "/account/numbers", number_params(index, self.page_size))
            )
            for number in numbers:
                yield number
            if index * self.page_size >= count:
                return
        raise ProviderFailure(AccountStatus.UNREACHABLE, f"Vonage listed more than {MAX_PAGES} pages of numbers.")


CLIENT: ProviderClient = VonageClient()
