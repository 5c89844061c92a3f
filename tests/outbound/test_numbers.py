"""as_e164's shortcut for numbers already written in E.164 against phonenumbers' whole reading:
the same answer for every input, tricky ones first."""

from __future__ import annotations

import random

import phonenumbers
import pytest
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneNumberType

from gql_telephony.outbound import numbers
from gql_telephony.outbound.numbers import as_e164


def the_long_way(raw: str, region: str | None = None) -> str | None:
    """What as_e164 answered before the shortcut: parse, is_valid_number, format."""
    text = raw.strip()
    if not text:
        return None
    if region is None and not text.startswith("+"):
        text = "+" + text
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def examples() -> list[str]:
    """Every region's example numbers of every type, in E.164."""
    found = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in PhoneNumberType.values():
            example = phonenumbers.example_number_for_type(region, kind)
            if example is not None:
                found.append(phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164))
    for code in phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS:
        example = phonenumbers.example_number_for_non_geo_entity(code)
        if example is not None:
            found.append(phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164))
    return sorted(set(found))


def variants(number: str) -> list[str]:
    """A valid number written the ways a provider might, right and wrong: with a national prefix
    or zeros after the country code, with a digit more or less, digits changed, without '+'."""
    digits = number[1:]
    found = [number, digits, number[:-1], number + "0", number + "9", number[:-2] + "00"]
    for length in (1, 2, 3):
        code, national = digits[:length], digits[length:]
        if int(code) in COUNTRY_CODE_TO_REGION_CODE:
            for inserted in ("0", "00", "1", "8", "9", "06", "0" + code):
                found.append(f"+{code}{inserted}{national}")
            found.append(f"+{code}{national[1:]}")
            found.append(f"+{code}{code}{national}")
    return found


TRICKY = [
    "+14155550100", "+1 415 555 0100", "+1-415-555-0100", "+1(415)5550100", "+114155550100",
    "+1415555010", "+141555501000", "+12125550100", "+13322000000", "+15005550006",
    "+442071838750", "+4402071838750", "+44 20 7183 8750", "+447911123456", "+4407911123456",
    "+390612345678", "+39 06 1234 5678", "+393123456789", "+3906", "+39061",
    "+79123456789", "+789123456789", "+78001234567", "+88123", "+80012345678", "+87012345678",
    "+882123456789", "+8613812345678", "+86013812345678", "+886912345678", "+2250123456789",
    "+225 01 23 45 67 89", "+5491123456789", "+541123456789", "+52155123456789", "+525512345678",
    "+4930123456", "+49030123456", "+3758101467797", "+375298101467", "+33123456789", "+330123456789", "+61412345678", "+610412345678",
    "+1", "+12", "+123", "+1234", "+0123456789", "+00441234567890", "+", "", "   ", "+abc",
    "+1415555010x", "+14155550100;ext=12", "+14155550100 ext. 12", "+14155550100#",
    "\u2007+14155550100\u2007", "+\uff11\uff14\uff11\uff15\uff15\uff15\uff15\uff10\uff11\uff10\uff10",
    "+1\uff14\uff11\uff15\uff15\uff15\uff15\uff10\uff11\uff10\uff10", "+1415555\u0660\u0661\u0660\u0660",
    "+\u0661\u0664\u0661\u0665\u0665\u0665\u0665\u0660\u0661\u0660\u0660",
    "14155550100", "4155550100", "+1" + "2" * 16, "+1" + "2" * 17, "+9" * 9, "+999999999999",
    "tel:+14155550100", "+1 (415) 555-0100, +1 (415) 555-0101", "++14155550100", "+ 14155550100",
]


@pytest.mark.parametrize("raw", TRICKY)
def test_tricky_inputs_read_as_the_long_way_reads_them(raw: str) -> None:
    assert as_e164(raw) == the_long_way(raw)


def test_every_example_number_and_its_variants_read_as_the_long_way_reads_them() -> None:
    inputs = [variant for number in examples() for variant in variants(number)]
    assert len(inputs) > 5_000
    differ = [(raw, as_e164(raw), the_long_way(raw)) for raw in inputs if as_e164(raw) != the_long_way(raw)]
    assert differ == []


def test_random_digit_strings_read_as_the_long_way_reads_them() -> None:
    draw = random.Random(16)
    inputs = ["+" + "".join(draw.choice("0123456789") for _ in range(draw.randint(3, 18))) for _ in range(20_000)]
    # Plausible ones too: a real country code, then digits.
    codes = sorted(COUNTRY_CODE_TO_REGION_CODE)
    inputs += [f"+{draw.choice(codes)}" + "".join(draw.choice("0123456789") for _ in range(draw.randint(2, 14)))
               for _ in range(20_000)]
    differ = [(raw, as_e164(raw), the_long_way(raw)) for raw in inputs if as_e164(raw) != the_long_way(raw)]
    assert differ == []


def test_with_a_region_the_long_way_is_taken() -> None:
    assert as_e164("08047112233", "IN") == the_long_way("08047112233", "IN") == "+918047112233"
    assert as_e164("+918047112233", "IN") == "+918047112233"


def test_the_shortcut_answers_a_plain_e164_number_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    """The common case must not go through parse (the point of the shortcut)."""

    def no_parse(*_: object, **__: object) -> None:
        raise AssertionError("parsed")

    monkeypatch.setattr(numbers.phonenumbers, "parse", no_parse)
    monkeypatch.setattr(numbers.phonenumbers, "is_valid_number", no_parse)  # a US number: asked for the US once
    assert as_e164("+13322000000") == "+13322000000"
    assert as_e164("+442071838750") == "+442071838750"
    assert as_e164("13322000000") == "+13322000000"
