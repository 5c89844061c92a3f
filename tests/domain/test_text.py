"""clean_text: the configuration name's rule (trimmed, 1 to 64, blank is REQUIRED)."""

from __future__ import annotations

import pytest

from gql_telephony.domain.errors import ErrorCode, UserError, UserErrors
from gql_telephony.domain.text import clean_text

PATH = ("input", "name")


def name(value: str | None) -> tuple[str | None, list[UserError]]:
    return clean_text(value, PATH, what="Name", max_length=64, required=True)


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
    assert clean_text("  ", ("input", "label"), what="Label", max_length=64, required=False) == (None, [])


def test_user_errors_one() -> None:
    raised = UserErrors.one(PATH, "Name is taken.", ErrorCode.TAKEN)
    assert [(e.field, e.message, e.code) for e in raised.errors] == [(PATH, "Name is taken.", ErrorCode.TAKEN)]
    assert "Name is taken." not in str(raised)  # the exception text carries no input
