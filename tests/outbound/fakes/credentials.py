"""How the fakes read the credentials a request carries."""

from __future__ import annotations

import base64
import binascii

from starlette.requests import Request


def basic_auth(request: Request) -> tuple[str, str] | None:
    """The (user, password) of an `Authorization: Basic` header, or None."""
    header = request.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, colon, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if colon else None


def bearer_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token if scheme.lower() == "bearer" and token else None
