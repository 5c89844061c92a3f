"""Checks of single provider field values: each returns the normalized value or raises ValueError."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from urllib.parse import urlsplit

FieldCheck = Callable[[str], str]

_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def host_name(value: str) -> str:
    host = value.strip().lower().rstrip(".")
    labels = host.split(".")
    if len(host) > 253 or not all(_HOST_LABEL.match(label) for label in labels):
        raise ValueError("must be a host name such as example.com")
    return host


def uuid_text(value: str) -> str:
    try:
        return str(uuid.UUID(value.strip()))
    except ValueError:
        raise ValueError("must be a UUID such as 0f8fad5b-d9cb-469f-a165-70867728950e") from None


def http_url(value: str) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL")
    try:
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        raise ValueError("must be an http:// or https:// URL with a valid port") from None
    return value.strip()


def twilio_account_sid(value: str) -> str:
    if not re.fullmatch(r"AC[0-9a-fA-F]{32}", value):
        raise ValueError("must be AC followed by 32 hexadecimal digits")
    return value


def hex32(value: str) -> str:
    if not re.fullmatch(r"[0-9a-fA-F]{32}", value):
        raise ValueError("must be 32 hexadecimal digits")
    return value


def pem_private_key(value: str) -> str:
    if not re.search(r"-----BEGIN [A-Z ]*PRIVATE KEY-----", value):
        raise ValueError("must be a PEM private key (-----BEGIN PRIVATE KEY-----)")
    return value


def signalwire_space(value: str) -> str:
    host = re.sub(r"^https://", "", value.strip(), flags=re.IGNORECASE).rstrip("/")
    return host_name(host)


def cloudonix_domain(value: str) -> str:
    host = host_name(value)
    return host if "." in host else f"{host}.cloudonix.net"
