"""The Asterisk ARI client against the ARI fake, over loopback, through the real ProviderHttp.

The endpoint is typed by the tenant: with private hosts allowed (as in these tests, the fake being
on 127.0.0.1) it is called directly; without, the guard refuses it before any byte is sent."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator

import pytest

from gql_telephony.domain.config_rules import StoredConfig
from gql_telephony.domain.provider_checks import AccountStatus, ProviderFailure
from gql_telephony.domain.providers import ProviderKey
from gql_telephony.outbound import ari
from gql_telephony.outbound.base import Account
from gql_telephony.outbound.http import CallPolicy, ProviderHttp

from .fakes.ari import AriFake
from .fakes.base import Fault, serve

USER = "voice-ai"
PASSWORD = "CANARY-ari-password-55e1"
POLICY = CallPolicy(total_timeout=1, backoff=0.05)


def account(endpoint: str, password: str = PASSWORD) -> Account:
    return Account(StoredConfig(
        settings={"ari_endpoint": endpoint, "app_name": USER, "ws_client_name": "ws"},
        secrets={"app_password": password},
    ))


@pytest.fixture
def fake() -> AriFake:
    return AriFake({USER: PASSWORD})


@pytest.fixture
def origin(fake: AriFake) -> Iterator[str]:
    with serve(fake) as served:
        yield served


@pytest.fixture
async def http() -> AsyncIterator[ProviderHttp]:
    client = ProviderHttp(allow_private_hosts=True, policy=POLICY)
    yield client
    await client.aclose()


async def test_an_asterisk_that_accepts_the_user_is_active(http: ProviderHttp, origin: str, fake: AriFake) -> None:
    answer = await ari.CLIENT.check_account(http, account(origin))
    assert answer.status is AccountStatus.ACTIVE
    assert answer.message == "Asterisk 20.5.0 answered."
    assert fake.seen()[0].path == "/ari/asterisk/info"


async def test_an_endpoint_ending_in_ari_is_not_doubled(http: ProviderHttp, origin: str) -> None:
    assert (await ari.CLIENT.check_account(http, account(origin + "/ari/"))).status is AccountStatus.ACTIVE


async def test_a_wrong_password_is_rejected(http: ProviderHttp, origin: str) -> None:
    with pytest.raises(ProviderFailure) as raised:
        await ari.CLIENT.check_account(http, account(origin, "CANARY-wrong"))
    assert raised.value.status is AccountStatus.REJECTED
    assert "Asterisk" in raised.value.message and "CANARY" not in raised.value.message


async def test_an_endpoint_without_ari_is_unreachable(http: ProviderHttp, origin: str) -> None:
    with pytest.raises(ProviderFailure) as raised:
        await ari.CLIENT.check_account(http, account(origin + "/elsewhere"))
    assert raised.value.status is AccountStatus.UNREACHABLE
    assert "404" in raised.value.message and "elsewhere" not in raised.value.message


async def test_a_private_endpoint_is_refused_before_any_request(origin: str, fake: AriFake) -> None:
    guarded = ProviderHttp(policy=POLICY)
    try:
        with pytest.raises(ProviderFailure) as raised:
            await ari.CLIENT.check_account(guarded, account(origin))
    finally:
        await guarded.aclose()
    assert raised.value.status is AccountStatus.REJECTED
    assert fake.seen() == []


async def test_an_origin_set_by_the_operator_is_not_guarded(origin: str, fake: AriFake) -> None:
    operator = ProviderHttp(origins={ProviderKey.ARI: origin}, policy=POLICY)  # private hosts not allowed
    try:
        answer = await ari.CLIENT.check_account(operator, account("https://pbx.example.com:8089"))
    finally:
        await operator.aclose()
    assert answer.status is AccountStatus.ACTIVE
    assert len(fake.seen()) == 1


async def test_a_429_is_waited_out_as_retry_after_says(http: ProviderHttp, origin: str, fake: AriFake) -> None:
    fake.fail(Fault(429, {"Retry-After": "1"}))
    started = time.monotonic()
    assert (await ari.CLIENT.check_account(http, account(origin))).status is AccountStatus.ACTIVE
    assert time.monotonic() - started >= 0.9


async def test_a_500_is_retried(http: ProviderHttp, origin: str, fake: AriFake) -> None:
    fake.fail(Fault(500))
    assert (await ari.CLIENT.check_account(http, account(origin))).status is AccountStatus.ACTIVE
    assert len(fake.seen()) == 2


async def test_an_asterisk_that_hangs_is_unreachable(http: ProviderHttp, origin: str, fake: AriFake) -> None:
    fake.fail(*[Fault(200, hang=1.5)] * 3)
    with pytest.raises(ProviderFailure) as raised:
        await ari.CLIENT.check_account(http, account(origin))
    assert raised.value.status is AccountStatus.UNREACHABLE
    assert "CANARY" not in raised.value.message


async def test_no_failure_message_holds_a_secret(http: ProviderHttp, origin: str, fake: AriFake) -> None:
    fake.fail(*[Fault(500, body={"message": PASSWORD})] * 3, Fault(200, body=[PASSWORD]))
    for _ in range(2):
        with pytest.raises(ProviderFailure) as raised:
            await ari.CLIENT.check_account(http, account(origin))
        assert raised.value.status is AccountStatus.UNREACHABLE
        assert "CANARY" not in raised.value.message


async def test_there_is_no_inventory(http: ProviderHttp, origin: str, fake: AriFake) -> None:
    with pytest.raises(ProviderFailure) as raised:
        await ari.CLIENT.find_number(http, account(origin), "+14155550100")
    assert raised.value.status is AccountStatus.UNREACHABLE
    with pytest.raises(ProviderFailure):
        [n async for n in ari.CLIENT.inventory(http, account(origin))]
    assert fake.seen() == []


def test_only_a_plain_version_is_repeated() -> None:
    assert ari.account_answer({"system": {"version": "18.12.0-cert1"}}).message == "Asterisk 18.12.0-cert1 answered."
    assert ari.account_answer({"system": {"version": "<script>alert(1)</script>"}}).message == "Asterisk answered."
    assert ari.account_answer({"system": {"version": "x" * 80}}).message == "Asterisk answered."
    assert ari.account_answer({}).message == "Asterisk answered."


def test_info_url() -> None:
    assert ari.info_url("https://pbx.example.com:8089") == "https://pbx.example.com:8089/ari/asterisk/info"
    assert ari.info_url("https://pbx.example.com:8089/ari/") == "https://pbx.example.com:8089/ari/asterisk/info"
    assert ari.info_url("https://pbx.example.com/asterisk") == "https://pbx.example.com/asterisk/ari/asterisk/info"
