"""Where a WebSocket presents its API key, and the close frame of a socket refused for its key.

The key is read from the first of:

1. the `connection_init` payload's `Authorization` entry (the name in any case);
2. the upgrade request's own `Authorization` header (clients outside a browser can send one).

Its value is `Bearer KEY`, or the bare key: a key starts with gqlt_, so a bare one cannot be
mistaken for another scheme. A payload entry that is there but unusable is refused, not
skipped for the header: the client meant it.

A socket without a usable key is closed with 4401 (Unauthorized) and a reason that says what
to send. Not the 4403 the protocol suggests: graphql-ws, the client of GraphiQL, Apollo and
urql, retries a 4403 five times (about 40 seconds, nothing shown meanwhile) and gives up at once
on a 4401 (seen with graphql-ws 6.4.2 in Node: one attempt and the reason within milliseconds
on 4401; still reconnecting after 12 seconds on 4403). A revoked key's open socket is still
closed with 4403: its reconnection then meets the 4401 here, so the client stops after one retry.
"""

from __future__ import annotations

from ...services.tenancy import KEY_PREFIX
from ..graph.documents import bearer_key

UNAUTHORIZED = 4401
NO_KEY = 'Unauthorized: send {"Authorization": "Bearer <key>"} in the connection_init payload'
NOT_BEARER = 'Unauthorized: the Authorization value must be "Bearer <key>"'
KEY_NOT_VALID = "Unauthorized: this API key is not valid or was revoked"


class KeyNotPresented(Exception):
    """No usable key; the message is the close reason (it never holds what the client sent)."""


def socket_key(params: object, upgrade_authorization: str | None) -> str:
    """The key a WebSocket presents (see the module's docstring), or KeyNotPresented."""
    entries = params if isinstance(params, dict) else {}
    named = [value for name, value in entries.items() if isinstance(name, str) and name.lower() == "authorization"]
    if named:
        return _key_in(named[0])
    if upgrade_authorization is not None:
        return _key_in(upgrade_authorization)
    raise KeyNotPresented(NO_KEY)


def _key_in(value: object) -> str:
    if isinstance(value, str):
        key = bearer_key(value)
        if key is not None:
            return key
        bare = value.strip()
        if bare.startswith(KEY_PREFIX) and not any(c.isspace() for c in bare):
            return bare
    raise KeyNotPresented(NOT_BEARER)
