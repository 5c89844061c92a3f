"""Media types over HTTP: which one a response is sent as (from the Accept header, as the
GraphQL-over-HTTP spec asks) and which ones a POST body may be sent in."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache, wraps
from typing import TypeVar

from cross_web import HTTPException

from .media_types import parse_media_type, split_list

JSON = "application/json"
GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
# What a POST body may be (the contract names both): JSON, in UTF-8.
BODY_MEDIA_TYPES = (JSON, GRAPHQL_RESPONSE_JSON)
# Clients send the same few headers request after request: the verdicts on short ones are kept.
HEADERS_REMEMBERED, LONGEST_REMEMBERED = 256, 256

Verdict = TypeVar("Verdict")


def remembered_for_short_headers(decide: Callable[[str | None], Verdict]) -> Callable[[str | None], Verdict]:
    """`decide`, its verdicts on the last HEADERS_REMEMBERED headers of up to LONGEST_REMEMBERED
    characters kept (a longer one is decided each time: what is kept stays small)."""
    remembered = lru_cache(maxsize=HEADERS_REMEMBERED)(decide)

    @wraps(decide)
    def verdict(header: str | None) -> Verdict:
        return decide(header) if header is not None and len(header) > LONGEST_REMEMBERED else remembered(header)

    return verdict


def _accepted(accept: str) -> list[tuple[str, float]]:
    """The media ranges of an Accept header with their q-values (an unreadable q counts as 0,
    an unreadable range is left out)."""
    ranges = []
    for member in split_list(accept):
        media_range = parse_media_type(member)
        if media_range is None:
            continue
        quality = 1.0
        if "q" in media_range.parameters:
            try:
                quality = min(max(float(media_range.parameters["q"]), 0.0), 1.0)
            except ValueError:
                quality = 0.0
        ranges.append((media_range.essence, quality))
    return ranges


@remembered_for_short_headers
def response_media_type(accept: str | None) -> str:
    """application/graphql-response+json when the client names it with a q-value above 0 and
    prefers it at least as much as application/json; application/json otherwise (also for a
    bare */*, as the GraphQL-over-HTTP spec advises for clients that predate the new type)."""
    ranges = _accepted(accept or "")
    named = [quality for media_range, quality in ranges if media_range == GRAPHQL_RESPONSE_JSON]
    if not named or max(named) <= 0:
        return JSON
    json_quality = 0.0
    for candidates in ((JSON,), ("application/*",), ("*/*",)):  # most specific wins
        matching = [quality for media_range, quality in ranges if media_range in candidates]
        if matching:
            json_quality = max(matching)
            break
    return GRAPHQL_RESPONSE_JSON if max(named) >= json_quality else JSON



def check_body_media_type(content_type: str | None) -> None:
    """A POST body must be JSON in UTF-8 (media types read as RFC 9110 writes them). Anything else
    is 400 BAD_REQUEST, as the contract gives for a body that is not JSON (not 415: existing
    clients rely on it)."""
    refusal = _body_media_type_refusal(content_type)
    if refusal is not None:
        raise HTTPException(400, refusal)


@remembered_for_short_headers
def _body_media_type_refusal(content_type: str | None) -> str | None:
    if not content_type:
        return "Send the request body as JSON, with the header Content-Type: application/json."
    media_type = parse_media_type(content_type)
    if media_type is None or media_type.essence not in BODY_MEDIA_TYPES:
        return "The request body must be application/json."
    if media_type.parameters.get("charset", "utf-8").lower() != "utf-8":
        return "The request body must be encoded in UTF-8."
    return None
