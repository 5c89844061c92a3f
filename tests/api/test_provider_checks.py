"""Provider checks through the API: the fake Twilio served on loopback, reached through the same
setting a user has (GQL_TELEPHONY_PROVIDER_API_TWILIO), by the real HTTP client."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
import sqlalchemy as sa

from gql_telephony.app import create_app
from gql_telephony.domain.audit import WebhookEventType
from gql_telephony.domain.ids import encode_id
from gql_telephony.domain.warnings import WarningCode
from gql_telephony.services.audit import reset_warnings_digest

from ..documents import ADD_NUMBER, CREATE, UPDATE
from ..outbound.fakes.base import Fault, serve
from ..outbound.fakes.twilio import FakeNumber, TwilioAccount, TwilioFake
from ..support import Api, app_client
from .test_audit_recording import changes, deliveries, events, key_id, subscribe
from .test_http_protocol import InProcessSocket
from .test_organization_changes import VERSION, Subscription
from .test_organization_changes import events as change_events

SID = "AC" + "1" * 32
TOKEN = "a" * 32
CANARY = "c0ffee" * 5 + "ab"  # a valid auth token (32 hex digits) that must never show

CHECKED = """
query Checked($id: ID!) {
  node(id: $id) { ... on TelephonyConfig {
    providerCheck { status checkedAt message }
    warnings { code severity message phoneNumber { id phoneNumber } }
    phoneNumbers(first: 50) { nodes { phoneNumber providerCheck { status voiceCapable checkedAt message } } }
  } }
}"""

CHECK = """
mutation Check($id: ID!) {
  checkTelephonyConfig(input: {id: $id}) {
    telephonyConfig {
      id providerCheck { status checkedAt message }
      warnings { code severity message field phoneNumber { phoneNumber } }
      phoneNumbers(first: 50) { nodes { phoneNumber providerCheck { status voiceCapable message } } }
    }
    userErrors { field message code }
  }
}"""

IMPORT = """
mutation Import($id: ID!) {
  importPhoneNumbers(input: {telephonyConfigId: $id}) {
    telephonyConfig { id phoneNumberCount }
    importedCount alreadyRegisteredCount
    userErrors { field message code }
  }
}"""


@dataclass
class Provider:
    fake: TwilioFake
    account: TwilioAccount
    api: Api


@pytest.fixture
def twilio() -> Iterator[tuple[TwilioFake, str]]:
    fake = TwilioFake()
    with serve(fake) as origin:
        yield fake, origin


@pytest.fixture
async def provider(api: Api, settings: Any, twilio: tuple[TwilioFake, str]) -> AsyncIterator[Provider]:
    """The API with Twilio's origin pointed at the fake, short timeouts, and one account."""
    fake, origin = twilio
    account = fake.add(TwilioAccount(SID, TOKEN, numbers=[FakeNumber("+14155550100"), FakeNumber("+14155550101", voice=False)]))
    async with app_client(settings, beside=api.runtime, provider_api_origins={"TWILIO": origin},
                          provider_timeout=1.0) as other:
        http = other.runtime.provider_http
        http.policy = replace(http.policy, backoff=0.05)  # quick retries; the timeouts are the settings'
        yield Provider(fake, account, api.through(other))


async def create_twilio(api: Api, token: str = TOKEN, name: str = "Twilio") -> str:
    payload = (await api.gql(CREATE, {"input": {
        "name": name, "provider": "TWILIO", "config": {"account_sid": SID, "auth_token": token},
    }}))["createTelephonyConfig"]
    assert payload["userErrors"] == [], payload
    return payload["telephonyConfig"]["id"]


async def add(api: Api, config_id: str, number: str) -> None:
    payload = (await api.gql(ADD_NUMBER, {"input": {"telephonyConfigId": config_id, "phoneNumber": number}}))
    assert payload["addPhoneNumber"]["userErrors"] == []


async def check(api: Api, config_id: str) -> dict[str, Any]:
    payload = (await api.gql(CHECK, {"id": config_id}))["checkTelephonyConfig"]
    assert payload["userErrors"] == [], payload
    return payload["telephonyConfig"]


def codes(config: dict[str, Any]) -> list[str]:
    return [warning["code"] for warning in config["warnings"]]


async def test_nothing_is_known_before_the_first_check(provider):
    config_id = await create_twilio(provider.api)
    data = await provider.api.gql(CHECKED, {"id": config_id})
    assert data["node"]["providerCheck"] is None


async def test_a_check_reports_the_account_and_every_number(provider):
    config_id = await create_twilio(provider.api)
    for number in ("+14155550100", "+14155550101", "+14155550199"):
        await add(provider.api, config_id, number)
    config = await check(provider.api, config_id)
    assert config["providerCheck"]["status"] == "ACTIVE"
    numbers = {n["phoneNumber"]: n["providerCheck"] for n in config["phoneNumbers"]["nodes"]}
    assert (numbers["+14155550100"]["status"], numbers["+14155550100"]["voiceCapable"]) == ("IN_ACCOUNT", True)
    assert (numbers["+14155550101"]["status"], numbers["+14155550101"]["voiceCapable"]) == ("IN_ACCOUNT", False)
    assert numbers["+14155550199"]["status"] == "NOT_IN_ACCOUNT"
    warned = {w["code"]: w for w in config["warnings"]}
    assert warned["PHONE_NUMBER_NOT_IN_ACCOUNT"]["phoneNumber"] == {"phoneNumber": "+14155550199"}
    assert warned["PHONE_NUMBER_NOT_VOICE_CAPABLE"]["phoneNumber"] == {"phoneNumber": "+14155550101"}
    assert warned["PHONE_NUMBER_NOT_IN_ACCOUNT"]["severity"] == "CRITICAL"
    # The configuration's own warnings name no number.
    assert all(w["phoneNumber"] is None for w in config["warnings"] if not w["code"].startswith("PHONE_NUMBER"))


@pytest.mark.parametrize(("status", "kind", "code"), [
    ("active", "Trial", "PROVIDER_TRIAL_ACCOUNT"),
    ("suspended", "Full", "PROVIDER_ACCOUNT_SUSPENDED"),
    ("closed", "Full", "PROVIDER_ACCOUNT_SUSPENDED"),
])
async def test_the_account_state_is_a_warning(provider, status, kind, code):
    provider.account.status, provider.account.type = status, kind
    config_id = await create_twilio(provider.api)
    config = await check(provider.api, config_id)
    assert config["providerCheck"]["status"] == {"Trial": "TRIAL"}.get(kind, status.upper())
    assert code in codes(config)


async def test_rejected_credentials_make_the_numbers_unknown_and_never_show_the_secret(provider, caplog):
    caplog.set_level(logging.DEBUG)
    config_id = await create_twilio(provider.api, token=CANARY)
    await add(provider.api, config_id, "+14155550100")
    response = await provider.api.post(CHECK, {"id": config_id})
    config = response.json()["data"]["checkTelephonyConfig"]["telephonyConfig"]
    assert config["providerCheck"]["status"] == "REJECTED"
    assert "PROVIDER_CREDENTIALS_REJECTED" in codes(config)
    assert config["phoneNumbers"]["nodes"][0]["providerCheck"]["status"] == "UNKNOWN"
    assert CANARY not in response.text
    assert SID not in response.text  # Twilio's account SID is declared secret too
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert CANARY not in logged and SID not in logged
    # The fake did receive the canary: the check really used it.
    assert any(seen.authorization for seen in provider.fake.seen())


async def test_an_unreachable_provider_keeps_the_last_answers_time_and_the_numbers_results(provider):
    config_id = await create_twilio(provider.api)
    await add(provider.api, config_id, "+14155550199")
    first = await check(provider.api, config_id)
    assert first["providerCheck"]["status"] == "ACTIVE"
    provider.fake.fail(*[Fault(503)] * 3)
    second = await check(provider.api, config_id)
    assert second["providerCheck"]["status"] == "UNREACHABLE"
    assert second["providerCheck"]["checkedAt"] == first["providerCheck"]["checkedAt"]
    assert "503" in second["providerCheck"]["message"]
    assert second["phoneNumbers"]["nodes"][0]["providerCheck"]["status"] == "NOT_IN_ACCOUNT"
    assert {"PROVIDER_UNREACHABLE", "PHONE_NUMBER_NOT_IN_ACCOUNT"} <= set(codes(second))


async def test_a_provider_that_hangs_is_unreachable_and_the_mutation_still_answers(provider):
    config_id = await create_twilio(provider.api)
    provider.fake.fail(*[Fault(hang=3)] * 3)
    config = await check(provider.api, config_id)
    assert config["providerCheck"]["status"] == "UNREACHABLE"
    assert config["providerCheck"]["message"] == "Twilio did not answer within 1 s."


async def test_a_rate_limited_provider_is_asked_again_after_retry_after(provider):
    config_id = await create_twilio(provider.api)
    provider.fake.fail(Fault(429, {"Retry-After": "1"}))
    started = asyncio.get_running_loop().time()
    config = await check(provider.api, config_id)
    assert config["providerCheck"]["status"] == "ACTIVE"
    assert asyncio.get_running_loop().time() - started >= 1.0


async def test_import_registers_the_voice_numbers_once(provider):
    provider.account.numbers = [FakeNumber(f"+1415555{n:04d}", voice=n % 10 != 0) for n in range(120)]
    config_id = await create_twilio(provider.api)
    await add(provider.api, config_id, "+14155550001")  # already registered
    payload = (await provider.api.gql(IMPORT, {"id": config_id}))["importPhoneNumbers"]
    assert payload["userErrors"] == []
    voice = 120 - 12
    assert (payload["importedCount"], payload["alreadyRegisteredCount"]) == (voice - 1, 1)
    assert payload["telephonyConfig"]["phoneNumberCount"] == voice
    again = (await provider.api.gql(IMPORT, {"id": config_id}))["importPhoneNumbers"]
    assert (again["importedCount"], again["alreadyRegisteredCount"]) == (0, voice)
    # Imported numbers are known to be in the account.
    config = (await provider.api.gql(CHECKED, {"id": config_id}))["node"]
    assert {n["providerCheck"]["status"] for n in config["phoneNumbers"]["nodes"][1:]} == {"IN_ACCOUNT"}


async def test_import_with_rejected_credentials_is_a_provider_error(provider):
    config_id = await create_twilio(provider.api, token=CANARY)
    payload = (await provider.api.gql(IMPORT, {"id": config_id}))["importPhoneNumbers"]
    assert payload["importedCount"] is None
    [error] = payload["userErrors"]
    assert (error["code"], error["field"]) == ("PROVIDER_ERROR", ["input", "telephonyConfigId"])
    assert CANARY not in error["message"] and "Twilio" in error["message"]


async def test_import_from_a_provider_without_an_inventory_is_invalid(provider):
    payload = (await provider.api.gql(CREATE, {"input": {"name": "PBX", "provider": "ARI", "config": {
        "ari_endpoint": "https://pbx.example.com:8089", "app_name": "voice", "app_password": "secret-123"}}}))
    config_id = payload["createTelephonyConfig"]["telephonyConfig"]["id"]
    [error] = (await provider.api.gql(IMPORT, {"id": config_id}))["importPhoneNumbers"]["userErrors"]
    assert error["code"] == "INVALID" and "inventory" in error["message"]


async def test_unknown_ids_are_not_found(provider):
    missing = "VGVsZXBob255Q29uZmlnOjk5OTk"  # TelephonyConfig:9999
    for document, name in ((CHECK, "checkTelephonyConfig"), (IMPORT, "importPhoneNumbers")):
        [error] = (await provider.api.gql(document, {"id": missing}))[name]["userErrors"]
        assert error["code"] == "NOT_FOUND"


async def test_another_organizations_configuration_cannot_be_checked(provider):
    config_id = await create_twilio(provider.api)
    _, other_key = await provider.api.new_org()
    payload = (await provider.api.gql(CHECK, {"id": config_id}, key=other_key))["checkTelephonyConfig"]
    assert payload["userErrors"][0]["code"] == "NOT_FOUND"
    assert provider.fake.seen() == []


async def test_read_only_keys_may_not_check_or_import(provider):
    config_id = await create_twilio(provider.api)
    reader = await provider.api.new_key(read_only=True)
    for document in (CHECK, IMPORT):
        body = (await provider.api.post(document, {"id": config_id}, key=reader)).json()
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", body
    assert provider.fake.seen() == []


async def test_changes_are_checked_in_the_background_and_subscribers_hear_of_it(provider):
    """The worker of this process runs (as in the app's lifespan): a create is checked within
    seconds, a new token is checked again, and the live summary follows."""
    runtime = provider.api.runtime
    feed = runtime.summaries.follow(provider.api.org_id)
    first = await anext(feed)
    assert WarningCode.PROVIDER_CREDENTIALS_REJECTED not in dict(first.by_code)
    async with runtime.background():
        config_id = await create_twilio(provider.api, token="b" * 32)  # a token Twilio refuses
        found = await until(provider.api, config_id, lambda check: check and check["status"] == "REJECTED")
        assert found["message"] == "Twilio rejected the credentials (HTTP 401)."
        summary = await asyncio.wait_for(_summary_with(feed, WarningCode.PROVIDER_CREDENTIALS_REJECTED), 10)
        assert dict(summary.by_code)[WarningCode.PROVIDER_CREDENTIALS_REJECTED] == 1
        await provider.api.gql(UPDATE, {"input": {"id": config_id, "config": {"auth_token": TOKEN}}})
        await until(provider.api, config_id, lambda check: check and check["status"] == "ACTIVE")
    await feed.aclose()


async def until(api: Api, config_id: str, done, seconds: float = 10) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        check = (await api.gql(CHECKED, {"id": config_id}))["node"]["providerCheck"]
        if done(check):
            return check
        assert asyncio.get_running_loop().time() < deadline, check
        await asyncio.sleep(0.05)


async def _summary_with(feed, code: WarningCode):
    async for summary in feed:
        if code in dict(summary.by_code):
            return summary
    raise AssertionError("the feed ended")


async def test_a_check_answers_within_its_budget_whatever_the_provider_does(provider):
    """One budget for the account and every number (30 seconds; shortened here): what was
    learned before it ran out is kept, the rest says why."""
    provider.api.runtime.checks.budget = 1.5
    config_id = await create_twilio(provider.api)
    provider.fake.fail(*[Fault(hang=3)] * 3)  # three attempts of a second each would take 3 s
    started = asyncio.get_running_loop().time()
    config = await check(provider.api, config_id)
    assert asyncio.get_running_loop().time() - started < 2.5
    assert config["providerCheck"] == {**config["providerCheck"], "status": "UNREACHABLE",
                                       "message": "Twilio did not answer within 1.5 seconds."}


async def test_a_check_that_moves_a_status_is_audited_as_the_system_and_one_that_does_not_is_not(provider):
    config_id = await create_twilio(provider.api)
    await add(provider.api, config_id, "+14155550100")
    await add(provider.api, config_id, "+14155550199")
    await check(provider.api, config_id)
    moved = [event for event in await events(provider.api) if event["action"] == "PROVIDER_CHECK_CHANGED"]
    assert all(event["api_key_id"] is None and event["api_key_label"] is None for event in moved)
    about = {event["entity_type"]: changes(event) for event in moved if event["entity_type"] == "TelephonyConfig"}
    assert about["TelephonyConfig"]["providerCheck.status"] == (None, "ACTIVE", False)
    numbers = sorted(changes(event)["providerCheck.status"] for event in moved if event["entity_type"] == "PhoneNumber")
    assert numbers == [(None, "IN_ACCOUNT", False), (None, "NOT_IN_ACCOUNT", False)]

    count = len(await events(provider.api))
    await check(provider.api, config_id)  # the same answers: nothing moved, nothing recorded
    assert len(await events(provider.api)) == count
    provider.account.status = "suspended"
    await check(provider.api, config_id)
    (suspended,) = (await events(provider.api))[count:]
    assert changes(suspended) == {"providerCheck.status": ("ACTIVE", "SUSPENDED", False)}


async def test_imported_numbers_are_audited_as_added_by_the_key_that_imported_them(provider):
    config_id = await create_twilio(provider.api)
    payload = (await provider.api.gql(IMPORT, {"id": config_id}))["importPhoneNumbers"]
    assert payload["userErrors"] == [] and payload["importedCount"] > 0
    added = [event for event in await events(provider.api) if event["action"] == "PHONE_NUMBER_ADDED"]
    assert len(added) == payload["importedCount"]
    assert {event["api_key_id"] for event in added} == {await key_id(provider.api, provider.api.key)}


async def test_a_large_import_records_each_number_as_adding_it_alone_would(provider):
    """Thousands of numbers go in packed (storage/bulk.py): each still gets its own event with
    every field, its webhook delivery and its check, in the provider's order."""
    listed = [f"+1415555{n:04d}" for n in (7, 3, 9, 1, *range(10, 130))]  # not in sorted order
    provider.account.numbers = [FakeNumber(number, voice=i % 7 != 0) for i, number in enumerate(listed)]
    voice = [number for i, number in enumerate(listed) if i % 7 != 0]
    config_id = await create_twilio(provider.api)
    endpoint = await subscribe(provider.api, [WebhookEventType.PHONE_NUMBER_ADDED])
    before = len(await events(provider.api))
    payload = (await provider.api.gql(IMPORT, {"id": config_id}))["importPhoneNumbers"]
    assert (payload["userErrors"], payload["importedCount"]) == ([], len(voice))
    async with provider.api.runtime.db.reading() as session:
        rows = (await session.execute(sa.text(
            "SELECT p.id, p.phone_number, c.status, c.voice_capable, c.message FROM phone_number p"
            " JOIN phone_number_check c ON c.phone_number_id = p.id ORDER BY p.id"))).all()
    assert [row.phone_number for row in rows] == voice
    assert {(row.status, bool(row.voice_capable), row.message) for row in rows} == {("IN_ACCOUNT", True, None)}
    added = (await events(provider.api))[before:]
    key = await key_id(provider.api, provider.api.key)
    assert [(event["action"], event["entity_type"], event["entity_id"], event["api_key_id"]) for event in added] == [
        ("PHONE_NUMBER_ADDED", "PhoneNumber", encode_id("PhoneNumber", row.id), key) for row in rows
    ]
    assert [changes(event) for event in added] == [
        {"isActive": (None, True, False), "label": (None, None, False), "phoneNumber": (None, row.phone_number, False),
         "telephonyConfigId": (None, config_id, False)}
        for row in rows
    ]
    sent = [row for row in await deliveries(provider.api) if row["endpoint_id"] == endpoint]
    assert [json.loads(row["body"])["data"] for row in sent] == [
        {"id": encode_id("PhoneNumber", row.id),
         "changedFields": ["isActive", "label", "phoneNumber", "telephonyConfigId"]}
        for row in rows
    ]


async def test_a_number_losing_voice_alone_is_announced_as_a_check_change_and_a_warnings_change(provider):
    """The status stays IN_ACCOUNT; only the voice capability moves, and with it a warning."""
    config_id = await create_twilio(provider.api)
    await add(provider.api, config_id, "+14155550100")
    await check(provider.api, config_id)
    endpoint = await subscribe(provider.api, [WebhookEventType.WARNINGS_CHANGED, WebhookEventType.PROVIDER_CHECK_CHANGED])
    async with provider.api.runtime.db.writing() as session:  # as createWebhookEndpoint does
        await reset_warnings_digest(session, provider.api.runtime.vault, org_id=provider.api.org_id)
    count = len(await events(provider.api))
    provider.account.numbers[0].voice = False
    config = await check(provider.api, config_id)
    assert "PHONE_NUMBER_NOT_VOICE_CAPABLE" in codes(config)
    (moved,) = (await events(provider.api))[count:]
    assert changes(moved) == {"providerCheck.voiceCapable": (True, False, False)}
    announced = [row["event_type"] for row in await deliveries(provider.api) if row["endpoint_id"] == endpoint]
    assert announced == ["PROVIDER_CHECK_CHANGED", "WARNINGS_CHANGED"]


async def test_a_check_that_answers_the_same_again_reaches_organization_changes(provider):
    """No status moves (no audit event), but checkedAt does: a dashboard's "last check" and the
    other tabs after a "Check now" must hear of it."""
    config_id = await create_twilio(provider.api)
    async with InProcessSocket(create_app(runtime=provider.api.runtime)) as socket:
        subscription = await Subscription.start(socket, provider.api.key)
        await subscription.next()
        first = await check(provider.api, config_id)
        # The first answer moves the status; what it sent is drained, whatever the worker added.
        message = await subscription.next()
        while "PROVIDER_CHECK_CHANGED" not in change_events(message):
            message = await subscription.next()
        await subscription.nothing()
        second = await check(provider.api, config_id)
        assert second["providerCheck"]["status"] == first["providerCheck"]["status"] == "ACTIVE"
        assert second["providerCheck"]["checkedAt"] != first["providerCheck"]["checkedAt"]
        message = await subscription.next()
        assert change_events(message)["PROVIDER_CHECK_CHANGED"] == [config_id]
        assert message["dataVersion"] == (await provider.api.gql(VERSION))["viewer"]["organization"]["dataVersion"]
