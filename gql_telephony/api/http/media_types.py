"""Media types as RFC 9110 (section 8.3.1) writes them: `type/subtype` compared without regard
to case, then `; name=value` parameters (names case-insensitive, values a token or a quoted
string). One parser serves the Content-Type of a request and the ranges of its Accept header."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_QUOTED = r'"(?:[^"\\\x00-\x08\x0a-\x1f\x7f]|\\[^\x00-\x08\x0a-\x1f\x7f])*"'
_MEDIA_TYPE = re.compile(rf"[ \t]*({_TOKEN})/({_TOKEN})[ \t]*", re.ASCII)
_PARAMETER = re.compile(rf";[ \t]*(?:({_TOKEN})=({_TOKEN}|{_QUOTED}))?[ \t]*", re.ASCII)
_QUOTED_PAIR = re.compile(r"\\(.)")


@dataclass(frozen=True)
class MediaType:
    type: str  # lower case
    subtype: str  # lower case
    parameters: dict[str, str] = field(default_factory=dict)  # names in lower case

    @property
    def essence(self) -> str:
        return f"{self.type}/{self.subtype}"


def parse_media_type(text: str) -> MediaType | None:
    """The media type, or None when `text` is not one (a substring of one is not enough)."""
    match = _MEDIA_TYPE.match(text)
    if match is None:
        return None
    parameters: dict[str, str] = {}
    position = match.end()
    while position < len(text):
        parameter = _PARAMETER.match(text, position)
        if parameter is None:
            return None
        name, value = parameter.groups()
        if name is not None and name.lower() not in parameters:  # the first of a repeated name counts
            if value.startswith('"'):
                value = _QUOTED_PAIR.sub(r"\1", value[1:-1])
            parameters[name.lower()] = value
        position = parameter.end()
    return MediaType(match[1].lower(), match[2].lower(), parameters)


def split_list(header: str) -> list[str]:
    """The members of a comma-separated header, commas inside quoted strings kept."""
    members: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for char in header:
        if escaped:
            escaped = False
        elif quoted and char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            members.append("".join(current))
            current = []
            continue
        current.append(char)
    members.append("".join(current))
    return [member for member in members if member.strip()]
