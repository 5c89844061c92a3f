"""The Telnyx client through the real ProviderHttp against a fake Telnyx on loopback, and its
reading functions on their own."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qsl

import pytest

from gql_telephony.domain.provider_checks import AccountAnswer, AccountStatus, InventoryNumber, ProviderFailure
from gql_telephony.domain.providers import ProviderKey
from gql_telephony.outbound import telnyx
from gql_telephony.outbound.base import Account
from gql_telephony.outbound.http import CallPolicy
from gql_telephony.outbound.telnyx import CLIENT, TelnyxClient

from .fakes.base import Fault
from .fakes.telnyx import TelnyxAccount, TelnyxFake
from .provider_calls import HANG, Stopwatch, account, collect, failure_of, provider_http, served_once, wiped

KEY = "KEYCANARY" + "0123456789abcdef" * 2  # a secret that must never show in a message


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[TelnyxFake, str]]:
    with served_once(TelnyxFake()) as pair:
        yield pair


@pytest.fixture
def fake(served: tuple[TelnyxFake, str]) -> TelnyxFake:
    fake = served[0]
    wiped(fake)
    fake.accounts.clear()
    fake.add(TelnyxAccount(KEY, numbers=["+14155550100", "+493012345678"]))
    return fake


@pytest.fixture
def origin(served: tuple[TelnyxFake, str]) -> str:
    return served[1]


def keyed(key: str = KEY) -> Account:
    return account({"connection_id": "1293384261075731499"}, api_key=key)


async def test_an_account_with_credit_is_active(fake: TelnyxFake, origin: str) -> None:
    async with provider_http(ProviderKey.TELNYX, origin) as http:
        assert await CLIENT.check_account(http, keyed()) == AccountAnswer(AccountStatus.ACTIVE)
    [seen] = fake.seen()
    assert (seen.path, seen.authorization) == ("/v2/balance", f"Bearer {KEY}")


@pytest.mark.parametrize(("balance", "credit_limit", "expected"), [
    ("-5.00", "0.00", AccountStatus.SUSPENDED),
    ("0.00", "0.00", AccountStatus.SUSPENDED),
    ("-5.00", "100.00", AccountStatus.ACTIVE),  # the credit limit still covers calls
])
async def test_an_account_without_available_credit_is_suspended(
    fake: TelnyxFake, origin: str, balance: str, credit_limit: str, expected: AccountStatus
) -> None:
    fake.accounts[KEY].balance, fake.accounts[KEY].credit_limit = balance, credit_limit
    async with provider_http(ProviderKey.TELNYX, origin) as http:
        answer = await CLIENT.check_account(http, keyed())
    assert answer.status is expected


async def test_an_unknown_key_is_rejected(fake: TelnyxFake, origin: str) -> None:
    async with provider_http(ProviderKey.TELNYX, origin) as http:
        failure = await failure_of(CLIENT.check_account(http, keyed("KEY" + "1" * 32)))
    assert failure.status is AccountStatus.REJECTED
    assert failure.message == "Telnyx rejected the credentials (HTTP 401)."


async def test_a_disabled_account_is_rejected_with_a_reason(fake: TelnyxFake, origin: str) -> None:
    fake.accounts[KEY].disabled = True
    async with provider_http(ProviderKey.TELNYX, origin) as http:
        failure = await failure_of(CLIENT.check_account(http, keyed()))
    assert failure.status is AccountStatus.REJECTED
    assert failure.message == (
        "Telnyx refused this API key access to the account (HTTP 403): the key lacks permission or the account is disabled."
    )


async def test_find_number_filters_by_digits_and_matches_the_whole_number(fake: TelnyxFake, origin: str) -> None:
    async with provider_http(ProviderKey.TELNYX, origin) as http:
        assert await CLIENT.find_number(http, keyed(), "+14155550100") == InventoryNumber("+14155550100", None)
        assert await CLIENT.find_number(http, keyed(), "+49301234567") is None  # the filter found +49 30 12345678
        assert await CLIENT.find_number(http, keyed(), "+14155550199") is None
    first = dict(parse_qsl(fake.seen()[0].query))
    assert first["filter[phone_number]"] == "14155550100"  # a + would match nothing
    assert len(fake.seen()) == 3


async def test_the_inventory_pages_until_total_pages(fake: TelnyxFake, origin: str) -> None:
    fake.accounts[KEY].numbers = [f"+1415555{n:04d}" for n in range(7)]
    async with provider_http(ProviderKey.TELNYX, origin) as http:
        found = await collect(TelnyxClient(page_size=3).inventory(http, keyed()))
    assert found == [InventoryNumber(f"+1415555{n:04d}", None) for n in range(7)]
    pages = [dict(parse_qsl(s.query)) for s in fake.seen()]
    assert [(p["page[number]"], p["page[size]"]) for p in pages] == [("1", "3"), ("2", "3"), ("3", "3")]


async def test_an_empty_account_lists_no_numbers(fake: TelnyxFake, origin: str) -> None:
    fake.accounts[KEY].numbers = []
    async with provider_http(ProviderKey.TELNYX, origin) as http:
        assert await collect(CLIENT.inventory(http, keyed())) == []
    assert len(fake.seen()) == 1


async def test_a_429_is_retried_no_sooner_than_retry_after(fake: TelnyxFake, origin: str) -> None:
    fake.fail(Fault(429, headers={"Retry-After": "1"}, body={"errors": [{"code": "10011", "title": "Too many requests"}]}))
    async with provider_http(ProviderKey.TELNYX, origin) as http:
        watch = Stopwatch()
        assert await CLIENT.check_account(http, keyed()) == AccountAnswer(AccountStatus.ACTIVE)
    assert watch.elapsed >= 1.0
    assert len(fake.seen()) == 2


async def test_a_500_is_retried(fake: TelnyxFake, origin: str) -> None:
    fake.fail(Fault(503))
    async with provider_http(ProviderKey.TELNYX, origin) as http:
        assert len(await collect(CLIENT.inventory(http, keyed()))) == 2
    assert len(fake.seen()) == 2


async def test_a_hang_past_the_timeout_is_unreachable(fake: TelnyxFake, origin: str) -> None:
    fake.fail(*[Fault(200, hang=HANG)] * 3)
    async with provider_http(ProviderKey.TELNYX, origin) as http:
        failure = await failure_of(CLIENT.find_number(http, keyed(), "+14155550100"))
    assert failure.status is AccountStatus.UNREACHABLE
    assert failure.message == "Telnyx did not answer within 1 s."


async def test_no_failure_message_holds_the_key(fake: TelnyxFake, origin: str) -> None:
    failures: list[ProviderFailure] = []
    async with provider_http(ProviderKey.TELNYX, origin, CallPolicy(total_timeout=1, backoff=0.01, attempts=1)) as http:
        failures.append(await failure_of(CLIENT.check_account(http, keyed(KEY + "x"))))
        fake.accounts[KEY].disabled = True
        failures.append(await failure_of(CLIENT.check_account(http, keyed())))
        fake.accounts[KEY].disabled = False
        for fault in (Fault(500), Fault(422, body={"errors": [{"detail": KEY}]}), Fault(200, body={"data": KEY}),
                      Fault(200, hang=HANG)):
            fake.fail(fault)
            failures.append(await failure_of(CLIENT.check_account(http, keyed())))
    assert len(failures) == 6
    for failure in failures:
        assert KEY not in failure.message
        assert failure.message.startswith("Telnyx")


# The reading functions on their own.

def test_balance_answer_prefers_available_credit() -> None:
    body = {"data": {"balance": "-10.00", "credit_limit": "50.00", "available_credit": "40.00"}}
    assert telnyx.balance_answer(body).status is AccountStatus.ACTIVE
    assert telnyx.balance_answer({"data": {"balance": "-1.00", "credit_limit": "0.00"}}).status is AccountStatus.SUSPENDED
    assert telnyx.balance_answer({"data": {"balance": "12.50"}}).status is AccountStatus.ACTIVE


@pytest.mark.parametrize("body", [
    {}, {"data": []}, {"data": {"balance": "lots"}}, {"data": {"balance": "NaN"}}, {"data": {"balance": True}}, None,
])
def test_balance_answer_refuses_what_it_cannot_read(body: object) -> None:
    with pytest.raises(ProviderFailure) as caught:
        telnyx.balance_answer(body)
    assert caught.value.status is AccountStatus.UNREACHABLE


def test_number_params_send_digits_only() -> None:
    assert telnyx.number_params(2, 50) == {"page[number]": 2, "page[size]": 50}
    assert telnyx.number_params(1, 250, "+14155550100")["filter[phone_number]"] == "14155550100"


def test_numbers_page_reads_numbers_and_total_pages() -> None:
    body = {"data": [{"phone_number": "+14155550100"}, {"phone_number": "junk"}, {"id": "1"}],
            "meta": {"total_pages": 4, "page_number": 1}}
    assert telnyx.numbers_page(body) == ([InventoryNumber("+14155550100", None)], 4)
    assert telnyx.numbers_page({"data": [{"phone_number": "+14155550100"}]})[1] == 1  # no meta: one page
    assert telnyx.numbers_page({"data": [], "meta": {"total_pages": 9}})[1] == 0  # an empty page ends the listing
    with pytest.raises(ProviderFailure):
        telnyx.numbers_page({"errors": []})
