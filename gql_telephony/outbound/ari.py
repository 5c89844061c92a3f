"""Asterisk ARI: the tenant's own Asterisk, asked `GET {ari_endpoint}/ari/asterisk/info` with the
ARI user (app_name) and password in basic auth.

What this check can tell, and what it cannot: whether the Asterisk HTTP server answers at the
endpoint and accepts the ARI user and password, and which Asterisk version it runs. It cannot
tell whether the Stasis application is registered, whether the trunks can dial out, or anything
about numbers: Asterisk keeps no inventory of caller-ID numbers.

The endpoint is typed by the tenant, so the request goes through the guard that refuses private
addresses, unless the operator has set the origin (GQL_TELEPHONY_PROVIDER_API_ARI).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

from ..domain.provider_checks import AccountAnswer, AccountStatus, InventoryNumber, ProviderFailure
from ..domain.providers import ProviderKey
from .answers import as_object
from .base import Account
from .http import ProviderHttp

PROVIDER = ProviderKey.ARI
INFO_PATH = "/ari/asterisk/info"
# What a version may hold to be repeated in a message: Asterisk spells it like "20.5.0",
# "18.12.0-cert1" or "GIT-master-0b2cbeaM". Anything else is not repeated.
_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+~_-]{0,39}")


def info_url(endpoint: str) -> str:
    """The info resource under the endpoint; an endpoint already ending in /ari is not doubled."""
    base = endpoint.rstrip("/")
    return base.removesuffix("/ari") + INFO_PATH


def asterisk_version(body: Any) -> str | None:
    system = as_object(body, PROVIDER).get("system")
    version = system.get("version") if isinstance(system, dict) else None
    return version if isinstance(version, str) and _VERSION.fullmatch(version) else None


def account_answer(body: Any) -> AccountAnswer:
    version = asterisk_version(body)
    return AccountAnswer(AccountStatus.ACTIVE, f"Asterisk {version} answered." if version else "Asterisk answered.")


def no_inventory() -> ProviderFailure:
    return ProviderFailure(AccountStatus.UNREACHABLE, "Asterisk ARI has no number inventory.")


class AriClient:
    looks_up_one_number = False
    async def check_account(self, http: ProviderHttp, account: Account) -> AccountAnswer:
        endpoint, set_by_operator = http.origin(PROVIDER, account.value("ari_endpoint"))
        reply = await http.get(
            PROVIDER, info_url(endpoint), auth=(account.value("app_name"), account.value("app_password")),
            tenant_host=not set_by_operator,
        )
        if reply.status == 404:
            raise ProviderFailure(AccountStatus.UNREACHABLE, "Asterisk answered HTTP 404: is ARI enabled there?")
        reply.require_ok()
        return account_answer(reply.json())

    # The service never asks ARI about numbers (its declaration says it does not check or
    # import them); these refuse plainly in case something does.
    async def find_number(self, http: ProviderHttp, account: Account, number: str) -> InventoryNumber | None:
        raise no_inventory()

    async def inventory(self, http: ProviderHttp, account: Account) -> AsyncIterator[InventoryNumber]:
        raise no_inventory()
        yield  # unreachable: makes this an async generator, as the protocol has it


CLIENT = AriClient()
