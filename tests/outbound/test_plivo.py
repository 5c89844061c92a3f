"""The Plivo client against the Plivo fake, over loopback, through the real ProviderHttp."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator

import pytest

from gql_telephony.domain.config_rules import StoredConfig
from gql_telephony.domain.provider_checks import AccountStatus, InventoryNumber, ProviderFailure
from gql_telephony.domain.providers import ProviderKey
from gql_telephony.outbound import plivo
from gql_telephony.outbound.base import Account
from gql_telephony.outbound.http import CallPolicy, ProviderHttp

from .fakes.base import Fault, serve
from .fakes.plivo import PlivoAccount, PlivoFake, PlivoNumber

AUTH_ID = "MACANARYAUTHID000001"  # a secret, and in every path
TOKEN = "CANARY-plivo-token-7f3a"
CANARIES = (AUTH_ID, TOKEN)
NUMBERS = [PlivoNumber(f"1415555{i:04d}") for i in range(45)] + [PlivoNumber("14155559999", voice_enabled=False)]


def account(auth_id: str = AUTH_ID, token: str = TOKEN) -> Account:
    return Account(StoredConfig(settings={"application_id": "app-1"}, secrets={"auth_id": auth_id, "auth_token": token}))


@pytest.fixture
def fake() -> PlivoFake:
    return PlivoFake(
        PlivoAccount(AUTH_ID, TOKEN, numbers=list(NUMBERS)),
        PlivoAccount("MATRIALACCOUNT000001", "trial-token", account_type="developer"),
    )


@pytest.fixture
def origin(fake: PlivoFake) -> Iterator[str]:
    with serve(fake) as served:
        yield served


@pytest.fixture
async def http(origin: str) -> AsyncIterator[ProviderHttp]:
    client = ProviderHttp(origins={ProviderKey.PLIVO: origin}, policy=CallPolicy(total_timeout=1, backoff=0.05))
    yield client
    await client.aclose()


def assert_no_secret(failure: ProviderFailure) -> None:
    assert not any(canary in failure.message for canary in CANARIES), failure.message


async def test_a_standard_account_is_active(http: ProviderHttp) -> None:
    answer = await plivo.CLIENT.check_account(http, account())
    assert answer.status is AccountStatus.ACTIVE


async def test_a_developer_account_is_a_trial(http: ProviderHttp) -> None:
    answer = await plivo.CLIENT.check_account(http, account("MATRIALACCOUNT000001", "trial-token"))
    assert answer.status is AccountStatus.TRIAL


async def test_a_wrong_token_is_rejected(http: ProviderHttp) -> None:
    with pytest.raises(ProviderFailure) as raised:
        await plivo.CLIENT.check_account(http, account(token="CANARY-wrong-token"))
    assert raised.value.status is AccountStatus.REJECTED
    assert "Plivo" in raised.value.message
    assert "CANARY" not in raised.value.message and AUTH_ID not in raised.value.message


async def test_an_unknown_auth_id_is_rejected(http: ProviderHttp) -> None:
    with pytest.raises(ProviderFailure) as raised:
        await plivo.CLIENT.check_account(http, account(auth_id="MACANARYNOSUCHID0001"))
    assert raised.value.status is AccountStatus.REJECTED
    assert "MACANARYNOSUCHID0001" not in raised.value.message


async def test_find_number_reads_one_number(http: ProviderHttp, fake: PlivoFake) -> None:
    assert await plivo.CLIENT.find_number(http, account(), "+14155550007") == InventoryNumber("+14155550007", True)
    assert fake.seen()[-1].path == f"/v1/Account/{AUTH_ID}/Number/14155550007/"


async def test_find_number_says_when_a_number_cannot_carry_voice(http: ProviderHttp) -> None:
    assert await plivo.CLIENT.find_number(http, account(), "+14155559999") == InventoryNumber("+14155559999", False)


async def test_find_number_is_none_for_a_number_not_in_the_account(http: ProviderHttp) -> None:
    assert await plivo.CLIENT.find_number(http, account(), "+14155558888") is None


async def test_inventory_reads_every_page(http: ProviderHttp, fake: PlivoFake) -> None:
    numbers = [n async for n in plivo.CLIENT.inventory(http, account())]
    assert [n.number for n in numbers] == ["+" + n.number for n in NUMBERS]
    assert numbers[-1].voice is False
    pages = fake.seen("/Number/")
    assert [p.query for p in pages] == ["limit=20&offset=0", "limit=20&offset=20", "limit=20&offset=40"]


async def test_a_429_is_waited_out_as_retry_after_says(http: ProviderHttp, fake: PlivoFake) -> None:
    fake.fail(Fault(429, {"Retry-After": "1"}))
    started = time.monotonic()
    answer = await plivo.CLIENT.check_account(http, account())
    assert answer.status is AccountStatus.ACTIVE
    assert time.monotonic() - started >= 0.9
    assert len(fake.seen()) == 2


async def test_a_500_is_retried(http: ProviderHttp, fake: PlivoFake) -> None:
    fake.fail(Fault(500, body={"error": "internal"}))
    assert (await plivo.CLIENT.check_account(http, account())).status is AccountStatus.ACTIVE
    assert len(fake.seen()) == 2


async def test_a_provider_that_hangs_is_unreachable(http: ProviderHttp, fake: PlivoFake) -> None:
    fake.fail(*[Fault(200, hang=1.5)] * 3)
    with pytest.raises(ProviderFailure) as raised:
        await plivo.CLIENT.check_account(http, account())
    assert raised.value.status is AccountStatus.UNREACHABLE
    assert_no_secret(raised.value)


async def test_no_failure_message_holds_a_secret(http: ProviderHttp, fake: PlivoFake) -> None:
    failures: list[ProviderFailure] = []
    fake.fail(*[Fault(500, body={"error": f"boom {AUTH_ID} {TOKEN}"})] * 3)
    fake.fail(*[Fault(429, {"Retry-After": "3600"}, body={"error": AUTH_ID})])
    fake.fail(Fault(200, body=[AUTH_ID]))  # a shape the client does not read
    for _ in range(3):
        with pytest.raises(ProviderFailure) as raised:
            await plivo.CLIENT.check_account(http, account())
        failures.append(raised.value)
    with pytest.raises(ProviderFailure) as raised:
        await plivo.CLIENT.check_account(http, account(token="CANARY-wrong"))
    failures.append(raised.value)
    assert [f.status for f in failures] == [AccountStatus.UNREACHABLE] * 3 + [AccountStatus.REJECTED]
    for failure in failures:
        assert_no_secret(failure)
        assert "CANARY" not in failure.message


def test_number_page_counts_the_next_offset_without_following_the_link() -> None:
    body = {"meta": {"next": "/v1/Account/MAX/Number/?limit=2&offset=2", "total_count": 3},
            "objects": [{"number": "14155550100", "voice_enabled": True}, {"number": "not a number"}]}
    page = plivo.number_page(body, 0)
    assert page.numbers == [InventoryNumber("+14155550100", True)]
    assert page.next_offset == 2


def test_number_page_ends_without_next_or_when_the_total_is_reached() -> None:
    assert plivo.number_page({"meta": {"next": None}, "objects": [{"number": "14155550100"}]}, 0).next_offset is None
    assert plivo.number_page({"meta": {"next": "/x", "total_count": 1}, "objects": [{"number": "14155550100"}]}, 0).next_offset is None
    assert plivo.number_page({"meta": {"next": "/x"}, "objects": []}, 40).next_offset is None


def test_account_answer_reads_the_account_type() -> None:
    assert plivo.account_answer({"account_type": "standard", "state": "NY"}).status is AccountStatus.ACTIVE
    assert plivo.account_answer({"account_type": "developer"}).status is AccountStatus.TRIAL
    assert plivo.account_answer({"account_type": "something-new"}).status is AccountStatus.ACTIVE
    with pytest.raises(ProviderFailure):
        plivo.account_answer(["not", "an", "object"])


def test_number_path_drops_the_plus() -> None:
    assert plivo.number_path("MA1", "+14155550100") == "/v1/Account/MA1/Number/14155550100/"
