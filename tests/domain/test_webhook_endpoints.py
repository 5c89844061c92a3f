"""The rules of a webhook endpoint's URL, events and description, as pure functions."""

from __future__ import annotations

import pytest

from gql_telephony.domain.audit import WebhookEventType
from gql_telephony.domain.errors import ErrorCode, UserErrors
from gql_telephony.domain.webhook_endpoints import (
    MAX_URL_LENGTH,
    Target,
    clean_description,
    clean_events,
    clean_url,
    stored_events,
)


@pytest.mark.parametrize(("url", "target"), [
    ("https://hooks.example.com/in", Target("hooks.example.com", 443)),
    ("http://hooks.example.com:8080/a?b=c", Target("hooks.example.com", 8080)),
    ("HTTPS://Hooks.Example.COM", Target("hooks.example.com", 443)),
    ("http://[2606:4700::1111]/x", Target("2606:4700::1111", 80)),
    ("  https://93.184.215.14/hook  ", Target("93.184.215.14", 443)),
])
def test_an_absolute_http_url_is_taken_with_where_it_points(url, target):
    assert clean_url(url) == (url.strip(), target)


@pytest.mark.parametrize(("url", "code", "says"), [
    ("", ErrorCode.REQUIRED, "required"),
    ("   ", ErrorCode.REQUIRED, "required"),
    ("ftp://example.com/x", ErrorCode.INVALID, "http://"),
    ("example.com/hook", ErrorCode.INVALID, "http://"),
    ("/relative/path", ErrorCode.INVALID, "http://"),
    ("https://", ErrorCode.INVALID, "http://"),
    ("https://user:pw@example.com/", ErrorCode.INVALID, "user name or password"),
    ("https://token@example.com/", ErrorCode.INVALID, "user name or password"),
    ("https://example.com/#frag", ErrorCode.INVALID, "fragment"),
    ("https://example.com/a b", ErrorCode.INVALID, "spaces"),
    ("https://example.com/\x00", ErrorCode.INVALID, "control"),
    ("https://example.com:99999/", ErrorCode.INVALID, "malformed"),
    ("https://[::1/", ErrorCode.INVALID, "malformed"),
    ("https://:443/", ErrorCode.INVALID, "host"),
    ("https://example.com/" + "a" * MAX_URL_LENGTH, ErrorCode.TOO_LONG, "2,048"),
])
def test_a_bad_url_is_refused_with_what_is_wrong_and_without_repeating_it(url, code, says):
    with pytest.raises(UserErrors) as refused:
        clean_url(url)
    (error,) = refused.value.errors
    assert (error.field, error.code) == (("input", "url"), code)
    assert says in error.message
    assert "pw" not in error.message and "token" not in error.message


def test_the_longest_url_is_taken():
    url = "https://example.com/" + "a" * (MAX_URL_LENGTH - len("https://example.com/"))
    assert clean_url(url)[0] == url


def test_events_are_deduplicated_silently_and_kept_in_the_enum_order():
    given = [WebhookEventType.WARNINGS_CHANGED, WebhookEventType.TELEPHONY_CONFIG_CREATED,
             WebhookEventType.WARNINGS_CHANGED]
    assert clean_events(given) == ["TELEPHONY_CONFIG_CREATED", "WARNINGS_CHANGED"]


def test_no_event_is_refused():
    with pytest.raises(UserErrors) as refused:
        clean_events([])
    assert [(e.field, e.code) for e in refused.value.errors] == [(("input", "events"), ErrorCode.REQUIRED)]


def test_stored_events_this_version_does_not_know_are_left_out():
    assert stored_events(["PHONE_NUMBER_ADDED", "SOMETHING_NEW"]) == [WebhookEventType.PHONE_NUMBER_ADDED]


def test_a_description_is_cleaned_and_limited():
    assert clean_description("  Billing system \u200b") == "Billing system"
    assert clean_description("   ") is None
    assert clean_description(None) is None
    assert clean_description("x" * 500) == "x" * 500
    with pytest.raises(UserErrors) as refused:
        clean_description("x" * 501)
    assert refused.value.errors[0].code is ErrorCode.TOO_LONG
