"""The shapes of graphql-transport-ws messages a client may send, checked before Strawberry's
handler reads them (it indexes into whatever arrives and fails with a TypeError otherwise).

The rules are the protocol's (graphql-ws PROTOCOL.md, as its reference server validates them):
a message is an object with a string `type`; `payload` is an object or null where it is
optional; `id` is a non-empty string; a subscribe's payload holds a string `query` and, when
present and not null, an object `variables`, a string `operationName` and an object `extensions`.
"""

from __future__ import annotations

from typing import Any

# A close frame holds 125 bytes: 2 for the code, at most 123 for the reason (RFC 6455 5.5).
MAX_CLOSE_REASON_BYTES = 123
CLIENT_TYPES = frozenset({"connection_init", "ping", "pong", "subscribe", "complete"})
_SUBSCRIBE_FIELDS = (("variables", dict, "an object"), ("operationName", str, "a string"),
                     ("extensions", dict, "an object"))


def fit_close_reason(reason: str) -> str:
    """The reason, cut on a character boundary so that its UTF-8 fits a close frame."""
    encoded = reason.encode("utf-8", "replace")
    if len(encoded) <= MAX_CLOSE_REASON_BYTES:
        return reason
    return encoded[: MAX_CLOSE_REASON_BYTES - 3].decode("utf-8", "ignore") + "..."


def malformed(message: object) -> str | None:
    """Why a client's message breaks the protocol, or None when its shape is right."""
    if not isinstance(message, dict):
        return "A message must be a JSON object."
    kind = message.get("type")
    if not isinstance(kind, str):
        return "A message needs a string `type`."
    if kind not in CLIENT_TYPES:
        return "Unknown message type: " + kind[:40]
    if kind in {"subscribe", "complete"} and not _is_id(message.get("id")):
        return f"A `{kind}` message needs an `id` that is a non-empty string."
    payload = message.get("payload")
    if kind == "subscribe":
        return _subscribe_payload_problem(payload)
    if payload is not None and not isinstance(payload, dict):
        return f"The payload of `{kind}` must be an object or null."
    return None


def _is_id(value: Any) -> bool:
    return isinstance(value, str) and value != ""


def _subscribe_payload_problem(payload: Any) -> str | None:
    if not isinstance(payload, dict):
        return "The payload of `subscribe` must be an object."
    if not isinstance(payload.get("query"), str):
        return "The payload of `subscribe` needs a string `query`."
    for name, expected, described in _SUBSCRIBE_FIELDS:
        value = payload.get(name)
        if value is not None and not isinstance(value, expected):
            return f"`{name}` in the payload of `subscribe` must be {described} or null."
    return None
