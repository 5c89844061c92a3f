"""Where a WebSocket may present its API key, and the close frame of every refusal, on a real
uvicorn server with a real WebSocket client.

A refusal for the key is 4401 because graphql-ws (the client of GraphiQL, Apollo and urql)
gives up at once on 4401 and retries 4403 five times over about 40 seconds: see its
`shouldRetryConnectOrThrow` in src/client.ts. A revoked key's open socket closes with 4403
(tests/live/test_websocket_keys.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import websockets

from gql_telephony.api.http.ws_auth import KEY_NOT_VALID, NO_KEY, NOT_BEARER
from gql_telephony.app import build_runtime
from gql_telephony.services.tenancy import authenticate, create_api_key, create_organization, revoke_api_key
from gql_telephony.storage.migrate import upgrade_to_head

from ..support import sqlite_settings
from .server import serving_in_process
from .ws_client import Subscriber

QUERY = "{ telephonyConfigs { totalCount } }"


@asynccontextmanager
async def serving(path: Path, **settings: Any) -> AsyncIterator[tuple[str, dict[str, str]]]:
    """A server, its WebSocket URL and two keys: one live, one revoked."""
    runtime = build_runtime(sqlite_settings(path, **settings))
    await upgrade_to_head(runtime.db)
    org_id = await create_organization(runtime.db, "Sockets")
    keys = {"live": await create_api_key(runtime.db, org_id), "revoked": await create_api_key(runtime.db, org_id)}
    revoked = await authenticate(runtime.db, keys["revoked"])
    assert revoked is not None
    await revoke_api_key(runtime.db, revoked.key_id)
    try:
        async with serving_in_process(runtime) as host:
            yield f"ws://{host}/graphql", keys
    finally:
        await runtime.broker.close()
        await runtime.db.dispose()


@pytest.fixture
async def served(tmp_path):
    async with serving(tmp_path / "auth.sqlite3", rate_limit_per_minute=0) as served:
        yield served


async def acknowledged(url: str, payload: dict[str, Any], headers: dict[str, str] | None = None) -> Subscriber:
    subscriber = Subscriber(url, None, headers=headers)
    assert (await subscriber.connect(payload)) == {"type": "connection_ack"}
    return subscriber


async def refusal(url: str, payload: Any, headers: dict[str, str] | None = None) -> tuple[int, str]:
    """The close code and reason of a socket whose connection_init is refused."""
    subscriber = Subscriber(url, None, headers=headers)
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await subscriber.connect(payload)
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code, closed.value.rcvd.reason


async def test_every_accepted_form_of_the_key_opens_the_socket(served):
    url, keys = served
    key = keys["live"]
    payloads = [{"Authorization": f"Bearer {key}"}, {"authorization": f"Bearer {key}"},
                {"AUTHORIZATION": f"bearer  {key} "}, {"Authorization": key}, {"Authorization": f" {key} "}]
    for payload in payloads:
        subscriber = await acknowledged(url, payload)
        await subscriber.close()
    for header in (f"Bearer {key}", key):  # on the upgrade request, for clients outside a browser
        subscriber = await acknowledged(url, {}, headers={"Authorization": header})
        await subscriber.send({"id": "q", "type": "subscribe", "payload": {"query": QUERY}})
        assert (await subscriber.receive())["payload"] == {"data": {"telephonyConfigs": {"totalCount": 0}}}
        await subscriber.close()


async def test_each_refusal_closes_4401_with_its_reason_and_never_the_key(served):
    url, keys = served
    key, revoked = keys["live"], keys["revoked"]
    cases: list[tuple[Any, dict[str, str] | None, str]] = [
        ({}, None, NO_KEY),
        ({"apiKey": key}, None, NO_KEY),  # not a name this server reads: the reason says which is
        ({"token": key}, None, NO_KEY),
        ({"headers": {"Authorization": f"Bearer {key}"}}, None, NO_KEY),
        ({"Authorization": f"Basic {key}"}, None, NOT_BEARER),
        ({"Authorization": 5}, None, NOT_BEARER),
        ({"Authorization": "not-a-key"}, None, NOT_BEARER),
        ({"Authorization": ""}, None, NOT_BEARER),
        ({"Authorization": "Basic x"}, {"Authorization": f"Bearer {key}"}, NOT_BEARER),  # the payload's is meant
        ({}, {"Authorization": "Basic x"}, NOT_BEARER),
        ({"Authorization": "Bearer gqlt_made_up"}, None, KEY_NOT_VALID),
        ({"Authorization": f"Bearer {revoked}"}, None, KEY_NOT_VALID),
        ({}, {"Authorization": f"Bearer {revoked}"}, KEY_NOT_VALID),
    ]
    for payload, headers, reason in cases:
        code, sent = await refusal(url, payload, headers)
        assert (code, sent) == (4401, reason), (payload, headers)
        assert len(sent.encode()) <= 123 and key not in sent and revoked not in sent


async def test_a_key_from_the_upgrade_header_is_charged_for_each_operation(tmp_path):
    """Operations are charged to the socket's key wherever it presented it (a burst of 3)."""
    async with serving(tmp_path / "limited.sqlite3", rate_limit_per_minute=1, rate_limit_burst=3) as (url, keys):
        subscriber = await acknowledged(url, {}, headers={"Authorization": f"Bearer {keys['live']}"})
        answers = []
        for operation_id in ("1", "2", "3", "4"):
            await subscriber.send({"id": operation_id, "type": "subscribe", "payload": {"query": QUERY}})
            answer = await subscriber.receive()
            if answer["type"] == "next":
                assert (await subscriber.receive())["type"] == "complete"
            answers.append(answer["type"] if answer["type"] == "next" else answer["payload"][0]["extensions"]["code"])
        assert answers == ["next", "next", "next", "RATE_LIMITED"]
        await subscriber.close()
