"""One log line per HTTP request, and the request's metrics.

The line holds a request id (the client's X-Request-ID when it is a short plain token, else a
new one; sent back in the X-Request-ID response header), method, route, status, duration, the
organization (when the key authenticated), the GraphQL operation's name and type, and the
codes of the errors the response carries. Never the query string, headers, body, variables or
key, which may carry credentials: what the view learns (organization, operation) it notes in
the request's `RequestFacts`, kept in the ASGI scope's "state".
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ...logs import current_request_id

if TYPE_CHECKING:
    from .metrics import Metrics

logger = logging.getLogger("gql_telephony.access")

FACTS_KEY = "gql_telephony.request"
ROUTES = frozenset({"/graphql", "/healthz", "/readyz", "/metrics", "/"})
DASHBOARD_FILES = "/dashboard/"  # one label for all of the dashboard's files
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
_CODE = re.compile(r"[A-Z][A-Z0-9_]{0,63}")
MAX_INSPECTED_BODY = 1024 * 1024  # larger responses are not read for error codes


@dataclass
class RequestFacts:
    """What the layers below learn about a request, for its log line and metrics."""

    request_id: str
    org_id: int | None = None
    operation_name: str | None = None
    operation_type: str | None = None


def request_facts(scope: Any) -> RequestFacts | None:
    state = scope.get("state") if isinstance(scope, dict) else None
    facts = state.get(FACTS_KEY) if isinstance(state, dict) else None
    return facts if isinstance(facts, RequestFacts) else None


def note_organization(request: Any, org_id: int) -> None:
    """Called when a request's key authenticates (the request may be None or a WebSocket)."""
    facts = request_facts(getattr(request, "scope", None))
    if facts is not None:
        facts.org_id = org_id


def request_id_from(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            candidate: str = value.decode("latin-1").strip()
            if _SANE_REQUEST_ID.fullmatch(candidate):
                return candidate
            break
    return os.urandom(16).hex()  # 128 random bits, as many as a UUID's hex and a quarter of its cost


def route_of(path: str) -> str:
    """A label of bounded cardinality: a known route, or "other"."""
    if path in ROUTES:
        return path
    return DASHBOARD_FILES if path.startswith(DASHBOARD_FILES) else "other"


def error_codes(body: bytes) -> list[str]:
    """The codes of a GraphQL response's errors (only well-formed codes, in order)."""
    if b'"errors"' not in body:
        return []
    try:
        document = json.loads(body)
    except ValueError:
        return []
    errors = document.get("errors") if isinstance(document, dict) else None
    codes = []
    for error in errors if isinstance(errors, list) else ():
        extensions = error.get("extensions") if isinstance(error, dict) else None
        code = extensions.get("code") if isinstance(extensions, dict) else None
        codes.append(code if isinstance(code, str) and _CODE.fullmatch(code) else "UNKNOWN")
    return codes


class RequestLog:
    def __init__(self, app: ASGIApp, metrics: Metrics | None = None) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        facts = RequestFacts(request_id=request_id_from(scope))
        # A state of our own for this request (a server may share one dict between requests).
        scope["state"] = {**(scope.get("state") or {}), FACTS_KEY: facts}
        token = current_request_id.set(facts.request_id)
        status = 500
        chunks: list[bytes] = []  # of a JSON body, kept by reference: most bodies are one chunk
        inspect, inspected = False, 0

        async def send_and_note(message: Message) -> None:
            nonlocal status, inspect, inspected
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = message["headers"] = [
                    (name, value) for name, value in message.get("headers", ()) if name.lower() != b"x-request-id"
                ]
                headers.append((b"x-request-id", facts.request_id.encode()))
                content_type = next((value for name, value in headers if name.lower() == b"content-type"), b"")
                inspect = b"json" in content_type  # only JSON bodies hold GraphQL errors
            elif message["type"] == "http.response.body" and inspect:
                chunks.append(message.get("body", b""))
                inspected += len(chunks[-1])
                if inspected > MAX_INSPECTED_BODY:
                    inspect = False
                    chunks.clear()
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            elapsed = time.perf_counter() - started
            codes = error_codes(b"".join(chunks)) if inspect else []
            self._log(scope, facts, status, elapsed, codes)
            if self.metrics is not None:
                self.metrics.observe_request(route_of(scope["path"]), status, elapsed, codes)
            current_request_id.reset(token)

    @staticmethod
    def _log(scope: Scope, facts: RequestFacts, status: int, elapsed: float, codes: list[str]) -> None:
        path = route_of(scope["path"])  # another path may hold anything, a pasted key included
        fields: dict[str, Any] = {
            "request_id": facts.request_id,
            "method": scope["method"],
            "path": path,
            "status": status,
            "duration_ms": round(elapsed * 1000, 1),
            "org_id": facts.org_id,
            "operation_name": facts.operation_name,
            "operation_type": facts.operation_type,
            "error_codes": sorted(set(codes)),
        }
        logger.info("%s %s %d %.1fms", scope["method"], path, status, elapsed * 1000, extra=fields)
