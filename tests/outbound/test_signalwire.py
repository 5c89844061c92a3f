"""The SignalWire client through the real ProviderHttp against a fake space on loopback (set as
the operator's origin), the guard on a space the tenant typed, and what is read on its own."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import replace

import pytest

from gql_telephony.domain.provider_checks import AccountAnswer, AccountStatus, InventoryNumber, ProviderFailure
from gql_telephony.domain.providers import ProviderKey
from gql_telephony.outbound import signalwire
from gql_telephony.outbound.base import Account
from gql_telephony.outbound.http import CallPolicy
from gql_telephony.outbound.signalwire import CLIENT

from .fakes.base import Fault
from .fakes.signalwire import FakeNumber, SignalWireFake, TwilioAccount
from .provider_calls import HANG, Stopwatch, account, collect, failure_of, provider_http, served_once, wiped

PROJECT = "0f8fad5b-d9cb-469f-a165-70867728950e"
TOKEN = "PTCANARY" + "7" * 40  # a secret that must never show in a message
SPACE = "example.signalwire.com"


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[SignalWireFake, str]]:
    with served_once(SignalWireFake()) as pair:
        yield pair


@pytest.fixture
def fake(served: tuple[SignalWireFake, str]) -> SignalWireFake:
    fake = served[0]
    wiped(fake)
    fake.accounts.clear()
    fake.add(TwilioAccount(PROJECT, TOKEN, numbers=[
        FakeNumber("+14155550100"), FakeNumber("+14155550101", voice=False), FakeNumber("+493012345678"),
    ]))
    return fake


@pytest.fixture
def origin(served: tuple[SignalWireFake, str]) -> str:
    return served[1]


def project(token: str = TOKEN, space: str = SPACE) -> Account:
    return account({"project_id": PROJECT, "space_url": space}, api_token=token)


@pytest.mark.parametrize(("status", "kind", "expected"), [
    ("active", "Full", AccountStatus.ACTIVE),
    ("active", "Trial", AccountStatus.TRIAL),
    ("suspended", "Full", AccountStatus.SUSPENDED),
    ("closed", "Trial", AccountStatus.CLOSED),
])
async def test_the_project_status_is_read_from_the_laml_account(
    fake: SignalWireFake, origin: str, status: str, kind: str, expected: AccountStatus
) -> None:
    fake.accounts[PROJECT].status, fake.accounts[PROJECT].type = status, kind
    async with provider_http(ProviderKey.SIGNALWIRE, origin) as http:
        answer = await CLIENT.check_account(http, project())
    assert answer.status is expected
    [seen] = fake.seen()
    assert seen.path == f"/api/laml/2010-04-01/Accounts/{PROJECT}.json"
    assert seen.authorization == "Basic " + base64.b64encode(f"{PROJECT}:{TOKEN}".encode()).decode()


async def test_a_wrong_token_is_rejected(fake: SignalWireFake, origin: str) -> None:
    async with provider_http(ProviderKey.SIGNALWIRE, origin) as http:
        failure = await failure_of(CLIENT.check_account(http, project(token="PT" + "0" * 46)))
    assert failure.status is AccountStatus.REJECTED
    assert failure.message == "SignalWire rejected the credentials (HTTP 401)."


async def test_find_number_matches_the_whole_number_and_reads_voice(fake: SignalWireFake, origin: str) -> None:
    async with provider_http(ProviderKey.SIGNALWIRE, origin) as http:
        assert await CLIENT.find_number(http, project(), "+14155550100") == InventoryNumber("+14155550100", True)
        assert await CLIENT.find_number(http, project(), "+14155550101") == InventoryNumber("+14155550101", False)
        assert await CLIENT.find_number(http, project(), "+49301234567") is None  # the filter found +49 30 12345678
        assert await CLIENT.find_number(http, project(), "+14155550199") is None
    assert all(s.path.endswith("/IncomingPhoneNumbers.json") for s in fake.seen())


async def test_the_inventory_follows_links_as_the_space_spells_them(fake: SignalWireFake, origin: str) -> None:
    fake.accounts[PROJECT].numbers = [FakeNumber(f"+1415555{n:04d}", voice=n != 4) for n in range(5)]
    async with provider_http(ProviderKey.SIGNALWIRE, origin) as http:
        found = await collect(replace(CLIENT, page_size=2).inventory(http, project()))
    assert found == [InventoryNumber(f"+1415555{n:04d}", n != 4) for n in range(5)]
    paths = [s.path.rsplit("/", 1)[1] for s in fake.seen()]
    assert paths == ["IncomingPhoneNumbers.json", "IncomingPhoneNumbers", "IncomingPhoneNumbers"]


async def test_a_429_is_retried_no_sooner_than_retry_after(fake: SignalWireFake, origin: str) -> None:
    fake.fail(Fault(429, headers={"Retry-After": "1"}))
    async with provider_http(ProviderKey.SIGNALWIRE, origin) as http:
        watch = Stopwatch()
        assert await CLIENT.check_account(http, project()) == AccountAnswer(AccountStatus.ACTIVE)
    assert watch.elapsed >= 1.0
    assert len(fake.seen()) == 2


async def test_a_500_is_retried(fake: SignalWireFake, origin: str) -> None:
    fake.fail(Fault(502), Fault(500))
    async with provider_http(ProviderKey.SIGNALWIRE, origin) as http:
        assert await CLIENT.find_number(http, project(), "+14155550100") == InventoryNumber("+14155550100", True)
    assert len(fake.seen()) == 3


async def test_a_hang_past_the_timeout_is_unreachable(fake: SignalWireFake, origin: str) -> None:
    fake.fail(*[Fault(200, hang=HANG)] * 3)
    async with provider_http(ProviderKey.SIGNALWIRE, origin) as http:
        failure = await failure_of(collect(CLIENT.inventory(http, project())))
    assert failure.status is AccountStatus.UNREACHABLE
    assert failure.message == "SignalWire did not answer within 1 s."


@pytest.mark.parametrize("space", ["127.0.0.1", "localhost"])
async def test_a_space_on_a_loopback_address_is_refused_before_any_request(
    fake: SignalWireFake, space: str
) -> None:
    # No operator origin: the host is the tenant's, and the guard resolves and refuses it.
    async with provider_http(None) as http:
        failure = await failure_of(CLIENT.check_account(http, project(space=space)))
        assert http.outcomes[ProviderKey.SIGNALWIRE.value, "refused_host"] == 1
    assert failure.status is AccountStatus.REJECTED
    assert failure.message == "The host resolves to a loopback address, which this server does not contact."
    assert fake.seen() == []


async def test_the_space_is_the_origin_and_goes_through_the_guard_unless_the_operator_set_one() -> None:
    async with provider_http(None) as http:
        tenants = signalwire.endpoint(http, project(space="https://Acme.SignalWire.com/"))
    assert (tenants.origin, tenants.tenant_host) == ("https://acme.signalwire.com", True)
    async with provider_http(ProviderKey.SIGNALWIRE, "http://10.0.0.5:8080/") as http:
        operators = signalwire.endpoint(http, project())
    assert (operators.origin, operators.tenant_host) == ("http://10.0.0.5:8080", False)
    assert operators.account_path == f"/api/laml/2010-04-01/Accounts/{PROJECT}"


async def test_no_failure_message_holds_the_token(fake: SignalWireFake, origin: str) -> None:
    failures: list[ProviderFailure] = []
    async with provider_http(ProviderKey.SIGNALWIRE, origin, CallPolicy(total_timeout=1, backoff=0.01, attempts=1)) as http:
        failures.append(await failure_of(CLIENT.check_account(http, project(token=TOKEN + "x"))))
        for fault in (Fault(500), Fault(200, body={"status": "odd"}), Fault(200, hang=HANG)):
            fake.fail(fault)
            failures.append(await failure_of(CLIENT.check_account(http, project())))
    async with provider_http(None) as http:
        failures.append(await failure_of(CLIENT.check_account(http, project(space="localhost"))))
        failures.append(await failure_of(CLIENT.check_account(http, project(space=f"{TOKEN}@host:1/x"))))
    assert len(failures) == 6
    for failure in failures:
        assert TOKEN not in failure.message


async def test_a_bad_space_fails_where_the_inventory_is_read() -> None:
    async with provider_http(None) as http:
        numbers = CLIENT.inventory(http, project(space="example.com:8443"))  # nothing is asked yet
        failure = await failure_of(collect(numbers))
    assert (failure.status, failure.message) == (AccountStatus.REJECTED, "The SignalWire space URL is not a host name.")


@pytest.mark.parametrize(("typed", "host"), [
    ("example.signalwire.com", "example.signalwire.com"),
    ("https://Example.SignalWire.com/", "example.signalwire.com"),
    ("example.signalwire.com.", "example.signalwire.com"),
])
def test_space_host_keeps_a_host_name(typed: str, host: str) -> None:
    assert signalwire.space_host(typed) == host


@pytest.mark.parametrize("typed", [
    "", "example.com:8443", "example.com/api", "user@example.com", "http://example.com", "exa mple.com",
    "[::1]", "-bad.example.com",
])
def test_space_host_refuses_anything_but_a_host_name(typed: str) -> None:
    with pytest.raises(ProviderFailure) as caught:
        signalwire.space_host(typed)
    assert caught.value.status is AccountStatus.REJECTED
