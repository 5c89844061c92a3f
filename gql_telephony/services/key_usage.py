"""When each API key was last used, without a write on the request path.

A request only notes its key in memory; a background loop (started by the app's lifespan)
writes the noted keys' `last_used_at` in one statement. Each process writes a key at most once
a minute, so "last used" is at most a minute (plus one pass of the loop) behind.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from ..storage.db import Database
from ..storage.tables import utcnow
from .tenancy import record_key_use

logger = logging.getLogger("gql_telephony.key_usage")

WRITE_EVERY_SECONDS = 60.0
# Between two writes the loop rests this long, so a burst of first uses is one statement.
PAUSE_SECONDS = 1.0
MAX_TRACKED_KEYS = 100_000


class KeyUsage:
    def __init__(self, db: Database, *, every: float = WRITE_EVERY_SECONDS, max_keys: int = MAX_TRACKED_KEYS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.db, self.every, self.max_keys, self.clock = db, every, max_keys, clock
        # Key id -> when this process last queued its use, oldest first. A key whose entry is
        # older than `every` is due again, so such entries are dropped: the map stays bounded by
        # the keys used in the last minute (and by max_keys).
        self._queued_at: dict[int, float] = {}
        self._pending: set[int] = set()
        self._wake = asyncio.Event()

    def note(self, key_id: int) -> None:
        """A request authenticated with this key (cheap: no I/O, never waits)."""
        now = self.clock()
        queued = self._queued_at.get(key_id)
        if queued is not None and now - queued < self.every:
            return
        self._queued_at.pop(key_id, None)
        self._queued_at[key_id] = now  # to the end: the map stays in order of time
        self._forget_due(now)
        self._pending.add(key_id)
        self._wake.set()

    def _forget_due(self, now: float) -> None:
        while self._queued_at:
            key_id, queued = next(iter(self._queued_at.items()))
            if now - queued < self.every and len(self._queued_at) <= self.max_keys:
                break
            del self._queued_at[key_id]

    async def flush(self) -> None:
        """Writes the keys noted since the last flush; a failure is logged and dropped (a later
        use writes again), never raised into a request."""
        if not self._pending:
            return
        key_ids, self._pending = self._pending, set()
        try:
            await record_key_use(self.db, key_ids, utcnow())
        except Exception as error:  # the database is away: last-used is best effort
            logger.warning("could not record the last use of %d API keys: %s", len(key_ids), type(error).__name__)
            for key_id in key_ids:
                self._queued_at.pop(key_id, None)

    async def run(self) -> None:
        """Until cancelled: write whenever a key was noted, at most once per pause."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            await self.flush()
            await asyncio.sleep(PAUSE_SECONDS)
