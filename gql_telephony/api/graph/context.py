"""What a request carries: the long-lived runtime, the caller, and its operation's reads."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from ...domain.audit import Actor
from ...logs import current_request_id
from ...services.reader import Reader
from ...services.tenancy import Principal
from ..middleware.request_log import note_organization
from ..runtime import Runtime
from .fields import Batches
from .validated_documents import ValidatedDocument

# Reads belong to one operation, not to a Context: a WebSocket's Context lives as long as the
# socket and serves many operations, each in its own task (and so its own context variables).
_operation_batches: ContextVar[tuple[Context, Batches] | None] = ContextVar("operation_batches", default=None)


@dataclass
class Context:
    runtime: Runtime
    principal: Principal | None
    request: Any = None
    response: Any = None
    connection_params: dict[str, Any] | None = None
    validated: ValidatedDocument | None = None  # this HTTP request's document, validated by the plans

    def __post_init__(self) -> None:
        self.authenticate_as(self.principal)

    def authenticate_as(self, principal: Principal | None) -> None:
        self.principal = principal
        if principal is not None:
            note_organization(self.request, principal.org_id)  # for the request's log line

    @property
    def batches(self) -> Batches:
        """This operation's batched reads, made on first use."""
        current = _operation_batches.get()
        if current is None or current[0] is not self:
            return self.renew_reads()
        return current[1]

    @property
    def reader(self) -> Reader:
        return self.batches.reader

    def renew_reads(self) -> Batches:
        """Forget everything read so far (at the start of an operation, after each mutation)."""
        runtime = self.runtime
        batches = Batches(Reader(runtime.db, self.principal.org_id if self.principal else -1, runtime.vault,
                                 principal=self.principal))
        _operation_batches.set((self, batches))
        return batches

    @property
    def actor(self) -> Actor:
        """Who the audit trail names for this request's writes: its key, and the request id."""
        assert self.principal is not None, "resolvers run only for authenticated requests"
        return Actor(api_key_id=self.principal.key_id, label=self.principal.label,
                     request_id=current_request_id.get())

    @property
    def org_id(self) -> int:
        assert self.principal is not None, "resolvers run only for authenticated requests"
        return self.principal.org_id
