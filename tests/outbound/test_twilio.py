"""The Twilio client through the real ProviderHttp against a fake Twilio on loopback, and its
reading functions on their own."""

from __future__ import annotations

import asyncio
import base64
import gc
from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest

from gql_telephony.domain.provider_checks import AccountAnswer, AccountStatus, InventoryNumber, ProviderFailure
from gql_telephony.domain.providers import ProviderKey
from gql_telephony.outbound import twilio_api
from gql_telephony.outbound.http import CallPolicy
from gql_telephony.outbound.twilio import CLIENT

from .fakes.base import Fault
from .fakes.twilio import FakeNumber, TwilioAccount, TwilioFake
from .provider_calls import HANG, Stopwatch, account, collect, failure_of, provider_http, served_once, wiped

SID = "AC" + "5ec2e7" + "0" * 26
NOT_FOUND = Fault(404, body={"code": 20404, "message": "The requested resource was not found", "status": 404})
TOKEN = "CANARY" + "f" * 26  # a secret that must never show in a message


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[TwilioFake, str]]:
    with served_once(TwilioFake()) as pair:
        yield pair


@pytest.fixture
def fake(served: tuple[TwilioFake, str]) -> TwilioFake:
    fake = served[0]
    wiped(fake)
    fake.accounts.clear()
    fake.page_faults.clear()
    fake.add(TwilioAccount(SID, TOKEN, numbers=[
        FakeNumber("+14155550100"), FakeNumber("+14155550101", voice=False), FakeNumber("+493012345678"),
    ]))
    return fake


@pytest.fixture
def origin(served: tuple[TwilioFake, str]) -> str:
    return served[1]


@pytest.mark.parametrize(("status", "kind", "expected"), [
    ("active", "Full", AccountStatus.ACTIVE),
    ("active", "Trial", AccountStatus.TRIAL),
    ("suspended", "Full", AccountStatus.SUSPENDED),
    ("suspended", "Trial", AccountStatus.SUSPENDED),
    ("closed", "Full", AccountStatus.CLOSED),
])
async def test_the_account_status_is_read_from_status_and_type(
    fake: TwilioFake, origin: str, status: str, kind: str, expected: AccountStatus
) -> None:
    fake.accounts[SID].status, fake.accounts[SID].type = status, kind
    async with provider_http(ProviderKey.TWILIO, origin) as http:
        answer = await CLIENT.check_account(http, account(account_sid=SID, auth_token=TOKEN))
    assert answer.status is expected
    assert (answer.message is None) == (expected is AccountStatus.ACTIVE)
    [seen] = fake.seen()
    assert seen.path == f"/2010-04-01/Accounts/{SID}.json"
    assert seen.authorization == "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()


async def test_a_wrong_token_is_rejected(fake: TwilioFake, origin: str) -> None:
    async with provider_http(ProviderKey.TWILIO, origin) as http:
        failure = await failure_of(CLIENT.check_account(http, account(account_sid=SID, auth_token="0" * 32)))
    assert failure.status is AccountStatus.REJECTED
    assert failure.message == "Twilio rejected the credentials (HTTP 401)."
    assert len(fake.seen()) == 1  # a refusal is not retried


async def test_find_number_reads_the_voice_capability(fake: TwilioFake, origin: str) -> None:
    creds = account(account_sid=SID, auth_token=TOKEN)
    async with provider_http(ProviderKey.TWILIO, origin) as http:
        assert await CLIENT.find_number(http, creds, "+14155550100") == InventoryNumber("+14155550100", True)
        assert await CLIENT.find_number(http, creds, "+14155550101") == InventoryNumber("+14155550101", False)
    assert [s.query for s in fake.seen()] == [
        "PhoneNumber=%2B14155550100&PageSize=50", "PhoneNumber=%2B14155550101&PageSize=50",
    ]


async def test_find_number_wants_the_whole_number(fake: TwilioFake, origin: str) -> None:
    # Twilio's filter matches partially: +49 30 1234567 finds +49 30 12345678 too, which is not it.
    async with provider_http(ProviderKey.TWILIO, origin) as http:
        creds = account(account_sid=SID, auth_token=TOKEN)
        assert await CLIENT.find_number(http, creds, "+49301234567") is None
        assert await CLIENT.find_number(http, creds, "+14155550199") is None
    assert len(fake.seen("IncomingPhoneNumbers")) == 2


async def test_the_inventory_follows_next_page_uri_to_the_end(fake: TwilioFake, origin: str) -> None:
    fake.accounts[SID].numbers = [FakeNumber(f"+1415555{n:04d}", voice=n % 2 == 0) for n in range(7)]
    async with provider_http(ProviderKey.TWILIO, origin) as http:
        found = await collect(replace(CLIENT, page_size=3).inventory(http, account(account_sid=SID, auth_token=TOKEN)))
    assert found == [InventoryNumber(f"+1415555{n:04d}", n % 2 == 0) for n in range(7)]
    assert [s.query for s in fake.seen()] == [
        "PageSize=3", f"PageSize=3&Page=1&PageToken=PA{1:032x}", f"PageSize=3&Page=2&PageToken=PA{2:032x}",
    ]


async def until(condition: Callable[[], bool], seconds: float = 5.0) -> bool:
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


async def test_the_next_page_is_asked_for_while_this_one_is_read(fake: TwilioFake, origin: str) -> None:
    fake.accounts[SID].numbers = [FakeNumber(f"+1415555{n:04d}") for n in range(7)]
    async with provider_http(ProviderKey.TWILIO, origin) as http:
        numbers = replace(CLIENT, page_size=3).inventory(http, account(account_sid=SID, auth_token=TOKEN))
        first = await anext(numbers)
        # The reader holds the first number of page 1: page 2 is on its way all the same.
        assert await until(lambda: len(fake.seen()) == 2)
        rest = [number async for number in numbers]
    assert [first, *rest] == [InventoryNumber(f"+1415555{n:04d}", True) for n in range(7)]
    assert len(fake.seen()) == 3  # and no more than before: one request per page


async def test_a_failing_next_page_fails_after_this_page_s_numbers(fake: TwilioFake, origin: str) -> None:
    fake.accounts[SID].numbers = [FakeNumber(f"+1415555{n:04d}") for n in range(7)]
    fake.page_faults[1] = NOT_FOUND
    found: list[InventoryNumber] = []
    async with provider_http(ProviderKey.TWILIO, origin) as http:
        with pytest.raises(ProviderFailure):
            async for number in replace(CLIENT, page_size=3).inventory(http, account(account_sid=SID, auth_token=TOKEN)):
                found.append(number)
    assert found == [InventoryNumber(f"+1415555{n:04d}", True) for n in range(3)]


async def test_no_page_past_the_last_allowed_is_asked_for(
    fake: TwilioFake, origin: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(twilio_api, "MAX_PAGES", 2)
    fake.accounts[SID].numbers = [FakeNumber(f"+1415555{n:04d}") for n in range(7)]
    async with provider_http(ProviderKey.TWILIO, origin) as http:
        failure = await failure_of(collect(replace(CLIENT, page_size=3).inventory(
            http, account(account_sid=SID, auth_token=TOKEN))))
    assert failure.message == "Twilio listed more than 2 pages of numbers."
    assert len(fake.seen()) == 2


async def test_a_reader_that_stops_leaves_no_request_running(fake: TwilioFake, origin: str) -> None:
    fake.accounts[SID].numbers = [FakeNumber(f"+1415555{n:04d}") for n in range(7)]
    fake.page_faults[1] = Fault(200, body={}, hang=2 * HANG)  # page 2 would keep its request waiting
    already = asyncio.all_tasks()  # the loop may hold other tests' long-lived tasks: not this one's concern
    async with provider_http(ProviderKey.TWILIO, origin) as http:
        numbers = replace(CLIENT, page_size=3).inventory(http, account(account_sid=SID, auth_token=TOKEN))
        await anext(numbers)
        assert await until(lambda: len(fake.seen()) == 2)
        await numbers.aclose()
        started = [task for task in asyncio.all_tasks() - already if task is not asyncio.current_task()]
        assert started  # the read-ahead of page 2, at least
        # At once; well before page 2's answer would end its request (unless the machine is loaded).
        assert await until(lambda: all(task.done() for task in started), seconds=2)


async def test_a_page_read_ahead_that_fails_unread_fails_quietly(
    fake: TwilioFake, origin: str, caplog: pytest.LogCaptureFixture
) -> None:
    fake.accounts[SID].numbers = [FakeNumber(f"+1415555{n:04d}") for n in range(7)]
    fake.page_faults[1] = NOT_FOUND
    async with provider_http(ProviderKey.TWILIO, origin) as http:
        numbers = replace(CLIENT, page_size=3).inventory(http, account(account_sid=SID, auth_token=TOKEN))
        await anext(numbers)
        assert await until(lambda: len(fake.seen()) == 2)
        await asyncio.sleep(0.2)  # page 2's answer is in, failed, and unread
        await numbers.aclose()
        del numbers
        gc.collect()
        await asyncio.sleep(0)
    assert "never retrieved" not in caplog.text


async def test_a_429_is_retried_no_sooner_than_retry_after(fake: TwilioFake, origin: str) -> None:
    fake.fail(Fault(429, headers={"Retry-After": "1"}, body={"code": 20429, "message": "Too Many Requests"}))
    async with provider_http(ProviderKey.TWILIO, origin) as http:
        watch = Stopwatch()
        answer = await CLIENT.check_account(http, account(account_sid=SID, auth_token=TOKEN))
    assert answer == AccountAnswer(AccountStatus.ACTIVE)
    assert watch.elapsed >= 1.0
    assert len(fake.seen()) == 2


async def test_a_500_is_retried(fake: TwilioFake, origin: str) -> None:
    fake.fail(Fault(500))
    async with provider_http(ProviderKey.TWILIO, origin) as http:
        numbers = await collect(CLIENT.inventory(http, account(account_sid=SID, auth_token=TOKEN)))
    assert len(numbers) == 3
    assert len(fake.seen()) == 2


async def test_a_hang_past_the_timeout_is_unreachable(fake: TwilioFake, origin: str) -> None:
    fake.fail(*[Fault(200, hang=HANG)] * 3)
    async with provider_http(ProviderKey.TWILIO, origin) as http:
        failure = await failure_of(CLIENT.check_account(http, account(account_sid=SID, auth_token=TOKEN)))
    assert failure.status is AccountStatus.UNREACHABLE
    assert failure.message == "Twilio did not answer within 1 s."


async def test_no_failure_message_holds_the_sid_or_the_token(fake: TwilioFake, origin: str) -> None:
    creds = account(account_sid=SID, auth_token=TOKEN)
    wrong = account(account_sid=SID, auth_token=TOKEN[:-1] + "0")
    failures: list[ProviderFailure] = []
    async with provider_http(ProviderKey.TWILIO, origin, CallPolicy(total_timeout=1, backoff=0.01, attempts=1)) as http:
        failures.append(await failure_of(CLIENT.check_account(http, wrong)))
        failures.append(await failure_of(CLIENT.find_number(http, wrong, "+14155550100")))
        for fault in (Fault(500), Fault(404, body={"code": 20404}), Fault(200, body=["no", "account"]),
                      Fault(200, hang=HANG), Fault(429, headers={"Retry-After": "60"})):
            fake.fail(fault)
            failures.append(await failure_of(CLIENT.check_account(http, creds)))
        fake.fail(Fault(200, body={"incoming_phone_numbers": [], "next_page_uri": f"//evil.example/{TOKEN}"}))
        failures.append(await failure_of(collect(CLIENT.inventory(http, creds))))
    assert len(failures) == 8
    for failure in failures:
        assert TOKEN not in failure.message and SID not in failure.message
        assert "Twilio" in failure.message or "host" in failure.message


# The reading functions on their own.

def test_account_answer_refuses_what_it_does_not_know() -> None:
    assert twilio_api.account_answer({"status": "active", "type": "Full"}, "Twilio").status is AccountStatus.ACTIVE
    for body in ({"status": "pending"}, {"type": "Full"}, [], None, "active"):
        with pytest.raises(ProviderFailure) as caught:
            twilio_api.account_answer(body, "Twilio")
        assert caught.value.status is AccountStatus.UNREACHABLE


def test_inventory_number_reads_e164_and_voice() -> None:
    read = twilio_api.inventory_number
    assert read({"phone_number": "+14155550100", "capabilities": {"voice": True}}) == InventoryNumber("+14155550100", True)
    assert read({"phone_number": "+14155550100", "capabilities": {"Voice": False}}) == InventoryNumber("+14155550100", False)
    assert read({"phone_number": "+14155550100"}) == InventoryNumber("+14155550100", None)
    assert read({"phone_number": "+14155550100", "capabilities": {"voice": "yes"}}) == InventoryNumber("+14155550100", None)
    assert read({"phone_number": "not a number"}) is None
    assert read({"sid": "PN1"}) is None
    assert read("+14155550100") is None


def test_numbers_page_needs_the_list() -> None:
    assert twilio_api.numbers_page({"incoming_phone_numbers": [], "next_page_uri": None}, "Twilio") == ([], None)
    with pytest.raises(ProviderFailure):
        twilio_api.numbers_page({"phone_numbers": []}, "Twilio")


@pytest.mark.parametrize("link", [
    "https://evil.example/2010-04-01/Accounts", "//evil.example/x", "relative/path", "/a b", "/a\\b", 7,
])
def test_a_next_page_link_off_the_origin_is_not_followed(link: object) -> None:
    with pytest.raises(ProviderFailure) as caught:
        twilio_api.next_page_path(link, "Twilio")
    assert caught.value.message == "Twilio gave a next-page link this server does not follow."


def test_a_next_page_path_is_followed() -> None:
    path = "/2010-04-01/Accounts/AC1/IncomingPhoneNumbers.json?Page=1&PageToken=PA1"
    assert twilio_api.next_page_path(path, "Twilio") == path
    assert twilio_api.next_page_path(None, "Twilio") is None


def test_the_account_sid_cannot_add_a_path_segment() -> None:
    assert twilio_api.account_path("", "AC1/../x") == "/2010-04-01/Accounts/AC1%2F..%2Fx"
