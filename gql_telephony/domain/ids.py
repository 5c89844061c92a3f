"""Opaque global ids ("TelephonyConfig:12") and cursors, base64url-encoded."""

from __future__ import annotations

import base64
import binascii
from functools import lru_cache

MAX_ID_LENGTH = 100
# The largest key a row can have (PostgreSQL's integer columns). A larger one names nothing, and
# must never reach the database, which would refuse it as out of range.
MAX_KEY = 2**31 - 1


# Dashboards show the same rows again and again: their ids and cursors are remembered (a few
# MiB at most) rather than encoded anew for every row of every response.
@lru_cache(maxsize=1 << 16)
def encode_id(type_name: str, key: int) -> str:
    return _b64(f"{type_name}:{key}")


def _decode(value: str) -> tuple[str, int] | None:
    text = _unb64(value)
    if text is None or ":" not in text:
        return None
    type_name, _, key = text.partition(":")
    if not key.isascii() or not key.isdigit() or len(key) > 18:
        return None
    return type_name, int(key)


def decode_id(global_id: str) -> tuple[str, int] | None:
    """(type name, key), or None for anything that is not an id of ours (or names no row)."""
    decoded = _decode(global_id)
    return decoded if decoded is not None and decoded[1] <= MAX_KEY else None


def decode_id_of(type_name: str, global_id: str) -> int | None:
    decoded = decode_id(global_id)
    return decoded[1] if decoded is not None and decoded[0] == type_name else None


@lru_cache(maxsize=1 << 16)
def encode_cursor(key: int) -> str:
    return _b64(f"cursor:{key}")


def decode_cursor(cursor: str) -> int | None:
    """The key after which a page starts; past the largest key, no row follows."""
    decoded = _decode(cursor)
    return min(decoded[1], MAX_KEY) if decoded is not None and decoded[0] == "cursor" else None


_URL_SAFE = bytes.maketrans(b"+/", b"-_")


def _b64(text: str) -> str:
    # binascii directly: a dashboard encodes an id and a cursor for every row it shows.
    return binascii.b2a_base64(text.encode(), newline=False).translate(_URL_SAFE).rstrip(b"=").decode()


def _unb64(value: str) -> str | None:
    if not value or len(value) > MAX_ID_LENGTH:
        return None
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
