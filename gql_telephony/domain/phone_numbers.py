"""Normalization of the numbers (and SIP URIs) that serve as caller IDs."""

from __future__ import annotations

import re

import phonenumbers

from .errors import ErrorCode, UserErrors
from .providers import Connectivity
from .text import clean_text

MAX_INPUT_LENGTH = 256
MAX_LABEL_LENGTH = 64
NUMBER_PATH = ("input", "phoneNumber")
REGION_PATH = ("input", "region")

_SIP_URI = re.compile(
    r"^sip:(?P<user>[^@\s]+)@(?P<host>[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::(?P<port>\d{1,5}))?$",
    re.IGNORECASE | re.ASCII,
)
_SIP_USER = re.compile(r"^[A-Za-z0-9\-_.!~*'()&=+$,;?/%]+$", re.ASCII)


def normalize_number(raw: str, *, region: str | None, connectivity: Connectivity) -> str:
    """E.164 for a valid number; on a SIP provider a sip:user@host URI is accepted too."""
    value = raw.strip()
    if not value:
        raise UserErrors.one(NUMBER_PATH, "Phone number is required.", ErrorCode.REQUIRED)
    if len(value) > MAX_INPUT_LENGTH:
        raise UserErrors.one(
            NUMBER_PATH, f"Phone number must be at most {MAX_INPUT_LENGTH} characters.", ErrorCode.TOO_LONG
        )
    if value[:4].lower() == "sip:":
        if connectivity is not Connectivity.SIP:
            raise UserErrors.one(
                NUMBER_PATH, "SIP URIs are accepted only on SIP providers; give an E.164 number.", ErrorCode.INVALID
            )
        return _normalize_sip_uri(value)
    region_code = _check_region(region)
    try:
        parsed = phonenumbers.parse(value, region_code)
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is None or not phonenumbers.is_valid_number(parsed):
        hint = "" if region_code or value.startswith("+") else " Start it with + and the country code, or give region."
        raise UserErrors.one(NUMBER_PATH, "Phone number is not a valid number." + hint, ErrorCode.INVALID)
    if parsed.extension:
        # E.164 has no extension: keeping it would silently make a different caller ID.
        raise UserErrors.one(NUMBER_PATH, "A caller ID cannot have an extension.", ErrorCode.INVALID)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _check_region(region: str | None) -> str | None:
    if region is None or not region.strip():
        return None
    code = region.strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise UserErrors.one(REGION_PATH, "Region must be an ISO 3166 region code such as US or GB.", ErrorCode.INVALID)
    return code


def _normalize_sip_uri(value: str) -> str:
    match = _SIP_URI.match(value)
    if match is None or not _SIP_USER.match(match["user"]):
        raise UserErrors.one(NUMBER_PATH, "SIP URI must look like sip:user@host.", ErrorCode.INVALID)
    host = match["host"].lower().rstrip(".")
    if not host or ".." in host or host.startswith(("-", ".")):
        raise UserErrors.one(NUMBER_PATH, "SIP URI must look like sip:user@host.", ErrorCode.INVALID)
    port = f":{int(match['port'])}" if match["port"] else ""
    if port and not 0 < int(match["port"]) < 65536:
        raise UserErrors.one(NUMBER_PATH, "SIP URI has an invalid port.", ErrorCode.INVALID)
    return f"sip:{match['user']}@{host}{port}"


def clean_label(label: str | None, path: tuple[str, ...] = ("input", "label")) -> str | None:
    """Trimmed, in NFC; blank becomes no label. The same text rules as a configuration's name."""
    return clean_text(label, path, what="Label", max_length=MAX_LABEL_LENGTH, required=False)
