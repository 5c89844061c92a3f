"""Rate limiting: which bucket each request is charged to (api/rate_buckets.py counts the tokens).

- An HTTP request whose key authenticates is charged to its key's bucket only, whatever else
  comes from its address. The key is looked up here (one indexed SELECT) and the answer handed
  to the view, which does not look it up again.
- An HTTP request without a key, or whose key does not authenticate, is charged to the
  unauthenticated bucket of its client address: made-up keys are limited like no key.
- A WebSocket handshake is not charged to a key (the key usually comes later, inside the
  socket): handshakes count in a bucket of their own per address, which keyless or junk-key
  HTTP requests do not touch.
- Each operation sent over an open WebSocket is charged to the socket's key, as over HTTP.

Over the limit: HTTP 429 with Retry-After (whole seconds) and a GraphQL error whose code is
RATE_LIMITED; over a WebSocket, the protocol's `error` message for that operation id with the
same GraphQL error. Buckets are named by a hash of the key, never the key. The client address
is the socket's peer, or the client named in X-Forwarded-For only when the peer is one of
GQL_TELEPHONY_TRUSTED_PROXIES (uvicorn's proxy headers, set up in gql_telephony/server.py).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from ...services.tenancy import Principal
from ..graph.documents import bearer_key, error_entry
from .rate_buckets import Buckets

EXEMPT_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})  # probes and scrapers, no I/O on keys
AUTHENTICATED = "gql_telephony.authenticated"  # scope state: (key, principal) looked up here
BUCKETS = "gql_telephony.rate_buckets"  # scope state of a WebSocket: for its operations
SOCKET_KEY = "gql_telephony.socket_key"  # scope state of a WebSocket: the key it authenticated with

Authenticate = Callable[[str], Awaitable[Principal | None]]


def key_bucket(key: str) -> str:
    return "key:" + hashlib.sha256(key.encode()).hexdigest()


def _address(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def address_bucket(scope: Scope) -> str:
    return "address:" + _address(scope)


def handshake_bucket(scope: Scope) -> str:
    return "handshake:" + _address(scope)


def presented_key(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            return bearer_key(value.decode("latin-1"))
    return None


def authenticated_here(scope: Scope, key: str | None) -> tuple[bool, Principal | None]:
    """(True, the principal) when the rate limit already looked this request's key up."""
    state = scope.get("state")
    found = state.get(AUTHENTICATED) if isinstance(state, dict) else None
    if key is None or found is None or found[0] != key:
        return False, None
    return True, found[1]


def retry_after_seconds(wait: float) -> int:
    return max(1, math.ceil(wait))


def refusal_errors(seconds: int) -> list[dict[str, Any]]:
    return [error_entry(f"Too many requests: retry after {seconds} seconds.", "RATE_LIMITED", retryAfter=seconds)]


class RateLimit:
    """ASGI middleware; with no buckets (the limit turned off) it passes everything through."""

    def __init__(self, app: ASGIApp, buckets: Buckets | None, authenticate: Authenticate) -> None:
        self.app, self.buckets, self.authenticate = app, buckets, authenticate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        buckets = self.buckets
        if buckets is None or scope["type"] not in ("http", "websocket") or scope["path"] in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            name = handshake_bucket(scope)
            scope.setdefault("state", {})[BUCKETS] = buckets
        else:
            name = await self._http_bucket(scope)
        wait = await buckets.take(name)
        if wait > 0:
            await self._refuse(scope, send, retry_after_seconds(wait))
            return
        await self.app(scope, receive, send)

    async def _http_bucket(self, scope: Scope) -> str:
        key = presented_key(scope)
        if key is None:
            return address_bucket(scope)
        try:
            principal = await self.authenticate(key)
        except Exception:  # the database is away: the view tries again and answers the failure
            return key_bucket(key)
        scope.setdefault("state", {})[AUTHENTICATED] = (key, principal)
        return key_bucket(key) if principal is not None else address_bucket(scope)

    @staticmethod
    async def _refuse(scope: Scope, send: Send, seconds: int) -> None:
        body = json.dumps({"errors": refusal_errors(seconds)}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                   (b"retry-after", str(seconds).encode())]
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": 429, "headers": headers})
            await send({"type": "http.response.body", "body": body})
        elif "websocket.http.response" in scope.get("extensions", {}):
            await send({"type": "websocket.http.response.start", "status": 429, "headers": headers})
            await send({"type": "websocket.http.response.body", "body": body})
        else:
            await send({"type": "websocket.close", "code": 1008})


async def refused_over_socket(handler: Any, message: dict[str, Any]) -> bool:
    """Charges a graphql-transport-ws `subscribe` to the socket's key. When the key is over its
    limit, answers the protocol's `error` for that id (RATE_LIMITED) and returns True.
    Messages the protocol itself refuses (before connection_ack, a duplicate or malformed id)
    are left to it."""
    operation_id = message.get("id")
    context = handler.context
    if not handler.connection_acknowledged or not isinstance(operation_id, str) or operation_id in handler.operations:
        return False
    state = getattr(context.request, "scope", {}).get("state") or {}
    key = state.get(SOCKET_KEY)  # wherever the socket presented it (api/http/ws_auth.py)
    buckets = state.get(BUCKETS)
    if buckets is None or key is None or context.principal is None:
        return False
    wait = await buckets.take(key_bucket(key))
    if wait <= 0:
        return False
    errors = refusal_errors(retry_after_seconds(wait))
    await handler.send_message({"id": operation_id, "type": "error", "payload": errors})
    return True
