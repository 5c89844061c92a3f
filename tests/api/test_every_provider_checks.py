"""Provider checks through the API for all nine providers: each provider's fake served on
loopback and reached through the setting a user has (GQL_TELEPHONY_PROVIDER_API_<KEY>; for ARI,
whose endpoint the tenant types, that endpoint with private hosts allowed), by the real HTTP
client. One table row per provider; the tests read the table."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
import sqlalchemy as sa

from gql_telephony.domain import field_checks
from gql_telephony.domain.providers import PROVIDERS, ProviderField, ProviderKey
from gql_telephony.domain.warnings import LISTED_NUMBER_WARNINGS
from gql_telephony.services.provider_checks import LOOKUPS_ONE_BY_ONE

from ..documents import ADD_NUMBER, CREATE
from ..outbound.fakes.ari import AriFake
from ..outbound.fakes.base import Fake, Fault, serve
from ..outbound.fakes.cloudonix import CloudonixDnid, CloudonixDomain, CloudonixFake
from ..outbound.fakes.exotel import ExoPhone, ExotelAccount, ExotelFake
from ..outbound.fakes.plivo import PlivoAccount, PlivoFake, PlivoNumber
from ..outbound.fakes.signalwire import SignalWireFake
from ..outbound.fakes.telnyx import TelnyxAccount, TelnyxFake
from ..outbound.fakes.twilio import FakeNumber, TwilioAccount, TwilioFake
from ..outbound.fakes.vobiz import VobizAccount, VobizFake, VobizNumber
from ..outbound.fakes.vonage import VonageAccount, VonageFake, VonageNumber
from ..support import Api, app_client

Config = dict[str, str]

CHECK = """
mutation Check($id: ID!) {
  checkTelephonyConfig(input: {id: $id}) {
    telephonyConfig {
      id config providerCheck { status checkedAt message }
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

NUMBERS = """
query Numbers($id: ID!) {
  node(id: $id) { ... on TelephonyConfig {
    config warnings { code message }
    phoneNumbers(first: 50) { nodes { phoneNumber providerCheck { status voiceCapable message } } }
  } }
}"""

METADATA = "{ telephonyProviders { key checksAccount checksNumbers importsNumbers } }"


# Each function gives a fake an account that accepts `config`'s credentials and holds that
# provider's numbers (spelt as the provider spells them): +14155550100 and +14155550101 carry
# voice, +14155550102 does not (where the provider says); Exotel's are Indian, in national form.

def telnyx_account(fake: TelnyxFake, config: Config) -> TelnyxAccount:
    # Telnyx's number list says nothing of voice: both numbers are imported.
    return fake.add(TelnyxAccount(config["api_key"], numbers=["+14155550100", "+14155550101"]))


def twilio_numbers() -> list[FakeNumber]:
    return [FakeNumber("+14155550100"), FakeNumber("+14155550101"), FakeNumber("+14155550102", voice=False)]


def twilio_account(fake: TwilioFake, config: Config) -> TwilioAccount:
    return fake.add(TwilioAccount(config["account_sid"], config["auth_token"], numbers=twilio_numbers()))


def signalwire_project(fake: SignalWireFake, config: Config) -> TwilioAccount:
    # SignalWire's Twilio-compatible API takes the project ID as the account SID.
    return fake.add(TwilioAccount(config["project_id"], config["api_token"], numbers=twilio_numbers()))


def vonage_account(fake: VonageFake, config: Config) -> VonageAccount:
    return fake.add(VonageAccount(config["api_key"], config["api_secret"], numbers=[
        VonageNumber("14155550100", country="US"), VonageNumber("14155550101", country="US"),
        VonageNumber("14155550102", features=["SMS"], country="US"),
    ]))


def plivo_account(fake: PlivoFake, config: Config) -> PlivoAccount:
    account = fake.accounts[config["auth_id"]] = PlivoAccount(config["auth_id"], config["auth_token"], numbers=[
        PlivoNumber("14155550100"), PlivoNumber("14155550101"), PlivoNumber("14155550102", voice_enabled=False),
    ])
    return account


def cloudonix_domain(fake: CloudonixFake, config: Config) -> CloudonixDomain:
    # The configuration says "acme": the server completes it, as the field's description says.
    domain = fake.domains["acme.cloudonix.net"] = CloudonixDomain("acme.cloudonix.net", config["bearer_token"], dnids=[
        CloudonixDnid("14155550100"), CloudonixDnid("14155550101"),
        CloudonixDnid("14155550102", voice_application=None, messaging_application="sms"),
        CloudonixDnid("1415", prefix=True),  # a pattern, not a number: never imported
    ])
    return domain


def vobiz_account(fake: VobizFake, config: Config) -> VobizAccount:
    account = fake.accounts[config["auth_id"]] = VobizAccount(config["auth_id"], config["auth_token"], numbers=[
        VobizNumber("+14155550100"), VobizNumber("+14155550101"), VobizNumber("+14155550102", voice=False),
    ])
    return account


def asterisk_user(fake: AriFake, config: Config) -> None:
    fake.users[config["app_name"]] = config["app_password"]  # Asterisk has no account to speak of


def exotel_account(fake: ExotelFake, config: Config) -> ExotelAccount:
    account = fake.accounts[config["account_sid"]] = ExotelAccount(
        config["account_sid"], config["api_key"], config["api_token"],
        numbers=[ExoPhone("08047112233"), ExoPhone("08047112234"), ExoPhone("08047112235", voice=False)],
    )
    return account


US_VOICE = frozenset({"+14155550100", "+14155550101"})


@dataclass(frozen=True)
class Case:
    key: str
    fake: Callable[[], Fake]
    account: Callable[[Any, Config], Any]  # gives the fake an account that accepts this config; returns it
    config: Config  # valid, and what `account` is given
    wrong: Config  # a change to `config` that the fake refuses
    voice_numbers: frozenset[str] = US_VOICE  # the account's voice numbers, as importPhoneNumbers registers them
    in_account: str = "+14155550100"
    not_in_account: str = "+14155550199"
    in_account_voice: bool | None = True  # what the provider says of the number in the account
    not_voice: str | None = "+14155550102"  # in the account, but the provider says it cannot carry voice
    has_inventory: bool = True  # checks and imports numbers (ARI has no number inventory)
    endpoint_field: str | None = None  # a config field the tenant types the provider's origin into


CASES = [
    Case("TELNYX", TelnyxFake, telnyx_account, in_account_voice=None, not_voice=None,
         config={"api_key": "KEY0123456789SECRET"}, wrong={"api_key": "KEYsomebodyelse"}),
    Case("TWILIO", TwilioFake, twilio_account,
         config={"account_sid": "AC" + "0123456789abcdef" * 2, "auth_token": "f" * 32}, wrong={"auth_token": "e" * 32}),
    Case("VONAGE", VonageFake, vonage_account, config={
        "application_id": "0f8fad5b-d9cb-469f-a165-70867728950e",
        "private_key": "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----",
        "api_key": "vonage-key-1", "api_secret": "vonage-secret-123",
    }, wrong={"api_secret": "vonage-secret-999"}),
    Case("PLIVO", PlivoFake, plivo_account,
         config={"auth_id": "MAXXXXXXXXXXXXXXXXXX", "auth_token": "plivo-token-0123456789"},
         wrong={"auth_token": "plivo-token-9999999999"}),
    Case("CLOUDONIX", CloudonixFake, cloudonix_domain,
         config={"bearer_token": "XI-0123456789abcdef", "domain_id": "acme"},
         wrong={"bearer_token": "XI-9999999999999999"}),
    Case("VOBIZ", VobizFake, vobiz_account,
         config={"auth_id": "vobiz-id-001", "auth_token": "vobiz-token-0123456789"},
         wrong={"auth_token": "vobiz-token-9999999999"}),
    Case("SIGNALWIRE", SignalWireFake, signalwire_project, config={
        "project_id": "0f8fad5b-d9cb-469f-a165-70867728950e", "api_token": "PT0123456789abcdef",
        "space_url": "example.signalwire.com",
    }, wrong={"api_token": "PT9999999999999999"}),
    Case("ARI", lambda: AriFake({}), asterisk_user, has_inventory=False, not_voice=None, endpoint_field="ari_endpoint",
         config={"app_name": "voice-ai", "app_password": "ari-password-123"},
         wrong={"app_password": "ari-password-999"}),
    Case("EXOTEL", ExotelFake, exotel_account, config={
        "api_key": "exotel-key-01", "api_token": "exotel-token-0123456789", "account_sid": "acme1",
        "subdomain": "api.in.exotel.com",
    }, wrong={"api_token": "exotel-token-9999999999"},
         in_account="+918047112233", not_in_account="+918047112299", not_voice="+918047112235",
         voice_numbers=frozenset({"+918047112233", "+918047112234"})),
]
BY_KEY = {case.key: case for case in CASES}


@dataclass
class Served:
    """One provider's fake on loopback, and the API set to reach it."""

    case: Case
    fake: Any
    origin: str
    api: Api
    responses: list[str] = field(default_factory=list)  # every response body, for the canary test

    def config(self, changes: Config | None = None) -> Config:
        config = {**self.case.config, **(changes or {})}
        if self.case.endpoint_field is not None:
            config[self.case.endpoint_field] = self.origin
        return config

    async def send(self, document: str, variables: dict[str, Any]) -> dict[str, Any]:
        response = await self.api.post(document, variables)
        self.responses.append(response.text)
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body
        return dict(body["data"])

    async def create(self, config: Config) -> str:
        payload = (await self.send(CREATE, {"input": {
            "name": self.case.key, "provider": self.case.key, "config": config,
        }}))["createTelephonyConfig"]
        assert payload["userErrors"] == [], payload
        return str(payload["telephonyConfig"]["id"])

    async def add(self, config_id: str, *numbers: str) -> None:
        for number in numbers:
            payload = await self.send(ADD_NUMBER, {"input": {"telephonyConfigId": config_id, "phoneNumber": number}})
            assert payload["addPhoneNumber"]["userErrors"] == [], payload

    async def check(self, config_id: str) -> dict[str, Any]:
        payload = (await self.send(CHECK, {"id": config_id}))["checkTelephonyConfig"]
        assert payload["userErrors"] == [], payload
        return dict(payload["telephonyConfig"])

    async def import_numbers(self, config_id: str) -> dict[str, Any]:
        return dict((await self.send(IMPORT, {"id": config_id}))["importPhoneNumbers"])

    async def numbers(self, config_id: str) -> dict[str, Any]:
        """Each registered number's providerCheck, by number."""
        config = (await self.send(NUMBERS, {"id": config_id}))["node"]
        return {n["phoneNumber"]: n["providerCheck"] for n in config["phoneNumbers"]["nodes"]}


@pytest.fixture(params=CASES, ids=lambda case: case.key)
async def served(request: pytest.FixtureRequest, api: Api, settings: Any) -> AsyncIterator[Served]:
    case: Case = request.param
    fake = case.fake()
    with serve(fake) as origin:
        reach: dict[str, Any] = (
            {"allow_private_provider_hosts": True} if case.endpoint_field is not None
            else {"provider_api_origins": {case.key: origin}}
        )
        async with app_client(settings, beside=api.runtime, provider_timeout=1.0, **reach) as other:
            http = other.runtime.provider_http
            http.policy = replace(http.policy, backoff=0.05)  # quick retries; the timeouts are the settings'
            yield Served(case, fake, origin, api.through(other))


def numbers_of(config: dict[str, Any]) -> dict[str, Any]:
    return {n["phoneNumber"]: n["providerCheck"] for n in config["phoneNumbers"]["nodes"]}


def codes(config: dict[str, Any]) -> list[str]:
    return [warning["code"] for warning in config["warnings"]]


async def test_a_check_tells_the_account_and_each_number(served: Served) -> None:
    case = served.case
    case.account(served.fake, served.config())
    config_id = await served.create(served.config())
    await served.add(config_id, case.in_account, case.not_in_account)
    config = await served.check(config_id)
    assert config["providerCheck"]["status"] == "ACTIVE", config["providerCheck"]
    numbers = numbers_of(config)
    missing = [w for w in config["warnings"] if w["code"] == "PHONE_NUMBER_NOT_IN_ACCOUNT"]
    if case.has_inventory:
        assert (numbers[case.in_account]["status"], numbers[case.in_account]["voiceCapable"]) == (
            "IN_ACCOUNT", case.in_account_voice)
        assert numbers[case.not_in_account]["status"] == "NOT_IN_ACCOUNT"
        assert [w["phoneNumber"] for w in missing] == [{"phoneNumber": case.not_in_account}]
        assert missing[0]["severity"] == "CRITICAL"
    else:  # nothing to look numbers up in: they are not checked, and nothing is said of them
        assert numbers == {case.in_account: None, case.not_in_account: None}
        assert missing == []
    assert not {"PROVIDER_CREDENTIALS_REJECTED", "PROVIDER_UNREACHABLE"} & set(codes(config))
    assert served.fake.seen(), "the fake answered the check"


SAY_VOICE = [case for case in CASES if case.not_voice is not None]


@pytest.mark.parametrize("served", SAY_VOICE, ids=[case.key for case in SAY_VOICE], indirect=True)
async def test_a_number_that_cannot_carry_voice_is_a_warning(served: Served) -> None:
    case = served.case
    assert case.not_voice is not None
    case.account(served.fake, served.config())
    config_id = await served.create(served.config())
    await served.add(config_id, case.not_voice)
    config = await served.check(config_id)
    check = numbers_of(config)[case.not_voice]
    assert (check["status"], check["voiceCapable"]) == ("IN_ACCOUNT", False)
    [warning] = [w for w in config["warnings"] if w["code"] == "PHONE_NUMBER_NOT_VOICE_CAPABLE"]
    assert (warning["phoneNumber"], warning["severity"]) == ({"phoneNumber": case.not_voice}, "CRITICAL")


@pytest.mark.parametrize("served", [BY_KEY["CLOUDONIX"]], ids=["CLOUDONIX"], indirect=True)
async def test_a_sip_uri_on_a_sip_provider_is_not_looked_up(served: Served) -> None:
    case = served.case
    case.account(served.fake, served.config())
    config_id = await served.create(served.config())
    await served.add(config_id, case.in_account, "sip:alice@pbx.example.com")
    config = await served.check(config_id)
    numbers = numbers_of(config)
    assert numbers[case.in_account]["status"] == "IN_ACCOUNT"
    assert numbers["sip:alice@pbx.example.com"]["status"] == "UNKNOWN"
    assert "SIP URI" in numbers["sip:alice@pbx.example.com"]["message"]
    assert "PHONE_NUMBER_NOT_IN_ACCOUNT" not in codes(config)


async def test_many_numbers_are_checked_against_the_whole_inventory(served: Served) -> None:
    """Past LOOKUPS_ONE_BY_ONE registered numbers the account's inventory is read once instead."""
    case = served.case
    case.account(served.fake, served.config())
    config_id = await served.create(served.config())
    others = [case.not_in_account[:-2] + f"{n:02d}" for n in range(50, 50 + LOOKUPS_ONE_BY_ONE)]
    await served.add(config_id, case.in_account, *others)
    config = await served.check(config_id)
    assert config["providerCheck"]["status"] == "ACTIVE"
    numbers = numbers_of(config)
    missing = {w["phoneNumber"]["phoneNumber"] for w in config["warnings"] if w["code"] == "PHONE_NUMBER_NOT_IN_ACCOUNT"}
    if case.has_inventory:
        assert numbers[case.in_account]["status"] == "IN_ACCOUNT"
        assert {numbers[n]["status"] for n in others} == {"NOT_IN_ACCOUNT"}
        assert missing == set(others[:LISTED_NUMBER_WARNINGS])  # a few listed, the lowest ids
    else:
        assert set(numbers.values()) == {None} and missing == set()


async def test_import_registers_the_accounts_voice_numbers_once(served: Served) -> None:
    case = served.case
    case.account(served.fake, served.config())
    config_id = await served.create(served.config())
    await served.add(config_id, case.in_account, case.not_in_account)
    payload = await served.import_numbers(config_id)
    if not case.has_inventory:
        [error] = payload["userErrors"]
        assert (error["code"], error["field"]) == ("INVALID", ["input", "telephonyConfigId"])
        assert payload["importedCount"] is None
        return
    assert payload["userErrors"] == []
    voice = len(case.voice_numbers)
    assert (payload["importedCount"], payload["alreadyRegisteredCount"]) == (voice - 1, 1)
    assert payload["telephonyConfig"]["phoneNumberCount"] == voice + 1
    numbers = await served.numbers(config_id)
    assert set(numbers) == case.voice_numbers | {case.not_in_account}
    assert {numbers[n]["status"] for n in case.voice_numbers - {case.in_account}} == {"IN_ACCOUNT"}
    again = await served.import_numbers(config_id)
    assert (again["importedCount"], again["alreadyRegisteredCount"]) == (0, voice)


@pytest.mark.parametrize("served", [BY_KEY["TWILIO"]], ids=["TWILIO"], indirect=True)
async def test_import_leaves_a_number_registered_on_another_configuration_where_it_is(served: Served) -> None:
    case = served.case
    case.account(served.fake, served.config())
    elsewhere = (await served.send(CREATE, {"input": {
        "name": "Elsewhere", "provider": "TELNYX", "config": {"api_key": "KEY-elsewhere"},
    }}))["createTelephonyConfig"]["telephonyConfig"]["id"]
    await served.add(elsewhere, case.in_account)
    config_id = await served.create(served.config())
    payload = await served.import_numbers(config_id)
    voice = len(case.voice_numbers)
    assert (payload["userErrors"], payload["importedCount"], payload["alreadyRegisteredCount"]) == ([], voice - 1, 1)
    assert set(await served.numbers(config_id)) == case.voice_numbers - {case.in_account}
    assert set(await served.numbers(elsewhere)) == {case.in_account}


async def test_wrong_credentials_are_rejected_and_the_numbers_unknown(served: Served) -> None:
    case = served.case
    case.account(served.fake, served.config())
    config_id = await served.create(served.config(case.wrong))
    await served.add(config_id, case.in_account)
    config = await served.check(config_id)
    assert config["providerCheck"]["status"] == "REJECTED"
    assert "PROVIDER_CREDENTIALS_REJECTED" in codes(config)
    expected = {"status": "UNKNOWN", "voiceCapable": None} if case.has_inventory else None
    check = numbers_of(config)[case.in_account]
    assert (check and {"status": check["status"], "voiceCapable": check["voiceCapable"]}) == expected
    assert served.fake.seen(), "the fake was asked and refused"


@dataclass(frozen=True)
class State:
    """An account state a provider's answer can show: one attribute of the fake's account."""

    key: str
    attribute: str
    value: object
    status: str  # the account's providerCheck status
    warning: str

    def __str__(self) -> str:
        return f"{self.key}-{self.attribute}-{self.value}"


SUSPENDED, TRIAL, REJECTED = "PROVIDER_ACCOUNT_SUSPENDED", "PROVIDER_TRIAL_ACCOUNT", "PROVIDER_CREDENTIALS_REJECTED"
STATES = [
    State("TELNYX", "balance", "0.00", "SUSPENDED", SUSPENDED),
    State("TELNYX", "disabled", True, "REJECTED", REJECTED),  # Telnyx's 403: cannot be told from a weak key
    State("TWILIO", "status", "suspended", "SUSPENDED", SUSPENDED),
    State("TWILIO", "status", "closed", "CLOSED", SUSPENDED),
    State("TWILIO", "type", "Trial", "TRIAL", TRIAL),
    State("SIGNALWIRE", "status", "suspended", "SUSPENDED", SUSPENDED),
    State("SIGNALWIRE", "type", "Trial", "TRIAL", TRIAL),
    State("PLIVO", "account_type", "developer", "TRIAL", TRIAL),
    State("CLOUDONIX", "active", False, "SUSPENDED", SUSPENDED),
    State("CLOUDONIX", "customer_active", False, "SUSPENDED", SUSPENDED),
    State("VOBIZ", "is_active", False, "SUSPENDED", SUSPENDED),
    State("VOBIZ", "is_trial_account", True, "TRIAL", TRIAL),
    State("EXOTEL", "payment_required", True, "SUSPENDED", SUSPENDED),
    State("EXOTEL", "pricing_plan", "Trial", "TRIAL", TRIAL),
]


@pytest.mark.parametrize(("served", "state"), [(BY_KEY[state.key], state) for state in STATES],
                         ids=[str(state) for state in STATES], indirect=["served"])
async def test_the_account_state_is_a_warning_and_numbers_are_still_checked(served: Served, state: State) -> None:
    case = served.case
    setattr(case.account(served.fake, served.config()), state.attribute, state.value)
    config_id = await served.create(served.config())
    await served.add(config_id, case.in_account)
    config = await served.check(config_id)
    assert config["providerCheck"]["status"] == state.status
    assert state.warning in codes(config)
    expected = "UNKNOWN" if state.status == "REJECTED" else "IN_ACCOUNT"
    assert numbers_of(config)[case.in_account]["status"] == expected


async def test_a_provider_that_stops_answering_leaves_the_last_answers(served: Served) -> None:
    case = served.case
    case.account(served.fake, served.config())
    config_id = await served.create(served.config())
    await served.add(config_id, case.in_account, case.not_in_account)
    first = await served.check(config_id)
    served.fake.fail(*[Fault(503)] * 3)  # every attempt at the account
    second = await served.check(config_id)
    assert second["providerCheck"]["status"] == "UNREACHABLE"
    assert second["providerCheck"]["checkedAt"] == first["providerCheck"]["checkedAt"]
    assert "PROVIDER_UNREACHABLE" in codes(second)
    assert numbers_of(second) == numbers_of(first)


async def test_a_provider_that_never_answered_is_unreachable_since_first_asked(served: Served) -> None:
    case = served.case
    case.account(served.fake, served.config())
    config_id = await served.create(served.config())
    await served.add(config_id, case.in_account)
    served.fake.fail(*[Fault(503)] * 3)
    config = await served.check(config_id)
    assert config["providerCheck"]["status"] == "UNREACHABLE"
    assert config["providerCheck"]["checkedAt"] is not None  # when it was first asked
    assert "PROVIDER_UNREACHABLE" in codes(config)
    assert numbers_of(config) == {case.in_account: None}  # nothing learned yet


def canary_value(spec: ProviderField) -> tuple[str, str]:
    """A value for a secret field that passes the field's check, and the distinctive text in it."""
    mark = uuid.uuid4().hex
    if spec.check is field_checks.twilio_account_sid:
        return "AC" + mark, mark
    if spec.check is field_checks.hex32:
        return mark, mark
    if spec.check is field_checks.pem_private_key:
        return f"-----BEGIN PRIVATE KEY-----\n{mark}\n-----END PRIVATE KEY-----", mark
    return f"canary-{mark}", mark


async def stored_text(api: Api) -> str:
    """Every stored byte someone with the database would read."""
    path = api.runtime.settings.sqlite_path
    if path is not None:
        files = [path, path.with_name(path.name + "-wal")]
        return "".join(f.read_bytes().decode("latin-1") for f in files if f.exists())
    async with api.runtime.db.reading() as session:
        tables = (await session.execute(
            sa.text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))).scalars().all()
        rows = [
            str(tuple(row)) for table in tables
            for row in (await session.execute(sa.text(f'SELECT * FROM "{table}"'))).all()
        ]
    return "\n".join(rows)


async def test_no_secret_shows_in_answers_logs_or_stored_bytes(served: Served, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    case = served.case
    secrets = [spec for spec in PROVIDERS[ProviderKey(case.key)].fields if spec.secret]
    values = {spec.key: canary_value(spec) for spec in secrets}
    config = served.config({key: value for key, (value, _) in values.items()})
    canaries = [mark for _, mark in values.values()]

    # The fake does not know the canaries yet: the check is refused, and so is an import.
    config_id = await served.create(config)
    await served.add(config_id, case.in_account, case.not_in_account)
    assert (await served.check(config_id))["providerCheck"]["status"] == "REJECTED"
    if case.has_inventory:
        [error] = (await served.import_numbers(config_id))["userErrors"]
        assert error["code"] == "PROVIDER_ERROR"
    # Now it does: the check succeeds (so the canaries were sent) and the numbers come in.
    case.account(served.fake, config)
    assert (await served.check(config_id))["providerCheck"]["status"] == "ACTIVE"
    if case.has_inventory:
        assert (await served.import_numbers(config_id))["userErrors"] == []
    await served.numbers(config_id)

    logged = [logging.Formatter().format(record) + repr(vars(record)) for record in caplog.records]
    assert any(record.name == "gql_telephony.outbound" for record in caplog.records), "the calls were logged"
    stored = await stored_text(served.api)
    for canary in canaries:
        assert not [text for text in served.responses if canary in text]
        assert not [text for text in logged if canary in text]
        assert canary not in stored


# The fake's loopback origin as a tenant could spell it: the address, a name that resolves to it,
# and IPv6 addresses that lead to it (NAT64's well-known prefix, 6to4).
LOOPBACK_SPELLINGS = {
    "address": "127.0.0.1", "name": "localhost", "nat64": "[64:ff9b::7f00:1]", "6to4": "[2002:7f00:1::1]",
}


@pytest.mark.parametrize("spelt", list(LOOPBACK_SPELLINGS))
async def test_a_tenants_ari_endpoint_on_loopback_is_never_contacted(api: Api, spelt: str) -> None:
    """Private hosts are not allowed (the default): the endpoint is refused before any request."""
    fake = AriFake({"voice-ai": "ari-password-123"})
    with serve(fake) as origin:
        endpoint = origin.replace("127.0.0.1", LOOPBACK_SPELLINGS[spelt])
        served = Served(BY_KEY["ARI"], fake, endpoint, api)
        config_id = await served.create(served.config())
        await served.add(config_id, "+14155550100")
        config = await served.check(config_id)
    assert config["providerCheck"]["status"] == "REJECTED"
    assert "loopback" in config["providerCheck"]["message"]
    assert "PROVIDER_CREDENTIALS_REJECTED" in codes(config)
    assert numbers_of(config) == {"+14155550100": None}
    assert fake.seen() == []


async def test_a_signalwire_space_on_loopback_is_never_contacted(api: Api) -> None:
    """No origin set by the operator: the space the tenant typed is the host, and it is refused."""
    served = Served(BY_KEY["SIGNALWIRE"], SignalWireFake(), "", api)
    config_id = await served.create(served.config({"space_url": "localhost"}))
    await served.add(config_id, "+14155550100")
    config = await served.check(config_id)
    assert config["providerCheck"]["status"] == "REJECTED"
    assert "loopback" in config["providerCheck"]["message"]
    assert "PROVIDER_CREDENTIALS_REJECTED" in codes(config)
    assert numbers_of(config)["+14155550100"]["status"] == "UNKNOWN"
    # The guard refused the host before connecting; nothing else was attempted.
    outcomes = {outcome: n for (provider, outcome), n in api.runtime.provider_http.outcomes.items()
                if provider == "SIGNALWIRE"}
    assert outcomes == {"refused_host": 1}


async def test_the_metadata_says_what_each_provider_is_asked(api: Api) -> None:
    providers = (await api.gql(METADATA))["telephonyProviders"]
    said = {p["key"]: (p["checksAccount"], p["checksNumbers"], p["importsNumbers"]) for p in providers}
    expected = {case.key: (True, case.has_inventory, case.has_inventory) for case in CASES}
    assert said == expected
    assert said["ARI"] == (True, False, False) and len(said) == 9


@pytest.mark.parametrize(("host", "national", "e164"), [
    ("api.in.exotel.com", "08047112233", "+918047112233"),  # Mumbai: read as Indian
    ("api.exotel.com", "61234567", "+6561234567"),  # Singapore: read as Singaporean
])
async def test_exotel_national_numbers_are_imported_in_e164(
    api: Api, settings: Any, host: str, national: str, e164: str
) -> None:
    fake = ExotelFake(ExotelAccount("acme1", "exotel-key-01", "exotel-token-0123456789",
                                    numbers=[ExoPhone(national)]))
    with serve(fake) as origin:
        async with app_client(settings, beside=api.runtime, provider_api_origins={"EXOTEL": origin},
                              provider_timeout=1.0) as other:
            served = Served(BY_KEY["EXOTEL"], fake, origin, api.through(other))
            config_id = await served.create(served.config({"subdomain": host}))
            payload = await served.import_numbers(config_id)
            assert (payload["userErrors"], payload["importedCount"]) == ([], 1)
            assert await served.numbers(config_id) == {e164: {"status": "IN_ACCOUNT", "voiceCapable": True,
                                                              "message": None}}
            config = await served.check(config_id)
            assert numbers_of(config)[e164]["status"] == "IN_ACCOUNT"
