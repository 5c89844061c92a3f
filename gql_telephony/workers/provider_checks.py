"""The loop that runs due provider checks: after changes, and every interval.

Every server process runs one. Each claims a few due checks at a time with a lease in the
database, so a configuration is checked by one process however many run; a process that dies
mid-check leaves a lease that runs out, and another process takes the check over. A change
in this process wakes its loop at once; other processes see the due check at their next poll.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import uuid
from datetime import timedelta

from ..services.provider_checks import ProviderChecks
from ..storage import checks
from ..storage.db import Database
from ..storage.tables import utcnow
from .slots import keep_busy

log = logging.getLogger(__name__)


# Checks claimed and run at once. A check mostly waits on its provider, so the batch bounds how
# many run per second: about batch / (one check's duration). 16 is the calls one provider may
# have in flight per process (outbound/http.py); against a fake answering in 50 ms it ran 2.4x
# the checks per second of 4, and about as many when the process is CPU-bound (docs/PERFORMANCE.md).
BATCH = 16


class CheckWorker:
    def __init__(
        self, db: Database, service: ProviderChecks, *, interval: int, poll: float = 1.0, batch: int = BATCH,
    ) -> None:
        self.db, self.service = db, service
        self.interval = interval  # seconds between scheduled checks of a configuration; 0: none
        self.poll, self.batch = poll, batch
        # Longer than a check can take (its budget), so a live check's lease never runs out.
        self.lease = timedelta(seconds=service.budget * 2 + 30)
        self.owner = f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._wake = asyncio.Event()
        self.checks_run = 0

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        """Keeps up to `batch` checks running. Checks cut short by a shut-down keep their leases
        until they run out; another process (or this one, started again) takes them over then."""
        await keep_busy(slots=self.batch, claim=self._claim, work=self._run, wake=self._wake, poll=self.poll,
                        name="provider check")

    async def run_due(self) -> int:
        """Claims up to `batch` due checks and runs them to the end; how many it claimed (for
        tests and the benchmark, which drive the worker step by step)."""
        claimed = await self._claim(self.batch)
        await asyncio.gather(*(self._run(claim) for claim in claimed))
        return len(claimed)

    async def _claim(self, limit: int) -> list[checks.Claim]:
        now = utcnow()
        async with self.db.reading_rows() as connection:
            if not await checks.any_due(connection, now=now):
                return []
        async with self.db.writing() as session:
            return await checks.claim_due(
                session, owner=self.owner, now=now, lease_until=now + self.lease, limit=limit
            )

    async def _run(self, claim: checks.Claim) -> None:
        try:
            await self.service.check(claim.config_id, wanted=claim.wanted)
        except Exception:  # one configuration's failure must not stop the others
            log.exception("provider checks: a check failed (configuration %s)", claim.config_id)
        next_due = None
        if self.interval:
            next_due = utcnow() + timedelta(seconds=self.interval * random.uniform(0.9, 1.1))
        async with self.db.writing() as session:
            await checks.finish(
                session, config_id=claim.config_id, owner=self.owner, wanted=claim.wanted, next_due=next_due
            )
        self.checks_run += 1  # counted when its lease is given back
