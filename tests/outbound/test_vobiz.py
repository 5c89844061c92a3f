"""The Vobiz client against the Vobiz fake, over loopback, through the real ProviderHttp."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator

import pytest

from gql_telephony.domain.config_rules import StoredConfig
from gql_telephony.domain.provider_checks import AccountStatus, InventoryNumber, ProviderFailure
from gql_telephony.domain.providers import ProviderKey
from gql_telephony.outbound import vobiz
from gql_telephony.outbound.base import Account
from gql_telephony.outbound.http import CallPolicy, ProviderHttp

from .fakes.base import Fault, serve
from .fakes.vobiz import VobizAccount, VobizFake, VobizNumber

AUTH_ID = "MA_CANARY01"  # a secret, and in the numbers path
TOKEN = "CANARY-vobiz-token-19c2"
CANARIES = (AUTH_ID, TOKEN)
# Three pages of 100: the last number cannot carry voice.
NUMBERS = [VobizNumber(f"+91804711{i:04d}") for i in range(229)] + [VobizNumber("+918047119999", voice=False)]


def account(auth_id: str = AUTH_ID, token: str = TOKEN) -> Account:
    return Account(StoredConfig(secrets={"auth_id": auth_id, "auth_token": token}))


def accounts() -> list[VobizAccount]:
    return [
        VobizAccount(AUTH_ID, TOKEN, numbers=list(NUMBERS)),
        VobizAccount("MA_TRIAL01", "trial-token", is_trial_account=True),
        VobizAccount("MA_OFF0001", "off-token", is_active=False),
    ]


@pytest.fixture(params=["page", "offset"])
def fake(request: pytest.FixtureRequest) -> VobizFake:
    return VobizFake(*accounts(), paging=request.param)


@pytest.fixture
def origin(fake: VobizFake) -> Iterator[str]:
    with serve(fake) as served:
        yield served


@pytest.fixture
async def http(origin: str) -> AsyncIterator[ProviderHttp]:
    client = ProviderHttp(origins={ProviderKey.VOBIZ: origin}, policy=CallPolicy(total_timeout=1, backoff=0.05))
    yield client
    await client.aclose()


def assert_no_secret(failure: ProviderFailure) -> None:
    assert not any(canary in failure.message for canary in CANARIES), failure.message


async def test_account_statuses(http: ProviderHttp) -> None:
    assert (await vobiz.CLIENT.check_account(http, account())).status is AccountStatus.ACTIVE
    assert (await vobiz.CLIENT.check_account(http, account("MA_TRIAL01", "trial-token"))).status is AccountStatus.TRIAL
    assert (await vobiz.CLIENT.check_account(http, account("MA_OFF0001", "off-token"))).status is AccountStatus.SUSPENDED


async def test_a_wrong_token_is_rejected(http: ProviderHttp) -> None:
    with pytest.raises(ProviderFailure) as raised:
        await vobiz.CLIENT.check_account(http, account(token="CANARY-wrong"))
    assert raised.value.status is AccountStatus.REJECTED
    assert "Vobiz" in raised.value.message and "CANARY" not in raised.value.message
    assert_no_secret(raised.value)


async def test_find_number(http: ProviderHttp) -> None:
    assert await vobiz.CLIENT.find_number(http, account(), "+918047110003") == InventoryNumber("+918047110003", True)
    assert await vobiz.CLIENT.find_number(http, account(), "+918047119999") == InventoryNumber("+918047119999", False)
    assert await vobiz.CLIENT.find_number(http, account(), "+918047118888") is None


async def test_find_number_stops_at_the_page_that_holds_it(http: ProviderHttp, fake: VobizFake) -> None:
    await vobiz.CLIENT.find_number(http, account(), "+918047110003")
    assert len(fake.seen("/numbers")) == 1


async def test_inventory_reads_every_page(http: ProviderHttp, fake: VobizFake) -> None:
    numbers = [n async for n in vobiz.CLIENT.inventory(http, account())]
    assert [n.number for n in numbers] == [n.e164 for n in NUMBERS]
    assert len(fake.seen("/numbers")) == 3


async def test_a_429_is_waited_out_as_retry_after_says(http: ProviderHttp, fake: VobizFake) -> None:
    fake.fail(Fault(429, {"Retry-After": "1"}))
    started = time.monotonic()
    assert (await vobiz.CLIENT.check_account(http, account())).status is AccountStatus.ACTIVE
    assert time.monotonic() - started >= 0.9
    assert len(fake.seen()) == 2


async def test_a_500_is_retried(http: ProviderHttp, fake: VobizFake) -> None:
    fake.fail(Fault(500))
    assert len([n async for n in vobiz.CLIENT.inventory(http, account())]) == len(NUMBERS)


async def test_a_provider_that_hangs_is_unreachable(http: ProviderHttp, fake: VobizFake) -> None:
    fake.fail(*[Fault(200, hang=1.5)] * 3)
    with pytest.raises(ProviderFailure) as raised:
        await vobiz.CLIENT.check_account(http, account())
    assert raised.value.status is AccountStatus.UNREACHABLE
    assert_no_secret(raised.value)


async def test_no_failure_message_holds_a_secret(http: ProviderHttp, fake: VobizFake) -> None:
    fake.fail(*[Fault(503, body={"status": "error", "error": {"message": f"{AUTH_ID} {TOKEN}"}})] * 3)
    fake.fail(Fault(200, body={"items": AUTH_ID}))
    failures = []
    for _ in range(2):
        with pytest.raises(ProviderFailure) as raised:
            [n async for n in vobiz.CLIENT.inventory(http, account())]
        failures.append(raised.value)
    assert [f.status for f in failures] == [AccountStatus.UNREACHABLE] * 2
    for failure in failures:
        assert_no_secret(failure)


def test_number_page_stops_at_the_total() -> None:
    full = {"items": [{"e164": "+918047110000"}] * 100, "total": 200}
    assert vobiz.number_page(full, 1).more is True
    assert vobiz.number_page(full, 2).more is False
    assert vobiz.number_page({"items": [], "total": 500}, 3).more is False


def test_inventory_number_prefers_voice_enabled_then_capabilities() -> None:
    assert vobiz.inventory_number({"e164": "+918047110000", "voice_enabled": False, "capabilities": {"voice": True}}) \
        == InventoryNumber("+918047110000", False)
    assert vobiz.inventory_number({"e164": "+918047110000", "capabilities": {"voice": True}}) \
        == InventoryNumber("+918047110000", True)
    assert vobiz.inventory_number({"e164": "+918047110000"}) == InventoryNumber("+918047110000", None)
    assert vobiz.inventory_number({"e164": "12"}) is None


def test_account_answer() -> None:
    assert vobiz.account_answer({"is_active": True, "enabled": False}).status is AccountStatus.SUSPENDED
    assert vobiz.account_answer({"is_active": True, "is_trial_account": True}).status is AccountStatus.TRIAL
    assert vobiz.account_answer({"auth_secret": "x"}).status is AccountStatus.ACTIVE


def test_both_spellings_of_a_page_ask_for_the_same_numbers() -> None:
    assert vobiz.page_params(3) == {"page": 3, "per_page": 100, "limit": 100, "offset": 200}
