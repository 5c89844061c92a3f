"""Numbers as providers spell them, read as E.164."""

from __future__ import annotations

import phonenumbers


def as_e164(raw: str, region: str | None = None) -> str | None:
    """E.164 for a number in international form ('+14155550100', or digits with the country code
    as Vonage and Plivo give them, '14155550100') or, with `region`, in national form
    ('08047112233'); None when it is not a valid number."""
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
