"""Rate limiting: a token bucket per API key, or per client address for requests without one.

A bucket holds up to `burst` tokens and refills at `per_minute / 60` tokens a second; each
request takes one token, and a request that finds none is refused with HTTP 429, a Retry-After
header (whole seconds) and a GraphQL error whose code is RATE_LIMITED.

Buckets are named by a hash of the presented key, never the key. A key is not checked here
(that costs a database read): until a request with it has authenticated, its requests also
take a token from their address's bucket, so that a client sending a new made-up key with
every request is limited like a client sending none. Behind a proxy the address must be the
client's (uvicorn's FORWARDED_ALLOW_IPS), or every client shares one address bucket.
WebSocket handshakes are limited per address (the key travels later, inside the socket).

The maps live in process memory and stay bounded: a bucket left idle long enough to be full
again is the same as a new one and is dropped; beyond `max_buckets` the least recently used
bucket is dropped even if it is not full; the hashes of keys known to authenticate are kept
for the `max_buckets` most recently seen.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable

from starlette.types import ASGIApp, Receive, Scope, Send

from .request_log import request_facts

MAX_BUCKETS = 50_000
EXEMPT_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})  # probes and scrapers, no I/O on keys


class _Bucket:
    __slots__ = ("tokens", "updated")

    def __init__(self, tokens: float, updated: float) -> None:
        self.tokens, self.updated = tokens, updated


class RateLimiter:
    def __init__(self, per_minute: int, burst: int, *, max_buckets: int = MAX_BUCKETS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if per_minute < 1 or burst < 1:
            raise ValueError("a rate limit needs a positive rate and burst")
        self.rate = per_minute / 60.0  # tokens per second
        self.capacity = float(burst)
        self.max_buckets = max_buckets
        self.clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._verified: OrderedDict[str, None] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def acquire(self, names: Iterable[str]) -> float:
        """Take a token from every named bucket and return 0, or take none and return the
        seconds until each of them holds a token again."""
        now = self.clock()
        self._drop_idle(now)
        buckets = [(name, self._current(name, now)) for name in names]
        wait = max((max(0.0, (1.0 - bucket.tokens) / self.rate) for _, bucket in buckets), default=0.0)
        if wait > 0:
            return wait
        for name, bucket in buckets:
            bucket.tokens -= 1.0
            self._buckets[name] = bucket
            self._buckets.move_to_end(name)
        while len(self._buckets) > self.max_buckets:
            self._buckets.popitem(last=False)
        return 0.0

    def is_verified(self, name: str) -> bool:
        if name not in self._verified:
            return False
        self._verified.move_to_end(name)
        return True

    def verify(self, name: str) -> None:
        """A request with this bucket's key authenticated: the key is real."""
        self._verified[name] = None
        self._verified.move_to_end(name)
        while len(self._verified) > self.max_buckets:
            self._verified.popitem(last=False)

    def _current(self, name: str, now: float) -> _Bucket:
        """The bucket refilled up to now; a new full one (not stored yet) if there is none."""
        bucket = self._buckets.get(name)
        if bucket is None:
            return _Bucket(self.capacity, now)
        bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        return bucket

    def _drop_idle(self, now: float) -> None:
        """Least recently used first: drop buckets that have refilled completely since."""
        full_after = self.capacity / self.rate
        while self._buckets:
            name, bucket = next(iter(self._buckets.items()))
            if now - bucket.updated < full_after:
                break
            del self._buckets[name]


def key_bucket(key: str) -> str:
    return "key:" + hashlib.sha256(key.encode()).hexdigest()


def address_bucket(scope: Scope) -> str:
    client = scope.get("client")
    return "address:" + (str(client[0]) if client else "unknown")


def presented_key(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, key = value.decode("latin-1").strip().partition(" ")
            return key.strip() if scheme.lower() == "bearer" and key.strip() else None
    return None


def retry_after_seconds(wait: float) -> int:
    return max(1, math.ceil(wait))


def refusal_body(seconds: int) -> bytes:
    return json.dumps({"errors": [{
        "message": f"Too many requests: retry after {seconds} seconds.",
        "extensions": {"code": "RATE_LIMITED", "retryAfter": seconds},
    }]}).encode()


class RateLimit:
    """ASGI middleware; with no limiter (the limit turned off) it passes everything through."""

    def __init__(self, app: ASGIApp, limiter: RateLimiter | None) -> None:
        self.app, self.limiter = app, limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limiter = self.limiter
        if limiter is None or scope["type"] not in ("http", "websocket") or scope["path"] in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        key = presented_key(scope) if scope["type"] == "http" else None
        key_name = key_bucket(key) if key else None
        names = [address_bucket(scope)]
        if key_name is not None:
            names = [key_name] if limiter.is_verified(key_name) else [key_name, *names]
        wait = limiter.acquire(names)
        if wait > 0:
            await self._refuse(scope, send, retry_after_seconds(wait))
            return
        try:
            await self.app(scope, receive, send)
        finally:
            facts = request_facts(scope)
            if key_name is not None and facts is not None and facts.org_id is not None:
                limiter.verify(key_name)

    @staticmethod
    async def _refuse(scope: Scope, send: Send, seconds: int) -> None:
        body = refusal_body(seconds)
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
