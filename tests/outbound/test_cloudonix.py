"""The Cloudonix client against the Cloudonix fake, over loopback, through the real ProviderHttp."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator

import pytest

from gql_telephony.domain.config_rules import StoredConfig
from gql_telephony.domain.provider_checks import AccountStatus, InventoryNumber, ProviderFailure
from gql_telephony.domain.providers import ProviderKey
from gql_telephony.outbound import cloudonix
from gql_telephony.outbound.base import Account
from gql_telephony.outbound.http import CallPolicy, ProviderHttp

from .fakes.base import Fault, serve
from .fakes.cloudonix import CloudonixDnid, CloudonixDomain, CloudonixFake

KEY = "XICANARY0000000000000000000000001"
DOMAIN = "acme.cloudonix.net"
DNIDS = [
    *[CloudonixDnid(f"1212555{i:04d}") for i in range(120)],
    CloudonixDnid("+12125559990", active=False),
    CloudonixDnid("12125559991", voice_application=None, messaging_application="sms-bot"),
    CloudonixDnid("1800", prefix=True),  # patterns are not numbers, even when spelt as one:
    CloudonixDnid("12125557000", prefix=True),
    CloudonixDnid("1212*", expression=True),
    CloudonixDnid("_1NXXNXXXXXX", asterisk_compatible=True),
]


def account(domain: str = DOMAIN, key: str = KEY) -> Account:
    return Account(StoredConfig(settings={"domain_id": domain, "application_name": "app"}, secrets={"bearer_token": key}))


@pytest.fixture
def fake() -> CloudonixFake:
    return CloudonixFake(
        CloudonixDomain(DOMAIN, KEY, dnids=list(DNIDS)),
        CloudonixDomain("off.cloudonix.net", "key-off", active=False),
        CloudonixDomain("gone.cloudonix.net", "key-gone", customer_active=False),
    )


@pytest.fixture
def origin(fake: CloudonixFake) -> Iterator[str]:
    with serve(fake) as served:
        yield served


@pytest.fixture
async def http(origin: str) -> AsyncIterator[ProviderHttp]:
    client = ProviderHttp(origins={ProviderKey.CLOUDONIX: origin}, policy=CallPolicy(total_timeout=1, backoff=0.05))
    yield client
    await client.aclose()


async def test_account_statuses(http: ProviderHttp) -> None:
    assert (await cloudonix.CLIENT.check_account(http, account())).status is AccountStatus.ACTIVE
    off = await cloudonix.CLIENT.check_account(http, account("off.cloudonix.net", "key-off"))
    assert off.status is AccountStatus.SUSPENDED
    gone = await cloudonix.CLIENT.check_account(http, account("gone.cloudonix.net", "key-gone"))
    assert gone.status is AccountStatus.SUSPENDED


async def test_a_wrong_key_is_rejected(http: ProviderHttp) -> None:
    with pytest.raises(ProviderFailure) as raised:
        await cloudonix.CLIENT.check_account(http, account(key="XICANARYWRONG"))
    assert raised.value.status is AccountStatus.REJECTED
    assert "Cloudonix" in raised.value.message and "CANARY" not in raised.value.message


async def test_a_domain_the_key_cannot_see_is_rejected(http: ProviderHttp) -> None:
    with pytest.raises(ProviderFailure) as raised:
        await cloudonix.CLIENT.check_account(http, account(domain="off.cloudonix.net"))
    assert raised.value.status is AccountStatus.REJECTED


async def test_find_number(http: ProviderHttp) -> None:
    assert await cloudonix.CLIENT.find_number(http, account(), "+12125550042") == InventoryNumber("+12125550042", True)
    assert await cloudonix.CLIENT.find_number(http, account(), "+12125559990") == InventoryNumber("+12125559990", False)
    assert await cloudonix.CLIENT.find_number(http, account(), "+12125559991") == InventoryNumber("+12125559991", False)
    assert await cloudonix.CLIENT.find_number(http, account(), "+12125558888") is None
    assert await cloudonix.CLIENT.find_number(http, account(), "+12125557000") is None  # only a prefix DNID


async def test_inventory_lists_exact_dnids_only(http: ProviderHttp, fake: CloudonixFake) -> None:
    numbers = [n async for n in cloudonix.CLIENT.inventory(http, account())]
    assert len(numbers) == 122
    assert numbers[0] == InventoryNumber("+12125550000", True)
    assert fake.seen()[-1].path == f"/customers/self/domains/{DOMAIN}/dnids"
    assert fake.seen()[-1].authorization == f"Bearer {KEY}"


async def test_a_429_is_waited_out_as_retry_after_says(http: ProviderHttp, fake: CloudonixFake) -> None:
    fake.fail(Fault(429, {"Retry-After": "1"}))
    started = time.monotonic()
    assert (await cloudonix.CLIENT.check_account(http, account())).status is AccountStatus.ACTIVE
    assert time.monotonic() - started >= 0.9


async def test_a_500_is_retried(http: ProviderHttp, fake: CloudonixFake) -> None:
    fake.fail(Fault(500), Fault(502))
    assert len([n async for n in cloudonix.CLIENT.inventory(http, account())]) == 122
    assert len(fake.seen()) == 3


async def test_a_provider_that_hangs_is_unreachable(http: ProviderHttp, fake: CloudonixFake) -> None:
    fake.fail(*[Fault(200, hang=1.5)] * 3)
    with pytest.raises(ProviderFailure) as raised:
        await cloudonix.CLIENT.check_account(http, account())
    assert raised.value.status is AccountStatus.UNREACHABLE
    assert KEY not in raised.value.message


async def test_no_failure_message_holds_a_secret(http: ProviderHttp, fake: CloudonixFake) -> None:
    fake.fail(*[Fault(500, body={"message": KEY})] * 3, Fault(200, body={"dnids": KEY}))
    failures = []
    for _ in range(2):
        with pytest.raises(ProviderFailure) as raised:
            [n async for n in cloudonix.CLIENT.inventory(http, account())]
        failures.append(raised.value)
    with pytest.raises(ProviderFailure) as raised:
        await cloudonix.CLIENT.check_account(http, account(key="XICANARYWRONG"))
    failures.append(raised.value)
    assert [f.status for f in failures] == [AccountStatus.UNREACHABLE] * 2 + [AccountStatus.REJECTED]
    for failure in failures:
        assert "CANARY" not in failure.message


def test_inventory_number_reads_dnids() -> None:
    assert cloudonix.inventory_number({"source": "12125550100", "applicationId": 3}) == InventoryNumber("+12125550100", True)
    assert cloudonix.inventory_number({"source": "12125550100"}) == InventoryNumber("+12125550100", None)
    assert cloudonix.inventory_number({"source": "12125550100", "active": False, "applicationId": 3}) \
        == InventoryNumber("+12125550100", False)
    assert cloudonix.inventory_number({"source": "1212", "prefix": True}) is None
    assert cloudonix.inventory_number({"dnid": "^1212$"}) is None


def test_account_answer() -> None:
    assert cloudonix.account_answer({"active": True, "tenant": {"active": True}}).status is AccountStatus.ACTIVE
    assert cloudonix.account_answer({"active": False}).status is AccountStatus.SUSPENDED
    with pytest.raises(ProviderFailure):
        cloudonix.inventory_numbers({"not": "a list"})


def test_the_domain_is_one_path_segment() -> None:
    assert cloudonix.dnids_path("a/b.example") == "/customers/self/domains/a%2Fb.example/dnids"
