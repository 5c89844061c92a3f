"""Exotel: the account and its ExoPhones, through Exotel's API on the account's cluster
(https://api.exotel.com in Singapore or https://api.in.exotel.com in Mumbai), with basic auth
api_key:api_token.

What this check can tell, and what it cannot: whether Exotel accepts the API key and token for
the account SID, and whether it refuses service for the plan or balance (HTTP 402, SUSPENDED);
whether a number is one of the account's ExoPhones and, when Exotel says, whether it carries
voice. Exotel documents no account status or type: a suspended or closed account cannot be told
from refused credentials, and a trial is only recognised by a pricing plan named as one.

Requests: the account is read through `GET /v1/Accounts/{sid}/Balance.json` (the account
resource Exotel documents; it answers with the balance and pricing plan), the numbers through
`GET /v2_beta/Accounts/{sid}/IncomingPhoneNumbers`, paged with Page (from 0) and PageSize. Its
`next_page_uri` names another host (twilix.exotel.com, over http): only its Page is read, and the
next request goes to the same origin as the first.

Assumption: Exotel gives ExoPhones in national form (08047112233). They are read in the region of
the account's API host: IN for api.in.exotel.com, SG for api.exotel.com; on api.exotel.com a
number that is not a valid Singapore number is read as Indian, since Exotel's Singapore cluster
also serves Indian accounts (Exotel's home market). The host is taken from the configuration,
not from the origin called, so an operator's override does not change it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from ..domain.field_checks import EXOTEL_API_HOSTS
from ..domain.provider_checks import AccountAnswer, AccountStatus, InventoryNumber, ProviderFailure
from ..domain.providers import ProviderKey
from .answers import as_list, as_object, flag, scan_for
from .base import Account
from .http import ProviderHttp
from .numbers import as_e164

PROVIDER = ProviderKey.EXOTEL
DEFAULT_HOST = EXOTEL_API_HOSTS[0]  # api.exotel.com, the field's default
REGIONS = {"api.exotel.com": "SG", "api.in.exotel.com": "IN"}
FALLBACK_REGION = "IN"  # where a national number that is not valid in the host's region is read
PAGE_SIZE = 50


def api_host(account: Account) -> str:
    host = (account.optional("subdomain") or DEFAULT_HOST).lower()
    return host if host in REGIONS else DEFAULT_HOST


def region_of(host: str) -> str:
    return REGIONS.get(host, REGIONS[DEFAULT_HOST])


def balance_path(sid: str) -> str:
    return f"/v1/Accounts/{quote(sid, safe='')}/Balance.json"


def numbers_path(sid: str) -> str:
    return f"/v2_beta/Accounts/{quote(sid, safe='')}/IncomingPhoneNumbers"


def account_answer(body: Any) -> AccountAnswer:
    account = as_object(as_object(body, PROVIDER).get("Account"), PROVIDER)
    data = account.get("BalanceData")
    plan = data.get("PricingPlan") if isinstance(data, dict) else None
    if isinstance(plan, str) and "trial" in plan.lower():
        return AccountAnswer(AccountStatus.TRIAL, "Exotel says the account is on a trial plan.")
    return AccountAnswer(AccountStatus.ACTIVE)


def inventory_number(entry: Any, region: str) -> InventoryNumber | None:
    if not isinstance(entry, dict) or not isinstance(entry.get("phone_number"), str):
        return None
    number = as_e164(entry["phone_number"], region) or as_e164(entry["phone_number"], FALLBACK_REGION)
    if number is None:
        return None
    capabilities = entry.get("capabilities")
    return InventoryNumber(number, flag(capabilities.get("voice")) if isinstance(capabilities, dict) else None)


def next_page(uri: Any, page: int) -> int | None:
    """The Page named by `next_page_uri`, or None at the end (no uri, or one that does not
    move forward, which would loop)."""
    if not isinstance(uri, str) or not uri:
        return None
    values = parse_qs(urlsplit(uri).query).get("Page", [])
    following = int(values[0]) if values and values[0].isdigit() else page + 1
    return following if following > page else None


@dataclass(frozen=True)
class NumberPage:
    numbers: list[InventoryNumber]
    next_page: int | None


def number_page(body: Any, page: int, region: str) -> NumberPage:
    answer = as_object(body, PROVIDER)
    entries = as_list(answer.get("incoming_phone_numbers", []), PROVIDER)
    numbers = [n for n in (inventory_number(e, region) for e in entries) if n is not None]
    return NumberPage(numbers, next_page(answer.get("next_page_uri"), page) if entries else None)


class ExotelClient:
    looks_up_one_number = False
    async def check_account(self, http: ProviderHttp, account: Account) -> AccountAnswer:
        origin, sid, auth = _session(http, account)
        reply = await http.get(PROVIDER, origin + balance_path(sid), auth=auth)
        if reply.status == 402:
            return AccountAnswer(
                AccountStatus.SUSPENDED, "Exotel refuses service for the account's plan or balance (HTTP 402)."
            )
        if reply.status == 404:
            raise ProviderFailure(AccountStatus.REJECTED, "Exotel knows no account with this SID on this API host.")
        reply.require_ok()
        return account_answer(reply.json())

    async def find_number(self, http: ProviderHttp, account: Account, number: str) -> InventoryNumber | None:
        return await scan_for(self.inventory(http, account), number)

    async def inventory(self, http: ProviderHttp, account: Account) -> AsyncIterator[InventoryNumber]:
        origin, sid, auth = _session(http, account)
        region = region_of(api_host(account))
        page: int | None = 0
        while page is not None:
            reply = await http.get(
                PROVIDER, origin + numbers_path(sid), params={"Page": page, "PageSize": PAGE_SIZE}, auth=auth
            )
            reply.require_ok()
            answer = number_page(reply.json(), page, region)
            for number in answer.numbers:
                yield number
            page = answer.next_page


def _session(http: ProviderHttp, account: Account) -> tuple[str, str, tuple[str, str]]:
    origin, _ = http.origin(PROVIDER, f"https://{api_host(account)}")
    return origin, account.value("account_sid"), (account.value("api_key"), account.value("api_token"))


CLIENT = ExotelClient()
