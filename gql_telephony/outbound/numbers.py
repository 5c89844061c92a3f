"""Numbers as providers spell them, read as E.164."""

from __future__ import annotations

import re
from functools import cache

import phonenumbers
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata, PhoneNumber

# '+', then ASCII digits only: anything else (spaces, punctuation, other scripts' digits, an
# extension) is read by phonenumbers.parse.
_PLAIN_E164 = re.compile(r"\+[1-9][0-9]{3,16}")


def as_e164(raw: str, region: str | None = None) -> str | None:
    """E.164 for a number in international form ('+14155550100', or digits with the country code
    as Vonage and Plivo give them, '14155550100') or, with `region`, in national form
    ('08047112233'); None when it is not a valid number."""
    text = raw.strip()
    if not text:
        return None
    if region is None and not text.startswith("+"):
        text = "+" + text
    if region is None and _PLAIN_E164.fullmatch(text) and _valid_as_written(text):
        return text
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _valid_as_written(text: str) -> bool:
    """Whether `text` ('+' and digits) is a valid number already in E.164, found without
    phonenumbers.parse (most of the cost of reading a provider's thousands of numbers).

    True only where parse would read exactly this country code and national number: the
    country code as parse takes it (the first 1 to 3 digits that are a calling code), a
    national number with no leading zero (parse would keep the zeros apart) that the country's
    national prefix does not begin (parse might strip it). Then is_valid_number is asked about
    the same number parse would have made, and E.164 of that number is `text` itself. False
    sends `text` the long way, which decides; tests/outbound/test_numbers.py compares both."""
    digits = text[1:]
    for length in (1, 2, 3):
        country_code = int(digits[:length])
        if country_code in COUNTRY_CODE_TO_REGION_CODE:
            break
    else:
        return False
    national = digits[length:]
    if len(national) < 2 or national[0] == "0":
        return False
    prefix = _national_prefix(country_code)
    if prefix is None or prefix.match(national):
        return False
    return _is_valid(PhoneNumber(country_code=country_code, national_number=int(national)))


def _is_valid(number: PhoneNumber) -> bool:
    """phonenumbers.is_valid_number, asked once instead of twice where that gives the same
    answer. is_valid_number finds the number's region, for a calling code of several regions
    (+1: the US, Canada, the Caribbean) by trying their patterns in order, then tries that
    region's patterns again. When the first region in that order is found by its patterns (it
    has no leading digits), a number valid for it is what is_valid_number would find and
    validate: valid. Otherwise (another region's number, or none) is_valid_number decides."""
    first = _first_region_by_patterns(number.country_code)
    if first is not None and phonenumbers.is_valid_number_for_region(number, first):
        return True
    return bool(phonenumbers.is_valid_number(number))


@cache
def _first_region_by_patterns(country_code: int) -> str | None:
    """The first of the calling code's several regions, when is_valid_number would recognize a
    number of it by its patterns (not by leading digits); None otherwise."""
    regions = COUNTRY_CODE_TO_REGION_CODE.get(country_code, ())
    if len(regions) < 2:
        return None  # one region: is_valid_number asks its patterns once already
    metadata = PhoneMetadata.metadata_for_region(regions[0], None)
    return regions[0] if metadata is not None and metadata.leading_digits is None else None


@cache
def _national_prefix(country_code: int) -> re.Pattern[str] | None:
    """The pattern of the national prefix parse would try to strip after this country code
    (one that matches nothing when the country has none); None: no metadata, go the long way."""
    region = phonenumbers.region_code_for_country_code(country_code)
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(country_code, region)
    if metadata is None:
        return None
    prefix = metadata.national_prefix_for_parsing
    return re.compile(prefix if prefix else r"(?!)")
