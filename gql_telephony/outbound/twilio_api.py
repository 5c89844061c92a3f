"""Twilio's 2010-04-01 REST API, as Twilio serves it and as SignalWire copies it (LaML).

Both answer the same account resource (`status`, `type`) and the same number list
(`incoming_phone_numbers`, `capabilities`, `next_page_uri`), so the reading lives here once;
twilio.py and signalwire.py only say where the API is and which credentials it takes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from ..domain.provider_checks import AccountAnswer, AccountStatus, InventoryNumber, ProviderFailure
from ..domain.providers import PROVIDERS, ProviderKey
from .base import Account
from .http import ProviderHttp
from .numbers import as_e164

# A listing longer than this is cut off with a failure rather than followed for ever.
MAX_PAGES = 500


@dataclass(frozen=True)
class Endpoint:
    """Where one account's API is and how to authenticate to it."""

    provider: ProviderKey
    origin: str  # scheme and host, no trailing slash
    account_path: str  # "/2010-04-01/Accounts/<sid>", already quoted
    auth: tuple[str, str]
    tenant_host: bool = False  # the host came from the tenant's configuration

    @property
    def name(self) -> str:
        return PROVIDERS[self.provider].name


def account_path(prefix: str, account_sid: str) -> str:
    # The id is quoted whole so that no value can add a path segment of its own.
    return f"{prefix}/2010-04-01/Accounts/{quote(account_sid, safe='')}"


def unreadable(name: str) -> ProviderFailure:
    return ProviderFailure(AccountStatus.UNREACHABLE, f"{name} answered with something this server cannot read.")


def account_answer(body: Any, name: str) -> AccountAnswer:
    """The account resource read as a status: `status` says active, suspended or closed, and an
    active account whose `type` is Trial is a trial."""
    if not isinstance(body, Mapping):
        raise unreadable(name)
    status, kind = body.get("status"), body.get("type")
    if status == "closed":
        return AccountAnswer(AccountStatus.CLOSED, f"{name} says the account is closed.")
    if status == "suspended":
        return AccountAnswer(AccountStatus.SUSPENDED, f"{name} says the account is suspended.")
    if status != "active":
        raise unreadable(name)
    if kind == "Trial":
        return AccountAnswer(
            AccountStatus.TRIAL, f"{name} says this is a trial account: it can call only verified numbers."
        )
    return AccountAnswer(AccountStatus.ACTIVE)


def inventory_number(entry: Any) -> InventoryNumber | None:
    """One entry of `incoming_phone_numbers`; None when it holds no valid number."""
    if not isinstance(entry, Mapping) or not isinstance(entry.get("phone_number"), str):
        return None
    number = as_e164(entry["phone_number"])
    if number is None:
        return None
    return InventoryNumber(number, _voice(entry.get("capabilities")))


def _voice(capabilities: Any) -> bool | None:
    if not isinstance(capabilities, Mapping):
        return None
    # Twilio spells the key `voice`; SignalWire's reference also writes `Voice`.
    for key, value in capabilities.items():
        if isinstance(key, str) and key.lower() == "voice" and isinstance(value, bool):
            return value
    return None


def numbers_page(body: Any, name: str) -> tuple[list[InventoryNumber], str | None]:
    """A page of the number list: its numbers and the path of the next page, if any."""
    entries, next_path = page_entries(body, name)
    return [n for n in map(inventory_number, entries) if n is not None], next_path


def page_entries(body: Any, name: str) -> tuple[list[Any], str | None]:
    """A page's entries, not yet read, and the path of the next page, if any."""
    if not isinstance(body, Mapping) or not isinstance(body.get("incoming_phone_numbers"), list):
        raise unreadable(name)
    return body["incoming_phone_numbers"], next_page_path(body.get("next_page_uri"), name)


def next_page_path(value: Any, name: str) -> str | None:
    """`next_page_uri` is a path on the same origin. Anything else (another host, a
    protocol-relative `//host`) is refused: the credentials go with every request."""
    if value is None or value == "":
        return None
    if (
        not isinstance(value, str) or not value.startswith("/") or value.startswith("//")
        or any(ch.isspace() or ch == "\\" or not ch.isprintable() for ch in value)
    ):
        raise ProviderFailure(AccountStatus.UNREACHABLE, f"{name} gave a next-page link this server does not follow.")
    return value


async def _get(http: ProviderHttp, endpoint: Endpoint, url: str, params: Mapping[str, str | int] | None) -> Any:
    reply = await http.get(
        endpoint.provider, url, params=params, headers={"Accept": "application/json"}, auth=endpoint.auth,
        tenant_host=endpoint.tenant_host,
    )
    reply.require_ok()
    return reply.json()


async def check_account(http: ProviderHttp, endpoint: Endpoint) -> AccountAnswer:
    body = await _get(http, endpoint, f"{endpoint.origin}{endpoint.account_path}.json", None)
    return account_answer(body, endpoint.name)


async def find_number(http: ProviderHttp, endpoint: Endpoint, number: str) -> InventoryNumber | None:
    # `PhoneNumber` also matches partial numbers, so the answer is compared in full.
    url = f"{endpoint.origin}{endpoint.account_path}/IncomingPhoneNumbers.json"
    body = await _get(http, endpoint, url, {"PhoneNumber": number, "PageSize": 50})
    numbers, _ = numbers_page(body, endpoint.name)
    return next((found for found in numbers if found.number == number), None)


# Entries read between two looks at the event loop while the next page is on its way.
READ_BETWEEN_TURNS = 25


async def inventory(http: ProviderHttp, endpoint: Endpoint, page_size: int) -> AsyncIterator[InventoryNumber]:
    """Every number of the account, page by page in the provider's order. The next page is asked
    for as soon as its link is known, while this one is read (its numbers validated): the same
    requests, one at a time and in the same order, but the provider's time overlaps ours."""
    url = f"{endpoint.origin}{endpoint.account_path}/IncomingPhoneNumbers.json"
    body = await _get(http, endpoint, url, {"PageSize": page_size})
    followed: set[str] = set()
    for page in range(1, MAX_PAGES + 1):
        entries, next_path = page_entries(body, endpoint.name)
        ahead = None
        if next_path is not None and next_path not in followed and page < MAX_PAGES:
            ahead = asyncio.ensure_future(_get(http, endpoint, endpoint.origin + next_path, None))
            ahead.add_done_callback(_retrieved)
        try:
            for start in range(0, len(entries), READ_BETWEEN_TURNS):
                if ahead is not None:
                    await asyncio.sleep(0)  # lets the next page's request go out, and its answer in
                for entry in entries[start:start + READ_BETWEEN_TURNS]:
                    number = inventory_number(entry)
                    if number is not None:
                        yield number
            if next_path is None:
                return
            if next_path in followed:
                raise ProviderFailure(
                    AccountStatus.UNREACHABLE, f"{endpoint.name} sent the same page of numbers twice."
                )
            followed.add(next_path)
            if ahead is None:
                break  # the last page allowed linked to one more
            body = await ahead
        finally:
            if ahead is not None and not ahead.done():
                ahead.cancel()  # the reader stopped (or ran out of time): nobody wants that page
    raise ProviderFailure(
        AccountStatus.UNREACHABLE, f"{endpoint.name} listed more than {MAX_PAGES} pages of numbers."
    )


def _retrieved(task: asyncio.Future[Any]) -> None:
    """A page read ahead that nobody awaited fails quietly (asyncio would log its exception)."""
    if not task.cancelled():
        task.exception()


@dataclass(frozen=True)
class TwilioStyleClient:
    """The client of Twilio's API or of a copy of it (SignalWire's), given where an account's
    endpoint is."""

    endpoint: Callable[[ProviderHttp, Account], Endpoint]
    page_size: int = 200
    looks_up_one_number = True  # the PhoneNumber filter

    async def check_account(self, http: ProviderHttp, account: Account) -> AccountAnswer:
        return await check_account(http, self.endpoint(http, account))

    async def find_number(self, http: ProviderHttp, account: Account, number: str) -> InventoryNumber | None:
        return await find_number(http, self.endpoint(http, account), number)

    async def inventory(self, http: ProviderHttp, account: Account) -> AsyncIterator[InventoryNumber]:
        # A generator itself, so that even a bad configuration fails where the numbers are read.
        async for number in inventory(http, self.endpoint(http, account), self.page_size):
            yield number
