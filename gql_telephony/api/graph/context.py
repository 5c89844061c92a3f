"""What a request carries: the long-lived runtime, the caller, and its own loaders."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from ...services.tenancy import Principal
from .loaders import Loaders
from ..middleware.request_log import note_organization
from ..runtime import Runtime


# Loaders belong to one operation, not to a Context: a WebSocket's Context lives as long as the
# socket and serves many operations, each in its own task (and so its own context variables).
_operation_loaders: ContextVar[tuple[Context, Loaders] | None] = ContextVar("operation_loaders", default=None)


@dataclass
class Context:
    runtime: Runtime
    principal: Principal | None
    request: Any = None
    response: Any = None
    connection_params: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        self.authenticate_as(self.principal)

    def authenticate_as(self, principal: Principal | None) -> None:
        self.principal = principal
        if principal is not None:
            note_organization(self.request, principal.org_id)  # for the request's log line

    @property
    def loaders(self) -> Loaders:
        """This operation's loaders, made on first use."""
        current = _operation_loaders.get()
        if current is None or current[0] is not self:
            return self.renew_loaders()
        return current[1]

    def renew_loaders(self) -> Loaders:
        """Forget everything loaded so far (at the start of an operation, after each mutation)."""
        loaders = Loaders(self.runtime.db, self.principal.org_id if self.principal else -1)
        _operation_loaders.set((self, loaders))
        return loaders

    @property
    def org_id(self) -> int:
        assert self.principal is not None, "resolvers run only for authenticated requests"
        return self.principal.org_id
