"""The Exotel client against the Exotel fake, over loopback, through the real ProviderHttp."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator

import pytest

from gql_telephony.domain.config_rules import StoredConfig
from gql_telephony.domain.provider_checks import AccountStatus, InventoryNumber, ProviderFailure
from gql_telephony.domain.providers import ProviderKey
from gql_telephony.outbound import exotel
from gql_telephony.outbound.base import Account
from gql_telephony.outbound.http import CallPolicy, ProviderHttp

from .fakes.base import Fault, serve
from .fakes.exotel import ExoPhone, ExotelAccount, ExotelFake

KEY = "acme-api-key"
TOKEN = "CANARY-exotel-token-0b7d"
MUMBAI = "api.in.exotel.com"
SINGAPORE = "api.exotel.com"
# Three pages of 50 in national form; the last cannot carry voice.
NUMBERS = [ExoPhone(f"0804711{i:04d}") for i in range(110)] + [ExoPhone("08047119999", voice=False)]


def account(sid: str = "acme", host: str | None = MUMBAI, token: str = TOKEN) -> Account:
    settings: dict[str, object] = {"api_key": KEY, "account_sid": sid, "app_id": "45195"}
    if host is not None:
        settings["subdomain"] = host
    return Account(StoredConfig(settings=settings, secrets={"api_token": token}))


@pytest.fixture
def fake() -> ExotelFake:
    return ExotelFake(
        ExotelAccount("acme", KEY, TOKEN, numbers=list(NUMBERS)),
        ExotelAccount("acmesg", KEY, TOKEN, numbers=[ExoPhone("61234567"), ExoPhone("+918047112233"),
                                                      ExoPhone("08047114455")]),
        ExotelAccount("trial", KEY, TOKEN, pricing_plan="Trial"),
        ExotelAccount("broke", KEY, TOKEN, payment_required=True),
    )


@pytest.fixture
def origin(fake: ExotelFake) -> Iterator[str]:
    with serve(fake) as served:
        yield served


@pytest.fixture
async def http(origin: str) -> AsyncIterator[ProviderHttp]:
    client = ProviderHttp(origins={ProviderKey.EXOTEL: origin}, policy=CallPolicy(total_timeout=1, backoff=0.05))
    yield client
    await client.aclose()


async def test_account_statuses(http: ProviderHttp, fake: ExotelFake) -> None:
    assert (await exotel.CLIENT.check_account(http, account())).status is AccountStatus.ACTIVE
    assert (await exotel.CLIENT.check_account(http, account("trial"))).status is AccountStatus.TRIAL
    assert (await exotel.CLIENT.check_account(http, account("broke"))).status is AccountStatus.SUSPENDED
    assert fake.seen()[0].path == "/v1/Accounts/acme/Balance.json"


async def test_a_wrong_token_is_rejected(http: ProviderHttp) -> None:
    with pytest.raises(ProviderFailure) as raised:
        await exotel.CLIENT.check_account(http, account(token="CANARY-wrong"))
    assert raised.value.status is AccountStatus.REJECTED
    assert "Exotel" in raised.value.message and "CANARY" not in raised.value.message


async def test_an_unknown_sid_is_rejected(http: ProviderHttp) -> None:
    with pytest.raises(ProviderFailure) as raised:
        await exotel.CLIENT.check_account(http, account("nosuch"))
    assert raised.value.status is AccountStatus.REJECTED


async def test_find_number(http: ProviderHttp) -> None:
    assert await exotel.CLIENT.find_number(http, account(), "+918047110005") == InventoryNumber("+918047110005", True)
    assert await exotel.CLIENT.find_number(http, account(), "+918047119999") == InventoryNumber("+918047119999", False)
    assert await exotel.CLIENT.find_number(http, account(), "+918047118888") is None


async def test_inventory_reads_every_page_on_the_same_origin(http: ProviderHttp, fake: ExotelFake) -> None:
    numbers = [n async for n in exotel.CLIENT.inventory(http, account())]
    assert [n.number for n in numbers] == ["+91" + n.phone_number[1:] for n in NUMBERS]
    pages = fake.seen("/IncomingPhoneNumbers")
    assert [p.query for p in pages] == ["Page=0&PageSize=50", "Page=1&PageSize=50", "Page=2&PageSize=50"]


async def test_national_numbers_are_read_in_the_region_of_the_api_host(http: ProviderHttp) -> None:
    singapore = [n.number async for n in exotel.CLIENT.inventory(http, account("acmesg", SINGAPORE))]
    assert singapore == ["+6561234567", "+918047112233", "+918047114455"]  # the last in national form
    default_host = [n.number async for n in exotel.CLIENT.inventory(http, account("acmesg", None))]
    assert default_host == singapore
    mumbai = [n.number async for n in exotel.CLIENT.inventory(http, account("acme", MUMBAI))]
    assert mumbai[0] == "+918047110000"


async def test_a_429_is_waited_out_as_retry_after_says(http: ProviderHttp, fake: ExotelFake) -> None:
    fake.fail(Fault(429, {"Retry-After": "1"}))
    started = time.monotonic()
    assert (await exotel.CLIENT.check_account(http, account())).status is AccountStatus.ACTIVE
    assert time.monotonic() - started >= 0.9


async def test_a_500_is_retried(http: ProviderHttp, fake: ExotelFake) -> None:
    fake.fail(Fault(500))
    assert (await exotel.CLIENT.check_account(http, account())).status is AccountStatus.ACTIVE
    assert len(fake.seen()) == 2


async def test_a_provider_that_hangs_is_unreachable(http: ProviderHttp, fake: ExotelFake) -> None:
    fake.fail(*[Fault(200, hang=1.5)] * 3)
    with pytest.raises(ProviderFailure) as raised:
        await exotel.CLIENT.check_account(http, account())
    assert raised.value.status is AccountStatus.UNREACHABLE
    assert "CANARY" not in raised.value.message


async def test_no_failure_message_holds_a_secret(http: ProviderHttp, fake: ExotelFake) -> None:
    fake.fail(*[Fault(500, body={"RestException": {"Message": TOKEN}})] * 3, Fault(200, body={"Account": TOKEN}))
    for _ in range(2):
        with pytest.raises(ProviderFailure) as raised:
            await exotel.CLIENT.check_account(http, account())
        assert raised.value.status is AccountStatus.UNREACHABLE
        assert "CANARY" not in raised.value.message


def test_next_page_reads_only_the_page_of_the_link() -> None:
    assert exotel.next_page("http://twilix.exotel.com/v2_beta/Accounts/a/IncomingPhoneNumbers?Page=3&PageSize=50", 2) == 3
    assert exotel.next_page(None, 2) is None
    assert exotel.next_page("http://elsewhere/?Page=1", 1) is None  # would loop
    assert exotel.next_page("http://elsewhere/", 4) == 5


def test_inventory_number_reads_national_and_international_forms() -> None:
    assert exotel.inventory_number({"phone_number": "08047112233"}, "IN") == InventoryNumber("+918047112233", None)
    assert exotel.inventory_number({"phone_number": "+918047112233", "capabilities": {"voice": False}}, "SG") \
        == InventoryNumber("+918047112233", False)
    # Not a Singapore number: read as Indian, Exotel's home market.
    assert exotel.inventory_number({"phone_number": "08047112233"}, "SG") == InventoryNumber("+918047112233", None)
    assert exotel.inventory_number({"phone_number": "61234567"}, "SG") == InventoryNumber("+6561234567", None)
    assert exotel.inventory_number({"phone_number": "12"}, "SG") is None


def test_api_host_falls_back_to_the_default() -> None:
    assert exotel.api_host(account(host=None)) == SINGAPORE
    assert exotel.api_host(account(host="API.IN.EXOTEL.COM")) == MUMBAI
    assert exotel.region_of(MUMBAI) == "IN" and exotel.region_of(SINGAPORE) == "SG"


def test_account_answer() -> None:
    assert exotel.account_answer({"Account": {"BalanceData": {"PricingPlan": "Postpaid"}}}).status is AccountStatus.ACTIVE
    assert exotel.account_answer({"Account": {"BalanceData": {"PricingPlan": "Free Trial"}}}).status is AccountStatus.TRIAL
    with pytest.raises(ProviderFailure):
        exotel.account_answer({"Account": "x"})
