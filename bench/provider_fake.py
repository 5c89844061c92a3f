"""A fake Twilio in a process of its own, for bench/provider_checks.py.

It is the tests' fake (tests/outbound/fakes/twilio.py: the account resource and
IncomingPhoneNumbers, paged and filtered as Twilio does) holding the benchmark's accounts, on
uvicorn with uvloop and httptools, in its own process so that the server being measured does
not share an event loop (or the GIL) with it. `--latency-ms` delays every answer, as a distant
provider would, and `--slow-every K --slow-ms S` delays every request about every Kth account
(index % K == K - 1) by S ms more, as a provider's slow tail would; `/healthz` answers at once,
for the start-up wait.

Usage: .venv/bin/python -m bench.provider_fake --port 8100 --configs 200 --numbers 1 20 [--latency-ms 50]
           [--slow-every 50 --slow-ms 1000]

The accounts follow from the layout alone, so the benchmark creates the same ones without
talking to this process: configuration i of the layout is shape i // CONFIGS (its NUMBERS),
with `account_sid(i)`, `auth_token(i)` and `numbers_of(i, count)`.
"""

from __future__ import annotations

import argparse
import asyncio

import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

from tests.outbound.fakes.twilio import FakeNumber, TwilioAccount, TwilioFake

NUMBERS_PER_CONFIG_MAX = 100  # keeps every configuration's numbers apart from the next one's


def account_sid(index: int) -> str:
    return f"AC{index:032x}"


def auth_token(index: int) -> str:
    return f"{index + 7_000_000:032x}"


def numbers_of(index: int, count: int) -> list[str]:
    """San Francisco numbers, distinct across the organization (a number is registered once)."""
    if count > NUMBERS_PER_CONFIG_MAX:
        raise ValueError(f"at most {NUMBERS_PER_CONFIG_MAX} numbers per configuration")
    return [f"+1415{2_000_000 + index * NUMBERS_PER_CONFIG_MAX + n:07d}" for n in range(count)]


def layout(configs: int, shapes: list[int]) -> list[int]:
    """The number count of each configuration, in index order."""
    return [count for count in shapes for _ in range(configs)]


def build_fake(configs: int, shapes: list[int]) -> TwilioFake:
    fake = TwilioFake()
    for index, count in enumerate(layout(configs, shapes)):
        fake.add(TwilioAccount(
            account_sid(index), auth_token(index), numbers=[FakeNumber(n) for n in numbers_of(index, count)],
        ))
    return fake


def is_slow(index: int, slow_every: int) -> bool:
    return slow_every > 0 and index % slow_every == slow_every - 1


def delayed(inner: ASGIApp, seconds: float, slow_sids: set[str], slow_seconds: float) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/healthz":
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
            await send({"type": "http.response.body", "body": b"ok"})
            return
        if scope["type"] == "http":
            # /2010-04-01/Accounts/<sid>.json or /2010-04-01/Accounts/<sid>/IncomingPhoneNumbers...
            sid = scope["path"].split("/")[3].removesuffix(".json") if scope["path"].count("/") >= 3 else ""
            delay = seconds + (slow_seconds if sid in slow_sids else 0.0)
            if delay:
                await asyncio.sleep(delay)
        await inner(scope, receive, send)

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--configs", type=int, required=True, help="configurations per shape")
    parser.add_argument("--numbers", type=int, nargs="+", required=True, help="numbers per configuration, one per shape")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay before every answer")
    parser.add_argument("--slow-every", type=int, default=0, help="every Kth account is slow (0: none)")
    parser.add_argument("--slow-ms", type=float, default=0.0, help="the slow accounts' extra delay per request")
    args = parser.parse_args()
    fake = build_fake(args.configs, args.numbers)
    slow = {account_sid(i) for i in range(len(layout(args.configs, args.numbers))) if is_slow(i, args.slow_every)}
    uvicorn.run(delayed(fake.app, args.latency_ms / 1000, slow, args.slow_ms / 1000), host="127.0.0.1", port=args.port, log_level="warning",
                access_log=False, lifespan="off", loop="uvloop", http="httptools")


if __name__ == "__main__":
    main()
