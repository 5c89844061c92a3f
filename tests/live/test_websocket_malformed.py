"""Malformed graphql-transport-ws messages: each closes the socket with 4400 and a reason, and
nothing is logged as an error (a client's mistake is not a fault of the server)."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest
import websockets

from gql_telephony.api.http.ws_auth import NO_KEY, NOT_BEARER
from gql_telephony.app import build_runtime
from gql_telephony.services.tenancy import create_api_key, create_organization
from gql_telephony.storage.migrate import upgrade_to_head

from .server import serving_in_process
from .ws_client import SUMMARY

QUERY = "{ telephonyConfigs { totalCount } }"

# Raw frames sent before connection_init: str is a text frame, bytes a binary one.
BEFORE_INIT: list[str | bytes] = [
    "not json", '{"type":', "NaN", "[" * 100_000, b'{"type": "connection_init", "payload": {}}',
    "[]", '"connection_init"', "42", "null", "true",
    "{}", '{"type": 5}', '{"type": null}', '{"type": ["connection_init"]}', '{"type": "no-such-type"}',
    json.dumps({"type": "x" * 5000}),
    *(json.dumps({"type": server_only, "id": "1", "payload": {}}) for server_only in ("connection_ack", "next", "error")),
    *(json.dumps({"type": "connection_init", "payload": payload}) for payload in ("Bearer x", [], 5, True)),
    json.dumps({"type": "ping", "payload": "x"}),
    json.dumps({"type": "pong", "payload": [1]}),
    json.dumps({"type": "subscribe", "id": {"a": 1}, "payload": {"query": QUERY}}),
]


def subscribe(**fields: Any) -> dict[str, Any]:
    return {"type": "subscribe", "id": "1", "payload": {"query": QUERY}, **fields}


def subscribe_payload(**fields: Any) -> dict[str, Any]:
    return subscribe(payload={"query": QUERY, **fields})


# Messages sent after the connection is acknowledged.
AFTER_ACK: list[dict[str, Any]] = [
    {"type": "subscribe", "payload": {"query": QUERY}},  # no id
    *(subscribe(id=bad) for bad in (5, {"a": 1}, None, "", ["1"], True)),
    {"type": "subscribe", "id": "1"},  # no payload
    *(subscribe(payload=bad) for bad in ("{ telephonyConfigs { totalCount } }", [], None, 5)),
    subscribe(payload={}),  # no query
    *(subscribe(payload={"query": bad}) for bad in (5, None, {"a": 1}, ["{ __typename }"])),
    *(subscribe_payload(variables=bad) for bad in ("x", [], 5)),
    *(subscribe_payload(operationName=bad) for bad in (5, {"a": 1}, ["Op"])),
    *(subscribe_payload(extensions=bad) for bad in ("x", [], 5)),
    {"type": "complete"},  # no id
    *({"type": "complete", "id": bad} for bad in (5, {"a": 1}, None, "")),
    {"type": "connection_init", "payload": "again"},
    {"type": "next", "id": "1", "payload": {"data": {}}},
    {"type": "no-such-type", "id": "1"},
]


@pytest.fixture
async def served(settings):
    runtime = build_runtime(settings)
    await upgrade_to_head(runtime.db)
    key = await create_api_key(runtime.db, await create_organization(runtime.db, "Malformed"))
    # log_config=None: uvicorn's own loggers reach the test's log capture too.
    async with serving_in_process(runtime, log_config=None) as host:
        yield f"ws://{host}/graphql", key


async def closed_by_server(socket: Any) -> websockets.frames.Close | None:
    """The close frame the server sent (None when it dropped the connection without one)."""
    try:
        while True:
            message = json.loads(await asyncio.wait_for(socket.recv(), 5))
            if message.get("type") == "ping":
                await socket.send(json.dumps({"type": "pong"}))
    except websockets.ConnectionClosed as closed:
        return closed.rcvd


async def close_after(url: str, frames: list[str | bytes]) -> websockets.frames.Close | None:
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as socket:
        for frame in frames:
            await socket.send(frame)
        return await closed_by_server(socket)


def init(key: str) -> str:
    return json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {key}"}})


def assert_all_refused(outcomes: list[tuple[Any, websockets.frames.Close | None]], code: int = 4400) -> None:
    wrong = [(sent, closed) for sent, closed in outcomes if closed is None or closed.code != code or not closed.reason]
    assert not wrong, "\n".join(f"{str(sent)[:120]!r} -> {closed}" for sent, closed in wrong)


def errors_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [f"{record.name}: {record.getMessage()[:300]}" for record in caplog.records if record.levelno >= logging.ERROR]


async def test_malformed_messages_before_init_are_closed_with_4400(served, caplog):
    url, _ = served
    caplog.set_level(logging.WARNING)
    assert_all_refused([(frame, await close_after(url, [frame])) for frame in BEFORE_INIT])
    assert errors_logged(caplog) == []


async def test_malformed_messages_after_ack_are_closed_with_4400(served, caplog):
    url, key = served
    caplog.set_level(logging.WARNING)
    outcomes = [(message, await close_after(url, [init(key), json.dumps(message)])) for message in AFTER_ACK]
    outcomes += [(frame, await close_after(url, [init(key), frame])) for frame in ("{]", b"\x00\x01", "[" * 100_000)]
    assert_all_refused(outcomes)
    assert errors_logged(caplog) == []


async def test_long_values_are_cut_to_fit_a_close_frame(served, caplog):
    url, key = served
    caplog.set_level(logging.WARNING)
    long_id = "é" * 200  # 400 bytes of UTF-8: a close reason holds at most 123
    duplicate = json.dumps({"type": "subscribe", "id": long_id, "payload": {"query": SUMMARY}})
    closed = await close_after(url, [init(key), duplicate, duplicate])
    assert closed is not None and closed.code == 4409 and closed.reason
    unparsable = json.dumps(subscribe(payload={"query": "{ " + "x" * 500 + " ("}))
    closed = await close_after(url, [init(key), unparsable])
    assert closed is not None and closed.code == 4400 and closed.reason
    assert errors_logged(caplog) == []


async def test_a_null_or_missing_init_payload_is_no_key_4401(served):
    url, _ = served
    for message in ({"type": "connection_init"}, {"type": "connection_init", "payload": None}):
        closed = await close_after(url, [json.dumps(message)])
        assert closed is not None and (closed.code, closed.reason) == (4401, NO_KEY), (message, closed)
    closed = await close_after(url, [json.dumps({"type": "connection_init", "payload": {"Authorization": 5}})])
    assert closed is not None and (closed.code, closed.reason) == (4401, NOT_BEARER), closed


async def test_well_formed_messages_with_nulls_where_allowed_still_run(served):
    url, key = served
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as socket:
        await socket.send(init(key))
        assert json.loads(await socket.recv())["type"] == "connection_ack"
        await socket.send(json.dumps({"type": "ping", "payload": None}))
        assert json.loads(await socket.recv())["type"] == "pong"
        await socket.send(json.dumps({"type": "pong", "payload": {"any": "thing"}}))
        await socket.send(json.dumps(subscribe_payload(variables=None, operationName=None, extensions=None)))
        answer = json.loads(await socket.recv())
        assert answer == {"id": "1", "type": "next", "payload": {"data": {"telephonyConfigs": {"totalCount": 0}}}}
        assert json.loads(await socket.recv()) == {"id": "1", "type": "complete"}
        await socket.send(json.dumps({"type": "complete", "id": "never-started"}))  # allowed: a no-op
        await socket.send(json.dumps({"type": "ping"}))
        assert json.loads(await socket.recv())["type"] == "pong"
