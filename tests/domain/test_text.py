"""clean_text and name_key: the rules of names and labels (trimmed, NFC, 1 to 64, storable, keyed for uniqueness)."""

from __future__ import annotations

import pytest

from gql_telephony.domain.errors import ErrorCode, UserError, UserErrors
from gql_telephony.domain.text import MAX_KEY_LENGTH, check_name_key, clean_text, name_key, text_problem

PATH = ("input", "name")


def name(value: str | None) -> tuple[str | None, list[UserError]]:
    """The clean name and no errors, or no name and the errors clean_text raised."""
    try:
        return clean_text(value, PATH, what="Name", max_length=64, required=True), []
    except UserErrors as refused:
        return None, refused.errors


def name_key_errors(value: str) -> list[UserError]:
    try:
        check_name_key(value, PATH, "Name")
    except UserErrors as refused:
        return refused.errors
    return []


@pytest.mark.parametrize(("given", "kept"), [("Main", "Main"), ("  Main  ", "Main"), ("a", "a"), ("n" * 64, "n" * 64)])
def test_name_trimmed_and_kept(given: str, kept: str) -> None:
    assert name(given) == (kept, [])


@pytest.mark.parametrize("given", [None, "", "   ", "\t\n"])
def test_blank_name_is_required(given: str | None) -> None:
    value, errors = name(given)
    assert value is None
    assert [(e.field, e.code) for e in errors] == [(PATH, ErrorCode.REQUIRED)]


def test_name_too_long_counts_after_trimming() -> None:
    assert name("  " + "n" * 64 + "  ") == ("n" * 64, [])
    value, errors = name("n" * 65)
    assert value is None
    assert [(e.field, e.code) for e in errors] == [(PATH, ErrorCode.TOO_LONG)]
    assert "64" in errors[0].message


def test_optional_text_blank_is_none_without_error() -> None:
    assert clean_text("  ", ("input", "label"), what="Label", max_length=64, required=False) is None


def test_user_errors_one() -> None:
    raised = UserErrors.one(PATH, "Name is taken.", ErrorCode.TAKEN)
    assert [(e.field, e.message, e.code) for e in raised.errors] == [(PATH, "Name is taken.", ErrorCode.TAKEN)]
    assert "Name is taken." not in str(raised)  # the exception text carries no input


# Text that cannot be stored alike on both databases, or that displays as something else.
@pytest.mark.parametrize(("given", "said"), [
    ("Main\ud800", "unpaired surrogate"),
    ("\udfffMain", "unpaired surrogate"),
    ("Ma\x00in", "control characters"),
    ("Ma\x07in", "control characters"),
    ("Ma\nin", "control characters"),
    ("Ma\x7fin", "control characters"),
    ("Ma\x85in", "control characters"),
    ("Main\u202etxt.exe", "bidirectional override"),
    ("Main\u2066x\u2069", "bidirectional override"),
])
def test_unstorable_or_deceptive_text_is_invalid(given: str, said: str) -> None:
    value, errors = name(given)
    assert value is None
    assert [(e.field, e.code) for e in errors] == [(PATH, ErrorCode.INVALID)]
    assert said in errors[0].message
    assert given not in errors[0].message


def test_multiline_values_keep_tabs_and_line_breaks_only() -> None:
    assert text_problem("-----BEGIN\r\n\tKEY\n-----", multiline=True) is None
    assert text_problem("a\x00b", multiline=True) == "must not contain control characters"
    assert text_problem("a\ud800", multiline=True) is not None


@pytest.mark.parametrize("given", ["\u200b", "\u200b\u200b\u200b", " \u200d\ufeff\u2060 ", "\u3164", "\u00ad"])
def test_a_name_of_only_invisible_characters_is_blank(given: str) -> None:
    value, errors = name(given)
    assert value is None
    assert [e.code for e in errors] == [ErrorCode.REQUIRED]


def test_invisible_characters_around_a_name_are_trimmed() -> None:
    assert name("\u200b Main \ufeff") == ("Main", [])


def test_names_are_stored_in_nfc() -> None:
    assert name("Cafe\u0301") == ("Caf\u00e9", [])


def test_length_counts_in_nfc() -> None:
    assert name("e\u0301" * 64) == ("\u00e9" * 64, [])


@pytest.mark.parametrize(("one", "other"), [
    ("Caf\u00e9", "Cafe\u0301"),  # NFC and NFD
    ("Main", "MAIN"),
    ("Main", "\uff2d\uff41\uff49\uff4e"),  # full-width
    ("Main", "Ma\u200bin"),  # a zero-width space inside
    ("Stra\u00dfe", "STRASSE"),  # case folding, not lower()
    ("Main Twilio", "Main \u00a0 Twilio"),  # spaces collapse
    ("\ufb01le", "file"),  # a ligature
])
def test_names_that_read_alike_share_a_key(one: str, other: str) -> None:
    assert name_key(one) == name_key(other)


def test_names_that_differ_keep_different_keys() -> None:
    assert name_key("Main") != name_key("Main 2")
    assert name_key("Caf\u00e9") != name_key("Cafe")


def test_a_key_that_outgrows_its_column_is_too_long() -> None:
    expanding = "\ufdfa" * 15  # 15 characters, 270 once NFKC spells them out
    assert name(expanding) == (expanding, [])
    assert len(name_key(expanding)) > MAX_KEY_LENGTH
    assert [e.code for e in name_key_errors(expanding)] == [ErrorCode.TOO_LONG]
    assert name_key_errors("Main") == []
