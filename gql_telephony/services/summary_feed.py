"""Live warning summaries: computed once per change and organization, shared by every
subscriber of that organization in this process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator
from typing import Protocol

from ..crypto import Vault
from ..domain.warnings import WarningSummary
from ..storage.db import Database
from .events import Broker
from .reads import warning_summary

logger = logging.getLogger("gql_telephony.events")
MAX_RETRY_DELAY_SECONDS = 2.0


class _Watcher:
    """Follows one organization: recomputes on each notification, pushes only real changes."""

    def __init__(self, feed: SummaryFeed, org_id: int) -> None:
        self.feed, self.org_id = feed, org_id
        self.listeners: set[asyncio.Queue[WarningSummary]] = set()
        self.latest: WarningSummary | None = None
        self.ready = asyncio.Event()
        self.task = asyncio.get_running_loop().create_task(self._follow(), name=f"summary-feed-{org_id}")

    async def _follow(self) -> None:
        wake_ups = self.feed.broker.subscribe(self.org_id)
        try:
            self.latest = await self.feed.compute(self.org_id)
            self.ready.set()
            while True:
                await wake_ups.get()
                current = await self._compute_until_it_works()  # a fresh session for every event
                if current != self.latest:
                    self.latest = current
                    for queue in self.listeners:
                        _replace(queue, current)
        finally:
            self.feed.broker.unsubscribe(self.org_id, wake_ups)

    async def _compute_until_it_works(self) -> WarningSummary:
        """A failed recompute (a database blip) is retried, so that subscribers never freeze."""
        delay = 0.05
        while True:
            try:
                return await self.feed.compute(self.org_id)
            except Exception:
                logger.warning("recomputing an organization's warning summary failed; retrying", exc_info=True)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_RETRY_DELAY_SECONDS)


def _replace(queue: asyncio.Queue[WarningSummary], summary: WarningSummary) -> None:
    """Each listener holds at most the newest summary: a slow reader skips, never piles up."""
    if queue.full():
        queue.get_nowait()
    queue.put_nowait(summary)


class SummaryFeed:
    def __init__(self, db: Database, vault: Vault, broker: Broker) -> None:
        self.db, self.vault, self.broker = db, vault, broker
        self._watchers: dict[int, _Watcher] = {}

    async def compute(self, org_id: int) -> WarningSummary:
        return await warning_summary(self.db, self.vault, org_id)

    @property
    def listener_count(self) -> int:
        return sum(len(w.listeners) for w in self._watchers.values())

    async def follow(self, org_id: int) -> AsyncGenerator[WarningSummary, None]:
        """The summary now, then each time it changes, until the caller stops iterating."""
        watcher = self._watchers.get(org_id)
        if watcher is None or watcher.task.done():
            watcher = self._watchers[org_id] = _Watcher(self, org_id)
        queue: asyncio.Queue[WarningSummary] = asyncio.Queue(maxsize=1)
        watcher.listeners.add(queue)  # before reading `latest`, so no change falls in between
        try:
            await ready_or_failed(watcher)
            assert watcher.latest is not None
            sent = watcher.latest
            yield sent
            while True:
                summary = await queue.get()
                if summary != sent:  # a change that landed while this listener joined is not news
                    sent = summary
                    yield summary
        finally:
            watcher.listeners.discard(queue)
            if not watcher.listeners and self._watchers.get(org_id) is watcher:
                del self._watchers[org_id]
                watcher.task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await watcher.task


class _Starting(Protocol):
    ready: asyncio.Event
    task: asyncio.Task[None]


async def ready_or_failed(watcher: _Starting) -> None:
    """Wait for the first summary; if computing it failed, raise that failure here."""
    ready = asyncio.ensure_future(watcher.ready.wait())
    try:
        await asyncio.wait({ready, watcher.task}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        # Also when the caller is cancelled meanwhile: a closing loop must not find it pending.
        ready.cancel()
        await asyncio.gather(ready, return_exceptions=True)
    if not watcher.ready.is_set():
        watcher.task.result()  # re-raises the watcher's error
