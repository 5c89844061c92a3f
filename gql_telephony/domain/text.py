"""Checks of plain text inputs shared by several rules."""

from __future__ import annotations

from .errors import ErrorCode, UserError


def clean_text(
    value: str | None, path: tuple[str, ...], *, what: str, max_length: int, required: bool
) -> tuple[str | None, list[UserError]]:
    """Trim; blank counts as absent. Returns the clean value (or None) and any errors."""
    cleaned = value.strip() if value is not None else ""
    if not cleaned:
        if required:
            return None, [UserError(path, f"{what} is required.", ErrorCode.REQUIRED)]
        return None, []
    if len(cleaned) > max_length:
        return None, [
            UserError(path, f"{what} must be at most {max_length} characters.", ErrorCode.TOO_LONG)
        ]
    return cleaned, []
