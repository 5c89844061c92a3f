"""A fake Twilio holding accounts with many numbers each, for the bulk import of bench/writes.py.

The tests' fake (tests/outbound/fakes/twilio.py: IncomingPhoneNumbers paged by PageSize/Page with
a next_page_uri, as Twilio does), on uvicorn in a process of its own so that neither the server
nor the hand-written endpoint shares an event loop (or the GIL) with it.

Usage: .venv/bin/python -m bench.import_fake --port P --accounts 4 --numbers 10000
Account i has SID `account_sid(i)`, token `auth_token(i)` and the numbers `numbers_of(i, n)`.
"""

from __future__ import annotations

import argparse

import uvicorn

from tests.outbound.fakes.twilio import FakeNumber, TwilioAccount, TwilioFake

from .provider_fake import account_sid, auth_token

__all__ = ["account_sid", "auth_token", "numbers_of"]


def numbers_of(index: int, count: int) -> list[str]:
    """New York numbers (area code 332, which the dashboard's seed does not use), distinct across accounts."""
    return [f"+1332{2_000_000 + index * count + n:07d}" for n in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--accounts", type=int, required=True)
    parser.add_argument("--numbers", type=int, required=True, help="numbers per account")
    args = parser.parse_args()
    fake = TwilioFake()
    for i in range(args.accounts):
        fake.add(TwilioAccount(account_sid(i), auth_token(i), numbers=[FakeNumber(n) for n in numbers_of(i, args.numbers)]))

    async def app(scope, receive, send):  # type: ignore[no-untyped-def]  # ASGI
        if scope["type"] == "http" and scope["path"] == "/healthz":
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
            await send({"type": "http.response.body", "body": b"ok"})
            return
        await fake.app(scope, receive, send)

    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False, lifespan="off")


if __name__ == "__main__":
    main()
