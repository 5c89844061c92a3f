"""What a webhook endpoint may be: its URL, its events, its description, and how many an
organization keeps. Plain values and functions, no I/O (the URL's host is resolved and judged
by services/webhook_endpoints.py, with domain/addresses.py)."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from .audit import WebhookEventType
from .errors import ErrorCode, UserErrors
from .text import clean_text, text_problem

MAX_URL_LENGTH = 2048
MAX_DESCRIPTION_LENGTH = 500
MAX_ENDPOINTS_PER_ORGANIZATION = 20
# A delivery lists its latest attempts, at most this many (attemptCount counts them all): the
# retries of about a day stay well under it.
MAX_LISTED_ATTEMPTS = 50
MAX_ERROR_LENGTH = 300  # an attempt's error, as the column keeps it
# The largest body the API shows (a payload holds ids and changed field names, never values).
MAX_PAYLOAD_BYTES = 16_384
PING_EVENT = "PING"  # webhook_delivery.event_type of a sendTestWebhook delivery
PING_TYPE = "webhook.test"  # its payload's `type`

URL_PATH = ("input", "url")
EVENTS_PATH = ("input", "events")
DESCRIPTION_PATH = ("input", "description")


class DisabledReason(enum.Enum):
    USER = "USER"  # updateWebhookEndpoint(enabled: false)
    FAILING = "FAILING"  # the delivery worker, after about a day of failed attempts


class DeliveryStatus(enum.Enum):
    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"


@dataclass(frozen=True)
class Target:
    """Where a URL sends: the host to resolve (brackets of an IPv6 literal removed) and the port."""

    host: str
    port: int


def clean_url(value: str) -> tuple[str, Target]:
    """The URL as stored (trimmed) and where it points; UserErrors naming what is wrong. No
    message repeats the URL: a password in its userinfo must not come back in a response."""
    url = value.strip()
    if not url:
        raise _bad_url("The URL is required.", ErrorCode.REQUIRED)
    if len(url) > MAX_URL_LENGTH:
        raise _bad_url(f"The URL must be at most {MAX_URL_LENGTH:,} characters.", ErrorCode.TOO_LONG)
    if text_problem(url) is not None or any(char.isspace() for char in url):
        raise _bad_url("The URL must not contain spaces or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise _bad_url("The URL is malformed (its host or port cannot be read).") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise _bad_url("The URL must be absolute and start with http:// or https://.")
    if "@" in parts.netloc:
        raise _bad_url("The URL must not contain a user name or password.")
    if "#" in url:
        raise _bad_url("The URL must not contain a fragment (#...).")
    host = parts.hostname
    if not host:
        raise _bad_url("The URL must name a host.")
    return url, Target(host, port if port is not None else (443 if parts.scheme.lower() == "https" else 80))


def clean_events(values: Iterable[WebhookEventType]) -> list[str]:
    """The events as stored: duplicates dropped silently, in the enum's order (so the same set
    is always stored, and compared, the same way). At least one."""
    wanted = set(values)
    if not wanted:
        raise UserErrors.one(EVENTS_PATH, "Subscribe to at least one event.", ErrorCode.REQUIRED)
    return [event.value for event in WebhookEventType if event in wanted]


def clean_description(value: str | None) -> str | None:
    """Trimmed text of at most 500 characters; blank or null: none."""
    return clean_text(value, DESCRIPTION_PATH, what="Description", max_length=MAX_DESCRIPTION_LENGTH,
                      required=False)


def stored_events(values: Iterable[str]) -> list[WebhookEventType]:
    """The stored events as enum members (a value this version does not know is left out)."""
    return [WebhookEventType(value) for value in values if value in WebhookEventType.__members__]


def _bad_url(message: str, code: ErrorCode = ErrorCode.INVALID) -> UserErrors:
    return UserErrors.one(URL_PATH, message, code)
