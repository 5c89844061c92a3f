"""What every request shares: the parts built once at start-up (by `app.build_runtime`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from ..crypto import Vault
from ..outbound.http import ProviderHttp
from ..services.events import Broker
from ..services.key_usage import KeyUsage
from ..services.organization_changes import OrganizationChanges
from ..services.phone_numbers import PhoneNumbers
from ..services.provider_checks import ProviderChecks
from ..services.summary_feed import SummaryFeed
from ..services.telephony_configs import TelephonyConfigs
from ..services.webhook_delivery import WebhookSender
from ..services.webhook_endpoints import WebhookEndpoints
from ..settings import Settings
from ..storage.db import Database
from ..workers import BACKGROUND
from ..workers.maintenance import Maintenance
from ..workers.provider_checks import CheckWorker
from ..workers.webhook_delivery import DeliveryWorker
from .http.key_watch import KeyWatch


@dataclass
class ReadPaths:
    """How this process answered queries over HTTP (for /metrics and the tests)."""

    planned: int = 0  # by a compiled plan
    generic: int = 0  # by the generic executor
    cache: int = 0  # from the response cache


@dataclass
class Runtime:
    """The long-lived parts, shared by every request; it builds nothing itself."""

    settings: Settings
    db: Database
    vault: Vault
    broker: Broker
    configs: TelephonyConfigs
    numbers: PhoneNumbers
    summaries: SummaryFeed
    changes: OrganizationChanges
    read_paths: ReadPaths
    key_usage: KeyUsage
    key_watch: KeyWatch
    provider_http: ProviderHttp
    checks: ProviderChecks
    check_worker: CheckWorker
    maintenance: Maintenance
    endpoints: WebhookEndpoints
    webhook_sender: WebhookSender
    delivery_worker: DeliveryWorker
    # Called after a commit that wrote webhook deliveries: wakes this process's delivery worker
    # (does nothing when GQL_TELEPHONY_WEBHOOK_DELIVERIES=0).
    webhooks_due: Callable[[], None]

    @asynccontextmanager
    async def background(self) -> AsyncIterator[None]:
        """The loops that run beside the requests, from start-up to shut-down (the app's lifespan)."""
        loops = [asyncio.create_task(self.key_usage.run(), name=f"{BACKGROUND}key usage"),
                 asyncio.create_task(self.key_watch.run(), name=f"{BACKGROUND}key watch"),
                 asyncio.create_task(self.maintenance.run(), name=f"{BACKGROUND}maintenance")]
        if self.settings.provider_checks:
            loops.append(asyncio.create_task(self.check_worker.run(), name=f"{BACKGROUND}provider checks"))
        if self.settings.webhook_deliveries:
            loops.append(asyncio.create_task(self.delivery_worker.run(), name=f"{BACKGROUND}webhook deliveries"))
        try:
            yield
        finally:
            for loop in loops:
                loop.cancel()
            await asyncio.gather(*loops, return_exceptions=True)
            await self.key_usage.flush()  # the last uses noted before the stop
            await self.provider_http.aclose()
            await self.webhook_sender.aclose()
