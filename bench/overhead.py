"""What the abuse limits and the request log cost on the dashboard query, per request.

Usage: .venv/bin/python -m bench.overhead

Times, in this process, each piece a dashboard request goes through that exists for limits or
logging: the depth/alias validation rule, the pre-execution walk (page sizes, cursors, cost),
the token-limited parse against a plain one, and the ASGI middleware (request log with metrics,
rate limit) around an app that answers a dashboard-sized body at once. Compare the sum with the
CPU time of a whole dashboard request in docs/PERFORMANCE.md. Then the rate limit's buckets on
their own: in process, in Redis (REDIS_URL, default the local one), and `limits`' in-memory
storage for comparison.
"""

from __future__ import annotations

import asyncio
import os
import time

from graphql import FragmentDefinitionNode, OperationDefinitionNode, parse, validate

from gql_telephony.api.graph.limits import DocumentShapeLimits, check_operation
from gql_telephony.api.graph.schema import MAX_TOKENS, build_schema
from gql_telephony.api.middleware.metrics import Metrics
from gql_telephony.api.middleware.rate_buckets import LocalBuckets, SharedBuckets
from gql_telephony.api.middleware.rate_limit import RateLimit
from gql_telephony.api.middleware.request_log import RequestLog
from tests.documents import DASHBOARD

BODY = b'{"data": ' + b'"x"' * 30_000 + b"}"  # about the 25x40 response's size


def per_call_us(action, repeat: int = 2000) -> float:
    for _ in range(50):
        action()
    started = time.perf_counter()
    for _ in range(repeat):
        action()
    return (time.perf_counter() - started) / repeat * 1e6


async def app(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": BODY})


async def middleware_us(wrapped, repeat: int = 3000) -> float:
    scope = {"type": "http", "method": "POST", "path": "/graphql", "headers": [(b"authorization", b"Bearer gqlt_x")],
             "client": ("127.0.0.1", 1), "query_string": b"", "state": {}}

    async def receive():
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message):
        return None

    started = time.perf_counter()
    for _ in range(repeat):
        await wrapped(dict(scope, state={}), receive, send)
    return (time.perf_counter() - started) / repeat * 1e6


async def no_key(_key: str) -> None:
    """The key lookup is the view's cost (it reuses the answer), not the limit's."""
    return None


async def take_us(buckets, names: int, repeat: int = 3000) -> float:
    """Per take, with `names` distinct buckets in use and the event loop turning between takes
    (as between requests), so that background work of the storage runs too."""
    for n in range(names):
        await buckets.take(f"address:{n}")
    started = time.perf_counter()
    for n in range(repeat):
        await buckets.take(f"address:{n % names}")
        await asyncio.sleep(0)
    return (time.perf_counter() - started) / repeat * 1e6


async def bucket_rows(redis_url: str) -> dict[str, float]:
    """The in-process bucket, the Redis one (one Lua call), and `limits`' own in-memory storage."""
    from limits import RateLimitItemPerSecond
    from limits.aio.storage import MemoryStorage
    from limits.aio.strategies import SlidingWindowCounterRateLimiter

    class LimitsMemory:
        def __init__(self) -> None:
            self.limiter = SlidingWindowCounterRateLimiter(MemoryStorage())
            self.item = RateLimitItemPerSecond(10**9, 6)

        async def take(self, name: str) -> float:
            return 0.0 if await self.limiter.hit(self.item, name) else 1.0

    import redis.asyncio

    class Ping:  # one plain Redis round trip, for scale
        def __init__(self) -> None:
            self.client = redis.asyncio.Redis.from_url(redis_url)

        async def take(self, _name: str) -> float:
            await self.client.ping()
            return 0.0

    ping = Ping()
    huge = 10**9
    rows = {"Redis PING round trip": await take_us(ping, 1, repeat=1000)}
    await ping.client.aclose()
    for names in (10, 50_000):
        rows[f"in-process bucket, {names} keys"] = await take_us(LocalBuckets(huge, huge), names)
        shared = SharedBuckets(redis_url, huge, huge, local=LocalBuckets(huge, huge), key_prefix="bench")
        try:
            rows[f"Redis bucket (limits), {names} keys"] = await take_us(shared, names, repeat=1000)
        finally:
            await shared.close()
        rows[f"limits' in-memory storage, {names} keys"] = await take_us(LimitsMemory(), names, repeat=300)
    return rows


class _NoDb:
    engines = ()


def main() -> None:
    schema = build_schema()._schema
    document = parse(DASHBOARD)
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    rows = {
        "depth and alias rule (validation)": per_call_us(lambda: validate(schema, document, [DocumentShapeLimits]))
        - per_call_us(lambda: validate(schema, document, [])),
        "page sizes, cursors, cost walk": per_call_us(lambda: check_operation(schema, operation, fragments, {})),
        "parse with token limit - plain parse": per_call_us(lambda: parse(DASHBOARD, max_tokens=MAX_TOKENS)) - per_call_us(lambda: parse(DASHBOARD)),
    }
    plain = asyncio.run(middleware_us(app))
    logged = asyncio.run(middleware_us(RequestLog(app, Metrics(_NoDb(), lambda: 0))))
    limited = asyncio.run(middleware_us(RateLimit(app, LocalBuckets(per_minute=10**9, burst=10**9), no_key)))
    rows["request log + metrics middleware"] = logged - plain
    rows["rate limit middleware"] = limited - plain
    for name, micros in rows.items():
        print(f"{name:<40} {micros:8.1f} us")
    print(f"{'total':<40} {sum(rows.values()):8.1f} us per dashboard request")
    print("\nrate-limit buckets, per request:")
    for name, micros in asyncio.run(bucket_rows(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))).items():
        print(f"{name:<40} {micros:8.1f} us")


if __name__ == "__main__":
    main()
