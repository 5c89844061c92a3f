"""The Subscription root: the warning summary now, then each time it changes."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from ..services.reads import warning_summary
from .types import Info, TelephonyConfigWarningSummaryType


@strawberry.type
class Subscription:
    @strawberry.subscription(description="The organization's summary now, then each time it changes.")
    async def telephony_config_warnings_changed(
        self, info: Info
    ) -> AsyncGenerator[TelephonyConfigWarningSummaryType, None]:
        runtime, org_id = info.context.runtime, info.context.org_id
        # Subscribe before the first read, so that no change between the two goes unseen.
        wake_ups = runtime.broker.subscribe(org_id)
        try:
            last = await warning_summary(runtime.db, runtime.vault, org_id)
            yield TelephonyConfigWarningSummaryType.of(last)
            while True:
                await wake_ups.get()
                # A fresh session per event: nothing read at connect time is reused.
                current = await warning_summary(runtime.db, runtime.vault, org_id)
                if current != last:
                    last = current
                    yield TelephonyConfigWarningSummaryType.of(current)
        finally:
            runtime.broker.unsubscribe(org_id, wake_ups)
