"""What the provider client tests share: a fake served once per module and wiped between tests,
the real ProviderHttp pointed at it, and small helpers to read outcomes."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import TypeVar

import pytest

from gql_telephony.domain.config_rules import StoredConfig
from gql_telephony.domain.provider_checks import InventoryNumber, ProviderFailure
from gql_telephony.domain.providers import ProviderKey
from gql_telephony.outbound.base import Account
from gql_telephony.outbound.http import CallPolicy, ProviderHttp

from .fakes.base import Fake, serve

FakeT = TypeVar("FakeT", bound=Fake)

# Short enough for tests; a hang of HANG seconds outlasts one attempt.
POLICY = CallPolicy(total_timeout=1, backoff=0.05)
HANG = 1.5


@contextmanager
def served_once(fake: FakeT) -> Iterator[tuple[FakeT, str]]:
    with serve(fake) as origin:
        yield fake, origin


def wiped(fake: Fake) -> None:
    """Forget what earlier tests left: requests seen and faults still queued."""
    with fake._lock:
        fake.requests.clear()
        fake.faults.clear()


@asynccontextmanager
async def provider_http(
    provider: ProviderKey | None, origin: str = "", policy: CallPolicy = POLICY
) -> AsyncIterator[ProviderHttp]:
    """The real client; `provider` None sets no operator origin (the public one is used)."""
    http = ProviderHttp(origins={provider: origin} if provider else {}, policy=policy)
    try:
        yield http
    finally:
        await http.aclose()


def account(settings: dict[str, object] | None = None, **secrets: str) -> Account:
    return Account(StoredConfig(settings=dict(settings or {}), secrets=dict(secrets)))


async def collect(numbers: AsyncIterator[InventoryNumber]) -> list[InventoryNumber]:
    return [number async for number in numbers]


async def failure_of(call: Awaitable[object]) -> ProviderFailure:
    with pytest.raises(ProviderFailure) as caught:
        await call
    return caught.value


class Stopwatch:
    def __init__(self) -> None:
        self.start = time.monotonic()

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.start
