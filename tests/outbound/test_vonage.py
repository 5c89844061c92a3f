"""The Vonage client through the real ProviderHttp against a fake Vonage on loopback, and its
reading functions on their own."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from urllib.parse import parse_qsl

import pytest

from gql_telephony.domain.provider_checks import AccountAnswer, AccountStatus, InventoryNumber, ProviderFailure
from gql_telephony.domain.providers import ProviderKey
from gql_telephony.outbound import vonage
from gql_telephony.outbound.base import Account
from gql_telephony.outbound.http import CallPolicy
from gql_telephony.outbound.vonage import CLIENT, VonageClient

from .fakes.base import Fault
from .fakes.vonage import VonageAccount, VonageFake, VonageNumber
from .provider_calls import HANG, Stopwatch, account, collect, failure_of, provider_http, served_once, wiped

API_KEY = "a1b2c3d4"
SECRET = "CanarySecret9"  # a secret that must never show in a message or a query string


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[VonageFake, str]]:
    with served_once(VonageFake()) as pair:
        yield pair


@pytest.fixture
def fake(served: tuple[VonageFake, str]) -> VonageFake:
    fake = served[0]
    wiped(fake)
    fake.accounts.clear()
    fake.add(VonageAccount(API_KEY, SECRET, numbers=[
        VonageNumber("14155550100", ["VOICE", "SMS"], "US"), VonageNumber("14155550101", ["SMS"], "US"),
        VonageNumber("493012345678", ["VOICE"], "DE"),
    ]))
    return fake


@pytest.fixture
def origin(served: tuple[VonageFake, str]) -> str:
    return served[1]


def keyed(secret: str = SECRET) -> Account:
    return account(
        {"application_id": "aaaaaaaa-bbbb-cccc-dddd-0123456789ab"},
        private_key="-----BEGIN PRIVATE KEY-----\n...", api_key=API_KEY, api_secret=secret,
    )


async def test_an_account_with_credit_is_active(fake: VonageFake, origin: str) -> None:
    async with provider_http(ProviderKey.VONAGE, origin) as http:
        assert await CLIENT.check_account(http, keyed()) == AccountAnswer(AccountStatus.ACTIVE)
    [seen] = fake.seen()
    assert seen.path == "/account/get-balance"
    assert seen.authorization == "Basic " + base64.b64encode(f"{API_KEY}:{SECRET}".encode()).decode()
    assert seen.query == ""  # the secret travels in the header, not the URL


async def test_an_account_without_credit_is_active_with_a_message(fake: VonageFake, origin: str) -> None:
    fake.accounts[API_KEY].balance = 0
    async with provider_http(ProviderKey.VONAGE, origin) as http:
        answer = await CLIENT.check_account(http, keyed())
    assert answer == AccountAnswer(AccountStatus.ACTIVE, "Vonage reports no credit left: calls fail until it is topped up.")


async def test_a_wrong_secret_is_rejected(fake: VonageFake, origin: str) -> None:
    async with provider_http(ProviderKey.VONAGE, origin) as http:
        failure = await failure_of(CLIENT.check_account(http, keyed("Wrong1234")))
    assert failure.status is AccountStatus.REJECTED
    assert failure.message == "Vonage rejected the credentials (HTTP 401)."


async def test_a_refusal_in_a_200_body_is_rejected(fake: VonageFake, origin: str) -> None:
    fake.fail(Fault(200, body={"error-code": "401", "error-code-label": "authentication failed"}))
    async with provider_http(ProviderKey.VONAGE, origin) as http:
        failure = await failure_of(CLIENT.find_number(http, keyed(), "+14155550100"))
    assert failure.status is AccountStatus.REJECTED
    assert failure.message == "Vonage rejected the credentials (error 401)."


async def test_find_number_reads_msisdn_and_features(fake: VonageFake, origin: str) -> None:
    async with provider_http(ProviderKey.VONAGE, origin) as http:
        assert await CLIENT.find_number(http, keyed(), "+14155550100") == InventoryNumber("+14155550100", True)
        assert await CLIENT.find_number(http, keyed(), "+14155550101") == InventoryNumber("+14155550101", False)
        assert await CLIENT.find_number(http, keyed(), "+49301234567") is None  # "starts with" found +49 30 12345678
        assert await CLIENT.find_number(http, keyed(), "+14155550199") is None  # count 0 and no `numbers` at all
    query = dict(parse_qsl(fake.seen()[0].query))
    assert (query["pattern"], query["search_pattern"]) == ("14155550100", "0")


async def test_the_inventory_pages_by_index_until_count(fake: VonageFake, origin: str) -> None:
    fake.accounts[API_KEY].numbers = [VonageNumber(f"1415555{n:04d}", ["VOICE"] if n % 3 else ["SMS"]) for n in range(7)]
    async with provider_http(ProviderKey.VONAGE, origin) as http:
        found = await collect(VonageClient(page_size=3).inventory(http, keyed()))
    assert found == [InventoryNumber(f"+1415555{n:04d}", n % 3 != 0) for n in range(7)]
    assert [s.query for s in fake.seen()] == ["index=1&size=3", "index=2&size=3", "index=3&size=3"]


async def test_a_429_is_retried_no_sooner_than_retry_after(fake: VonageFake, origin: str) -> None:
    fake.fail(Fault(429, headers={"Retry-After": "1"}, body={"title": "Rate Limit Hit"}))
    async with provider_http(ProviderKey.VONAGE, origin) as http:
        watch = Stopwatch()
        assert await CLIENT.check_account(http, keyed()) == AccountAnswer(AccountStatus.ACTIVE)
    assert watch.elapsed >= 1.0
    assert len(fake.seen()) == 2


async def test_a_500_is_retried(fake: VonageFake, origin: str) -> None:
    fake.fail(Fault(500))
    async with provider_http(ProviderKey.VONAGE, origin) as http:
        assert len(await collect(CLIENT.inventory(http, keyed()))) == 3
    assert len(fake.seen()) == 2


async def test_a_hang_past_the_timeout_is_unreachable(fake: VonageFake, origin: str) -> None:
    fake.fail(*[Fault(200, hang=HANG)] * 3)
    async with provider_http(ProviderKey.VONAGE, origin) as http:
        failure = await failure_of(CLIENT.check_account(http, keyed()))
    assert failure.status is AccountStatus.UNREACHABLE
    assert failure.message == "Vonage did not answer within 1 s."


async def test_no_failure_message_or_query_holds_the_secret(fake: VonageFake, origin: str) -> None:
    failures: list[ProviderFailure] = []
    async with provider_http(ProviderKey.VONAGE, origin, CallPolicy(total_timeout=1, backoff=0.01, attempts=1)) as http:
        failures.append(await failure_of(CLIENT.check_account(http, keyed(SECRET + "x"))))
        for fault in (Fault(500), Fault(200, body={"error-code": "500", "error-code-label": SECRET}),
                      Fault(200, body={"value": SECRET}), Fault(200, hang=HANG)):
            fake.fail(fault)
            failures.append(await failure_of(CLIENT.check_account(http, keyed())))
    assert len(failures) == 5
    for failure in failures:
        assert SECRET not in failure.message
        assert failure.message.startswith("Vonage")
    assert all(SECRET not in s.query for s in fake.seen())


# The reading functions on their own.

def test_balance_answer() -> None:
    assert vonage.balance_answer({"value": 10.171275, "autoReload": False}) == AccountAnswer(AccountStatus.ACTIVE)
    assert vonage.balance_answer({"value": -0.5}).message is not None
    for body in ({}, {"value": "lots"}, {"value": True}, {"value": float("inf")}, [], None):
        with pytest.raises(ProviderFailure) as caught:
            vonage.balance_answer(body)
        assert caught.value.status is AccountStatus.UNREACHABLE


def test_numbers_page_reads_msisdn_features_and_count() -> None:
    body = {"count": 12, "numbers": [
        {"msisdn": "447700900000", "features": ["VOICE"]},  # a drama number: not a valid one, left out
        {"msisdn": "14155550100", "features": ["SMS", "voice"]},
        {"msisdn": "14155550101"},
    ]}
    assert vonage.numbers_page(body) == (
        [InventoryNumber("+14155550100", True), InventoryNumber("+14155550101", None)], 12,
    )
    assert vonage.numbers_page({"count": 0}) == ([], 0)
    assert vonage.numbers_page({"count": 12, "numbers": []}) == ([], 0)  # an empty page ends the listing
    for bad in ({"count": "1", "numbers": []}, {"count": 1, "numbers": {}}, "x"):
        with pytest.raises(ProviderFailure):
            vonage.numbers_page(bad)


def test_an_error_code_in_the_body_is_read() -> None:
    vonage.refused_in_body({"error-code": "200", "error-code-label": "success"})
    with pytest.raises(ProviderFailure) as refused:
        vonage.refused_in_body({"error-code": "401", "error-code-label": "authentication failed"})
    assert refused.value.status is AccountStatus.REJECTED
    with pytest.raises(ProviderFailure) as other:
        vonage.refused_in_body({"error-code": "420", "error-code-label": "whatever"})
    assert other.value.status is AccountStatus.UNREACHABLE


def test_number_params() -> None:
    assert vonage.number_params(2, 100) == {"index": 2, "size": 100}
    assert vonage.number_params(1, 100, "+14155550100") == {
        "index": 1, "size": 100, "pattern": "14155550100", "search_pattern": 0,
    }
