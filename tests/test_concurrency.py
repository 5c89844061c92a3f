"""Two dozen clients writing at once: correct answers and user errors, never a 500 or
"database is locked", and the invariants still hold.

The clients are spread over two app instances, each with its own engines on the same SQLite
file, as two server processes would be.
"""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
import sqlalchemy as sa

from gql_telephony.storage.tables import PhoneNumberRow, TelephonyConfigRow

from .documents import ADD_NUMBER, CREATE, DELETE, SET_DEFAULT, VALID, create_config
from .support import app_client, bearer

CLIENTS = 24
ROUNDS = 40


@pytest.fixture
async def two_apps(api, settings):
    """The `api` fixture's app plus a second instance on the same database file."""
    async with app_client(settings) as second:
        yield [api.client, second.client]


async def post_all(api, clients, documents) -> list[dict]:
    """Send every (query, variables) at once, alternating between the app instances."""
    headers = bearer(api.key)

    async def send(index: int, query: str, variables: dict) -> dict:
        response = await clients[index % len(clients)].post(
            "/graphql", json={"query": query, "variables": variables}, headers=headers
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body
        return body["data"]

    return await asyncio.gather(*(send(i, q, v) for i, (q, v) in enumerate(documents)))


async def test_switching_the_default_at_once(api, two_apps):
    ids = [(await create_config(api, "TELNYX", f"Telnyx {i}"))["telephonyConfig"]["id"] for i in range(CLIENTS)]
    results = await post_all(api, two_apps, [(SET_DEFAULT, {"id": config_id}) for config_id in ids])
    payloads = [r["setDefaultOutboundTelephonyConfig"] for r in results]
    assert all(p["userErrors"] == [] and p["telephonyConfig"]["isDefaultOutbound"] for p in payloads)
    # Serialized switches form one chain: every config but the first was demoted exactly once.
    demoted = [p["previousDefault"]["id"] for p in payloads if p["previousDefault"]]
    assert len(demoted) == CLIENTS - 1 and len(set(demoted)) == CLIENTS - 1
    async with api.runtime.db.reading() as session:
        defaults = (await session.execute(
            sa.select(TelephonyConfigRow.id).where(TelephonyConfigRow.is_default_outbound)
        )).all()
    assert len(defaults) == 1
    current = await api.gql("{ defaultOutboundTelephonyConfig { id version } }")
    assert current["defaultOutboundTelephonyConfig"]["id"] not in demoted
    assert current["defaultOutboundTelephonyConfig"]["version"] == 2


async def test_adding_the_same_number_at_once(api, two_apps):
    config_ids = [(await create_config(api, "TWILIO", f"Twilio {i}"))["telephonyConfig"]["id"] for i in range(3)]
    spellings = ["+14155550100", "+1 (415) 555-0100", "+1 415 555 0100", "+1-415-555-0100"]
    documents = [
        (ADD_NUMBER, {"input": {"telephonyConfigId": config_ids[i % 3], "phoneNumber": spellings[i % 4]}})
        for i in range(CLIENTS)
    ]
    payloads = [r["addPhoneNumber"] for r in await post_all(api, two_apps, documents)]
    added = [p for p in payloads if p["phoneNumber"]]
    refused = [p for p in payloads if not p["phoneNumber"]]
    assert len(added) == 1 and added[0]["phoneNumber"]["phoneNumber"] == "+14155550100"
    holder = added[0]["phoneNumber"]["telephonyConfig"]["name"]
    assert len(refused) == CLIENTS - 1
    for payload in refused:
        [error] = payload["userErrors"]
        assert error["code"] == "TAKEN" and error["field"] == ["input", "phoneNumber"]
        assert holder in error["message"]
    async with api.runtime.db.reading() as session:
        count = (await session.execute(sa.select(sa.func.count()).select_from(PhoneNumberRow))).scalar_one()
    assert count == 1


async def test_creating_the_same_name_at_once(api, two_apps):
    names = ["Main line", "MAIN LINE", "main line", "  Main Line  "]
    documents = [
        (CREATE, {"input": {"name": names[i % 4], "provider": "VOBIZ", "config": VALID["VOBIZ"], "isDefaultOutbound": i % 2 == 0}})
        for i in range(CLIENTS)
    ]
    payloads = [r["createTelephonyConfig"] for r in await post_all(api, two_apps, documents)]
    created = [p for p in payloads if p["telephonyConfig"]]
    assert len(created) == 1
    codes = Counter(e["code"] for p in payloads if not p["telephonyConfig"] for e in p["userErrors"])
    assert codes == {"TAKEN": CLIENTS - 1}
    summary = await api.gql("{ telephonyConfigs { totalCount } }")
    assert summary["telephonyConfigs"]["totalCount"] == 1


async def test_mixed_writers_keep_every_invariant(api, two_apps):
    base = [(await create_config(api, "PLIVO", f"Plivo {i}"))["telephonyConfig"]["id"] for i in range(4)]
    documents = []
    for i in range(CLIENTS):
        kind = i % 3
        if kind == 0:
            documents.append((SET_DEFAULT, {"id": base[i % 4]}))
        elif kind == 1:
            documents.append((CREATE, {"input": {"name": f"New {i % 6}", "provider": "PLIVO", "config": VALID["PLIVO"], "isDefaultOutbound": True}}))
        else:
            documents.append((ADD_NUMBER, {"input": {"telephonyConfigId": base[i % 4], "phoneNumber": f"+4420794600{i % 5:02d}"}}))
    await post_all(api, two_apps, documents)
    async with api.runtime.db.reading() as session:
        defaults = (await session.execute(
            sa.select(sa.func.count()).where(TelephonyConfigRow.is_default_outbound)
        )).scalar_one()
        numbers = (await session.execute(sa.select(PhoneNumberRow.phone_number))).scalars().all()
    assert defaults == 1
    assert len(numbers) == len(set(numbers)) == 5


async def test_adding_a_number_while_its_configuration_is_deleted_is_answered_plainly(api, two_apps):
    """The add either succeeds, its configuration shown, or is a NOT_FOUND user error; never
    `phoneNumber: null` with no user error and a top-level error (the configuration gone
    between the add's commit and the payload's reading it)."""
    outcomes: Counter[str] = Counter()
    for index in range(ROUNDS):
        config_id = (await create_config(api, "VOBIZ", f"Doomed {index}"))["telephonyConfig"]["id"]
        added, deleted = await post_all(api, two_apps, [
            (ADD_NUMBER, {"input": {"telephonyConfigId": config_id, "phoneNumber": f"+1415555{index:04d}"}}),
            (DELETE, {"input": {"id": config_id}}),
        ])
        assert deleted["deleteTelephonyConfig"]["deletedTelephonyConfigId"] == config_id
        payload = added["addPhoneNumber"]
        if payload["phoneNumber"] is None:
            assert payload["userErrors"] == [
                {"field": ["input", "telephonyConfigId"], "message": "No telephony configuration has this id.", "code": "NOT_FOUND"}
            ]
            outcomes["NOT_FOUND"] += 1
        else:
            assert payload["userErrors"] == [] and payload["phoneNumber"]["telephonyConfig"]["id"] == config_id
            outcomes["added"] += 1
    assert sum(outcomes.values()) == ROUNDS
