"""Live warnings through a real uvicorn process and a real WebSocket client."""

from __future__ import annotations

import httpx
import pytest
import websockets
from cryptography.fernet import Fernet

from gql_telephony.api.http.ws_auth import KEY_NOT_VALID, NO_KEY, NOT_BEARER

from ..documents import ADD_NUMBER, CREATE, UPDATE, UPDATE_NUMBER, VALID
from ..support import bearer
from .server import cli, running_server, server_env
from .ws_client import Subscriber


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("live")
    env = server_env(
        GQL_TELEPHONY_DATABASE_URL=f"sqlite+aiosqlite:///{tmp / 'live.sqlite3'}",
        GQL_TELEPHONY_SECRET_KEYS=Fernet.generate_key().decode(),
    )
    org = cli(["create-org", "Live"], env)
    other_org = cli(["create-org", "Other"], env)
    keys = {
        "admin": cli(["create-api-key", org], env),
        "reader": cli(["create-api-key", org, "--read-only"], env),
        "other": cli(["create-api-key", other_org], env),
    }
    with running_server(env, tmp / "server.log") as running:
        running.keys = keys  # type: ignore[attr-defined]  # the fixture's API keys travel with its server
        yield running


async def mutate(server, query, variables, key="admin"):
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{server.http}/graphql", json={"query": query, "variables": variables},
                                     headers=bearer(server.keys[key]))
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


async def test_summary_at_once_then_after_each_change(server):
    subscriber = Subscriber(server.ws, server.keys["reader"])
    assert (await subscriber.connect())["type"] == "connection_ack"
    await subscriber.subscribe()
    first = await subscriber.next_data()
    created = await mutate(server, CREATE, {"input": {"name": "Live Telnyx", "provider": "TELNYX", "config": VALID["TELNYX"]}})
    config_id = created["createTelephonyConfig"]["telephonyConfig"]["id"]
    after_create = await subscriber.next_data()
    assert after_create["totalCount"] == first["totalCount"] + 2  # no webhook key, no number
    await mutate(server, ADD_NUMBER, {"input": {"telephonyConfigId": config_id, "phoneNumber": "+14155550199"}})
    after_number = await subscriber.next_data()
    assert after_number["totalCount"] == after_create["totalCount"] - 1
    await subscriber.close()


async def test_no_key_or_bad_key_is_closed_with_4401_and_a_reason(server):
    """4401, on which graphql-ws clients stop at once (they retry a 4403 for about 40 s)."""
    for payload, reason in (({}, NO_KEY), ({"Authorization": "Bearer nope"}, KEY_NOT_VALID),
                            ({"Authorization": 5}, NOT_BEARER)):
        subscriber = Subscriber(server.ws, None)
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await subscriber.connect(payload)
        assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4401, reason)


async def subscribed_one(server, key_name):
    subscriber = Subscriber(server.ws, server.keys[key_name])
    assert (await subscriber.connect())["type"] == "connection_ack"
    await subscriber.subscribe()
    return subscriber, await subscriber.next_data()


async def test_nothing_is_sent_when_the_summary_does_not_change(server):
    subscriber, first = await subscribed_one(server, "admin")
    created = await mutate(server, CREATE, {"input": {"name": "Quiet", "provider": "TWILIO", "config": VALID["TWILIO"]}})
    config_id = created["createTelephonyConfig"]["telephonyConfig"]["id"]
    assert (await subscriber.next_data())["totalCount"] == first["totalCount"] + 1
    number = await mutate(server, ADD_NUMBER, {"input": {"telephonyConfigId": config_id, "phoneNumber": "+14155550142", "isActive": False}})
    number_id = number["addPhoneNumber"]["phoneNumber"]["id"]
    # An inactive number, a label, a rename and a refused write change no warning: nothing is sent ...
    await mutate(server, UPDATE_NUMBER, {"input": {"id": number_id, "label": "Sales"}})
    await mutate(server, UPDATE, {"input": {"id": config_id, "name": "Quiet renamed"}})
    refused = await mutate(server, CREATE, {"input": {"name": "Quiet renamed", "provider": "TWILIO", "config": VALID["TWILIO"]}})
    assert refused["createTelephonyConfig"]["userErrors"][0]["code"] == "TAKEN"
    # ... so the next message is the one for activating the number.
    await mutate(server, UPDATE_NUMBER, {"input": {"id": number_id, "isActive": True}})
    assert (await subscriber.next_data())["totalCount"] == first["totalCount"]
    await subscriber.close()


async def test_events_of_one_organization_never_reach_another(server):
    theirs, their_first = await subscribed_one(server, "other")
    ours, _ = await subscribed_one(server, "admin")
    await mutate(server, CREATE, {"input": {"name": "Ours only", "provider": "VOBIZ", "config": VALID["VOBIZ"]}})
    await ours.next_data()
    await mutate(server, CREATE, {"input": {"name": "Theirs", "provider": "VOBIZ", "config": VALID["VOBIZ"]}}, key="other")
    # Their first message after subscribing is their own change, not ours.
    assert (await theirs.next_data())["totalCount"] == their_first["totalCount"] + 1
    await theirs.close()
    await ours.close()


async def test_subscribe_before_init_is_closed_with_4401(server):
    subscriber = Subscriber(server.ws, server.keys["admin"])
    subscriber.socket = await websockets.connect(server.ws, subprotocols=["graphql-transport-ws"])
    await subscriber.subscribe()
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await subscriber.receive()
    assert closed.value.rcvd.code == 4401


@pytest.mark.parametrize("misbehaviour,code", [
    ("second_init", 4429),
    ("duplicate_id", 4409),
    ("unknown_message", 4400),
])
async def test_protocol_close_codes_for_misbehaving_clients(server, misbehaviour, code):
    subscriber = Subscriber(server.ws, server.keys["admin"])
    assert (await subscriber.connect())["type"] == "connection_ack"
    if misbehaviour == "second_init":
        await subscriber.send({"type": "connection_init", "payload": {"Authorization": f"Bearer {server.keys['admin']}"}})
    elif misbehaviour == "duplicate_id":
        await subscriber.subscribe(operation_id="same")
        await subscriber.next_data()
        await subscriber.subscribe(operation_id="same")
    else:
        await subscriber.send({"type": "no-such-message", "id": "x"})
    with pytest.raises(websockets.ConnectionClosed) as closed:
        while True:
            await subscriber.receive()
    assert closed.value.rcvd.code == code
