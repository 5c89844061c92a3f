"""Twilio: the account resource and the account's incoming phone numbers.

What this check can tell, and what it cannot: whether Twilio accepts the Account SID and auth
token, and whether the account is active, a trial (calls only to verified numbers), suspended or
closed; each number's voice capability. It cannot tell whether the balance covers calls, or
whether a number is wired to a voice application.
"""

from __future__ import annotations

from ..domain.providers import ProviderKey
from . import twilio_api
from .base import Account, ProviderClient
from .http import ProviderHttp

PUBLIC_ORIGIN = "https://api.twilio.com"


def endpoint(http: ProviderHttp, account: Account) -> twilio_api.Endpoint:
    origin, _ = http.origin(ProviderKey.TWILIO, PUBLIC_ORIGIN)
    sid = account.value("account_sid")
    return twilio_api.Endpoint(
        ProviderKey.TWILIO, origin, twilio_api.account_path("", sid), (sid, account.value("auth_token"))
    )


CLIENT: ProviderClient = twilio_api.TwilioStyleClient(endpoint, page_size=200)  # Twilio allows up to 1000
