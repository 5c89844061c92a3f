"""The Subscription root: the warning summary, and the organization's changes, each now and
then as they happen (services/summary_feed.py, services/organization_changes.py)."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from .change_types import OrganizationChangeType
from .types import Info, TelephonyConfigWarningSummaryType


@strawberry.type(description="Live updates, over the WebSocket at /graphql (graphql-transport-ws): docs/API.md.")
class Subscription:
    @strawberry.subscription(  # type: ignore[untyped-decorator]  # with arguments it is typed Any
        description="The organization's summary now, then each time it changes."
    )
    async def telephony_config_warnings_changed(
        self, info: Info
    ) -> AsyncGenerator[TelephonyConfigWarningSummaryType, None]:
        feed = info.context.runtime.summaries.follow(info.context.org_id)
        try:
            async for summary in feed:
                yield TelephonyConfigWarningSummaryType(source=summary)
        finally:
            await feed.aclose()

    @strawberry.subscription(  # type: ignore[untyped-decorator]  # with arguments it is typed Any
        description="The data version now (no events), then after each write what it changed, coalesced."
    )
    async def organization_changes(self, info: Info) -> AsyncGenerator[OrganizationChangeType, None]:
        feed = info.context.runtime.changes.follow(info.context.org_id)
        try:
            async for change in feed:
                yield OrganizationChangeType(source=change)
        finally:
            await feed.aclose()
