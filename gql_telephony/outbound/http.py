"""The one HTTP client every provider API call goes through.

It owns what all providers share: pooled connections (one client per process), timeouts,
retries with backoff on 429 (never sooner than `Retry-After`), 5xx and timeouts, a bounded
number of calls in flight per provider, the outcome counts for /metrics, and the guard that
keeps hosts typed by a tenant off private addresses. The provider modules beside it only
build requests and read answers.

Nothing here logs or repeats a URL: some providers put an account id that is declared secret
in the path. Failures come out as ProviderFailure with a message of our own.
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import ipaddress
import random
import socket
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpcore
import httpx
import orjson

from ..domain.addresses import refusal_of
from ..domain.provider_checks import AccountStatus, ProviderFailure
from ..domain.providers import PROVIDERS, ProviderKey


@dataclass(frozen=True)
class CallPolicy:
    connect_timeout: float = 3.0
    total_timeout: float = 10.0  # one attempt, from connect to the last byte
    attempts: int = 3
    backoff: float = 0.5  # the first retry's delay; doubled each time, with jitter
    max_retry_after: float = 20.0  # a longer Retry-After is not waited for: the call fails now
    in_flight_per_provider: int = 16


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


class RefusedHost(Exception):
    """A host typed by a tenant resolves to an address the server must not contact."""

    def __init__(self, rule: str) -> None:
        super().__init__(rule)
        self.rule = rule


class UnresolvableHost(Exception):
    pass


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves the host itself, refuses private addresses, and connects to the address it
    checked, so that a second lookup (DNS rebinding) cannot swap in another one. TLS still
    verifies the host name, which httpcore passes separately."""

    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await _resolve(host, port)
        for address in addresses:
            rule = refusal_of(address)
            if rule is not None:
                raise RefusedHost(rule)
        return await self._inner.connect_tcp(
            str(addresses[0]), port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise RefusedHost("a local socket")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


async def _resolve(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise UnresolvableHost() from None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in found]
    if not addresses:
        raise UnresolvableHost()
    return addresses


def _guarded_transport(limits: httpx.Limits) -> httpx.AsyncHTTPTransport:
    transport = httpx.AsyncHTTPTransport(trust_env=False, limits=limits)
    # httpx has no parameter for the network backend; its pool is rebuilt with ours (same limits).
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=httpx.create_ssl_context(trust_env=False),
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=_GuardedBackend(),
    )
    return transport


@dataclass
class ProviderHttp:
    """Built once per process (app.build_runtime) and closed at shut-down."""

    origins: Mapping[ProviderKey, str] = field(default_factory=dict)  # GQL_TELEPHONY_PROVIDER_API_<PROVIDER>
    allow_private_hosts: bool = False  # GQL_TELEPHONY_ALLOW_PRIVATE_PROVIDER_HOSTS
    policy: CallPolicy = field(default_factory=CallPolicy)
    # (provider, outcome) -> calls, for /metrics: ok, http_4xx, rejected, rate_limited,
    # server_error, timeout, connect_error, refused_host, unresolvable.
    outcomes: Counter[tuple[str, str]] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
        timeout = httpx.Timeout(self.policy.total_timeout, connect=self.policy.connect_timeout)
        self._public = httpx.AsyncClient(timeout=timeout, limits=limits, follow_redirects=False)
        self._guarded = (
            self._public if self.allow_private_hosts
            else httpx.AsyncClient(timeout=timeout, transport=_guarded_transport(limits), follow_redirects=False)
        )
        self._gates = {key: asyncio.Semaphore(self.policy.in_flight_per_provider) for key in ProviderKey}

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
        client = self._guarded if tenant_host else self._public
        name = _name(provider)
        request = client.build_request("GET", url, params=params, headers=headers)
        if auth is not None:
            request = client.build_request(
                "GET", url, params=params, headers={**(headers or {}), "Authorization": _basic(auth)}
            )
        failure = ProviderFailure(AccountStatus.UNREACHABLE, f"{name} did not answer.")
        for attempt in range(self.policy.attempts):
            delay = self.policy.backoff * (2**attempt) * random.uniform(0.75, 1.25)
            try:
                async with self._gates[provider], asyncio.timeout(self.policy.total_timeout):
                    response = await client.send(request)
            except RefusedHost as refused:
                self.outcomes[provider.value, "refused_host"] += 1
                raise ProviderFailure(
                    AccountStatus.REJECTED,
                    f"The host resolves to {refused.rule}, which this server does not contact.",
                ) from None
            except UnresolvableHost:
                self.outcomes[provider.value, "unresolvable"] += 1
                raise ProviderFailure(AccountStatus.UNREACHABLE, "The host name does not resolve.") from None
            except (TimeoutError, httpx.TimeoutException):
                self.outcomes[provider.value, "timeout"] += 1
                failure = ProviderFailure(
                    AccountStatus.UNREACHABLE, f"{name} did not answer within {self.policy.total_timeout:g} seconds."
                )
            except httpx.HTTPError:
                self.outcomes[provider.value, "connect_error"] += 1
                failure = ProviderFailure(AccountStatus.UNREACHABLE, f"Could not connect to {name}.")
            else:
                status = response.status_code
                if status == 429:
                    self.outcomes[provider.value, "rate_limited"] += 1
                    failure = ProviderFailure(
                        AccountStatus.UNREACHABLE, f"{name} is limiting the rate of requests (HTTP 429)."
                    )
                    wait = _retry_after(response.headers.get("retry-after"))
                    if wait is not None and wait > self.policy.max_retry_after:
                        raise failure
                    delay = max(delay, wait or 0.0)
                elif status >= 500:
                    self.outcomes[provider.value, "server_error"] += 1
                    failure = ProviderFailure(AccountStatus.UNREACHABLE, f"{name} answered HTTP {status}.")
                else:
                    outcome = "ok" if status < 400 else "rejected" if status in (401, 403) else "http_4xx"
                    self.outcomes[provider.value, outcome] += 1
                    return Reply(status, response.headers, response.content, provider)
            if attempt + 1 < self.policy.attempts:
                await asyncio.sleep(delay)
        raise failure

    async def aclose(self) -> None:
        await self._public.aclose()
        if self._guarded is not self._public:
            await self._guarded.aclose()


def _basic(auth: tuple[str, str]) -> str:
    return "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode("ascii")


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait, from delta-seconds or an HTTP date; None when absent or unreadable."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _name(provider: ProviderKey) -> str:
    return PROVIDERS[provider].name
