"""What the abuse limits and the request log cost on the dashboard query, per request.

Usage: .venv/bin/python -m bench.overhead

Times, in this process, each piece a dashboard request goes through that exists for limits or
logging: the depth/alias validation rule, the pre-execution walk (page sizes, cursors, cost),
the token-limited parse against a plain one, and the ASGI middleware (request log with metrics,
rate limit) around an app that answers a dashboard-sized body at once. Compare the sum with the
CPU time of a whole dashboard request in docs/PERFORMANCE.md.
"""

from __future__ import annotations

import asyncio
import time

from graphql import FragmentDefinitionNode, OperationDefinitionNode, parse, validate

from gql_telephony.api.limits import DocumentShapeLimits, check_operation
from gql_telephony.api.metrics import Metrics
from gql_telephony.api.rate_limit import RateLimit, RateLimiter
from gql_telephony.api.request_log import RequestLog
from gql_telephony.api.schema import MAX_TOKENS, build_schema
from tests.fixtures import DASHBOARD

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
    limited = asyncio.run(middleware_us(RateLimit(app, RateLimiter(per_minute=10**9, burst=10**9))))
    rows["request log + metrics middleware"] = logged - plain
    rows["rate limit middleware"] = limited - plain
    for name, micros in rows.items():
        print(f"{name:<40} {micros:8.1f} us")
    print(f"{'total':<40} {sum(rows.values()):8.1f} us per dashboard request")


if __name__ == "__main__":
    main()
