"""Cloudonix: the configured domain and its DNIDs, through Cloudonix's API.Core
(https://api.cloudonix.io, `Authorization: Bearer <key>`).

What this check can tell, and what it cannot: whether Cloudonix accepts the bearer token for the
configured domain, and whether that domain and its customer are active (either inactive is
SUSPENDED); whether a number is routed into the domain by an exact DNID. Cloudonix has no trial
state, says nothing of the customer account's billing; a number routed only by a pattern DNID
reads as not in the domain, and a DNID only routes inbound calls: it does not prove the number
may be used as an outbound caller ID.

The domain is read as `GET /customers/self/domains/{domain}` ("self" is the customer that owns
the key, so a customer key and a key of that domain both work) and its DNIDs as
`GET .../domains/{domain}/dnids`, which Cloudonix answers with one JSON array, unpaged. DNIDs that
are patterns (prefix, glob or Asterisk-style) are not numbers and are left out.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

from ..domain.provider_checks import AccountAnswer, AccountStatus, InventoryNumber, ProviderFailure
from ..domain.providers import ProviderKey
from .answers import as_list, as_object, flag, scan_for
from .base import Account
from .http import ProviderHttp, Reply
from .numbers import as_e164

PROVIDER = ProviderKey.CLOUDONIX
PUBLIC_ORIGIN = "https://api.cloudonix.io"
PATTERN_FLAGS = ("prefix", "expression", "asteriskCompatible")


def domain_path(domain: str) -> str:
    return f"/customers/self/domains/{quote(domain, safe='')}"


def dnids_path(domain: str) -> str:
    return f"{domain_path(domain)}/dnids"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept": "application/json"}


def account_answer(body: Any) -> AccountAnswer:
    domain = as_object(body, PROVIDER)
    if flag(domain.get("active")) is False:
        return AccountAnswer(AccountStatus.SUSPENDED, "Cloudonix says the domain is deactivated.")
    tenant = domain.get("tenant")
    if isinstance(tenant, dict) and flag(tenant.get("active")) is False:
        return AccountAnswer(AccountStatus.SUSPENDED, "Cloudonix says the customer account is deactivated.")
    return AccountAnswer(AccountStatus.ACTIVE)


def inventory_number(dnid: Any) -> InventoryNumber | None:
    """An exact DNID as a number; None for a pattern or a source that is not a phone number.
    Voice: False when the DNID is inactive (no call is routed by it) or bound to a messaging
    application only; True when bound to a voice application; otherwise not known."""
    if not isinstance(dnid, dict) or not isinstance(dnid.get("source"), str):
        return None
    if any(flag(dnid.get(name)) for name in PATTERN_FLAGS):
        return None
    number = as_e164(dnid["source"])
    if number is None:
        return None
    voice_application = any(dnid.get(key) not in (None, "") for key in ("applicationId", "applicationName"))
    messaging_application = dnid.get("messagingApplicationId") not in (None, "")
    voice: bool | None = None
    if flag(dnid.get("active")) is False:
        voice = False
    elif voice_application:
        voice = True
    elif messaging_application:
        voice = False
    return InventoryNumber(number, voice)


def inventory_numbers(body: Any) -> list[InventoryNumber]:
    return [n for n in (inventory_number(d) for d in as_list(body, PROVIDER)) if n is not None]


def require_domain(reply: Reply) -> None:
    """A 404 names the configured domain as unknown (to this key): a configuration to fix."""
    if reply.status == 404:
        raise ProviderFailure(AccountStatus.REJECTED, "Cloudonix has no such domain, or this key cannot see it.")
    reply.require_ok()


class CloudonixClient:
    looks_up_one_number = False
    async def check_account(self, http: ProviderHttp, account: Account) -> AccountAnswer:
        origin, domain, headers = _session(http, account)
        reply = await http.get(PROVIDER, origin + domain_path(domain), headers=headers)
        require_domain(reply)
        return account_answer(reply.json())

    async def find_number(self, http: ProviderHttp, account: Account, number: str) -> InventoryNumber | None:
        return await scan_for(self.inventory(http, account), number)

    async def inventory(self, http: ProviderHttp, account: Account) -> AsyncIterator[InventoryNumber]:
        origin, domain, headers = _session(http, account)
        reply = await http.get(PROVIDER, origin + dnids_path(domain), headers=headers)
        require_domain(reply)
        for number in inventory_numbers(reply.json()):
            yield number


def _session(http: ProviderHttp, account: Account) -> tuple[str, str, dict[str, str]]:
    origin, _ = http.origin(PROVIDER, PUBLIC_ORIGIN)
    return origin, account.value("domain_id"), bearer(account.value("bearer_token"))


CLIENT = CloudonixClient()
