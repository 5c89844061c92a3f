"""Webhook delivery from the outbox to real receivers on loopback, on SQLite and PostgreSQL:
signatures, retries after an outage, a poison event, leases between two workers, give-up and
disabling, the private-address rule at delivery time."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta

import orjson
import pytest
import sqlalchemy as sa
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from gql_telephony.app import build_runtime
from gql_telephony.domain.audit import SYSTEM, AuditAction, Change, Happening
from gql_telephony.domain.ids import encode_id
from gql_telephony.services import audit
from gql_telephony.services.signing_secrets import new_secret, seal
from gql_telephony.services.tenancy import create_organization
from gql_telephony.services.unit_of_work import writing
from gql_telephony.services.webhook_delivery import WebhookSender
from gql_telephony.storage import deliveries
from gql_telephony.storage.audit import AUDIT_EVENTS
from gql_telephony.storage.deliveries import ATTEMPTS, DELIVERIES, ENDPOINTS
from gql_telephony.storage.tables import Organization, utcnow
from gql_telephony.workers.webhook_delivery import DeliveryWorker

from ..deadline import until
from ..outbound.fakes.base import free_port
from ..support import app_client
from ..webhook_receiver import Receiver, first_per_id, receiving

ORGANIZATIONS: sa.Table = Organization.__table__  # type: ignore[attr-defined]


@pytest.fixture
async def sender() -> AsyncIterator[WebhookSender]:
    sender = WebhookSender(allow_private_hosts=True)
    yield sender
    await sender.aclose()


@pytest.fixture
async def org_id(runtime) -> int:
    return await create_organization(runtime.db, "Acme")


@pytest.fixture
def receiver():
    receiver = Receiver()
    with receiving(receiver) as url:
        receiver.url = url
        yield receiver


def worker_of(runtime, sender, **options) -> DeliveryWorker:
    options = {"retry_base": 0.2, "give_up_after": 86400, "poll": 0.05, **options}
    return DeliveryWorker(runtime.db, runtime.vault, runtime.broker, sender, **options)


async def add_endpoint(runtime, org_id, url, *, previous: str | None = None, previous_until=None) -> tuple[int, str]:
    secret = new_secret()
    async with runtime.db.writing() as session:
        endpoint_id = (await session.execute(sa.insert(ENDPOINTS).values(
            organization_id=org_id, url=url, events=["PHONE_NUMBER_ADDED"], secret=seal(runtime.vault, secret),
            previous_secret=previous and seal(runtime.vault, previous), previous_secret_until=previous_until,
            created_at=utcnow(), updated_at=utcnow(),
        ).returning(ENDPOINTS.c.id))).scalar_one()
    return endpoint_id, secret


async def announce(runtime, org_id, count: int, start: int = 1) -> list[str]:
    """`count` changes, each committed on its own; the entity ids, in commit order."""
    ids = []
    for number in range(start, start + count):
        entity = encode_id("PhoneNumber", number)
        async with writing(runtime.db, org_id) as session:
            await audit.record(session, runtime.vault, org_id=org_id, actor=SYSTEM, happenings=[
                Happening(AuditAction.PHONE_NUMBER_ADDED, "PhoneNumber", entity, (Change("label", None, "x"),)),
            ])
        ids.append(entity)
    return ids


async def rows(runtime, table: sa.Table, *where) -> list:
    async with runtime.db.reading() as session:
        return list((await session.execute(sa.select(table).where(*where).order_by(table.c[list(table.c.keys())[0]]))).all())


async def delivered_count(runtime) -> int:
    return len(await rows(runtime, DELIVERIES, DELIVERIES.c.status == "DELIVERED"))


async def until_stored(runtime, count: int, timeout: float = 30.0) -> None:
    """Until `count` deliveries are recorded DELIVERED (the receiver answers before the worker
    records: stopping the worker in between would leave one to send again)."""
    deadline = time.monotonic() + timeout
    while await delivered_count(runtime) < count:
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def running(worker: DeliveryWorker) -> asyncio.Task[None]:
    return asyncio.create_task(worker.run())


async def stop(*tasks: asyncio.Task[None]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


# --- Signatures ---------------------------------------------------------------------------------


async def test_each_delivery_is_the_stored_body_signed_as_standard_webhooks_says(runtime, org_id, sender, receiver):
    _, secret = await add_endpoint(runtime, org_id, receiver.url)
    ids = await announce(runtime, org_id, 2)
    assert await worker_of(runtime, sender).run_due() == 2
    stored = await rows(runtime, DELIVERIES)
    got = receiver.all()
    assert [r.data_id for r in got] == ids
    for item, delivery in zip(got, stored, strict=True):
        assert Webhook(secret).verify(item.body, item.headers) == orjson.loads(delivery.body)
        assert item.body == delivery.body and item.message_id == delivery.message_id
        assert item.headers["content-type"] == "application/json"
        assert abs(int(item.headers["webhook-timestamp"]) - time.time()) < 30
        assert delivery.status == "DELIVERED" and delivery.attempt_count == 1 and delivery.last_status_code == 200
        assert delivery.next_attempt_at is None and delivery.delivered_at is not None
    attempts = await rows(runtime, ATTEMPTS)
    assert [(a.status_code, a.error) for a in attempts] == [(200, None), (200, None)]
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(got[0].body, got[0].headers)
    # The lease was given back.
    assert (await rows(runtime, ENDPOINTS))[0].lease_owner is None


async def test_after_a_rotation_the_old_secret_signs_too_until_it_expires(runtime, org_id, sender, receiver):
    old = new_secret()
    endpoint_id, secret = await add_endpoint(runtime, org_id, receiver.url, previous=old,
                                             previous_until=utcnow() + timedelta(hours=24))
    await announce(runtime, org_id, 1)
    await worker_of(runtime, sender).run_due()
    (item,) = receiver.all()
    signatures = item.headers["webhook-signature"].split(" ")
    assert len(signatures) == 2 and signatures[0] == Webhook(secret).sign(
        item.message_id, _at(item), item.body)  # the new one first
    Webhook(secret).verify(item.body, item.headers)
    Webhook(old).verify(item.body, item.headers)  # a receiver that has only the old secret
    # Once the 24 hours are over, only the new secret signs.
    async with runtime.db.writing() as session:
        await session.execute(sa.update(ENDPOINTS).where(ENDPOINTS.c.id == endpoint_id)
                              .values(previous_secret_until=utcnow() - timedelta(seconds=1)))
    await announce(runtime, org_id, 1, start=2)
    await worker_of(runtime, sender).run_due()
    later = receiver.all()[1]
    assert " " not in later.headers["webhook-signature"]
    Webhook(secret).verify(later.body, later.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(later.body, later.headers)


def _at(item):
    from datetime import UTC, datetime  # noqa: PLC0415

    return datetime.fromtimestamp(int(item.headers["webhook-timestamp"]), UTC)


# --- Retries and order --------------------------------------------------------------------------


@pytest.mark.parametrize("outage", ["refused", "refused_then_503"])
async def test_a_receiver_down_then_back_gets_every_event_in_order(runtime, org_id, sender, outage):
    """Down (connection refused), then back: every event arrives, each webhook-id once after
    de-duplication. Back for good, it receives the backlog in commit order, the oldest first
    (a due retry brings the older pending ones along, the oldest is tried first, and its
    success makes the others due). The first to get through may come before the oldest: the
    one a claim was sending when the receiver came back, or, with a receiver that answers 503
    a while, the next one after the oldest's 503; then the rest follow in commit order."""
    receiver = Receiver()
    port = free_port()
    await add_endpoint(runtime, org_id, f"http://127.0.0.1:{port}/hook")
    ids = await announce(runtime, org_id, 8)
    task = await running(worker_of(runtime, sender))
    try:
        # Refused connections meanwhile: each delivery tried once at least (however loaded the
        # machine), none delivered.
        deadline = time.monotonic() + 30
        stored = await rows(runtime, DELIVERIES)
        while not all(d.attempt_count >= 1 for d in stored):
            assert time.monotonic() < deadline, "timed out"
            await asyncio.sleep(0.05)
            stored = await rows(runtime, DELIVERIES)
        assert all(d.status == "PENDING" for d in stored)
        assert "Could not connect" in stored[0].last_error
        if outage == "refused_then_503":
            back_at = time.monotonic() + 1.5
            receiver.answer = lambda _body: 503 if time.monotonic() < back_at else 200
        with receiving(receiver, port):
            await until(lambda: len(first_per_id(receiver.delivered())) == 8)
            await until_stored(runtime, 8)
    finally:
        await stop(task)
    firsts = [r.data_id for r in first_per_id(receiver.delivered())]
    assert sorted(firsts) == sorted(ids)  # every event, once after de-duplication
    # The first to get through may be the one in flight when the receiver came back (mid-claim,
    # which a loaded machine makes likely); from then on, the backlog oldest first (WEBHOOKS.md).
    assert firsts[1:] == [i for i in ids if i != firsts[0]]
    if outage == "refused_then_503":
        assert any(r.status == 503 for r in receiver.all())
    stored = await rows(runtime, DELIVERIES)
    assert all(d.status == "DELIVERED" for d in stored)
    assert (await rows(runtime, ENDPOINTS))[0].failing_since is None
    assert len(await rows(runtime, ATTEMPTS)) == sum(d.attempt_count for d in stored)


async def test_a_poison_event_does_not_hold_back_later_ones(runtime, org_id, sender, receiver):
    poison = encode_id("PhoneNumber", 2)
    receiver.answer = lambda body: 400 if orjson.loads(body)["data"]["id"] == poison else 200
    await add_endpoint(runtime, org_id, receiver.url)
    ids = await announce(runtime, org_id, 5)
    task = await running(worker_of(runtime, sender))
    try:
        await until(lambda: len(first_per_id(receiver.delivered())) == 4)
        more = await announce(runtime, org_id, 2, start=6)  # later ones keep going out
        await until(lambda: len(first_per_id(receiver.delivered())) == 6)
        await until(lambda: len([r for r in receiver.all() if r.status == 400]) >= 3)  # it is retried
        await until_stored(runtime, 6)
    finally:
        await stop(task)
    assert [r.data_id for r in first_per_id(receiver.delivered())] == [i for i in ids if i != poison] + more
    stuck = [d for d in await rows(runtime, DELIVERIES) if d.status != "DELIVERED"]
    assert len(stuck) == 1 and stuck[0].status == "PENDING" and stuck[0].last_status_code == 400
    assert stuck[0].last_error.startswith("The endpoint answered HTTP 400")
    assert stuck[0].next_attempt_at is not None


async def test_a_success_after_failures_makes_the_waiting_retries_due_at_once(runtime, org_id, sender, receiver):
    """The receiver failed three events, whose retries are 30 s away; when a later event comes
    due, the oldest pending one is tried first, gets through, and the rest follow in commit
    order, not at their own slots."""
    receiver.answer = lambda _body: 503
    await add_endpoint(runtime, org_id, receiver.url)
    ids = await announce(runtime, org_id, 3)
    worker = worker_of(runtime, sender, retry_base=30.0)
    assert await worker.run_due() == 3
    assert (await rows(runtime, ENDPOINTS))[0].failing_since is not None
    receiver.answer = lambda _body: 200
    later = await announce(runtime, org_id, 1, start=4)
    assert await worker.run_due() == 4
    assert [r.data_id for r in receiver.delivered()] == ids + later
    assert (await rows(runtime, ENDPOINTS))[0].failing_since is None
    assert await delivered_count(runtime) == 4


# --- Leases -------------------------------------------------------------------------------------


async def test_two_workers_never_send_the_same_attempt_twice(runtime, settings, org_id, sender, receiver):
    """Two runtimes (own connection pools: on SQLite two writers on one file) drain one outbox
    while changes keep coming; every attempt succeeds, so each (endpoint, webhook-id) must reach
    the receiver exactly once. Each worker has room for every endpoint: only the lease keeps
    the second off an endpoint the first is sending to."""
    receiver.delay = 0.03  # sends overlap: a second sender of one endpoint would show
    for name in range(3):
        await add_endpoint(runtime, org_id, f"{receiver.url}/{name}")
    other = build_runtime(settings)
    other_sender = WebhookSender(allow_private_hosts=True)
    try:
        workers = [worker_of(runtime, sender), worker_of(other, other_sender)]
        tasks = [await running(worker) for worker in workers]
        try:
            for wave in range(4):
                await announce(runtime, org_id, 5, start=1 + 5 * wave)
                await asyncio.sleep(0.2)
            await until(lambda: len(receiver.all()) >= 60, seconds=60)
            await until_stored(runtime, 60)
            await asyncio.sleep(0.3)  # time for a duplicate to show
        finally:
            await stop(*tasks)
    finally:
        await other_sender.aclose()
        await other.provider_http.aclose()
        await other.db.dispose()
    sends = Counter((r.path, r.message_id) for r in receiver.all())
    assert len(sends) == 60
    assert max(sends.values()) == 1, [key for key, count in sends.items() if count > 1][:5]
    stored = await rows(runtime, DELIVERIES)
    assert all(d.status == "DELIVERED" and d.attempt_count == 1 for d in stored)
    assert sum(sum(w.outcomes.values()) for w in workers) == 60


async def test_an_expired_lease_is_taken_over_and_the_late_finisher_writes_nothing(runtime, org_id, sender, receiver):
    await add_endpoint(runtime, org_id, receiver.url)
    await announce(runtime, org_id, 1)
    first, second = worker_of(runtime, sender), worker_of(runtime, sender)
    (claim,) = await first._claim(1)
    assert await second.run_due() == 0  # a live lease is not taken
    (due,) = await _due(runtime, claim.endpoint_id)
    # The first worker stalls past its lease (a long pause, a stopped process).
    async with runtime.db.writing() as session:
        await session.execute(sa.update(ENDPOINTS).values(lease_until=utcnow() - timedelta(seconds=1)))
    assert await second.run_due() == 1  # taken over
    assert await first._renew(claim) is None  # a stalled holder sends nothing more...
    late = await first.sender.send(receiver.url, message_id=due.message_id, body=due.body, secrets=[new_secret()],
                                   at=utcnow())
    assert await first._record(claim, due, late, utcnow()) is False  # ...and a send in flight writes nothing
    async with runtime.db.writing() as session:
        await deliveries.release(session, endpoint_id=claim.endpoint_id, owner=claim.owner, now=utcnow())
    (delivery,) = await rows(runtime, DELIVERIES)
    assert delivery.status == "DELIVERED" and delivery.attempt_count == 1
    assert len(await rows(runtime, ATTEMPTS)) == 1


async def _due(runtime, endpoint_id):
    async with runtime.db.reading_rows() as connection:
        return await deliveries.due_deliveries(connection, endpoint_id=endpoint_id, now=utcnow(), limit=10)


# --- Giving up ----------------------------------------------------------------------------------


async def test_a_delivery_is_given_up_and_an_endpoint_failing_that_long_disabled(runtime, org_id, sender, receiver):
    receiver.answer = lambda _body: 500
    endpoint_id, _ = await add_endpoint(runtime, org_id, receiver.url)
    await announce(runtime, org_id, 2)
    old, new = (d.id for d in await rows(runtime, DELIVERIES))
    async with runtime.db.writing() as session:  # the first is older than the give-up time
        await session.execute(sa.update(DELIVERIES).where(DELIVERIES.c.id == old)
                              .values(created_at=utcnow() - timedelta(seconds=10)))
    worker = worker_of(runtime, sender, give_up_after=5)
    assert await worker.run_due() == 2
    first, second = await rows(runtime, DELIVERIES)
    assert first.status == "FAILED" and first.next_attempt_at is None and first.attempt_count == 1
    assert first.last_status_code == 500 and first.last_error.startswith("The endpoint answered HTTP 500")
    assert second.status == "PENDING" and second.next_attempt_at is not None  # its own schedule
    assert worker.outcomes[("given_up",)] == 1
    (endpoint,) = await rows(runtime, ENDPOINTS)
    assert endpoint.enabled and endpoint.failing_since is not None  # failing for a moment only

    # Failing for longer than the give-up time: the next failed attempt disables the endpoint.
    async with runtime.db.writing() as session:
        await session.execute(sa.update(ENDPOINTS).values(failing_since=utcnow() - timedelta(seconds=6)))
        await session.execute(sa.update(DELIVERIES).where(DELIVERIES.c.id == new).values(next_attempt_at=utcnow()))
    async with runtime.db.reading() as session:
        version = (await session.execute(sa.select(ORGANIZATIONS.c.data_version))).scalar_one()
    listening = runtime.broker.subscribe(org_id)
    assert await worker.run_due() == 1
    (endpoint,) = await rows(runtime, ENDPOINTS)
    assert (endpoint.enabled, endpoint.disabled_reason) == (False, "FAILING")
    assert not listening.empty()  # live summaries hear of the endpoint's new warning
    assert endpoint.disabled_at is not None and endpoint.lease_owner is None
    (_, second) = await rows(runtime, DELIVERIES)
    assert second.status == "PENDING" and second.attempt_count == 2  # it waits for a re-enable
    (event,) = await rows(runtime, AUDIT_EVENTS, AUDIT_EVENTS.c.action == "WEBHOOK_ENDPOINT_UPDATED")
    assert event.entity_id == encode_id("WebhookEndpoint", endpoint_id) and event.api_key_id is None
    assert event.changes == [{"field": "enabled", "before": True, "after": False, "secret": False}]
    async with runtime.db.reading() as session:
        assert (await session.execute(sa.select(ORGANIZATIONS.c.data_version))).scalar_one() > version
    assert worker.outcomes[("endpoint_disabled",)] == 1
    async with runtime.db.writing() as session:
        await session.execute(sa.update(DELIVERIES).values(next_attempt_at=utcnow()))
    assert await worker.run_due() == 0 and len(receiver.all()) == 3  # a disabled endpoint gets nothing


async def test_a_disabled_endpoints_deliveries_wait_and_go_out_when_it_is_enabled(runtime, org_id, sender, receiver):
    endpoint_id, _ = await add_endpoint(runtime, org_id, receiver.url)
    await announce(runtime, org_id, 2)
    async with runtime.db.writing() as session:
        await session.execute(sa.update(ENDPOINTS).values(enabled=False, disabled_reason="USER"))
    worker = worker_of(runtime, sender)
    assert await worker.run_due() == 0 and receiver.all() == []
    async with runtime.db.writing() as session:
        await session.execute(sa.update(ENDPOINTS).values(enabled=True, disabled_reason=None))
    assert await worker.run_due() == 2 and len(receiver.all()) == 2


# --- The private-address rule -------------------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_a_private_address_is_refused_at_delivery_time(runtime, org_id, receiver, host):
    url = receiver.url.replace("127.0.0.1", host)
    await add_endpoint(runtime, org_id, url)
    await announce(runtime, org_id, 1)
    assert not runtime.settings.allow_private_webhook_hosts
    worker = worker_of(runtime, runtime.webhook_sender)
    assert await worker.run_due() == 1
    assert receiver.all() == []  # nothing reached it
    (delivery,) = await rows(runtime, DELIVERIES)
    assert delivery.status == "PENDING" and delivery.last_status_code is None
    assert "loopback address, which this server does not contact" in delivery.last_error
    assert url not in delivery.last_error
    (attempt,) = await rows(runtime, ATTEMPTS)
    assert attempt.error == delivery.last_error
    assert worker.outcomes == Counter({("refused_host",): 1})
    await runtime.webhook_sender.aclose()


# --- Waking -------------------------------------------------------------------------------------


async def test_a_mutation_wakes_the_sender_at_once(api, settings, receiver):
    """Through the API: the commit that wrote the delivery wakes this process's worker, which
    would otherwise look again only at its next poll (set far away here)."""
    from .. import documents  # noqa: PLC0415

    async with app_client(settings, beside=api.runtime, allow_private_webhook_hosts=True,
                          provider_checks=False) as other:
        runtime = other.runtime
        runtime.delivery_worker.poll = 60.0
        _, secret = await add_endpoint(runtime, api.org_id, receiver.url)
        async with runtime.db.writing() as session:
            await session.execute(sa.update(ENDPOINTS).values(events=["TELEPHONY_CONFIG_CREATED"]))
        async with runtime.background():
            await asyncio.sleep(0.2)  # the worker's first look found nothing: it waits for a wake
            started = time.monotonic()
            created = await documents.create_config(api.through(other))
            await until(lambda: len(receiver.all()) == 1, seconds=10)
            assert time.monotonic() - started < 10  # not the next poll, a minute away
            await until_stored(runtime, 1)
        metrics = (await other.client.get("/metrics")).text
        await runtime.webhook_sender.aclose()
    assert 'gql_telephony_webhook_deliveries_total{outcome="delivered"} 1.0' in metrics
    (item,) = receiver.all()
    body = Webhook(secret).verify(item.body, item.headers)
    assert body["type"] == "telephony_config.created"
    assert body["data"]["id"] == created["telephonyConfig"]["id"]


async def test_through_the_api_a_rotated_endpoint_gets_its_ping_signed_by_both_secrets(api, settings, receiver):
    """The endpoint made, rotated and pinged by the mutations: the ping goes out at once, signed
    by the new secret and, for the day after the rotation, by the old one."""
    from ..api.test_webhook_endpoints import CREATE, ROTATE, SEND_TEST  # noqa: PLC0415

    async with app_client(settings, beside=api.runtime, allow_private_webhook_hosts=True,
                          provider_checks=False) as other:
        client = api.through(other)
        created = (await client.gql(CREATE, {"input": {"url": receiver.url, "events": ["TELEPHONY_CONFIG_CREATED"]}}
                                    ))["createWebhookEndpoint"]
        assert created["userErrors"] == []
        endpoint_id, old = created["webhookEndpoint"]["id"], created["signingSecret"]
        rotated = (await client.gql(ROTATE, {"input": {"id": endpoint_id}}))["rotateWebhookSecret"]
        new = rotated["signingSecret"]
        async with other.runtime.background():
            ping = (await client.gql(SEND_TEST, {"input": {"endpointId": endpoint_id}}))["sendTestWebhook"]
            assert ping["userErrors"] == [], ping
            await until(lambda: len(receiver.all()) == 1, seconds=5)
            await until_stored(other.runtime, 1)
        await other.runtime.webhook_sender.aclose()
    (item,) = receiver.all()
    assert item.message_id == ping["delivery"]["webhookId"]
    assert len(item.headers["webhook-signature"].split(" ")) == 2
    Webhook(new).verify(item.body, item.headers)
    Webhook(old).verify(item.body, item.headers)


async def test_an_attempt_shows_in_webhook_deliveries_at_once_even_with_a_cached_answer(api, settings, receiver):
    """Recording an attempt bumps the organization's data version: a cached webhookDeliveries
    answer from before the send is not served after it."""
    from ..api.test_webhook_endpoints import CREATE, SEND_TEST  # noqa: PLC0415

    async with app_client(settings, beside=api.runtime, allow_private_webhook_hosts=True,
                          webhook_deliveries=False) as other:
        client = api.through(other)
        created = (await client.gql(CREATE, {"input": {"url": receiver.url, "events": ["TELEPHONY_CONFIG_CREATED"]}}
                                    ))["createWebhookEndpoint"]
        endpoint_id = created["webhookEndpoint"]["id"]
        await client.gql(SEND_TEST, {"input": {"endpointId": endpoint_id}})
        shown = "query($id: ID!) { webhookDeliveries(endpointId: $id) { nodes { status attemptCount } } }"
        assert (await client.gql(shown, {"id": endpoint_id}))["webhookDeliveries"]["nodes"] == [
            {"status": "PENDING", "attemptCount": 0}]
        sender = WebhookSender(allow_private_hosts=True)
        try:
            assert await worker_of(other.runtime, sender).run_due() == 1
        finally:
            await sender.aclose()
        assert (await client.gql(shown, {"id": endpoint_id}))["webhookDeliveries"]["nodes"] == [
            {"status": "DELIVERED", "attemptCount": 1}]


async def test_a_process_never_claims_again_an_endpoint_it_is_still_sending_to(runtime, org_id, sender, receiver):
    """A task whose lease ran out may still be in the middle of a send: the same process does
    not claim that endpoint again, and a later claim has another owner token, so the stalled
    task's renewal and record fail whoever holds the endpoint now."""
    await add_endpoint(runtime, org_id, receiver.url)
    await announce(runtime, org_id, 1)
    worker = worker_of(runtime, sender)
    (claim,) = await worker._claim(1)
    worker._serving.add(claim.endpoint_id)
    async with runtime.db.writing() as session:
        await session.execute(sa.update(ENDPOINTS).values(lease_until=utcnow() - timedelta(seconds=1)))
    assert await worker._claim(1) == []  # still serving it
    worker._serving.clear()
    (again,) = await worker._claim(1)
    assert again.owner != claim.owner
    assert await worker._renew(claim) is None and await worker._renew(again) is not None


async def test_a_failing_endpoint_with_a_long_backlog_tries_each_delivery_at_most_once_per_claim(
        runtime, org_id, sender, receiver):
    """Far more pending deliveries than a page, the endpoint failing, one retry due: a claim
    sends the oldest (to see if the endpoint is back) and what is due, each once; the rest keep
    their own schedules."""
    receiver.answer = lambda _body: 503
    await add_endpoint(runtime, org_id, receiver.url)
    await announce(runtime, org_id, 120)
    worker = worker_of(runtime, sender, retry_base=300.0)
    assert await worker.run_due() == 120  # every first attempt, each once
    stored = await rows(runtime, DELIVERIES)
    due_one = stored[100].id
    schedule = {d.id: d.next_attempt_at for d in stored}
    async with runtime.db.writing() as session:
        await session.execute(sa.update(DELIVERIES).where(DELIVERIES.c.id == due_one).values(next_attempt_at=utcnow()))
    before = len(receiver.all())
    assert await worker.run_due() == 2
    tried = [r.data_id for r in receiver.all()[before:]]
    by_id = {d.id: d for d in await rows(runtime, DELIVERIES)}
    assert tried == [orjson.loads(by_id[stored[0].id].body)["data"]["id"], orjson.loads(by_id[due_one].body)["data"]["id"]]
    assert by_id[stored[0].id].next_attempt_at == schedule[stored[0].id]  # the early try kept its schedule
    assert by_id[due_one].next_attempt_at > utcnow()  # the due one got its next retry
