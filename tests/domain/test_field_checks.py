"""Checks of single field values: normalized value back, or ValueError."""

from __future__ import annotations

import pytest

from gql_telephony.domain import field_checks as checks

UUID = "0f8fad5b-d9cb-469f-a165-70867728950e"


# --- Twilio Account SID: AC + 32 hex digits -------------------------------------------------

@pytest.mark.parametrize("sid", ["AC" + "0" * 32, "AC" + "0123456789abcdef" * 2, "AC" + "ABCDEF0123456789" * 2])
def test_twilio_sid_accepted(sid: str) -> None:
    assert checks.twilio_account_sid(sid) == sid


@pytest.mark.parametrize(
    "sid",
    [
        "AC" + "0" * 31,            # one digit short
        "AC" + "0" * 33,            # one too many
        "ac" + "0" * 32,            # the prefix is AC
        "SK" + "0" * 32,            # an API key SID, not an account
        "AC" + "g" * 32,            # not hex
        "0" * 34,
        "AC" + "0" * 32 + "\n",     # no trailing newline sneaks through
        "AC" + "٠" * 32,            # Arabic-Indic zeros are not hex digits
        "",
    ],
)
def test_twilio_sid_refused(sid: str) -> None:
    with pytest.raises(ValueError, match="AC followed by 32 hexadecimal digits"):
        checks.twilio_account_sid(sid)


def test_hex32() -> None:
    assert checks.hex32("f" * 32) == "f" * 32
    for bad in ["f" * 31, "f" * 33, "x" * 32, "f" * 32 + "\n"]:
        with pytest.raises(ValueError):
            checks.hex32(bad)


# --- UUIDs ------------------------------------------------------------------------------

def test_uuid_accepted_and_lower_cased() -> None:
    assert checks.uuid_text(UUID) == UUID
    assert checks.uuid_text(UUID.upper()) == UUID
    assert checks.uuid_text(f"  {UUID} ") == UUID


@pytest.mark.parametrize(
    "value",
    [
        "not-a-uuid",
        UUID[:-1],
        UUID + "0",
        UUID.replace("-", ""),          # not the canonical form
        "{" + UUID + "}",
        "urn:uuid:" + UUID,
        "0-f8fad5bd9cb469fa16570867728950e",
        UUID.replace("f", "g", 1),
        UUID + "\n" + "x",
        "",
    ],
)
def test_uuid_refused(value: str) -> None:
    with pytest.raises(ValueError, match="UUID"):
        checks.uuid_text(value)


# --- http(s) URL --------------------------------------------------------------------------

@pytest.mark.parametrize(
    "url",
    [
        "https://pbx.example.com:8089",
        "http://pbx.example.com:8088/ari",
        "http://localhost:8088",
        "http://10.0.0.5:8088",
        "http://[::1]:8088",
        "HTTPS://PBX.example.com",
    ],
)
def test_http_url_accepted_as_given(url: str) -> None:
    assert checks.http_url(url) == url


def test_http_url_is_trimmed() -> None:
    assert checks.http_url("  https://pbx.example.com  ") == "https://pbx.example.com"


@pytest.mark.parametrize(
    "url",
    [
        "pbx.example.com",
        "ftp://pbx.example.com",
        "ws://pbx.example.com",
        "https://",
        "http:///path",
        "http://pbx.example.com:99999",
        "http://pbx.example.com:port",
        "http://exa mple.com",
        "http://exa\nmple.com/",          # urlsplit would drop the newline silently
        "http://pbx.example.com/a\tb",
        "http://a..b",
        "http://user:secret@pbx.example.com",  # a credential in a field shown in clear
        "",
    ],
)
def test_http_url_refused(url: str) -> None:
    with pytest.raises(ValueError):
        checks.http_url(url)


def test_http_url_error_never_repeats_the_value() -> None:
    with pytest.raises(ValueError) as caught:
        checks.http_url("http://admin:hunter2-secret@pbx.example.com")
    assert "hunter2" not in str(caught.value)


# --- host names -----------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("example.com", "example.com"),
        ("Example.COM", "example.com"),
        ("example.com.", "example.com"),
        ("  a-b.example.com  ", "a-b.example.com"),
        ("localhost", "localhost"),
    ],
)
def test_host_name_normalized(given: str, stored: str) -> None:
    assert checks.host_name(given) == stored


@pytest.mark.parametrize(
    "value",
    ["", ".", "exa mple.com", "exa\n.com", "-a.com", "a-.com", "a..b", "a_b.com", "a" * 64 + ".com",
     ".".join(["a" * 60] * 5), "https://example.com", "example.com/path", "éxample.com", "\u0130x.com"],
)
def test_host_name_refused(value: str) -> None:
    with pytest.raises(ValueError, match="host name"):
        checks.host_name(value)


# --- SignalWire space_url: host name, https:// prefix removed --------------------------------

@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("example.signalwire.com", "example.signalwire.com"),
        ("https://example.signalwire.com", "example.signalwire.com"),
        ("https://Example.signalwire.com/", "example.signalwire.com"),
        ("HTTPS://EXAMPLE.SIGNALWIRE.COM", "example.signalwire.com"),
        (" https://example.signalwire.com. ", "example.signalwire.com"),
    ],
)
def test_signalwire_space(given: str, stored: str) -> None:
    assert checks.signalwire_space(given) == stored


@pytest.mark.parametrize(
    "value",
    ["", "https://", "https://example.signalwire.com/path", "https://example.signalwire.com:443",
     "ftp://example.signalwire.com", "example signalwire.com"],
)
def test_signalwire_space_refused(value: str) -> None:
    with pytest.raises(ValueError):
        checks.signalwire_space(value)


# --- Cloudonix domain_id: host name, .cloudonix.net added when it has no dot -----------------

@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("Acme", "acme.cloudonix.net"),
        ("acme.", "acme.cloudonix.net"),
        ("acme.cloudonix.net", "acme.cloudonix.net"),
        ("ACME.Cloudonix.NET.", "acme.cloudonix.net"),
        ("voice.acme.com", "voice.acme.com"),
    ],
)
def test_cloudonix_domain(given: str, stored: str) -> None:
    assert checks.cloudonix_domain(given) == stored


@pytest.mark.parametrize("value", ["", "ac me", "acme_1", "https://acme.cloudonix.net", "-acme"])
def test_cloudonix_domain_refused(value: str) -> None:
    with pytest.raises(ValueError):
        checks.cloudonix_domain(value)


def test_pem_private_key() -> None:
    pem = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----"
    assert checks.pem_private_key(pem) == pem
    assert checks.pem_private_key(pem.replace("PRIVATE", "RSA PRIVATE")).startswith("-----BEGIN RSA")
    with pytest.raises(ValueError):
        checks.pem_private_key("MIIEvQIBADANBgkqhkiG9w0BAQEFAASC")
