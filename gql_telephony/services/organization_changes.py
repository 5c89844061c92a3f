"""Live organization changes (Subscription.organizationChanges): what each committed write
announced, coalesced per subscriber.

One watcher per organization and process, shared by all its subscribers there, as in
summary_feed.py. It starts from the organization's newest audit event. On every wake-up from
the broker (in process, or Redis across processes) it reads, in one snapshot: the audit events
after the last one it saw, the data version, and the warning summary, which it compares with the
one it last saw (WARNINGS_CHANGED is in the audit trail only when a webhook endpoint listens for
it, so the watcher finds it out itself). Every write of an organization locks the organization's
row first (services/unit_of_work.py), so its audit ids are its commit order: once an id is seen,
no smaller one of the organization's writes commits later, and "after the last id" misses none.

Each subscriber holds at most one pending message: what arrives while it has not taken the last
is merged into it (domain/organization_changes.py), so a slow subscriber gets one message with
everything, never a backlog, and loses nothing. A wake-up that finds no announced change (a
write that changed nothing, a webhook endpoint's change) sends nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator
from dataclasses import dataclass

from ..crypto import Vault
from ..domain.audit import WebhookEventType
from ..domain.ids import encode_id
from ..domain.organization_changes import Happened, OrganizationChange, announced, coalesce, merge
from ..domain.warnings import WarningSummary
from ..storage import audit, queries
from ..storage.db import Database
from .events import Broker
from .reads import warning_summary_in
from .summary_feed import MAX_RETRY_DELAY_SECONDS, ready_or_failed

logger = logging.getLogger("gql_telephony.events")
EVENTS_PER_STATEMENT = 1000  # a large import is read in pages, all in the one snapshot


@dataclass(frozen=True)
class Seen:
    """What a watcher last read of its organization."""

    last_event_id: int
    data_version: int
    summary: WarningSummary


async def look(db: Database, vault: Vault, org_id: int, since: Seen | None) -> tuple[Seen, list[Happened]]:
    """The organization now, and what was announced since `since` (None: start from now)."""
    async with db.reading_snapshot() as connection:
        organization = await queries.organization(connection, org_id=org_id)
        if organization is None:
            raise LookupError(f"no organization has id {org_id}")
        happened: list[Happened] = []
        if since is None:
            last_id = await audit.last_event_id(connection, org_id=org_id)
        else:
            last_id = since.last_event_id
            while True:
                rows = await audit.happened_after(connection, org_id=org_id, after_id=last_id,
                                                  limit=EVENTS_PER_STATEMENT)
                happened.extend(announced((row.action, row.entity_id) for row in rows))
                if rows:
                    last_id = rows[-1].id
                if len(rows) < EVENTS_PER_STATEMENT:
                    break
        summary = await warning_summary_in(connection, vault, org_id)
    if since is not None and summary != since.summary:
        happened.append((WebhookEventType.WARNINGS_CHANGED, encode_id("Organization", org_id)))
    return Seen(last_id, organization.data_version, summary), happened


class _Listener:
    """One subscriber's pending message: everything it has not taken yet, merged."""

    def __init__(self) -> None:
        self.pending: OrganizationChange | None = None
        self.news = asyncio.Event()

    def add(self, change: OrganizationChange) -> None:
        self.pending = merge(self.pending, change)
        self.news.set()

    def take(self) -> OrganizationChange | None:
        change, self.pending = self.pending, None
        self.news.clear()
        return change


class _Watcher:
    def __init__(self, feed: OrganizationChanges, org_id: int) -> None:
        self.feed, self.org_id = feed, org_id
        self.listeners: set[_Listener] = set()
        self.seen: Seen | None = None
        self.ready = asyncio.Event()
        self.task = asyncio.get_running_loop().create_task(self._follow(), name=f"organization-changes-{org_id}")

    async def _follow(self) -> None:
        wake_ups = self.feed.broker.subscribe(self.org_id)  # before the first look: no write falls in between
        try:
            self.seen, _ = await look(self.feed.db, self.feed.vault, self.org_id, None)
            self.ready.set()
            while True:
                await wake_ups.get()
                seen, happened = await self._look_until_it_works(self.seen)
                # No await from here on: a subscriber joining sees either the old state and this
                # change, or the new state without it.
                self.seen = seen
                if happened:
                    change = OrganizationChange(seen.data_version, coalesce(happened))
                    for listener in self.listeners:
                        listener.add(change)
        finally:
            self.feed.broker.unsubscribe(self.org_id, wake_ups)

    async def _look_until_it_works(self, since: Seen) -> tuple[Seen, list[Happened]]:
        """A failed read (a database blip) is retried from the same point: nothing is skipped."""
        delay = 0.05
        while True:
            try:
                return await look(self.feed.db, self.feed.vault, self.org_id, since)
            except Exception:
                logger.warning("reading an organization's changes failed; retrying", exc_info=True)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_RETRY_DELAY_SECONDS)


class OrganizationChanges:
    def __init__(self, db: Database, vault: Vault, broker: Broker) -> None:
        self.db, self.vault, self.broker = db, vault, broker
        self._watchers: dict[int, _Watcher] = {}

    @property
    def listener_count(self) -> int:
        return sum(len(w.listeners) for w in self._watchers.values())

    def seen_version(self, org_id: int) -> int | None:
        """The data version this process's watcher of the organization last read (None: none watches)."""
        watcher = self._watchers.get(org_id)
        return watcher.seen.data_version if watcher is not None and watcher.seen is not None else None

    async def follow(self, org_id: int) -> AsyncGenerator[OrganizationChange, None]:
        """The data version now (no events), then what each write announced, until the caller stops."""
        watcher = self._watchers.get(org_id)
        if watcher is None or watcher.task.done():
            watcher = self._watchers[org_id] = _Watcher(self, org_id)
        listener = _Listener()
        watcher.listeners.add(listener)
        try:
            await ready_or_failed(watcher)
            listener.take()  # announced before now: already in the state read below, not news
            assert watcher.seen is not None
            yield OrganizationChange(watcher.seen.data_version)
            while True:
                await listener.news.wait()
                change = listener.take()
                if change is not None:
                    yield change
        finally:
            watcher.listeners.discard(listener)
            if not watcher.listeners and self._watchers.get(org_id) is watcher:
                del self._watchers[org_id]
                watcher.task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await watcher.task
