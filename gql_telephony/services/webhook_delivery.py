"""Sending one webhook delivery: sign it as Standard Webhooks says, POST it through the guarded
client, and say what came of it.

The request: the stored body, exactly; `webhook-id` (the delivery's, the same on every attempt),
`webhook-timestamp` (this attempt's, in unix seconds) and `webhook-signature` (`v1,<base64
HMAC-SHA256>` by each signing secret, the newest first, separated by a space). One attempt
lasts at most `timeout` seconds, from resolving the name to the last byte read; only a 2xx is a
success. Redirects are not followed, no cookie is kept, at most a few KiB of the answer are read.

The URL's name is resolved at each attempt and every address it resolves to is checked against
the private-address rule (outbound/guard.py) unless the operator allows private webhook hosts.
No error text repeats the URL, a header or a secret.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import httpx
from standardwebhooks import Webhook

from ..outbound.guard import RefusedHost, UnresolvableHost, guarded_transport, no_cookies
from ..outbound.tls import client_tls

ERROR_LIMIT = 300  # the stored error's length (webhook_attempt.error, webhook_delivery.last_error)
READ_LIMIT = 4096  # bytes of an answer read (to quote the start of an error page)
USER_AGENT = "gql-telephony-webhooks/1"


@dataclass(frozen=True)
class SendResult:
    """One attempt: `status_code` when the endpoint answered, `error` when it was not a 2xx,
    and `outcome` for /metrics: delivered, http_error, redirect, timeout, connect_error,
    refused_host, unresolvable, invalid_url."""

    outcome: str
    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def delivered(self) -> bool:
        return self.outcome == "delivered"


def signature_header(secrets: Sequence[str], message_id: str, at: datetime, body: str) -> str:
    """`v1,<signature>` by each secret, space-separated, in the order given."""
    return " ".join(Webhook(secret).sign(message_id, at, body) for secret in secrets)


def bounded(text: str) -> str:
    """Printable characters only, at most ERROR_LIMIT of them."""
    cleaned = "".join(ch if ch.isprintable() else " " for ch in text).strip()
    return cleaned if len(cleaned) <= ERROR_LIMIT else cleaned[: ERROR_LIMIT - 1] + "…"


class WebhookSender:
    """Built once per process (app.build_runtime) and closed at shut-down."""

    def __init__(self, *, allow_private_hosts: bool = False, timeout: float = 10.0) -> None:
        self.timeout = timeout
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=32)
        transport = (
            httpx.AsyncHTTPTransport(verify=client_tls(), trust_env=False, limits=limits) if allow_private_hosts
            else guarded_transport(limits)
        )
        self._client = httpx.AsyncClient(
            transport=transport, timeout=httpx.Timeout(timeout, connect=min(5.0, timeout)),
            follow_redirects=False, cookies=no_cookies(), trust_env=False,
        )

    async def send(
        self, url: str, *, message_id: str, body: str, secrets: Sequence[str], at: datetime
    ) -> SendResult:
        started = time.monotonic()

        def result(outcome: str, status: int | None, error: str | None) -> SendResult:
            return SendResult(outcome, status, error and bounded(error), round((time.monotonic() - started) * 1000))

        headers = {
            "content-type": "application/json", "user-agent": USER_AGENT,
            "webhook-id": message_id, "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": signature_header(secrets, message_id, at, body),
        }
        try:
            request = self._client.build_request("POST", url, content=body.encode(), headers=headers)
        except httpx.InvalidURL:
            return result("invalid_url", None, "The endpoint's URL is not a valid URL.")
        if request.url.scheme not in ("http", "https") or not request.url.host:
            return result("invalid_url", None, "The endpoint's URL is not a valid http or https URL.")
        try:
            async with asyncio.timeout(self.timeout):
                response = await self._client.send(request, stream=True)
                try:
                    excerpt = await _read_start(response, READ_LIMIT)
                finally:
                    await response.aclose()
        except RefusedHost as refused:
            return result("refused_host", None, (
                f"The endpoint's host resolves to {refused.rule}, which this server does not contact "
                "(GQL_TELEPHONY_ALLOW_PRIVATE_WEBHOOK_HOSTS is off)."
            ))
        except UnresolvableHost:
            return result("unresolvable", None, "The endpoint's host name does not resolve.")
        except (TimeoutError, httpx.TimeoutException):
            return result("timeout", None, f"The endpoint did not answer within {self.timeout:g} s.")
        except httpx.HTTPError:
            return result("connect_error", None, "Could not connect to the endpoint.")
        status = response.status_code
        if 200 <= status < 300:
            return result("delivered", status, None)
        if 300 <= status < 400:
            return result("redirect", status, f"The endpoint answered HTTP {status} (redirects are not followed).")
        text = excerpt.decode("utf-8", "replace").strip()
        return result("http_error", status, f"The endpoint answered HTTP {status}" + (f": {text}" if text else "."))

    async def aclose(self) -> None:
        await self._client.aclose()


async def _read_start(response: httpx.Response, limit: int) -> bytes:
    """The first `limit` bytes of the answer; the rest is not read (the connection is dropped)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= limit:
            break
    return b"".join(chunks)[:limit]
