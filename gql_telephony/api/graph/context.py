"""What a request carries: the long-lived runtime, the caller, and its operation's reads."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from ...crypto import Vault
from ...services.events import Broker
from ...services.key_usage import KeyUsage
from ...services.phone_numbers import PhoneNumbers
from ...services.reader import Reader
from ...services.summary_feed import SummaryFeed
from ...services.telephony_configs import TelephonyConfigs
from ...services.tenancy import Principal
from ...settings import Settings
from ...storage.db import Database
from ..http.key_watch import KeyWatch
from ..middleware.request_log import note_organization
from .fields import Batches


@dataclass
class ReadPaths:
    """How this process answered queries over HTTP (for /metrics and the tests)."""

    planned: int = 0  # by a compiled plan
    generic: int = 0  # by the generic executor
    cache: int = 0  # from the response cache


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
        self.read_paths = ReadPaths()
        self.key_usage = KeyUsage(self.db)
        self.key_watch = KeyWatch(self.db)

    @asynccontextmanager
    async def background(self) -> AsyncIterator[None]:
        """The loops that run beside the requests, from start-up to shut-down (the app's lifespan)."""
        loops = [asyncio.create_task(self.key_usage.run()), asyncio.create_task(self.key_watch.run())]
        try:
            yield
        finally:
            for loop in loops:
                loop.cancel()
            await asyncio.gather(*loops, return_exceptions=True)
            await self.key_usage.flush()  # the last uses noted before the stop


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
        batches = Batches(Reader(runtime.db, self.principal.org_id if self.principal else -1, runtime.vault))
        _operation_batches.set((self, batches))
        return batches

    @property
    def org_id(self) -> int:
        assert self.principal is not None, "resolvers run only for authenticated requests"
        return self.principal.org_id
