"""Checks of plain text inputs shared by several rules.

Names and labels are stored in NFC (canonical composition: what was typed, in one form), and
a name's uniqueness key compares them as people read them: NFKC with case folding (so "café"
typed in NFD, "CAFÉ" and the full-width "ｃａｆé" are one name), invisible characters left out
and runs of spaces counted as one.
"""

from __future__ import annotations

import unicodedata

from .errors import ErrorCode, UserErrors

# Embeddings, overrides and isolates: they reorder what is displayed after them ("Trojan
# Source"), so a name could read differently from what it holds.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Invisible code points that are not of category Cf (format), which covers the rest of the
# zero-width characters: fillers (Hangul, Khmer, Braille blank) and variation selectors.
_INVISIBLE_OTHERS = frozenset(
    "\u034f\u115f\u1160\u17b4\u17b5\u180b\u180c\u180d\u180f\u2800\u3164\uffa0"
    + "".join(map(chr, range(0xFE00, 0xFE10)))
)
# Line breaks and tabs are text in a multi-line value (a PEM key); anywhere else they are controls.
MULTILINE_CONTROLS = frozenset("\t\n\r")
MAX_KEY_LENGTH = 256  # the name key column's size


def text_problem(value: str, *, multiline: bool = False) -> str | None:
    """Why `value` cannot be stored as text, said without quoting it; None when it can.

    Both databases must treat it the same: PostgreSQL refuses NUL and every driver refuses
    an unpaired surrogate (which a JSON body may carry as a "\\ud800" escape).
    """
    for char in value:
        category = unicodedata.category(char)
        if category == "Cs":
            return "must be valid Unicode text (it holds an unpaired surrogate)"
        if category == "Cc" and not (multiline and char in MULTILINE_CONTROLS):
            return "must not contain control characters"
        if char in BIDI_CONTROLS:
            return "must not contain bidirectional override characters"
    return None


def is_invisible(char: str) -> bool:
    return unicodedata.category(char) == "Cf" or char in _INVISIBLE_OTHERS


def visible(value: str) -> str:
    return "".join(char for char in value if not is_invisible(char))


def clean_text(value: str | None, path: tuple[str, ...], *, what: str, max_length: int, required: bool) -> str | None:
    """Trimmed and in NFC; blank (or only invisible characters) counts as absent: None, or
    UserErrors when `required`. UserErrors too for text that cannot be stored or is too long."""
    cleaned = value.strip() if value is not None else ""
    problem = text_problem(cleaned)  # before trimming: a bidi override at the end is refused too
    if problem is not None:
        raise UserErrors.one(path, f"{what} {problem}.", ErrorCode.INVALID)
    cleaned = _trim(cleaned)
    if not cleaned:
        if required:
            raise UserErrors.one(path, f"{what} is required.", ErrorCode.REQUIRED)
        return None
    cleaned = unicodedata.normalize("NFC", cleaned)
    if len(cleaned) > max_length:
        raise UserErrors.one(path, f"{what} must be at most {max_length} characters.", ErrorCode.TOO_LONG)
    return cleaned


def _trim(value: str) -> str:
    """Without surrounding spaces and invisible characters; empty if nothing visible is left."""
    def shown(index: int) -> bool:
        return not (value[index].isspace() or is_invisible(value[index]))

    first = next((index for index in range(len(value)) if shown(index)), None)
    if first is None:
        return ""
    last = next(index for index in range(len(value) - 1, first - 1, -1) if shown(index))
    return value[first:last + 1]


def name_key(name: str) -> str:
    """What two names must differ in to be two names: NFKC, case-folded (then NFKC again, as
    folding can undo it), without invisible characters, spaces collapsed."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", visible(name)).casefold())
    return " ".join(folded.split())


def check_name_key(name: str, path: tuple[str, ...], what: str) -> None:
    """A few characters expand a great deal under NFKC (U+FDFA is 18 characters): a key that
    no longer fits its column is refused (UserErrors), on both databases alike."""
    if len(name_key(name)) > MAX_KEY_LENGTH:
        raise UserErrors.one(path, f"{what} is too long once normalized.", ErrorCode.TOO_LONG)
