"""Checks of single provider field values: each returns the normalized value or raises ValueError."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from urllib.parse import urlsplit

FieldCheck = Callable[[str], str]


class CheckFailed(ValueError):
    """A value failed a check. Its message is ours and never quotes the value."""

# fullmatch and re.ASCII throughout: `$` would let a trailing newline through, and
# IGNORECASE without ASCII would let non-ASCII letters (U+0130, U+212A) pass as a-z.
_HOST_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)", re.ASCII)
_URL_HOST = re.compile(r"[a-z0-9._-]+", re.ASCII)
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.ASCII | re.IGNORECASE)


def host_name(value: str) -> str:
    host = value.strip().lower().rstrip(".")
    labels = host.split(".")
    if len(host) > 253 or not all(_HOST_LABEL.fullmatch(label) for label in labels):
        raise CheckFailed("must be a host name such as example.com")
    return host


def uuid_text(value: str) -> str:
    """The canonical 8-4-4-4-12 form only (no braces, urn: or stray hyphens), in lower case."""
    text = value.strip()
    if not _UUID.fullmatch(text):
        raise CheckFailed("must be a UUID such as 0f8fad5b-d9cb-469f-a165-70867728950e")
    return text.lower()


def http_url(value: str) -> str:
    text = value.strip()
    # urlsplit silently drops tabs and newlines, so a URL holding them would pass unseen.
    if any(ch.isspace() or not ch.isprintable() for ch in text):
        raise CheckFailed("must be an http:// or https:// URL without spaces")
    try:
        parts = urlsplit(text)
    except ValueError:  # its message quotes the input, which may hold a password
        raise CheckFailed("must be an http:// or https:// URL") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or not _url_host(parts.hostname):
        raise CheckFailed("must be an http:// or https:// URL")
    if parts.username is not None or parts.password is not None:
        # A non-secret field is shown in clear: credentials belong in the secret field.
        raise CheckFailed("must not hold a user name or password")
    try:
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        raise CheckFailed("must be an http:// or https:// URL with a valid port") from None
    return text


def _url_host(host: str) -> bool:
    if _URL_HOST.fullmatch(host) and ".." not in host:
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def twilio_account_sid(value: str) -> str:
    if not re.fullmatch(r"AC[0-9a-fA-F]{32}", value, re.ASCII):
        raise CheckFailed("must be AC followed by 32 hexadecimal digits")
    return value


def hex32(value: str) -> str:
    if not re.fullmatch(r"[0-9a-fA-F]{32}", value, re.ASCII):
        raise CheckFailed("must be 32 hexadecimal digits")
    return value


def pem_private_key(value: str) -> str:
    if not re.search(r"-----BEGIN [A-Z ]*PRIVATE KEY-----", value):
        raise CheckFailed("must be a PEM private key (-----BEGIN PRIVATE KEY-----)")
    return value


def signalwire_space(value: str) -> str:
    host = re.sub(r"^https://", "", value.strip(), flags=re.IGNORECASE).rstrip("/")
    return host_name(host)


def cloudonix_domain(value: str) -> str:
    host = host_name(value)
    return host if "." in host else host_name(f"{host}.cloudonix.net")  # still at most 253


EXOTEL_API_HOSTS = ("api.exotel.com", "api.in.exotel.com")


def exotel_api_host(value: str) -> str:
    host = re.sub(r"^https://", "", value.strip(), flags=re.IGNORECASE).rstrip("/").lower()
    if host not in EXOTEL_API_HOSTS:
        raise CheckFailed("must be api.exotel.com or api.in.exotel.com")
    return host
