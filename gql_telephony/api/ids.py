"""Opaque global ids ("TelephonyConfig:12") and cursors, base64url-encoded."""

from __future__ import annotations

import base64
import binascii

MAX_ID_LENGTH = 100


def encode_id(type_name: str, key: int) -> str:
    return _b64(f"{type_name}:{key}")


def decode_id(global_id: str) -> tuple[str, int] | None:
    """(type name, key), or None for anything that is not an id of ours."""
    text = _unb64(global_id)
    if text is None or ":" not in text:
        return None
    type_name, _, key = text.partition(":")
    if not key.isdigit() or len(key) > 18:
        return None
    return type_name, int(key)


def decode_id_of(type_name: str, global_id: str) -> int | None:
    decoded = decode_id(global_id)
    return decoded[1] if decoded is not None and decoded[0] == type_name else None


def encode_cursor(key: int) -> str:
    return _b64(f"cursor:{key}")


def decode_cursor(cursor: str) -> int | None:
    return decode_id_of("cursor", cursor)


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
