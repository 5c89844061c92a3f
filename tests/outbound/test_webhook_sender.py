"""The webhook sender against a real loopback server: what counts as delivered, redirects not
followed, the timeout, bounded error text, no cookies, the guard on private addresses."""

from __future__ import annotations

import asyncio

import pytest
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from gql_telephony.services.signing_secrets import new_secret
from gql_telephony.services.webhook_delivery import ERROR_LIMIT, WebhookSender
from gql_telephony.storage.tables import utcnow

from .fakes.base import Fake, serve

SECRET = new_secret()


async def hook(request: Request) -> Response:
    kind = request.path_params["kind"]
    if kind == "ok":
        return Response(b"", 204, headers={"set-cookie": "session=abc; Path=/"})
    if kind == "cookie":
        return Response(request.headers.get("cookie", "none").encode(), 500)
    if kind == "redirect":
        return RedirectResponse("/hook/ok", 302)
    if kind == "slow":
        await asyncio.sleep(2)
        return Response(b"", 200)
    return Response(("\x00\x1b[31m" + "x" * 5000).encode(), 400)


@pytest.fixture
def origin():
    with serve(Fake([Route("/hook/{kind}", hook, methods=["POST"])])) as origin:
        yield origin


async def send(sender: WebhookSender, url: str):
    return await sender.send(url, message_id="msg_1", body='{"a":1}', secrets=[SECRET], at=utcnow())


async def test_what_each_answer_comes_to(origin):
    sender = WebhookSender(allow_private_hosts=True, timeout=0.5)
    try:
        ok = await send(sender, f"{origin}/hook/ok")
        assert (ok.outcome, ok.status_code, ok.error, ok.delivered) == ("delivered", 204, None, True)
        cookie = await send(sender, f"{origin}/hook/cookie")
        assert cookie.error == "The endpoint answered HTTP 500: none"  # the cookie set before was not kept
        moved = await send(sender, f"{origin}/hook/redirect")
        assert (moved.outcome, moved.status_code, moved.delivered) == ("redirect", 302, False)
        assert "redirects are not followed" in moved.error
        slow = await send(sender, f"{origin}/hook/slow")
        assert (slow.outcome, slow.status_code) == ("timeout", None)
        assert slow.error == "The endpoint did not answer within 0.5 s." and slow.duration_ms < 1500
        bad = await send(sender, f"{origin}/hook/bad")
        assert bad.status_code == 400 and len(bad.error) == ERROR_LIMIT and bad.error.isprintable()
        down = await send(sender, "http://127.0.0.1:9/hook")
        assert down.outcome == "connect_error" and down.error == "Could not connect to the endpoint."
        nowhere = await send(sender, "ftp://example.com/hook")
        assert nowhere.outcome == "invalid_url"
    finally:
        await sender.aclose()


async def test_private_addresses_are_refused_unless_allowed(origin):
    guarded = WebhookSender()
    try:
        for url in (f"{origin}/hook/ok", "http://169.254.169.254/latest/meta-data"):
            refused = await send(guarded, url)
            assert refused.outcome == "refused_host" and "which this server does not contact" in refused.error
    finally:
        await guarded.aclose()
