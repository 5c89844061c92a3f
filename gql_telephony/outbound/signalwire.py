"""SignalWire: the project and its numbers, through the Twilio-compatible (LaML) API on the tenant's space.

What this check can tell, and what it cannot: whether the space accepts the project ID and API
token, whether the project is active, a trial, suspended or closed, and each number's voice
capability; not whether the balance covers calls. The space's host is the tenant's, so one that
resolves to a private or loopback address is refused before any request.
"""

from __future__ import annotations

from ..domain.field_checks import CheckFailed, signalwire_space
from ..domain.provider_checks import AccountStatus, ProviderFailure
from ..domain.providers import ProviderKey
from . import twilio_api
from .base import Account, ProviderClient
from .http import ProviderHttp


def space_host(space_url: str) -> str:
    """The space's host name, checked again by the rule that validated it when it was saved (a
    value stored before that rule, or by other means, must not choose a port, path or user)."""
    try:
        return signalwire_space(space_url)
    except CheckFailed:
        raise ProviderFailure(AccountStatus.REJECTED, "The SignalWire space URL is not a host name.") from None


def endpoint(http: ProviderHttp, account: Account) -> twilio_api.Endpoint:
    origin, operator = http.origin(ProviderKey.SIGNALWIRE, f"https://{space_host(account.value('space_url'))}")
    project = account.value("project_id")
    return twilio_api.Endpoint(
        ProviderKey.SIGNALWIRE, origin, twilio_api.account_path("/api/laml", project),
        (project, account.value("api_token")),
        # Only a host the operator chose may be private; the tenant's space goes through the guard.
        tenant_host=not operator,
    )


CLIENT: ProviderClient = twilio_api.TwilioStyleClient(endpoint, page_size=200)
