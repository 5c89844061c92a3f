"""Normalization of phone numbers and SIP URIs, and labels."""

from __future__ import annotations

import pytest

from gql_telephony.domain.errors import ErrorCode, UserError, UserErrors
from gql_telephony.domain.phone_numbers import MAX_LABEL_LENGTH, clean_label, normalize_number
from gql_telephony.domain.providers import PROVIDERS, Connectivity, ProviderKey

API, SIP = Connectivity.API, Connectivity.SIP
NUMBER = ("input", "phoneNumber")
REGION = ("input", "region")


def refused(raw: str, *, region: str | None = None, connectivity: Connectivity = API) -> UserError:
    with pytest.raises(UserErrors) as caught:
        normalize_number(raw, region=region, connectivity=connectivity)
    assert len(caught.value.errors) == 1
    return caught.value.errors[0]


# --- E.164 ------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "raw",
    ["+14155550100", "+1 (415) 555-0100", "+1 415-555-0100", "+1.415.555.0100", " +1 415 555 0100 ", "tel:+14155550100"],
)
@pytest.mark.parametrize("connectivity", [API, SIP])
def test_written_forms_of_one_number_normalize_to_the_same_e164(raw: str, connectivity: Connectivity) -> None:
    assert normalize_number(raw, region=None, connectivity=connectivity) == "+14155550100"


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        ("(415) 555-0100", "US", "+14155550100"),
        ("1 415 555 0100", "US", "+14155550100"),
        ("020 7946 0018", "GB", "+442079460018"),
        ("020 7946 0018", "gb", "+442079460018"),       # region in any case
        ("020 7946 0018", " GB ", "+442079460018"),
        ("01 23 45 67 89", "FR", "+33123456789"),
        ("+14155550100", "GB", "+14155550100"),          # a +country code wins over region
    ],
)
def test_region_for_numbers_without_country_code(raw: str, region: str, e164: str) -> None:
    assert normalize_number(raw, region=region, connectivity=API) == e164


@pytest.mark.parametrize("region", [None, "", "   "])
def test_national_number_without_region_is_invalid(region: str | None) -> None:
    error = refused("(415) 555-0100", region=region)
    assert (error.field, error.code) == (NUMBER, ErrorCode.INVALID)
    assert "region" in error.message  # tells how to fix it


@pytest.mark.parametrize("region", ["XX", "GBR", "UK", "001", "1", "G"])
def test_bad_region_is_invalid_at_region(region: str) -> None:
    error = refused("020 7946 0018", region=region)
    assert (error.field, error.code) == (REGION, ErrorCode.INVALID)


@pytest.mark.parametrize(
    "raw",
    [
        "+1 415 555",            # too short
        "+44 20 7946 001",       # too short for GB
        "+1 415 555 01000",      # too long
        "+999 123456",           # no such country code
        "+1 011 555 0100",       # US area codes do not start with 0
        "hello",
        "+",
    ],
)
@pytest.mark.parametrize("connectivity", [API, SIP])
def test_invalid_numbers(raw: str, connectivity: Connectivity) -> None:
    error = refused(raw, connectivity=connectivity)
    assert (error.field, error.code) == (NUMBER, ErrorCode.INVALID)


def test_a_number_valid_in_the_region_but_not_elsewhere() -> None:
    assert normalize_number("020 7946 0018", region="GB", connectivity=API) == "+442079460018"
    assert refused("020 7946 0018", region="US").code is ErrorCode.INVALID


@pytest.mark.parametrize("raw", ["", "   ", "\n"])
def test_empty_number_is_required(raw: str) -> None:
    error = refused(raw)
    assert (error.field, error.code) == (NUMBER, ErrorCode.REQUIRED)


def test_absurdly_long_input_is_too_long() -> None:
    error = refused("+1" + "5" * 300)
    assert (error.field, error.code) == (NUMBER, ErrorCode.TOO_LONG)


# --- SIP URIs -----------------------------------------------------------------------------------

@pytest.mark.parametrize("key", [ProviderKey.CLOUDONIX, ProviderKey.ARI])
def test_sip_uri_accepted_on_sip_providers(key: ProviderKey) -> None:
    connectivity = PROVIDERS[key].connectivity
    assert normalize_number("sip:alice@example.com", region=None, connectivity=connectivity) == "sip:alice@example.com"


@pytest.mark.parametrize("key", [k for k in ProviderKey if k not in (ProviderKey.CLOUDONIX, ProviderKey.ARI)])
@pytest.mark.parametrize("raw", ["sip:alice@example.com", "SIP:alice@example.com"])
def test_sip_uri_refused_on_api_providers(key: ProviderKey, raw: str) -> None:
    error = refused(raw, connectivity=PROVIDERS[key].connectivity)
    assert (error.field, error.code) == (NUMBER, ErrorCode.INVALID)


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("SIP:Alice@Example.COM", "sip:Alice@example.com"),        # scheme and host lower, user as given
        ("sip:Alice.Smith@PBX.Example.com", "sip:Alice.Smith@pbx.example.com"),
        ("sip:+14155550100@Example.com", "sip:+14155550100@example.com"),  # user not reformatted
        ("sip:alice@example.com.", "sip:alice@example.com"),
        ("sip:alice@example.com:5060", "sip:alice@example.com:5060"),
        ("sip:alice@example.com:05060", "sip:alice@example.com:5060"),
        ("sip:alice@10.0.0.5", "sip:alice@10.0.0.5"),
        ("sip:alice@[2001:DB8::1]:5060", "sip:alice@[2001:db8::1]:5060"),
        ("  sip:alice@example.com  ", "sip:alice@example.com"),
        ("sip:a%20b@example.com", "sip:a%20b@example.com"),
    ],
)
def test_sip_uri_normalization(raw: str, stored: str) -> None:
    assert normalize_number(raw, region=None, connectivity=SIP) == stored


def test_two_spellings_of_one_sip_uri_are_the_same_but_user_case_matters() -> None:
    def norm(raw: str) -> str:
        return normalize_number(raw, region=None, connectivity=SIP)
    assert norm("SIP:Alice@EXAMPLE.com") == norm("sip:Alice@example.com")
    assert norm("sip:Alice@example.com") != norm("sip:alice@example.com")


@pytest.mark.parametrize(
    "raw",
    [
        "sip:",
        "sip:alice",
        "sip:alice@",
        "sip:@example.com",
        "sip:al ice@example.com",
        "sip:alice@exa mple.com",
        "sip:alice@example..com",
        "sip:alice@-example.com",
        "sip:alice@.example.com",
        "sip:alice@...",
        "sip:alice@example.com:0",
        "sip:alice@example.com:70000",
        "sip:alice@example.com:",
        "sip:alice:password@example.com",
        "sip:alice@example.com;transport=tls",
        "sip:alice@bob@example.com",
        "sip:alice@\u0130x.com",          # a non-ASCII letter must not slip through IGNORECASE
        "sip:alice@exampl\u212a.com",     # KELVIN SIGN lower-cases to k
        "sips:alice@example.com",
        "sip:alice@example.com:\u0665\u0660\u0666\u0660",  # Arabic-Indic digits are not a port
    ],
)
def test_malformed_sip_uris_are_invalid(raw: str) -> None:
    error = refused(raw, connectivity=SIP)
    assert (error.field, error.code) == (NUMBER, ErrorCode.INVALID)


# --- labels -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("given", "kept"), [(None, None), ("", None), ("   ", None), (" Main line ", "Main line")])
def test_label_trimmed_and_blank_is_none(given: str | None, kept: str | None) -> None:
    assert clean_label(given) == kept


def test_label_at_most_64_characters() -> None:
    assert MAX_LABEL_LENGTH == 64
    assert clean_label("x" * 64) == "x" * 64
    assert clean_label("  " + "x" * 64 + "  ") == "x" * 64
    with pytest.raises(UserErrors) as caught:
        clean_label("x" * 65)
    [error] = caught.value.errors
    assert (error.field, error.code) == (("input", "label"), ErrorCode.TOO_LONG)


def test_label_error_carries_the_given_path() -> None:
    with pytest.raises(UserErrors) as caught:
        clean_label("y" * 65, ("input", "phoneNumbers", "0", "label"))
    assert caught.value.errors[0].field == ("input", "phoneNumbers", "0", "label")


def test_a_number_with_an_extension_is_refused_not_truncated():
    with pytest.raises(UserErrors) as refused:
        normalize_number("+1 415 555 0100 ext. 12", region=None, connectivity=Connectivity.API)
    [error] = refused.value.errors
    assert error.code.value == "INVALID" and error.field == ("input", "phoneNumber")


@pytest.mark.parametrize("bad", ["\ud800", "\x00", "\x07", "\u202e"])
def test_label_follows_the_text_rules_of_names(bad: str) -> None:
    with pytest.raises(UserErrors) as caught:
        clean_label(f"Desk{bad}")
    assert [(e.field, e.code) for e in caught.value.errors] == [(("input", "label"), ErrorCode.INVALID)]
    assert clean_label("\u200b\u200b") is None
    assert clean_label("Cafe\u0301") == "Caf\u00e9"
