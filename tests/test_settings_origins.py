"""GQL_TELEPHONY_ALLOWED_ORIGINS: each entry kept as a browser writes its Origin header (CORS
compares the two as text), and an entry that is not an origin refused by its position, without
repeating it (it could hold a password)."""

from __future__ import annotations

import pytest

from gql_telephony.settings import Settings, SettingsError

VARIABLE = "GQL_TELEPHONY_ALLOWED_ORIGINS"


def origins(value: str) -> tuple[str, ...]:
    return Settings.from_env({VARIABLE: value}).allowed_origins


@pytest.mark.parametrize(("value", "expected"), [
    ("", ()),
    (" , ", ()),
    ("https://dash.example.com", ("https://dash.example.com",)),
    ("https://dash.example.com/", ("https://dash.example.com",)),  # the trailing slash a browser never sends
    ("HTTPS://Dash.Example.COM", ("https://dash.example.com",)),
    ("https://dash.example.com:443,http://localhost:80", ("https://dash.example.com", "http://localhost")),
    ("http://localhost:3000/ , https://dash.example.com:8443", ("http://localhost:3000", "https://dash.example.com:8443")),
    ("http://[::1]:3000,http://127.0.0.1:3000", ("http://[::1]:3000", "http://127.0.0.1:3000")),
    ("https://a.example.com,https://A.example.com/", ("https://a.example.com",)),  # once
])
def test_origins_are_written_as_browsers_send_them(value: str, expected: tuple[str, ...]):
    assert origins(value) == expected


@pytest.mark.parametrize(("entry", "why"), [
    ("*", "'*' is not accepted"),
    ("dash.example.com", "must start with http:// or https://"),
    ("//dash.example.com", "must start with http:// or https://"),
    ("ftp://dash.example.com", "must start with http:// or https://"),
    ("null", "must start with http:// or https://"),
    ("https://dash.example.com/app", "a path, a query or a fragment"),
    ("https://dash.example.com//", "a path, a query or a fragment"),
    ("https://dash.example.com?x=1", "a path, a query or a fragment"),
    ("https://dash.example.com#top", "a path, a query or a fragment"),
    ("https://dash.example.com?", "a path, a query or a fragment"),
    ("https://", "no host"),
    ("https://dash.example.com:", "an empty port"),
    ("https://dash.example.com:99999", "host or port cannot be read"),
    ("https://dash.exämple.com", "non-ASCII"),
])
def test_an_entry_that_is_not_an_origin_is_refused_by_position(entry: str, why: str):
    with pytest.raises(SettingsError) as refused:
        origins(f"https://ok.example.com, {entry}")
    message = str(refused.value)
    assert message.startswith(f"{VARIABLE}: entry 2 is not an origin (") and why in message
    assert "scheme://host[:port]" in message


def test_a_user_and_password_are_refused_and_never_repeated():
    with pytest.raises(SettingsError) as refused:
        origins("https://admin:s3cret-pass@dash.example.com")
    message = str(refused.value)
    assert "entry 1" in message and "user name or password" in message
    assert "s3cret-pass" not in message and "admin" not in message
