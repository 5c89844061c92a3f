"""Housekeeping that one server process at a time does: pruning audit events past retention.

Every server process runs the loop; each round, the process that claims the "audit_retention"
lease (storage/leases.py) prunes, in small transactions, and keeps the lease while it lives, so
the others skip the round. If it dies, its lease runs out and another process takes over.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import uuid
from datetime import timedelta

from ..storage import audit, leases
from ..storage.db import Database
from ..storage.tables import utcnow

log = logging.getLogger(__name__)

AUDIT_RETENTION = "audit_retention"  # the lease's name
# Rows per transaction: each batch's locks are short, and writes go on between batches.
BATCH = 500
EVERY_SECONDS = 300.0


class Maintenance:
    def __init__(self, db: Database, *, retention_days: int, every: float = EVERY_SECONDS,
                 batch: int = BATCH) -> None:
        self.db = db
        self.retention_days = retention_days  # 0: events are kept forever
        self.every, self.batch = every, batch
        # Held a little longer than a round, so that the holder claims it again before it runs out.
        self.lease = timedelta(seconds=every * 1.5 + 30)
        self.owner = f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.pruned = 0

    async def run(self) -> None:
        if not self.retention_days:
            return
        await asyncio.sleep(min(self.every, 10.0) * random.uniform(0.5, 1.0))  # not in the start-up's rush
        while True:
            try:
                await self.prune_once()
            except Exception:  # a database hiccup must not end the loop: try again next round
                log.exception("maintenance: pruning audit events failed")
            # Jitter, so that processes started together do not claim in step.
            await asyncio.sleep(self.every * random.uniform(0.8, 1.2))

    async def prune_once(self) -> int | None:
        """Prunes the events older than the retention if this process holds the lease: how many
        it deleted, or None when another process holds the lease (or retention is off)."""
        if not self.retention_days or not await self._claim():
            return None
        try:
            older_than = utcnow() - timedelta(days=self.retention_days)
        except OverflowError:  # before the year 1: nothing is that old
            return 0
        total = 0
        while True:
            async with self.db.writing() as session:
                deleted = await audit.prune(session, older_than=older_than, batch=self.batch)
            total += deleted
            self.pruned += deleted
            if deleted < self.batch:
                break
            if not await self._claim():  # extended between batches; lost only if it ran out
                break
        if total:
            log.info("maintenance: pruned %d audit events older than %d days", total, self.retention_days)
        return total

    async def _claim(self) -> bool:
        now = utcnow()
        async with self.db.writing() as session:
            return await leases.claim(session, name=AUDIT_RETENTION, owner=self.owner, now=now,
                                      until=now + self.lease)
