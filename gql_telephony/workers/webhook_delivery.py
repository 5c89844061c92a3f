"""The loop that sends webhook deliveries from the outbox: after a commit that wrote some, and
every second or so (other processes' deliveries, retries coming due).

Every server process runs one (unless GQL_TELEPHONY_WEBHOOK_DELIVERIES=0). It claims endpoints
that have due deliveries with a lease in the database (storage/deliveries.py), up to
`endpoints` at once; for each it sends the due deliveries one at a time in commit order,
renewing the lease before each send and recording each attempt in a short transaction of its
own (never a network call inside one), then gives the lease back. A process that dies mid-batch
leaves a lease that runs out within 30 seconds; another process takes it over.
"""

from __future__ import annotations

import asyncio
import logging
import os
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
from ..storage.deliveries import Due, EndpointClaim, Lease, Outcome
from ..storage.tables import utcnow
from .slots import keep_busy

log = logging.getLogger(__name__)

# The contract's longest claim. It is renewed before each send, so a send (10 s at most) always
# has a whole lease ahead of it, and a process that died is replaced within this.
LEASE = timedelta(seconds=30)
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
        self._claims = 0  # each claim's lease has its own owner token: this process's name and a count
        self._serving: set[int] = set()  # endpoints a task of this process is sending to
        self._unsealed: dict[str, str] = {}  # sealed secret -> clear, as signing needs it
        # (outcome,) -> count, for /metrics: each attempt's SendResult.outcome, and "given_up"
        # when a delivery is abandoned, "endpoint_disabled" when an endpoint is.
        self.outcomes: Counter[tuple[str]] = Counter()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        """Keeps up to `endpoints` endpoints being served. At a shut-down a send cut short is not
        recorded, its delivery stays pending, and the endpoint's lease is given back (_serve)."""
        await keep_busy(slots=self.endpoints, claim=self._claim, work=self._serve, wake=self._wake, poll=self.poll,
                        name="webhook endpoint")

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
        self._claims += 1
        async with self.db.writing() as session:
            return await deliveries.claim_endpoints(
                session, owner=f"{self.owner}:{self._claims}", now=now, lease_until=now + self.lease,
                limit=limit, serving=self._serving,
            )

    async def _serve(self, claim: EndpointClaim) -> int:
        self._serving.add(claim.endpoint_id)
        try:
            return await self._send_due(claim)
        except Exception:  # one endpoint's trouble must not stop the others
            log.exception("webhook deliveries: serving endpoint %s failed", claim.endpoint_id)
            return 0
        finally:
            self._serving.discard(claim.endpoint_id)
            try:
                async with self.db.writing() as session:
                    await deliveries.release(session, endpoint_id=claim.endpoint_id, owner=claim.owner, now=utcnow())
            except Exception:  # the lease runs out by itself
                log.exception("webhook deliveries: releasing endpoint %s failed", claim.endpoint_id)

    def _secrets(self, lease: Lease, now: datetime) -> list[str]:
        """The secrets that sign now, newest first (kept decrypted while the process runs)."""
        tokens = [lease.secret]
        until = lease.previous_secret_until
        if lease.previous_secret is not None and until is not None and until > now:
            tokens.append(lease.previous_secret)
        return [self._unsealed.get(token) or self._unsealed.setdefault(token, unseal(self.vault, token))
                for token in tokens]

    async def _renew(self, claim: EndpointClaim) -> Lease | None:
        now = utcnow()
        async with self.db.writing() as session:
            return await deliveries.renew(
                session, endpoint_id=claim.endpoint_id, owner=claim.owner, now=now, lease_until=now + self.lease,
            )

    async def _send_due(self, claim: EndpointClaim) -> int:
        """Sends the endpoint's due deliveries in id order, renewing the lease before each send;
        how many it sent. A delivery is tried at most once per claim between two successes: a
        success after failures makes the ones this claim tried in vain due again (the receiver is
        back), so one flapping receiver may see them again, while every send still moves on.

        While the endpoint is failing, the first send of a claim is its oldest pending delivery
        (due or not): a receiver that is back gets the backlog oldest first, and the success
        makes the others due at once. That early attempt, when it fails, leaves the delivery's
        own schedule as it was."""
        tried: set[int] = set()
        probe_first = True
        sent = 0
        while True:
            async with self.db.reading_rows() as connection:
                page = await deliveries.due_deliveries(
                    connection, endpoint_id=claim.endpoint_id, now=utcnow(), limit=PAGE, skip=tried,
                )
                if page and probe_first:
                    oldest = await deliveries.oldest_pending(connection, endpoint_id=claim.endpoint_id)
                    if oldest is not None and oldest.id < page[0].id and oldest.id not in tried:
                        page.insert(0, oldest)
            if not page:
                return sent
            for delivery in page:
                lease = await self._renew(claim)
                if lease is None:
                    return sent  # the lease ran out, or the endpoint was disabled or deleted
                if delivery is page[0] and probe_first and lease.failing_since is None and (
                        delivery.next_attempt_at > utcnow()):
                    continue  # not failing (any more): no early attempt, only what is due
                probe_first = False
                at = utcnow()
                result = await self.sender.send(
                    lease.url, message_id=delivery.message_id, body=delivery.body,
                    secrets=self._secrets(lease, at), at=at,
                )
                tried.add(delivery.id)
                sent += 1
                self.outcomes[(result.outcome,)] += 1
                carry_on = await self._record(claim, delivery, result, at)
                if not carry_on:
                    return sent  # the lease was taken over, or the endpoint disabled: stop here
                if result.delivered and lease.failing_since is not None:
                    # Back: its waiting retries are due now, those this claim tried in vain
                    # before included; read again, oldest first.
                    tried.clear()
                    break
            probe_first = False

    async def _record(self, claim: EndpointClaim, delivery: Due, result: SendResult, at: datetime) -> bool:
        """Stores the attempt in a transaction guarded by the claim's lease; whether to go on
        with the endpoint."""
        now = utcnow()
        early = delivery.next_attempt_at > at  # the oldest, sent first to see if the endpoint is back
        retry = None if result.delivered else delivery.next_attempt_at if early else next_attempt(
            failed_attempts=delivery.attempt_count + 1, created_at=delivery.created_at, now=now,
            base=self.retry_base, give_up_after=self.give_up_after,
        )
        outcome = Outcome(at, result.status_code, result.error, result.duration_ms, result.delivered, retry)
        # An attempt changes what webhookDeliveries shows: like any change of the organization's
        # data, it bumps the data version (cached responses stop being served). Disabling writes
        # an audit event in the same unit of work.
        async with writing(self.db, claim.org_id) as session:
            held = await deliveries.hold(session, endpoint_id=claim.endpoint_id, owner=claim.owner)
            if held is None:
                return False
            if not await deliveries.record_attempt(
                session, endpoint_id=claim.endpoint_id, delivery=delivery, outcome=outcome,
                failing_since=held.failing_since,
            ):
                return False
            # Failing for about the whole give-up time (a lone delivery's last attempt comes a
            # little less than that after the endpoint's first failure).
            disable = (not result.delivered and held.enabled and held.failing_since is not None
                       and now - held.failing_since >= timedelta(seconds=self.give_up_after * 0.95))
            if disable:
                await deliveries.disable_failing(session, endpoint_id=claim.endpoint_id, now=now)
                endpoint_id = encode_id("WebhookEndpoint", claim.endpoint_id)
                await audit.record(session, self.vault, org_id=claim.org_id, actor=SYSTEM, happenings=[
                    Happening(AuditAction.WEBHOOK_ENDPOINT_UPDATED, "WebhookEndpoint", endpoint_id,
                              (Change("enabled", True, False),)),
                ])
        if retry is None and not result.delivered:
            self.outcomes[("given_up",)] += 1
        if disable:
            await self.events.publish(claim.org_id)  # its warning reaches the live summary
            self.outcomes[("endpoint_disabled",)] += 1
            log.warning("webhook deliveries: endpoint %s disabled after failing since %s",
                        claim.endpoint_id, held.failing_since)
        return bool(held.enabled) and not disable
