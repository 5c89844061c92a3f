"""Warning rules: what is misconfigured before calls fail, computed from stored state."""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from .providers import ProviderKey


class WarningCode(enum.Enum):
    TELNYX_MISSING_WEBHOOK_PUBLIC_KEY = "TELNYX_MISSING_WEBHOOK_PUBLIC_KEY"
    VONAGE_MISSING_SIGNATURE_SECRET = "VONAGE_MISSING_SIGNATURE_SECRET"
    NO_ACTIVE_PHONE_NUMBERS = "NO_ACTIVE_PHONE_NUMBERS"


class Severity(enum.Enum):
    INFO = "INFO"
    WARNING = "WARNING"
    CRITICAL = "CRITICAL"


@dataclass(frozen=True)
class ConfigWarning:
    code: WarningCode
    severity: Severity
    message: str
    field: str | None


@dataclass(frozen=True)
class WarningSummary:
    total_count: int
    configs_with_warnings_count: int
    by_code: tuple[tuple[WarningCode, int], ...]
    has_default_outbound: bool


# A missing optional key that leaves a provider half-working: (provider, key) -> warning.
_MISSING_KEY_RULES = {
    (ProviderKey.TELNYX, "webhook_public_key"): ConfigWarning(
        WarningCode.TELNYX_MISSING_WEBHOOK_PUBLIC_KEY, Severity.WARNING,
        "Telnyx webhooks cannot be verified without the webhook public key.", "webhook_public_key",
    ),
    (ProviderKey.VONAGE, "signature_secret"): ConfigWarning(
        WarningCode.VONAGE_MISSING_SIGNATURE_SECRET, Severity.WARNING,
        "Vonage signed webhooks are refused without the signature secret.", "signature_secret",
    ),
}

_NO_NUMBERS = ConfigWarning(
    WarningCode.NO_ACTIVE_PHONE_NUMBERS, Severity.CRITICAL,
    "No active phone number: this configuration cannot place a call.", None,
)

# ARI dials through the Asterisk server's own trunks, so it needs no caller-ID numbers here.
_NEEDS_NO_NUMBERS = {ProviderKey.ARI}


def config_warnings(provider: ProviderKey, present_keys: Iterable[str], active_numbers: int) -> list[ConfigWarning]:
    present = set(present_keys)
    found = [warning for (key_provider, key), warning in _MISSING_KEY_RULES.items()
             if key_provider is provider and key not in present]
    if active_numbers == 0 and provider not in _NEEDS_NO_NUMBERS:
        found.append(_NO_NUMBERS)
    return found


def summarize(per_config: Iterable[list[ConfigWarning]], *, has_default_outbound: bool) -> WarningSummary:
    counts: Counter[WarningCode] = Counter()
    configs_with_warnings = 0
    for warnings in per_config:
        configs_with_warnings += bool(warnings)
        counts.update(warning.code for warning in warnings)
    return WarningSummary(
        total_count=sum(counts.values()),
        configs_with_warnings_count=configs_with_warnings,
        by_code=tuple((code, counts[code]) for code in WarningCode if counts[code]),
        has_default_outbound=has_default_outbound,
    )
