"""The one media-type parser of Content-Type and Accept (RFC 9110 section 8.3.1), directly."""

from __future__ import annotations

import cross_web
import pytest

from gql_telephony.api.http.media_types import MediaType, parse_media_type, split_list
from gql_telephony.api.http.negotiation import LONGEST_REMEMBERED, check_body_media_type, response_media_type


@pytest.mark.parametrize(("text", "parsed"), [
    ("application/json", MediaType("application", "json")),
    ("APPLICATION/JSON", MediaType("application", "json")),
    (" application/json ; Charset=UTF-8", MediaType("application", "json", {"charset": "UTF-8"})),
    ('application/json;charset="utf\\-8"', MediaType("application", "json", {"charset": "utf-8"})),
    ("application/json;", MediaType("application", "json")),
    ("application/json; a=1; a=2", MediaType("application", "json", {"a": "1"})),
    ("*/*;q=0.5", MediaType("*", "*", {"q": "0.5"})),
])
def test_media_types_parse(text: str, parsed: MediaType) -> None:
    assert parse_media_type(text) == parsed


@pytest.mark.parametrize("text", [
    "", "application", "application/", "/json", "application/json/x", "application /json", "application/json x",
    "application/json; charset", "application/json; charset=", 'application/json; a="unclosed', "appli\u00e7ation/json",
])
def test_what_is_not_a_media_type(text: str) -> None:
    assert parse_media_type(text) is None


def test_lists_split_outside_quotes_only() -> None:
    assert split_list('a/b;x="1,2", c/d,, ') == ['a/b;x="1,2"', " c/d"]


@pytest.mark.parametrize(("accept", "chosen"), [
    ("APPLICATION/GRAPHQL-RESPONSE+JSON", "application/graphql-response+json"),
    ('application/graphql-response+json;x="a,b";q=0.9, application/json;q=0.8', "application/graphql-response+json"),
    ("application/graphql-response+jsonx", "application/json"),
    ("application/graphql-response+json;q=0", "application/json"),
])
def test_accept_uses_the_same_parser(accept: str, chosen: str) -> None:
    assert response_media_type(accept) == chosen



def test_headers_too_long_to_be_remembered_get_the_same_verdicts() -> None:
    """Verdicts on short headers are remembered; a longer one is decided each time, the same way."""
    padding = ", ".join(f"text/x-{index};q=0.1" for index in range(40))
    assert len(padding) > LONGEST_REMEMBERED
    for _ in range(2):  # the second time, a short header's verdict comes from memory
        assert response_media_type(f"{padding}, application/graphql-response+json") == "application/graphql-response+json"
        assert response_media_type(f"{padding}, application/json") == "application/json"
        assert response_media_type("application/graphql-response+json") == "application/graphql-response+json"
        check_body_media_type("application/json; " + "; ".join(f"x{index}=1" for index in range(60)))
        check_body_media_type("application/json")
        for refused in ("text/plain; " + "x" * LONGEST_REMEMBERED + "=1", "application/json; charset=latin-1"):
            with pytest.raises(cross_web.HTTPException):
                check_body_media_type(refused)
