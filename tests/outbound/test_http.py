"""The one HTTP client provider calls go through, against a fake served on loopback: what passes
through, what is retried (and how long it waits), what fails and how, the bound on calls in
flight, the guard on hosts a tenant typed, and what the client keeps between calls."""

from __future__ import annotations

import asyncio
import base64
import email.utils
import math
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from gql_telephony.domain.provider_checks import AccountStatus, ProviderFailure
from gql_telephony.domain.providers import ProviderKey
from gql_telephony.outbound.http import CallPolicy, ProviderHttp

from .fakes.base import Fake, Fault, free_port, serve

TWILIO = ProviderKey.TWILIO
QUICK = CallPolicy(connect_timeout=0.5, total_timeout=0.5, attempts=3, backoff=0.01, max_retry_after=5.0)


@dataclass
class Provider:
    """A fake with one route per behaviour, and what its routes noticed."""

    fake: Fake
    origin: str = ""
    in_flight: int = 0
    most_in_flight: int = 0
    cookies: list[str | None] = field(default_factory=list)

    @property
    def port(self) -> int:
        return int(self.origin.rsplit(":", 1)[1])


def provider_fake() -> Provider:
    provider = Provider(Fake([]))

    async def ok(request: Request) -> Response:
        provider.cookies.append(request.headers.get("cookie"))
        return JSONResponse({"status": "active"})

    async def slow(request: Request) -> Response:
        provider.in_flight += 1
        provider.most_in_flight = max(provider.most_in_flight, provider.in_flight)
        await asyncio.sleep(0.15)
        provider.in_flight -= 1
        return JSONResponse({"status": "active"})

    async def text(request: Request) -> Response:
        return PlainTextResponse("<html>an error page with hunter2</html>")

    async def cookie(request: Request) -> Response:
        response = JSONResponse({"status": "active"})
        response.set_cookie("session", "account-a")
        return response

    async def redirect(request: Request) -> Response:
        return RedirectResponse(f"{provider.origin}/ok", status_code=302)

    async def large(request: Request) -> Response:
        return Response(b"x" * 50_000, media_type="application/octet-stream")

    provider.fake = Fake([
        Route("/ok", ok), Route("/slow", slow), Route("/text", text), Route("/cookie", cookie),
        Route("/redirect", redirect), Route("/large", large),
    ])
    return provider


@pytest.fixture
def provider() -> Iterator[Provider]:
    served = provider_fake()
    with serve(served.fake) as origin:
        served.origin = origin
        yield served


@pytest.fixture
async def http() -> AsyncIterator[ProviderHttp]:
    client = ProviderHttp(policy=QUICK)
    yield client
    await client.aclose()


async def failure_of(call: Awaitable[object]) -> ProviderFailure:
    with pytest.raises(ProviderFailure) as failed:
        await call
    return failed.value


async def test_a_200_passes_through(provider: Provider, http: ProviderHttp):
    reply = await http.get(TWILIO, f"{provider.origin}/ok", params={"page": 2})
    assert (reply.status, reply.json(), reply.provider) == (200, {"status": "active"}, TWILIO)
    reply.require_ok()
    assert [(seen.path, seen.query) for seen in provider.fake.seen()] == [("/ok", "page=2")]
    assert http.outcomes == Counter({("TWILIO", "ok"): 1})


async def test_a_429_is_retried_no_sooner_than_retry_after(provider: Provider, http: ProviderHttp):
    provider.fake.fail(Fault(429, {"Retry-After": "1"}))
    started = time.monotonic()
    reply = await http.get(TWILIO, f"{provider.origin}/ok")
    assert reply.status == 200
    assert time.monotonic() - started >= 1.0
    assert len(provider.fake.seen()) == 2
    assert http.outcomes == Counter({("TWILIO", "rate_limited"): 1, ("TWILIO", "ok"): 1})


async def test_retry_after_may_be_an_http_date(provider: Provider, http: ProviderHttp):
    # Two whole seconds ahead, truncated to the second as HTTP dates are: more than one second away.
    when = datetime.fromtimestamp(math.floor(time.time()) + 2, UTC)
    provider.fake.fail(Fault(429, {"Retry-After": email.utils.format_datetime(when, usegmt=True)}))
    started = time.monotonic()
    assert (await http.get(TWILIO, f"{provider.origin}/ok")).status == 200
    assert time.monotonic() - started >= 0.95


@pytest.mark.parametrize("unreadable", ["soon", "²", "1.5", "-3", "Mon, 99 Foo 2026 25:61:61 GMT"])
async def test_an_unreadable_retry_after_falls_back_to_backoff(provider: Provider, http: ProviderHttp, unreadable):
    provider.fake.fail(Fault(429, {"Retry-After": unreadable}))
    started = time.monotonic()
    assert (await http.get(TWILIO, f"{provider.origin}/ok")).status == 200
    assert time.monotonic() - started < 0.9  # the back-off, not a second or more


async def test_a_retry_after_beyond_the_policy_fails_at_once(provider: Provider, http: ProviderHttp):
    provider.fake.fail(Fault(429, {"Retry-After": "3600"}))
    started = time.monotonic()
    async with asyncio.timeout(5):  # were the hour waited for, the test fails rather than hangs
        failure = await failure_of(http.get(TWILIO, f"{provider.origin}/ok"))
    assert time.monotonic() - started < 0.9
    assert failure.status is AccountStatus.UNREACHABLE
    assert "429" in failure.message
    assert len(provider.fake.seen()) == 1


async def test_server_errors_on_every_attempt_are_unreachable(provider: Provider, http: ProviderHttp):
    provider.fake.fail(*[Fault(503)] * QUICK.attempts)
    failure = await failure_of(http.get(TWILIO, f"{provider.origin}/ok"))
    assert failure.status is AccountStatus.UNREACHABLE
    assert failure.message == "Twilio answered HTTP 503."
    assert len(provider.fake.seen()) == QUICK.attempts
    assert http.outcomes == Counter({("TWILIO", "server_error"): QUICK.attempts})


async def test_a_server_error_then_an_answer_is_the_answer(provider: Provider, http: ProviderHttp):
    provider.fake.fail(Fault(500))
    assert (await http.get(TWILIO, f"{provider.origin}/ok")).json() == {"status": "active"}


async def test_a_hang_times_out_each_attempt():
    provider = provider_fake()
    policy = CallPolicy(connect_timeout=0.2, total_timeout=0.2, attempts=3, backoff=0.01)
    http = ProviderHttp(policy=policy)
    try:
        with serve(provider.fake) as origin:
            provider.fake.fail(*[Fault(200, body={"late": True}, hang=1.0)] * policy.attempts)
            started = time.monotonic()
            failure = await failure_of(http.get(TWILIO, f"{origin}/ok"))
            elapsed = time.monotonic() - started
    finally:
        await http.aclose()
    assert failure.status is AccountStatus.UNREACHABLE
    assert failure.message == "Twilio did not answer within 0.2 s."
    assert 0.55 <= elapsed < 1.5, elapsed  # attempts x timeout (plus tiny back-offs), not attempts x hang
    assert http.outcomes == Counter({("TWILIO", "timeout"): policy.attempts})


async def test_a_closed_port_is_unreachable(http: ProviderHttp):
    failure = await failure_of(http.get(TWILIO, f"http://127.0.0.1:{free_port()}/ok"))
    assert failure.status is AccountStatus.UNREACHABLE
    assert failure.message == "Could not connect to Twilio."
    assert http.outcomes == Counter({("TWILIO", "connect_error"): QUICK.attempts})


@pytest.mark.parametrize("status", [401, 403])
async def test_refused_credentials_are_a_reply_then_rejected(provider: Provider, http: ProviderHttp, status):
    provider.fake.fail(Fault(status, body={"message": "hunter2 is wrong"}))
    reply = await http.get(TWILIO, f"{provider.origin}/ok")
    assert reply.status == status
    with pytest.raises(ProviderFailure) as failed:
        reply.require_ok()
    assert failed.value.status is AccountStatus.REJECTED
    assert failed.value.message == f"Twilio rejected the credentials (HTTP {status})."
    assert len(provider.fake.seen()) == 1  # not retried
    assert http.outcomes == Counter({("TWILIO", "rejected"): 1})


async def test_another_4xx_is_a_reply_then_unreachable(provider: Provider, http: ProviderHttp):
    provider.fake.fail(Fault(404))
    reply = await http.get(TWILIO, f"{provider.origin}/ok")
    with pytest.raises(ProviderFailure, match=r"^Twilio answered HTTP 404\.$") as failed:
        reply.require_ok()
    assert failed.value.status is AccountStatus.UNREACHABLE
    assert http.outcomes == Counter({("TWILIO", "http_4xx"): 1})


async def test_a_body_that_is_not_json_is_unreachable(provider: Provider, http: ProviderHttp):
    reply = await http.get(TWILIO, f"{provider.origin}/text")
    with pytest.raises(ProviderFailure) as failed:
        reply.json()
    assert failed.value.status is AccountStatus.UNREACHABLE
    assert failed.value.message == "Twilio answered with something that is not JSON."


async def test_an_answer_longer_than_the_policy_reads_is_unreachable(provider: Provider):
    http = ProviderHttp(policy=CallPolicy(attempts=3, backoff=0.01, max_body_bytes=10_000))
    try:
        failure = await failure_of(http.get(TWILIO, f"{provider.origin}/large"))
        assert (await http.get(TWILIO, f"{provider.origin}/ok")).status == 200  # the client is still fine
    finally:
        await http.aclose()
    assert failure.status is AccountStatus.UNREACHABLE
    assert len(provider.fake.seen("/large")) == 1  # not retried: it would be as long again
    assert http.outcomes[("TWILIO", "too_long")] == 1


async def test_basic_auth_is_sent(provider: Provider, http: ProviderHttp):
    await http.get(TWILIO, f"{provider.origin}/ok", auth=("AC123", "tok:en"), headers={"Accept": "application/json"})
    expected = "Basic " + base64.b64encode(b"AC123:tok:en").decode()
    assert [seen.authorization for seen in provider.fake.seen()] == [expected]


async def test_outcomes_are_counted_by_provider_and_outcome(provider: Provider, http: ProviderHttp):
    provider.fake.fail(Fault(500), Fault(401))
    await http.get(TWILIO, f"{provider.origin}/ok")
    await http.get(ProviderKey.PLIVO, f"{provider.origin}/ok")
    await http.get(ProviderKey.PLIVO, f"{provider.origin}/ok")
    assert http.outcomes == Counter({
        ("TWILIO", "server_error"): 1, ("TWILIO", "rejected"): 1, ("PLIVO", "ok"): 2,
    })


async def test_calls_in_flight_per_provider_are_bounded(provider: Provider):
    http = ProviderHttp(policy=CallPolicy(in_flight_per_provider=2, attempts=1))
    try:
        replies = await asyncio.gather(*[http.get(TWILIO, f"{provider.origin}/slow") for _ in range(6)])
    finally:
        await http.aclose()
    assert [reply.status for reply in replies] == [200] * 6
    assert provider.most_in_flight == 2


async def test_waiting_for_a_turn_does_not_count_against_the_timeout(provider: Provider):
    # Five calls of 0.15 s one at a time: the last waits 0.6 s for its turn, past the 0.5 s timeout.
    http = ProviderHttp(policy=CallPolicy(total_timeout=0.5, in_flight_per_provider=1, attempts=1))
    try:
        replies = await asyncio.gather(*[http.get(TWILIO, f"{provider.origin}/slow") for _ in range(5)])
    finally:
        await http.aclose()
    assert [reply.status for reply in replies] == [200] * 5
    assert provider.most_in_flight == 1


async def test_the_bound_is_per_provider(provider: Provider):
    http = ProviderHttp(policy=CallPolicy(in_flight_per_provider=1, attempts=1))
    try:
        await asyncio.gather(*[http.get(key, f"{provider.origin}/slow") for key in (TWILIO, ProviderKey.PLIVO)])
    finally:
        await http.aclose()
    assert provider.most_in_flight == 2


async def test_hosts_tenants_typed_each_have_their_own_turns(provider: Provider):
    """One tenant's slow server does not hold the turns of another's: the bound is per host there."""
    http = ProviderHttp(allow_private_hosts=True, policy=CallPolicy(in_flight_per_provider=1, attempts=1))
    try:
        hosts = ("127.0.0.1", "localhost")
        await asyncio.gather(*[
            http.get(ProviderKey.ARI, f"http://{host}:{provider.port}/slow", tenant_host=True) for host in hosts * 2
        ])
    finally:
        await http.aclose()
    assert provider.most_in_flight == 2


@pytest.mark.parametrize(("host", "rule"), [
    ("127.0.0.1", "a loopback address"),
    ("localhost", "a loopback address"),
    ("[::1]", "a loopback address"),
    ("[::ffff:127.0.0.1]", "a loopback address"),
    ("0.0.0.0", "an unspecified address"),
    ("2130706433", "a loopback address"),  # 127.0.0.1 spelled as one number
])
async def test_a_tenant_host_on_a_private_address_is_never_contacted(provider: Provider, http: ProviderHttp, host, rule):
    failure = await failure_of(http.get(TWILIO, f"http://{host}:{provider.port}/ok", tenant_host=True))
    assert failure.status is AccountStatus.REJECTED
    assert failure.message == f"The host resolves to {rule}, which this server does not contact."
    assert provider.fake.seen() == []
    assert http.outcomes == Counter({("TWILIO", "refused_host"): 1})


async def test_a_tenant_host_that_does_not_resolve_is_unreachable(http: ProviderHttp):
    failure = await failure_of(http.get(TWILIO, "http://no-such-host.invalid/ok", tenant_host=True))
    assert failure.status is AccountStatus.UNREACHABLE
    assert failure.message == "The host name does not resolve."
    assert http.outcomes == Counter({("TWILIO", "unresolvable"): 1})


async def test_private_hosts_may_be_allowed(provider: Provider):
    http = ProviderHttp(allow_private_hosts=True, policy=QUICK)
    try:
        reply = await http.get(TWILIO, f"http://localhost:{provider.port}/ok", tenant_host=True)
    finally:
        await http.aclose()
    assert reply.status == 200
    assert len(provider.fake.seen()) == 1


async def test_an_operator_origin_is_not_guarded(provider: Provider, http: ProviderHttp):
    assert (await http.get(TWILIO, f"http://127.0.0.1:{provider.port}/ok", tenant_host=False)).status == 200


async def test_redirects_are_returned_not_followed(provider: Provider, http: ProviderHttp):
    reply = await http.get(TWILIO, f"{provider.origin}/redirect")
    assert reply.status == 302
    assert [seen.path for seen in provider.fake.seen()] == ["/redirect"]
    with pytest.raises(ProviderFailure, match="HTTP 302"):
        reply.require_ok()
    assert http.outcomes == Counter({("TWILIO", "redirect"): 1})


async def test_a_tenant_host_redirect_is_not_followed_either(provider: Provider):
    # A guarded call cannot reach a fake on loopback, so with private hosts allowed: a redirect
    # from a tenant's host comes back as the reply, never followed.
    allowed = ProviderHttp(allow_private_hosts=True, policy=QUICK)
    try:
        reply = await allowed.get(TWILIO, f"{provider.origin}/redirect", tenant_host=True)
    finally:
        await allowed.aclose()
    assert (reply.status, reply.headers["location"]) == (302, f"{provider.origin}/ok")
    assert [seen.path for seen in provider.fake.seen()] == ["/redirect"]


async def test_no_cookie_is_carried_from_one_call_to_the_next(provider: Provider, http: ProviderHttp):
    # One client serves every organization: a session cookie set for one account must not
    # authenticate the next account's call.
    await http.get(TWILIO, f"{provider.origin}/cookie")
    await http.get(TWILIO, f"{provider.origin}/ok")
    assert provider.cookies == [None]


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/ok", "http://example.com:99999/ok", "http://[::1/ok", "/ok"])
async def test_an_address_that_is_not_a_url_fails_without_repeating_it(http: ProviderHttp, url):
    failure = await failure_of(http.get(TWILIO, url, tenant_host=True))
    assert failure.status is AccountStatus.UNREACHABLE
    assert failure.message == "The address for Twilio is not a valid URL."
    assert http.outcomes == Counter({("TWILIO", "invalid_url"): 1})
