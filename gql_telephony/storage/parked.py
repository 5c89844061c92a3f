"""PostgreSQL driver reads keep their pooled connections checked out between reads ("parked").

SQLAlchemy's async engine checks a connection out, and back in, in a greenlet of its own: about
0.1 ms of CPU each, twice per read and two reads per request (the key's look-up, the plan), on a
request whose floor is well under a millisecond (docs/PERFORMANCE.md, "Per-request fixed costs").
A connection a driver read has finished with, its transaction ended, is kept here instead, and the
next driver read takes it with no greenlet. It stays checked out of the pool, which others (the
writers) share: so a connection is kept only while the pool has no overflow in use, at most half
the pool's size are kept, and the units of work that check out through the pool give the kept
ones back first when the pool is that busy (`give_back_if_busy`). The pool's checkout rules are
applied here before one is reused: one the pool has invalidated since (a disconnect, a migration's
stale statements) goes back to be recycled; one the server closed, or idle long enough that a NAT
may have dropped it, is closed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.pool import Pool
from sqlalchemy.util import greenlet_spawn


class ParkedConnections:
    def __init__(self, keep: int, idle_ping_seconds: Callable[[], float]) -> None:
        # The database's setting, read each time (tests shorten it).
        self.keep, self._idle_ping_seconds = keep, idle_ping_seconds
        self._parked: list[tuple[Any, float]] = []  # (the pool's connection, parked since)
        self._closed = False  # after drain(): nothing is kept any more

    def park(self, pooled: Any, pool: Any) -> bool:
        """Keeps a connection with no transaction open; False when enough are kept already, or
        the pool is busy (this connection counted, more are out than its size), or after drain()."""
        if self._closed or len(self._parked) >= self.keep or pool.checkedout() > pool.size():
            return False
        self._parked.append((pooled, time.monotonic()))
        return True

    async def give_back_if_busy(self, pool: Any) -> None:
        """Before a checkout through the pool: the kept connections go back if, with them
        out, the pool has no idle connection left (the checkout would open one or wait)."""
        if self._parked and pool.checkedout() >= pool.size():
            parked, self._parked = self._parked, []
            for pooled, since in parked:
                await self._give_back(pooled, since)

    async def take(self, pool: Pool) -> Any | None:
        """The most recently parked connection still fit to use (None: check one out)."""
        while self._parked:
            try:
                pooled, since = self._parked.pop()
            except IndexError:  # taken meanwhile by a loop on another thread
                break
            if self._fit(pooled, pool, since):
                return pooled
            await self._give_back(pooled, since)
        return None

    async def drain(self) -> None:
        """Every parked connection back to its pool (before the pool is disposed); none is kept
        after (a read still running then gives its connection back)."""
        self._closed = True
        parked, self._parked = self._parked, []
        for pooled, since in parked:
            await self._give_back(pooled, since)

    def _fit(self, pooled: Any, pool: Pool, since: float) -> bool:
        record = pooled._connection_record
        return (
            record is not None and pooled.dbapi_connection is not None
            and record._ConnectionRecord__pool is pool  # not from a pool disposed since
            and pool._invalidate_time <= record.starttime and record._soft_invalidate_time <= record.starttime
            and not pooled.driver_connection.is_closed()
            and time.monotonic() - since < self._idle_ping_seconds()
        )

    async def _give_back(self, pooled: Any, since: float) -> None:
        if pooled.dbapi_connection is None or pooled.driver_connection.is_closed() \
                or time.monotonic() - since >= self._idle_ping_seconds():
            # Closed, or idle as long as a NAT's timeout: closed here (terminated, no round trip),
            # the pool opens a fresh one. (Given back, it would look newly idle to the pool's ping.)
            await greenlet_spawn(pooled.invalidate)
        else:
            # Invalidated by the pool meanwhile: its checkout recycles it when it hands it out.
            await greenlet_spawn(pooled._checkin, True)
