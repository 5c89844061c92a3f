"""Subscription events executed once per document and event, shared by the subscribers of one
organization (api/graph/shared_events.py): each subscriber still gets its own shape, its own id,
its own errors, and the current state first."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import strawberry

from gql_telephony.api.graph import shared_events
from gql_telephony.api.graph.schema import build_schema
from gql_telephony.api.graph.shared_events import SharingExecutor, reads_only_its_event
from gql_telephony.api.graph.types import TelephonyConfigType
from gql_telephony.app import create_app

from ..documents import add_number, create_config
from .test_http_protocol import InProcessSocket

SUMMARY = "subscription { telephonyConfigWarningsChanged { totalCount hasDefaultOutbound } }"


class Subscriber:
    """One subscription on its own socket; `next` also checks the message's JSON text."""

    def __init__(self, socket: InProcessSocket, operation_id: str) -> None:
        self.socket, self.id = socket, operation_id

    async def next(self) -> dict[str, Any]:
        """The next message's payload (data, and errors if any)."""
        raw = await self.socket.raw()
        assert raw["type"] == "websocket.send", raw
        message = json.loads(raw["text"])
        assert message["type"] == "next" and message["id"] == self.id, message
        assert raw["text"] == json.dumps(message, separators=(",", ":"))  # as Strawberry encodes it
        return message["payload"]  # type: ignore[no-any-return]  # JSON


@asynccontextmanager
async def subscribed(api: Any, *operations: dict[str, Any], keys: tuple[str, ...] = (),
                     app: Any = None) -> AsyncIterator[list[Subscriber]]:
    """Each operation (a subscribe payload) on a socket of its own, with its own id and key
    (by default, api's); one app (one schema) for them all."""
    app = app or create_app(runtime=api.runtime)
    async with AsyncExitStack() as stack:
        subscribers = []
        for number, payload in enumerate(operations):
            key = keys[number] if number < len(keys) else api.key
            socket = await stack.enter_async_context(InProcessSocket(app))
            await socket.send({"type": "connection_init", "payload": {"Authorization": f"Bearer {key}"}})
            assert (await socket.receive())["type"] == "connection_ack"
            operation_id = f"op-{number}"
            await socket.send({"id": operation_id, "type": "subscribe", "payload": payload})
            subscribers.append(Subscriber(socket, operation_id))
        yield subscribers


def counted() -> dict[str, int]:
    return dataclasses.asdict(shared_events.stats)


def since(before: dict[str, int]) -> dict[str, int]:
    return {name: value - before[name] for name, value in counted().items()}


async def test_subscribers_of_one_document_share_each_events_execution(api):
    reader = await api.new_key(read_only=True)  # the key is not part of what is shared
    keys = (reader, api.key, reader, api.key, api.key)
    async with subscribed(api, *[{"query": SUMMARY}] * 5, keys=keys) as subscribers:
        firsts = [await s.next() for s in subscribers]
        assert all(first == {"data": {"telephonyConfigWarningsChanged": {"totalCount": 0,
                                                                          "hasDefaultOutbound": False}}}
                   for first in firsts)

        before = counted()
        await create_config(api, "TWILIO", "Main")  # a config without numbers: one warning
        events = [await s.next() for s in subscribers]
        assert all(event["data"]["telephonyConfigWarningsChanged"]["totalCount"] == 1 for event in events)
        assert since(before) == {"executed": 1, "shared": 4}


async def test_each_document_alias_variables_and_operation_gets_its_own_shape(api):
    variables = "subscription S($all: Boolean!) { telephonyConfigWarningsChanged { totalCount " \
                "byCode @include(if: $all) { code count } } }"
    two = "subscription A { a: telephonyConfigWarningsChanged { totalCount } } " \
          "subscription B { b: telephonyConfigWarningsChanged { hasDefaultOutbound } }"
    operations = [
        {"query": SUMMARY},
        {"query": "subscription { telephonyConfigWarningsChanged { n: totalCount } }"},
        {"query": variables, "variables": {"all": True}},
        {"query": variables, "variables": {"all": False}},
        {"query": two, "operationName": "A"},
        {"query": two, "operationName": "B"},
        {"query": SUMMARY},  # the first one's again: shares its execution
    ]
    async with subscribed(api, *operations) as subscribers:
        for subscriber in subscribers:
            await subscriber.next()
        before = counted()
        await create_config(api, "TWILIO", "Main")
        events = [(await s.next())["data"] for s in subscribers]
        assert events == [
            {"telephonyConfigWarningsChanged": {"totalCount": 1, "hasDefaultOutbound": False}},
            {"telephonyConfigWarningsChanged": {"n": 1}},
            {"telephonyConfigWarningsChanged": {"totalCount": 1,
                                                "byCode": [{"code": "NO_ACTIVE_PHONE_NUMBERS", "count": 1}]}},
            {"telephonyConfigWarningsChanged": {"totalCount": 1}},
            {"a": {"totalCount": 1}},
            {"b": {"hasDefaultOutbound": False}},
            {"telephonyConfigWarningsChanged": {"totalCount": 1, "hasDefaultOutbound": False}},
        ]
        assert since(before) == {"executed": 6, "shared": 1}


async def test_an_error_in_one_documents_result_reaches_no_other_and_is_not_shared(api, monkeypatch):
    """A broken event value (a null in a non-null field) fails the documents that select that
    field, each executed on its own; a document that does not select it gets its data."""
    summaries = api.runtime.summaries
    compute = summaries.compute

    async def broken_total(org_id: int) -> Any:
        return dataclasses.replace(await compute(org_id), total_count=None)

    monkeypatch.setattr(summaries, "compute", broken_total)
    total = {"query": "subscription { telephonyConfigWarningsChanged { totalCount } }"}
    default = {"query": "subscription { telephonyConfigWarningsChanged { hasDefaultOutbound } }"}
    before = counted()
    async with subscribed(api, total, default, total, default) as subscribers:
        failed, fine, failed_too, fine_too = [await s.next() for s in subscribers]
        for payload in (failed, failed_too):
            assert payload["data"] is None
            assert [error["extensions"]["code"] for error in payload["errors"]] == ["INTERNAL_SERVER_ERROR"]
            assert "None" not in json.dumps(payload)  # rewritten as every error is (errors.py)
        assert fine == fine_too == {"data": {"telephonyConfigWarningsChanged": {"hasDefaultOutbound": False}}}
        assert since(before) == {"executed": 3, "shared": 1}  # the failed result was executed twice


async def test_a_subscriber_joining_later_gets_the_current_state_first(api):
    app = create_app(runtime=api.runtime)
    async with subscribed(api, {"query": SUMMARY}, app=app) as (early,):
        assert (await early.next())["data"]["telephonyConfigWarningsChanged"]["totalCount"] == 0
        config = (await create_config(api, "TWILIO", "Main"))["telephonyConfig"]["id"]
        assert (await early.next())["data"]["telephonyConfigWarningsChanged"]["totalCount"] == 1

        before = counted()
        async with subscribed(api, {"query": SUMMARY}, app=app) as (late,):
            assert (await late.next())["data"]["telephonyConfigWarningsChanged"]["totalCount"] == 1
            assert since(before) == {"executed": 0, "shared": 1}  # the early one's result for that state
            await add_number(api, config, "+14155550100")  # the warning clears
            for subscriber in (early, late):
                assert (await subscriber.next())["data"]["telephonyConfigWarningsChanged"]["totalCount"] == 0


def test_the_schemas_subscriptions_read_only_their_event_so_their_executions_are_shared():
    schema = build_schema()
    assert schema.execution_context_class is SharingExecutor
    assert reads_only_its_event(schema._schema)


def test_a_subscription_delivering_a_type_with_a_batched_field_is_not_shared():
    """TelephonyConfigType's numbers are loaded through the operation's reader (its context)."""

    @strawberry.type
    class Query:
        nothing: int = 0

    @strawberry.type
    class Subscription:
        @strawberry.subscription
        async def configs(self) -> AsyncGenerator[TelephonyConfigType, None]:
            yield None  # type: ignore[misc]  # never run

    assert not reads_only_its_event(strawberry.Schema(query=Query, subscription=Subscription)._schema)


async def test_subscribers_of_organization_changes_share_each_changes_execution(api):
    changes = {"query": "subscription { organizationChanges { dataVersion events { type entityIds } } }"}
    async with subscribed(api, changes, changes, changes) as subscribers:
        for subscriber in subscribers:
            await subscriber.next()  # the version now: one object per subscriber
        before = counted()
        created = (await create_config(api, "TWILIO", "Main"))["telephonyConfig"]["id"]
        events = [(await s.next())["data"]["organizationChanges"]["events"] for s in subscribers]
        assert {event["type"]: event["entityIds"] for event in events[0]}["TELEPHONY_CONFIG_CREATED"] == [created]
        assert events[0] == events[1] == events[2]
        assert since(before) == {"executed": 1, "shared": 2}
