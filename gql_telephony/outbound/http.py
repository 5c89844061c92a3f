"""The one HTTP client every provider API call goes through.

It owns what all providers share: pooled connections (one client per process), timeouts,
retries with backoff on 429 (never sooner than `Retry-After`), 5xx and timeouts, a bounded
number of calls in flight per provider, the outcome counts for /metrics, and the guard that
keeps hosts typed by a tenant off private addresses. The provider modules beside it only
build requests and read answers.

Nothing here logs or repeats a URL: some providers put an account id that is declared secret
in the path. Each call leaves one DEBUG line (provider and outcome) on `gql_telephony.outbound`;
httpx's own request lines, which hold the URL, are kept quiet by logs.configure_logging.
Failures come out as ProviderFailure with a message of our own.
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import logging
import random
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx
import orjson

from ..domain.provider_checks import AccountStatus, ProviderFailure
from ..domain.providers import PROVIDERS, ProviderKey
from ..logs import quiet_http_client_logs
from .guard import RefusedHost, UnresolvableHost, guarded_transport, no_cookies
from .tls import client_tls

if TYPE_CHECKING:
    from ..settings import Settings

logger = logging.getLogger("gql_telephony.outbound")


@dataclass(frozen=True)
class CallPolicy:
    connect_timeout: float = 3.0
    total_timeout: float = 10.0  # one attempt, from connect to the last byte
    attempts: int = 3
    backoff: float = 0.5  # the first retry's delay; doubled each time, with jitter
    max_retry_after: float = 20.0  # a longer Retry-After is not waited for: the call fails now
    in_flight_per_provider: int = 16
    # A longer answer is not read: a host a tenant typed could otherwise send without end.
    max_body_bytes: int = 8 * 1024 * 1024


@dataclass(frozen=True)
class Reply:
    status: int
    headers: httpx.Headers
    content: bytes
    provider: ProviderKey

    def json(self) -> Any:
        try:
            return orjson.loads(self.content)
        except orjson.JSONDecodeError:
            raise ProviderFailure(
                AccountStatus.UNREACHABLE, f"{_name(self.provider)} answered with something that is not JSON."
            ) from None

    def require_ok(self) -> None:
        """A 401 or 403 says the credentials were refused; any other status that is not 2xx is
        an answer we cannot use."""
        if self.status in (401, 403):
            raise ProviderFailure(
                AccountStatus.REJECTED, f"{_name(self.provider)} rejected the credentials (HTTP {self.status})."
            )
        if not 200 <= self.status < 300:
            raise ProviderFailure(
                AccountStatus.UNREACHABLE, f"{_name(self.provider)} answered HTTP {self.status}."
            )


@dataclass
class ProviderHttp:
    """Built once per process (app.build_runtime, with `from_settings`) and closed at shut-down."""

    origins: Mapping[ProviderKey, str] = field(default_factory=dict)  # GQL_TELEPHONY_PROVIDER_API_<PROVIDER>
    allow_private_hosts: bool = False  # GQL_TELEPHONY_ALLOW_PRIVATE_PROVIDER_HOSTS
    policy: CallPolicy = field(default_factory=CallPolicy)
    # (provider, outcome) -> attempts, for /metrics: ok, redirect, http_4xx, rejected, rate_limited,
    # server_error, timeout, connect_error, refused_host, unresolvable, invalid_url, too_long.
    outcomes: Counter[tuple[str, str]] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        quiet_http_client_logs()  # their lines carry URLs, and some URLs hold a secret account id
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
        timeout = httpx.Timeout(self.policy.total_timeout, connect=self.policy.connect_timeout)
        # The clients are shared by every organization: a cookie one account's answer sets must
        # never ride along on another's request, so no cookie is kept. Redirects are not followed
        # (a provider API has no reason to send one, and a guarded call must not be led elsewhere).
        self._public = httpx.AsyncClient(
            verify=client_tls(), timeout=timeout, limits=limits, follow_redirects=False, cookies=no_cookies()
        )
        self._guarded = (
            self._public if self.allow_private_hosts
            else httpx.AsyncClient(
                verify=client_tls(), timeout=timeout, transport=guarded_transport(limits), follow_redirects=False,
                cookies=no_cookies(),
            )
        )
        # Calls in flight: per provider API, and per host for hosts tenants typed (one tenant's slow
        # Asterisk must not hold the turns of every other tenant's).
        self._gates: dict[tuple[ProviderKey, str | None], asyncio.Semaphore] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> ProviderHttp:
        timeout = settings.provider_timeout
        return cls(
            origins={ProviderKey(key): origin for key, origin in settings.provider_api_origins.items()},
            allow_private_hosts=settings.allow_private_provider_hosts,
            policy=CallPolicy(total_timeout=timeout, connect_timeout=min(3.0, timeout)),
        )

    def origin(self, provider: ProviderKey, public: str) -> tuple[str, bool]:
        """The origin to call, and whether it was set by the operator (who may send requests
        anywhere) rather than derived from what a tenant typed."""
        configured = self.origins.get(provider)
        return (configured.rstrip("/"), True) if configured else (public.rstrip("/"), False)

    async def get(
        self, provider: ProviderKey, url: str, *, params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None, auth: tuple[str, str] | None = None,
        tenant_host: bool = False,
    ) -> Reply:
        """GET with retries. `tenant_host`: the URL's host came from a tenant's configuration,
        so it is resolved and checked before any byte is sent. Returns the last reply that is
        not retried (the caller reads 2xx and calls `require_ok` for the rest); raises
        ProviderFailure when no usable reply came."""
        started = time.monotonic()
        attempts: list[str] = []  # each attempt's outcome
        try:
            return await self._get(provider, url, params, headers, auth, tenant_host, attempts)
        finally:
            # One line per call; the URL stays out (it may hold an account id declared secret).
            logger.debug(
                "provider call", extra={
                    "provider": provider.value, "outcome": attempts[-1] if attempts else "abandoned",
                    "attempts": len(attempts), "duration_ms": round((time.monotonic() - started) * 1000),
                },
            )

    def _gate(self, provider: ProviderKey, host: str | None) -> asyncio.Semaphore:
        gate = self._gates.get((provider, host))
        if gate is None:
            gate = self._gates[provider, host] = asyncio.Semaphore(self.policy.in_flight_per_provider)
        return gate

    async def _get(
        self, provider: ProviderKey, url: str, params: Mapping[str, str | int] | None,
        headers: Mapping[str, str] | None, auth: tuple[str, str] | None, tenant_host: bool, attempts: list[str],
    ) -> Reply:
        def count(outcome: str) -> None:
            attempts.append(outcome)
            self.outcomes[provider.value, outcome] += 1

        client = self._guarded if tenant_host else self._public
        name = _name(provider)
        request_headers = dict(headers or {})
        if auth is not None:
            request_headers["Authorization"] = _basic(auth)
        try:
            request: httpx.Request | None = client.build_request("GET", url, params=params, headers=request_headers)
        except httpx.InvalidURL:
            request = None
        if request is None or not _callable(request.url):
            count("invalid_url")
            raise ProviderFailure(AccountStatus.UNREACHABLE, f"The address for {name} is not a valid URL.")
        failure = ProviderFailure(AccountStatus.UNREACHABLE, f"{name} did not answer.")
        for attempt in range(self.policy.attempts):
            delay = self.policy.backoff * (2**attempt) * random.uniform(0.75, 1.25)
            try:
                # The gate is taken before the clock starts: waiting for a turn is not the provider's delay.
                gate = self._gate(provider, request.url.host if tenant_host else None)
                async with gate, asyncio.timeout(self.policy.total_timeout):
                    response = await client.send(request, stream=True)
                    try:
                        content = await _read_at_most(response, self.policy.max_body_bytes)
                    finally:
                        await response.aclose()
            except RefusedHost as refused:
                count("refused_host")
                raise ProviderFailure(
                    AccountStatus.REJECTED,
                    f"The host resolves to {refused.rule}, which this server does not contact.",
                ) from None
            except UnresolvableHost:
                count("unresolvable")
                raise ProviderFailure(AccountStatus.UNREACHABLE, "The host name does not resolve.") from None
            except _TooLong:
                count("too_long")
                raise ProviderFailure(
                    AccountStatus.UNREACHABLE, f"{name} answered with more than this server reads."
                ) from None
            except (TimeoutError, httpx.TimeoutException):
                count("timeout")
                failure = ProviderFailure(
                    AccountStatus.UNREACHABLE, f"{name} did not answer within {self.policy.total_timeout:g} s."
                )
            except httpx.HTTPError:
                count("connect_error")
                failure = ProviderFailure(AccountStatus.UNREACHABLE, f"Could not connect to {name}.")
            else:
                status = response.status_code
                if status == 429:
                    count("rate_limited")
                    failure = ProviderFailure(
                        AccountStatus.UNREACHABLE, f"{name} is limiting the rate of requests (HTTP 429)."
                    )
                    wait = _retry_after(response.headers.get("retry-after"))
                    if wait is not None and wait > self.policy.max_retry_after:
                        raise failure
                    delay = max(delay, wait or 0.0)
                elif status >= 500:
                    count("server_error")
                    failure = ProviderFailure(AccountStatus.UNREACHABLE, f"{name} answered HTTP {status}.")
                else:
                    count(_outcome_of(status))
                    return Reply(status, response.headers, content, provider)
            if attempt + 1 < self.policy.attempts:
                await asyncio.sleep(delay)
        raise failure

    async def aclose(self) -> None:
        await self._public.aclose()
        if self._guarded is not self._public:
            await self._guarded.aclose()


class _TooLong(Exception):
    pass


async def _read_at_most(response: httpx.Response, limit: int) -> bytes:
    """The body (decoded, so a compressed answer cannot swell past the limit either)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > limit:
            raise _TooLong()
        chunks.append(chunk)
    return b"".join(chunks)


def _callable(url: httpx.URL) -> bool:
    """httpx takes a URL without a host or with a port past 65535; neither can be called."""
    return url.scheme in ("http", "https") and bool(url.host) and (url.port is None or 0 < url.port < 65536)


def _outcome_of(status: int) -> str:
    if status in (401, 403):
        return "rejected"
    if status >= 400:
        return "http_4xx"
    return "redirect" if status >= 300 else "ok"


def _basic(auth: tuple[str, str]) -> str:
    return "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode("ascii")


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait, from delta-seconds or an HTTP date; None when absent or unreadable."""
    if value is None:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():  # str.isdigit alone takes "²", which float() refuses
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):  # whatever a malformed date raises
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _name(provider: ProviderKey) -> str:
    return PROVIDERS[provider].name
