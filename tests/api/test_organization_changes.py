"""Subscription.organizationChanges through the app's WebSocket (graphql-transport-ws, in process):
the data version first, then after each write what it announced, coalesced for a slow reader."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import sqlalchemy as sa

from gql_telephony.app import create_app
from gql_telephony.domain.ids import encode_id
from gql_telephony.storage import audit
from gql_telephony.storage.queries import ORGANIZATIONS

from ..deadline import until
from ..documents import ADD_NUMBER, SET_DEFAULT, UPDATE, add_number, create_config
from ..support import Api, app_client
from .test_http_protocol import InProcessSocket
from .test_webhook_endpoints import create as create_endpoint

CHANGES = "subscription { organizationChanges { dataVersion events { type entityIds } } }"
VERSION = "{ viewer { organization { dataVersion } } }"
QUIET_SECONDS = 0.3  # long enough for a watcher to have read a write, were it to announce anything


class Subscription:
    """One organizationChanges operation on its own socket."""

    def __init__(self, socket: InProcessSocket) -> None:
        self.socket = socket

    @classmethod
    async def start(cls, socket: InProcessSocket, key: str) -> Subscription:
        await socket.send({"type": "connection_init", "payload": {"Authorization": f"Bearer {key}"}})
        assert (await socket.receive())["type"] == "connection_ack"
        await socket.send({"id": "1", "type": "subscribe", "payload": {"query": CHANGES}})
        return cls(socket)

    async def next(self) -> dict[str, Any]:
        message = await self.socket.receive()
        assert message["type"] == "next" and "errors" not in message["payload"], message
        return message["payload"]["data"]["organizationChanges"]

    async def nothing(self) -> None:
        """Nothing arrives for a while."""
        await asyncio.sleep(QUIET_SECONDS)
        assert self.socket.from_app.empty(), self.socket.from_app.get_nowait()


def events(message: dict[str, Any]) -> dict[str, list[str]]:
    return {event["type"]: event["entityIds"] for event in message["events"]}


async def version(api: Api, key: str | None = None) -> str:
    return (await api.gql(VERSION, key=key))["viewer"]["organization"]["dataVersion"]


async def test_the_first_message_is_the_version_then_each_write_with_its_types_and_ids(api):
    org = encode_id("Organization", api.org_id)
    async with InProcessSocket(create_app(runtime=api.runtime)) as socket:
        subscription = await Subscription.start(socket, api.key)
        assert await subscription.next() == {"dataVersion": await version(api), "events": []}

        # A new configuration (no numbers: a warning more).
        created = (await create_config(api, "TWILIO", "Main"))["telephonyConfig"]["id"]
        message = await subscription.next()
        assert events(message) == {"TELEPHONY_CONFIG_CREATED": [created], "WARNINGS_CHANGED": [org]}
        assert [event["type"] for event in message["events"]] == ["TELEPHONY_CONFIG_CREATED", "WARNINGS_CHANGED"]
        assert message["dataVersion"] == await version(api)

        # A rename: the warnings stay as they were.
        renamed = await api.gql(UPDATE, {"input": {"id": created, "name": "Main line"}})
        assert renamed["updateTelephonyConfig"]["userErrors"] == []
        message = await subscription.next()
        assert events(message) == {"TELEPHONY_CONFIG_UPDATED": [created]}
        assert message["dataVersion"] == await version(api)

        # An added number: its id, and the warning it clears.
        number = (await add_number(api, created, "+14155550100"))["phoneNumber"]["id"]
        assert events(await subscription.next()) == {"PHONE_NUMBER_ADDED": [number], "WARNINGS_CHANGED": [org]}

        # The default moves to it: the summary now has a default.
        moved = await api.gql(SET_DEFAULT, {"id": created})
        assert moved["setDefaultOutboundTelephonyConfig"]["userErrors"] == []
        message = await subscription.next()
        assert events(message)["DEFAULT_OUTBOUND_CHANGED"] == [created]
        assert events(message)["WARNINGS_CHANGED"] == [org]
        assert message["dataVersion"] == await version(api)


async def test_writes_that_announce_nothing_send_nothing(api):
    created = (await create_config(api, "TWILIO", "Main"))["telephonyConfig"]["id"]
    async with InProcessSocket(create_app(runtime=api.runtime)) as socket:
        subscription = await Subscription.start(socket, api.key)
        first = await subscription.next()
        # The same name again changes nothing; a webhook endpoint is no WebhookEventType.
        unchanged = await api.gql(UPDATE, {"input": {"id": created, "name": "Main"}})
        assert unchanged["updateTelephonyConfig"]["userErrors"] == []
        await create_endpoint(api)
        await subscription.nothing()
        # The next write arrives alone, at a version beyond those quiet writes'.
        await api.gql(UPDATE, {"input": {"id": created, "name": "Renamed"}})
        message = await subscription.next()
        assert events(message) == {"TELEPHONY_CONFIG_UPDATED": [created]}
        assert int(message["dataVersion"]) > int(first["dataVersion"]) + 1
        assert message["dataVersion"] == await version(api)


async def test_a_read_only_key_subscribes_and_another_organizations_changes_never_arrive(api):
    reader = await api.new_key(read_only=True)
    other_org, other_key = await api.new_org()
    other = Api(client=api.client, runtime=api.runtime, key=other_key, org_id=other_org)
    app = create_app(runtime=api.runtime)
    async with InProcessSocket(app) as ours_socket, InProcessSocket(app) as theirs_socket:
        ours = await Subscription.start(ours_socket, reader)
        theirs = await Subscription.start(theirs_socket, other_key)
        assert (await ours.next())["dataVersion"] == await version(api)
        assert (await theirs.next())["dataVersion"] == await version(api, other_key)

        their_config = (await create_config(other, "TWILIO", "Theirs"))["telephonyConfig"]["id"]
        our_config = (await create_config(api, "TELNYX", "Ours"))["telephonyConfig"]["id"]
        their_number = (await add_number(other, their_config, "+14155550101"))["phoneNumber"]["id"]

        ours_first = await ours.next()
        assert events(ours_first)["TELEPHONY_CONFIG_CREATED"] == [our_config]
        assert their_config not in str(ours_first)
        await ours.nothing()
        theirs_messages = [await theirs.next(), await theirs.next()]
        assert events(theirs_messages[0])["TELEPHONY_CONFIG_CREATED"] == [their_config]
        assert events(theirs_messages[1])["PHONE_NUMBER_ADDED"] == [their_number]
        assert our_config not in str(theirs_messages)
        await theirs.nothing()


async def test_a_subscriber_joining_later_starts_from_the_version_then(api):
    """Two subscribers of one organization share a watcher; the later one hears only what follows."""
    app = create_app(runtime=api.runtime)
    async with InProcessSocket(app) as early_socket, InProcessSocket(app) as late_socket:
        early = await Subscription.start(early_socket, api.key)
        await early.next()
        first = (await create_config(api, "TWILIO", "First"))["telephonyConfig"]["id"]
        assert events(await early.next())["TELEPHONY_CONFIG_CREATED"] == [first]
        late = await Subscription.start(late_socket, api.key)
        assert await late.next() == {"dataVersion": await version(api), "events": []}
        second = (await create_config(api, "TWILIO", "Second"))["telephonyConfig"]["id"]
        for subscription in (early, late):
            assert events(await subscription.next())["TELEPHONY_CONFIG_CREATED"] == [second]
        assert api.runtime.changes.listener_count == 2


async def test_a_slow_subscriber_gets_one_coalesced_message(api):
    """The service's own feed, not pulled while five writes commit: then one message holds them all."""
    config = (await create_config(api, "TWILIO", "Main"))["telephonyConfig"]["id"]
    feed = api.runtime.changes.follow(api.org_id)
    try:
        start = await anext(feed)
        assert start.events == ()
        numbers = [(await add_number(api, config, f"+1415555010{n}"))["phoneNumber"]["id"] for n in range(3)]
        await api.gql(UPDATE, {"input": {"id": config, "name": "Renamed"}})
        await add_number(api, config, "+14155550100")  # taken: a refused write announces nothing
        numbers.append((await add_number(api, config, "+14155550109"))["phoneNumber"]["id"])
        final = int(await version(api))
        await until(lambda: api.runtime.changes.seen_version(api.org_id) == final)
        change = await asyncio.wait_for(anext(feed), 5)
        assert change.data_version == final
        assert {event.type.value: list(event.entity_ids) for event in change.events} == {
            "TELEPHONY_CONFIG_UPDATED": [config],
            "PHONE_NUMBER_ADDED": numbers,
            "WARNINGS_CHANGED": [encode_id("Organization", api.org_id)],  # the first number cleared one
        }
    finally:
        await feed.aclose()
    assert api.runtime.changes.listener_count == 0


class SlowSocket(InProcessSocket):
    """A client that reads nothing until it chooses: the app's sends wait once one is unread."""

    def __init__(self, app: Any) -> None:
        super().__init__(app)
        self.from_app = asyncio.Queue(maxsize=1)


async def test_a_client_that_reads_late_gets_coalesced_messages_not_a_backlog(api):
    config = (await create_config(api, "TWILIO", "Main"))["telephonyConfig"]["id"]
    async with SlowSocket(create_app(runtime=api.runtime)) as socket:
        subscription = await Subscription.start(socket, api.key)
        await until(socket.from_app.full)  # the first message is there: writes from now on are news
        # Not read: the first message waits in the socket, and the app's next send waits behind it.
        added = [(await add_number(api, config, f"+1415555011{n}"))["phoneNumber"]["id"] for n in range(6)]
        final = int(await version(api))
        await until(lambda: api.runtime.changes.seen_version(api.org_id) == final)
        first = await subscription.next()
        assert first["events"] == []
        messages = [await subscription.next()]
        if messages[0]["dataVersion"] != str(final):
            messages.append(await subscription.next())
        await subscription.nothing()
    # Six writes, at most two messages (the one already on its way, and the rest in one), and
    # every number in them, in order.
    assert len(messages) <= 2 and messages[-1]["dataVersion"] == str(final)
    assert [n for message in messages for n in events(message).get("PHONE_NUMBER_ADDED", [])] == added


@pytest.mark.parametrize("document", [
    "subscription { organizationChanges { dataVersion events { type entityIds } } }",
    "subscription { organizationChanges { events { type } } }",
])
async def test_the_subscription_is_refused_over_http(api, document):
    response = await api.post(document)
    assert response.status_code in (200, 400) and response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_a_number_added_through_another_app_reaches_the_subscriber(api):
    """Two apps on one database and broker: a write through either wakes the shared watcher."""
    async with app_client(api.runtime.settings, beside=api.runtime) as other:
        config = (await create_config(api.through(other), "TWILIO", "Main"))["telephonyConfig"]["id"]
        async with InProcessSocket(create_app(runtime=api.runtime)) as socket:
            subscription = await Subscription.start(socket, api.key)
            await subscription.next()
            payload = await api.through(other).gql(ADD_NUMBER, {"input": {"telephonyConfigId": config,
                                                                           "phoneNumber": "+14155550100"}})
            number = payload["addPhoneNumber"]["phoneNumber"]["id"]
            assert events(await subscription.next())["PHONE_NUMBER_ADDED"] == [number]


async def test_a_first_read_that_fails_is_retried_and_the_subscriber_gets_its_first_message(api, monkeypatch):
    """A database blip on the watcher's first look: the subscriber waits for the retry instead of
    getting an error and a complete (a dashboard would stay offline)."""
    real = audit.last_event_id  # read by the first look only
    failures = []

    async def blip_once(*args: Any, **kwargs: Any) -> int:
        if not failures:
            failures.append(1)
            raise OSError("database blip")
        return await real(*args, **kwargs)

    monkeypatch.setattr(audit, "last_event_id", blip_once)
    async with InProcessSocket(create_app(runtime=api.runtime)) as socket:
        subscription = await Subscription.start(socket, api.key)
        assert await subscription.next() == {"dataVersion": await version(api), "events": []}
        assert failures
        created = (await create_config(api, "TWILIO", "Main"))["telephonyConfig"]["id"]
        assert events(await subscription.next())["TELEPHONY_CONFIG_CREATED"] == [created]


async def test_a_deleted_organization_ends_its_subscriptions(api):
    """Not a warning every few seconds for ever: the subscriber's feed ends, the watcher with it."""
    feed = api.runtime.changes.follow(api.org_id)
    try:
        await asyncio.wait_for(anext(feed), 5)
        async with api.runtime.db.writing() as session:
            await session.execute(sa.delete(ORGANIZATIONS).where(ORGANIZATIONS.c.id == api.org_id))
        await api.runtime.broker.publish(api.org_id)
        with pytest.raises(StopAsyncIteration):
            await asyncio.wait_for(anext(feed), 5)
    finally:
        await feed.aclose()
    assert api.runtime.changes.listener_count == 0
    # A subscriber arriving later finds no organization either, and ends at once.
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(anext(api.runtime.changes.follow(api.org_id)), 5)
