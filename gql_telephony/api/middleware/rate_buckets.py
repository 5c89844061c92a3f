"""Where rate-limit tokens are counted: in this process, or in Redis for every process at once.

Both are configured by the same two numbers: `burst` requests at once, refilled at `per_minute`.
`take(name)` answers 0 when the named bucket gave a token, else the seconds until it can.

In process (`LocalBuckets`): a token bucket per name, in a bounded map. A bucket left idle long
enough to be full again is the same as a new one and is dropped; beyond `max_buckets` the least
recently used bucket is dropped even if it is not full.

In Redis (`SharedBuckets`, when the broker is Redis): the `limits` library's sliding-window
counter, one Lua call per request, so N server processes allow the limit once, not N times. The
same numbers become "at most about `burst` requests in any `burst * 60 / per_minute` seconds"
(whole seconds, at least one). When Redis does not answer, each process falls back to its own
`LocalBuckets` for a few seconds before it tries Redis again, and says so in the log.
(`limits`' own in-memory storage sweeps every key after each request: 28 ms a request at 50,000
keys, see docs/PERFORMANCE.md; hence the hand-written bucket here.)
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

from ...settings import Settings

logger = logging.getLogger("gql_telephony.rate_limit")

MAX_BUCKETS = 50_000
REDIS_TIMEOUT_SECONDS = 0.5  # a Redis that hangs must not hang every request
REDIS_RETRY_SECONDS = 5.0  # after a failure, count locally this long before asking Redis again
REDIS_KEY_PREFIX = "gql_telephony:rate"


class Buckets(Protocol):
    async def take(self, name: str) -> float: ...

    async def close(self) -> None: ...


class _Bucket:
    __slots__ = ("tokens", "updated")

    def __init__(self, tokens: float, updated: float) -> None:
        self.tokens, self.updated = tokens, updated


class LocalBuckets:
    def __init__(self, per_minute: int, burst: int, *, max_buckets: int = MAX_BUCKETS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if per_minute < 1 or burst < 1:
            raise ValueError("a rate limit needs a positive rate and burst")
        self.rate = per_minute / 60.0  # tokens per second
        self.capacity = float(burst)
        self.max_buckets = max_buckets
        self.clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    async def take(self, name: str) -> float:
        return self.take_now(name)

    def take_now(self, name: str) -> float:
        now = self.clock()
        self._drop_idle(now)
        bucket = self._buckets.get(name)
        if bucket is None:
            bucket = _Bucket(self.capacity, now)  # stored only if it gives a token
        else:
            bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
        if bucket.tokens < 1.0:
            return (1.0 - bucket.tokens) / self.rate
        bucket.tokens -= 1.0
        self._buckets[name] = bucket
        self._buckets.move_to_end(name)
        while len(self._buckets) > self.max_buckets:
            self._buckets.popitem(last=False)
        return 0.0

    async def close(self) -> None:
        return None

    def _drop_idle(self, now: float) -> None:
        """Least recently used first: drop buckets that have refilled completely since."""
        full_after = self.capacity / self.rate
        while self._buckets:
            name, bucket = next(iter(self._buckets.items()))
            if now - bucket.updated < full_after:
                break
            del self._buckets[name]


def sliding_window(per_minute: int, burst: int) -> tuple[int, int]:
    """(requests, whole seconds) of the window that matches a bucket of `burst` at `per_minute`."""
    seconds = max(1, round(burst * 60 / per_minute))
    return max(1, round(per_minute * seconds / 60)), seconds


class SharedBuckets:
    """One limit for every process on one Redis, falling back to `local` while Redis is away."""

    def __init__(self, redis_url: str, per_minute: int, burst: int, *, local: LocalBuckets,
                 key_prefix: str = REDIS_KEY_PREFIX) -> None:
        import redis.asyncio  # noqa: PLC0415 - only a Redis deployment needs these
        from limits import RateLimitItemPerSecond  # noqa: PLC0415 - as above
        from limits.aio.storage import RedisStorage  # noqa: PLC0415 - as above
        from limits.aio.strategies import SlidingWindowCounterRateLimiter  # noqa: PLC0415 - as above

        self._pool = redis.asyncio.ConnectionPool.from_url(
            redis_url, socket_timeout=REDIS_TIMEOUT_SECONDS, socket_connect_timeout=REDIS_TIMEOUT_SECONDS)
        storage = RedisStorage("async+" + redis_url, implementation="redispy", wrap_exceptions=True,
                               key_prefix=key_prefix,
                               connection_pool=self._pool)  # type: ignore[arg-type]  # typed as scalar options
        self._limiter = SlidingWindowCounterRateLimiter(storage)
        self._item = RateLimitItemPerSecond(*sliding_window(per_minute, burst))
        self.local = local
        self._local_until = 0.0  # monotonic time until which Redis is not asked

    async def take(self, name: str) -> float:
        from limits.errors import StorageError  # noqa: PLC0415 - only a Redis deployment needs it

        if time.monotonic() < self._local_until:
            return self.local.take_now(name)
        try:
            if await self._limiter.hit(self._item, name):
                self._recovered()
                return 0.0
            stats = await self._limiter.get_window_stats(self._item, name)
        except (StorageError, OSError, TimeoutError) as error:
            self._failed(error)
            return self.local.take_now(name)
        self._recovered()
        return max(stats.reset_time - time.time(), 0.001)

    async def close(self) -> None:
        await self._pool.disconnect()

    def _failed(self, error: Exception) -> None:
        if not self._local_until:  # one line per outage, not one per request
            logger.warning("rate limit: Redis does not answer (%s); counting in this process until it does",
                           type(error.__cause__ or error).__name__)
        self._local_until = time.monotonic() + REDIS_RETRY_SECONDS

    def _recovered(self) -> None:
        if self._local_until:
            logger.warning("rate limit: Redis answers again; the limit is shared by every process again")
            self._local_until = 0.0


def buckets_from_settings(settings: Settings) -> Buckets | None:
    """None when the limit is off; shared through Redis when the broker is Redis."""
    if settings.rate_limit_per_minute <= 0:
        return None
    local = LocalBuckets(settings.rate_limit_per_minute, settings.rate_limit_burst)
    if not settings.broker_url.startswith(("redis://", "rediss://")):
        return local
    return SharedBuckets(settings.broker_url, settings.rate_limit_per_minute, settings.rate_limit_burst, local=local)
