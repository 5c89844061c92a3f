"""The loop that sends webhook deliveries from the outbox: after a commit that wrote some, and
every second or so (other processes' deliveries, retries coming due).

Every server process runs one (unless GQL_TELEPHONY_WEBHOOK_DELIVERIES=0). It claims endpoints
that have due deliveries with a lease in the database (storage/deliveries.py), up to
`endpoints` at once; for each it sends the due deliveries one at a time in commit order while
enough of the lease is left for one more send, recording each attempt in a short transaction
of its own (never a network call inside one), then gives the lease back. A process that dies
mid-batch leaves a lease that runs out within 30 seconds; another process takes it over.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import uuid
from collections import Counter
from datetime import datetime, timedelta

from ..crypto import Vault
from ..domain.audit import SYSTEM, AuditAction, Change, Happening
from ..domain.ids import encode_id
from ..domain.webhook_retries import next_attempt
from ..services import audit
from ..services.events import Broker
from ..services.signing_secrets import unseal
from ..services.unit_of_work import writing
from ..services.webhook_delivery import SendResult, WebhookSender
from ..storage import deliveries
from ..storage.db import Database
from ..storage.deliveries import Due, EndpointClaim, Outcome
from ..storage.tables import utcnow

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=30)  # the contract's longest claim
MARGIN = timedelta(seconds=3)  # a send starts only if its timeout and this fit in the lease left
ENDPOINTS_IN_FLIGHT = 16
PAGE = 50  # due deliveries read at a time


class DeliveryWorker:
    def __init__(
        self, db: Database, vault: Vault, events: Broker, sender: WebhookSender, *, retry_base: float,
        give_up_after: float,
        poll: float = 1.0, endpoints: int = ENDPOINTS_IN_FLIGHT, lease: timedelta = LEASE,
    ) -> None:
        self.db, self.vault, self.events, self.sender = db, vault, events, sender
        self.retry_base, self.give_up_after = retry_base, give_up_after
        self.poll, self.endpoints, self.lease = poll, endpoints, lease
        self.owner = f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._wake = asyncio.Event()
        # (outcome,) -> count, for /metrics: each attempt's SendResult.outcome, and "given_up"
        # when a delivery is abandoned, "endpoint_disabled" when an endpoint is.
        self.outcomes: Counter[tuple[str]] = Counter()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        """Keeps up to `endpoints` endpoints being served: a slot that frees is filled at once."""
        running: set[asyncio.Task[int]] = set()
        try:
            while True:
                self._wake.clear()  # before claiming: a commit after the claim wakes the wait
                free = self.endpoints - len(running)
                if free:
                    try:
                        claimed = await self._claim(free)
                    except Exception:  # a database hiccup must not end the loop: try again next poll
                        log.exception("webhook deliveries: claiming endpoints failed")
                        claimed = []
                    running.update(asyncio.create_task(self._serve(claim)) for claim in claimed)
                    if claimed and len(claimed) == free:
                        continue
                woken = asyncio.create_task(self._wake.wait())
                try:
                    done, _ = await asyncio.wait(
                        {*running, woken}, timeout=self.poll * random.uniform(0.8, 1.2),
                        return_when=asyncio.FIRST_COMPLETED,
                    )
                finally:
                    woken.cancel()
                    await asyncio.gather(woken, return_exceptions=True)
                running -= done
        finally:
            # Shut-down: a send cut short is not recorded, its delivery stays pending, and the
            # endpoint's lease is given back (_serve) for another process to send it again.
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)

    async def run_due(self) -> int:
        """Claims what it can and serves it to the end; how many attempts it made (for tests and
        the benchmark, which drive the worker step by step)."""
        claimed = await self._claim(self.endpoints)
        return sum(await asyncio.gather(*(self._serve(claim) for claim in claimed)))

    async def _claim(self, limit: int) -> list[EndpointClaim]:
        now = utcnow()
        async with self.db.reading_rows() as connection:
            if not await deliveries.any_due(connection, now=now):
                return []
        async with self.db.writing() as session:
            return await deliveries.claim_endpoints(
                session, owner=self.owner, now=now, lease_until=now + self.lease, limit=limit
            )

    async def _serve(self, claim: EndpointClaim) -> int:
        try:
            return await self._send_due(claim)
        except Exception:  # one endpoint's trouble must not stop the others
            log.exception("webhook deliveries: serving endpoint %s failed", claim.endpoint_id)
            return 0
        finally:
            try:
                async with self.db.writing() as session:
                    await deliveries.release(session, endpoint_id=claim.endpoint_id, owner=self.owner, now=utcnow())
            except Exception:  # the lease runs out by itself
                log.exception("webhook deliveries: releasing endpoint %s failed", claim.endpoint_id)

    def _secrets(self, claim: EndpointClaim, now: datetime, unsealed: dict[str, str]) -> list[str]:
        """The secrets that sign now, newest first; `unsealed` keeps them decrypted for the lease."""
        tokens = [claim.secret]
        until = claim.previous_secret_until
        if claim.previous_secret is not None and until is not None and until > now:
            tokens.append(claim.previous_secret)
        return [unsealed.get(token) or unsealed.setdefault(token, unseal(self.vault, token)) for token in tokens]

    def _time_left(self, claim: EndpointClaim) -> bool:
        return claim.lease_until - utcnow() >= timedelta(seconds=self.sender.timeout) + MARGIN

    async def _send_due(self, claim: EndpointClaim) -> int:
        """Sends the endpoint's due deliveries in id order while the lease allows; how many."""
        failing_since = claim.failing_since
        unsealed: dict[str, str] = {}
        sent = 0
        while self._time_left(claim):
            async with self.db.reading_rows() as connection:
                page = await deliveries.due_deliveries(
                    connection, endpoint_id=claim.endpoint_id, now=utcnow(), limit=PAGE,
                    catch_up=failing_since is not None,
                )
            if not page:
                return sent
            failed = False
            for delivery in page:
                if not self._time_left(claim):
                    return sent
                at = utcnow()
                if failed and delivery.next_attempt_at > at:
                    continue  # brought along to catch up, but the endpoint still fails: it keeps its turn
                result = await self.sender.send(
                    claim.url, message_id=delivery.message_id, body=delivery.body,
                    secrets=self._secrets(claim, at, unsealed), at=at,
                )
                sent += 1
                woke = failing_since is not None  # a success now makes the endpoint's retries due
                self.outcomes[(result.outcome,)] += 1
                failed = failed or not result.delivered
                carry_on, failing_since = await self._record(claim, delivery, result, at, failing_since)
                if not carry_on:
                    return sent  # the lease was taken over, or the endpoint disabled: stop here
                if result.delivered and woke:
                    break  # older retries are due now: read again, to send them in commit order
        return sent

    async def _record(
        self, claim: EndpointClaim, delivery: Due, result: SendResult, at: datetime, failing_since: datetime | None,
    ) -> tuple[bool, datetime | None]:
        """Stores the attempt in a transaction guarded by the lease. Whether to go on with the
        endpoint, and its failing_since after the attempt."""
        now = utcnow()
        retry = None if result.delivered else next_attempt(
            failed_attempts=delivery.attempt_count + 1, created_at=delivery.created_at, now=now,
            base=self.retry_base, give_up_after=self.give_up_after,
        )
        outcome = Outcome(at, result.status_code, result.error, result.duration_ms, result.delivered, retry)
        # Disabling bumps the organization's data version and writes an audit event: the unit of
        # work of a change, taken only when the endpoint has been failing long enough.
        disabling = (not result.delivered and failing_since is not None
                     and now - failing_since >= timedelta(seconds=self.give_up_after))
        # An attempt changes what webhookDeliveries shows: like any change of the organization's
        # data, it bumps the data version (cached responses stop being served).
        async with writing(self.db, claim.org_id) as session:
            held = await deliveries.hold(session, endpoint_id=claim.endpoint_id, owner=self.owner)
            if held is None:
                return False, failing_since
            await deliveries.record_attempt(
                session, endpoint_id=claim.endpoint_id, delivery=delivery, outcome=outcome,
                failing_since=held.failing_since,
            )
            since = None if result.delivered else (held.failing_since or at)
            disable = (disabling and held.enabled and since is not None
                       and now - since >= timedelta(seconds=self.give_up_after))
            if disable:
                await deliveries.disable_failing(session, endpoint_id=claim.endpoint_id, now=now)
                endpoint_id = encode_id("WebhookEndpoint", claim.endpoint_id)
                await audit.record(session, self.vault, org_id=claim.org_id, actor=SYSTEM, happenings=[
                    Happening(AuditAction.WEBHOOK_ENDPOINT_UPDATED, "WebhookEndpoint", endpoint_id,
                              (Change("enabled", True, False),)),
                ])
        if not result.delivered and retry is None:
            self.outcomes[("given_up",)] += 1
        if disable:
            await self.events.publish(claim.org_id)  # its warning reaches the live summary
            self.outcomes[("endpoint_disabled",)] += 1
            log.warning("webhook deliveries: endpoint %s disabled after failing since %s", claim.endpoint_id, since)
        return bool(held.enabled) and not disable, since
