"""What a request carries: the long-lived runtime, the caller, and its own loaders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..crypto import Vault
from ..services.events import Broker
from ..services.phone_numbers import PhoneNumbers
from ..services.summary_feed import SummaryFeed
from ..services.telephony_configs import TelephonyConfigs
from ..services.tenancy import Principal
from ..settings import Settings
from ..storage.db import Database
from .loaders import Loaders
from .request_log import note_organization


@dataclass
class Runtime:
    """Built once at start-up and shared by every request."""

    settings: Settings
    db: Database
    vault: Vault
    broker: Broker

    def __post_init__(self) -> None:
        self.configs = TelephonyConfigs(self.db, self.vault, self.broker)
        self.numbers = PhoneNumbers(self.db, self.broker)
        self.summaries = SummaryFeed(self.db, self.vault, self.broker)


@dataclass
class Context:
    runtime: Runtime
    principal: Principal | None
    request: Any = None
    response: Any = None
    connection_params: dict[str, Any] | None = None
    loaders: Loaders = field(init=False)

    def __post_init__(self) -> None:
        self.authenticate_as(self.principal)

    def authenticate_as(self, principal: Principal | None) -> None:
        self.principal = principal
        self.loaders = Loaders(self.runtime.db, principal.org_id if principal else -1)
        if principal is not None:
            note_organization(self.request, principal.org_id)  # for the request's log line

    @property
    def org_id(self) -> int:
        assert self.principal is not None, "resolvers run only for authenticated requests"
        return self.principal.org_id
