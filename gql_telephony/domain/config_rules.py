"""Validation, merge and masking of a provider configuration, all driven by its declaration."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .errors import ErrorCode, UserError, UserErrors
from .field_checks import CheckFailed
from .providers import PROVIDERS, FieldType, Provider, ProviderField
from .text import is_invisible, text_problem

MAX_VALUE_LENGTH = 8192
# What of an unknown key a user error repeats: no more than the longest declared key, and no
# more than this many unknown keys one by one (a 1 MiB body could hold 100,000 of them).
MAX_KEY_SHOWN = max(len(spec.key) for provider in PROVIDERS.values() for spec in provider.fields)
MAX_UNKNOWN_KEYS_SHOWN = 10
CUT_MARK = "\u2026"  # ends a key shown cut short
UNSHOWABLE = "\ufffd"  # stands for a character of a key that cannot be shown
MASK_CHAR = "*"
MASK_PREFIX = MASK_CHAR * 4
CONFIG_PATH = ("input", "config")


@dataclass(frozen=True)
class StoredConfig:
    """A configuration's values split as they are stored: secrets go encrypted."""

    settings: dict[str, object] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)


def mask(secret: str) -> str:
    """Same length; the last 4 characters stay only when at least 12 are there to hide behind."""
    if len(secret) >= 12:
        return MASK_CHAR * (len(secret) - 4) + secret[-4:]
    return MASK_CHAR * len(secret)


def present_config(provider: Provider, stored: StoredConfig) -> dict[str, object]:
    """What clients see: declared order, secrets masked, defaults for what was never given."""
    shown: dict[str, object] = {}
    for spec in provider.fields:
        value = stored.secrets.get(spec.key, stored.settings.get(spec.key))
        if value is not None:
            # Masked by the declaration, not by where the value sits: a field declared secret
            # after values were stored in clear is still never shown in clear.
            shown[spec.key] = mask(str(value)) if spec.secret else value
        elif spec.default is not None:
            shown[spec.key] = spec.default
    return shown


def apply_config(
    provider: Provider, given: object, current: StoredConfig | None = None
) -> StoredConfig:
    """Check `given` (a create's whole config, or an update's changes merged into `current`).

    Raises UserErrors with the path of every offending key; returns the new stored form.
    """
    if not isinstance(given, Mapping):
        raise UserErrors.one(CONFIG_PATH, "Config must be a JSON object.", ErrorCode.INVALID)
    merged: dict[str, object] = {}
    if current is not None:
        merged.update(current.settings)
        merged.update(current.secrets)
    errors: list[UserError] = []
    unknown: list[str] = []
    for key, value in given.items():
        spec = provider.field(key)
        if spec is None:
            unknown.append(key)
            continue
        path = (*CONFIG_PATH, key)
        kept_secret = current.secrets.get(key) if current is not None and spec.secret else None
        try:
            if kept_secret is not None and isinstance(value, str) and value.strip() == mask(kept_secret):
                continue  # its current mask sent back: the stored secret stays as it is
            cleaned = _clean_value(spec, value)
            if cleaned is not None and spec.check is not None:
                cleaned = spec.check(cleaned)  # type: ignore[arg-type]  # checks are on text fields
        except _Refused as refused:
            errors.append(UserError(path, refused.message, refused.code))
            continue
        except CheckFailed as failed:
            errors.append(UserError(path, f"{spec.label} {failed}.", ErrorCode.INVALID))
            continue
        except ValueError:  # a library's message may quote the value: never repeat it
            errors.append(UserError(path, f"{spec.label} is not valid.", ErrorCode.INVALID))
            continue
        if cleaned is None:
            merged.pop(key, None)
        else:
            merged[key] = cleaned
    errors += _unknown_key_errors(provider, unknown)
    refused_paths = {error.field for error in errors}
    for spec in provider.fields:
        path = (*CONFIG_PATH, spec.key)
        if spec.required and spec.key not in merged and path not in refused_paths:
            errors.append(UserError(path, f"{spec.label} is required.", ErrorCode.REQUIRED))
    if errors:
        raise UserErrors(errors)
    secret_keys = {spec.key for spec in provider.fields if spec.secret}
    return StoredConfig(
        settings={k: v for k, v in merged.items() if k not in secret_keys},
        secrets={k: str(v) for k, v in merged.items() if k in secret_keys},
    )


def shown_key(key: str) -> str:
    """An unknown key as a user error's path may repeat it: cut to the longest declared key
    (marked by a trailing U+2026), anything unprintable or invisible replaced by U+FFFD."""
    shown = "".join(
        UNSHOWABLE if not char.isprintable() or is_invisible(char) else char
        for char in key[:MAX_KEY_SHOWN]
    )
    return shown + CUT_MARK if len(key) > MAX_KEY_SHOWN else shown


def _unknown_key_errors(provider: Provider, keys: list[str]) -> list[UserError]:
    message = f"{provider.name} has no setting named like this."
    paths = list(dict.fromkeys((*CONFIG_PATH, shown_key(key)) for key in keys))
    errors = [UserError(path, message, ErrorCode.INVALID) for path in paths[:MAX_UNKNOWN_KEYS_SHOWN]]
    if len(paths) > MAX_UNKNOWN_KEYS_SHOWN:
        more = len(paths) - MAX_UNKNOWN_KEYS_SHOWN
        errors.append(UserError(
            CONFIG_PATH, f"Config holds {more} more settings that {provider.name} does not have.", ErrorCode.INVALID
        ))
    return errors


class _Refused(Exception):
    def __init__(self, message: str, code: ErrorCode) -> None:
        self.message, self.code = message, code


def _clean_value(spec: ProviderField, value: object) -> object:
    """The value to store, trimmed; None clears the key."""
    label = spec.label
    if value is None:
        return None
    if spec.type is FieldType.BOOLEAN:
        if not isinstance(value, bool):
            raise _Refused(f"{label} must be true or false.", ErrorCode.INVALID)
        return value
    if not isinstance(value, str):
        raise _Refused(f"{label} must be a string.", ErrorCode.INVALID)
    if len(value) > MAX_VALUE_LENGTH:
        raise _Refused(f"{label} must be at most {MAX_VALUE_LENGTH} characters.", ErrorCode.TOO_LONG)
    # Tabs and line breaks are allowed (a PEM key has them); what a database would refuse, or
    # store on one and not the other (NUL), is not.
    problem = text_problem(value, multiline=True)
    if problem is not None:
        raise _Refused(f"{label} {problem}.", ErrorCode.INVALID)
    text = value.strip()
    if spec.secret and text.startswith(MASK_PREFIX):
        raise _Refused(
            f"{label} looks like a masked value; send the real secret, or its current mask to keep it.",
            ErrorCode.INVALID,
        )
    return text or None
