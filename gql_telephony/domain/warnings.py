"""Warning rules: what is misconfigured before calls fail, computed from stored state."""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .provider_checks import AccountCheck, AccountStatus, NumberProblem, NumberStatus
from .providers import PROVIDERS, ProviderKey


class WarningCode(enum.Enum):
    TELNYX_MISSING_WEBHOOK_PUBLIC_KEY = "TELNYX_MISSING_WEBHOOK_PUBLIC_KEY"
    VONAGE_MISSING_SIGNATURE_SECRET = "VONAGE_MISSING_SIGNATURE_SECRET"
    NO_ACTIVE_PHONE_NUMBERS = "NO_ACTIVE_PHONE_NUMBERS"
    PROVIDER_CREDENTIALS_REJECTED = "PROVIDER_CREDENTIALS_REJECTED"
    PROVIDER_ACCOUNT_SUSPENDED = "PROVIDER_ACCOUNT_SUSPENDED"
    PROVIDER_UNREACHABLE = "PROVIDER_UNREACHABLE"
    PROVIDER_TRIAL_ACCOUNT = "PROVIDER_TRIAL_ACCOUNT"
    PHONE_NUMBER_NOT_IN_ACCOUNT = "PHONE_NUMBER_NOT_IN_ACCOUNT"
    PHONE_NUMBER_NOT_VOICE_CAPABLE = "PHONE_NUMBER_NOT_VOICE_CAPABLE"
    WEBHOOK_ENDPOINT_DISABLED = "WEBHOOK_ENDPOINT_DISABLED"


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
    number_id: int | None = None  # the number a number's warning is about


@dataclass(frozen=True)
class SeverityCounts:
    """Warnings counted by severity: the three add up to all of them."""

    critical: int = 0
    warning: int = 0
    info: int = 0

    @classmethod
    def of(cls, severities: Iterable[Severity]) -> SeverityCounts:
        counts = Counter(severities)
        return cls(critical=counts[Severity.CRITICAL], warning=counts[Severity.WARNING], info=counts[Severity.INFO])


@dataclass(frozen=True)
class WarningSummary:
    total_count: int
    configs_with_warnings_count: int
    by_code: tuple[tuple[WarningCode, int], ...]
    has_default_outbound: bool
    by_severity: SeverityCounts = SeverityCounts()


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


# A configuration lists at most this many number warnings (those of the lowest number ids):
# a list that grew with the numbers would make every document's worst case unbounded. The
# counts (warningCount, the summary) count them all; each number's providerCheck tells its own.
LISTED_NUMBER_WARNINGS = 5


def listed(warnings: list[ConfigWarning]) -> list[ConfigWarning]:
    """The warnings a configuration lists: its own, then at most LISTED_NUMBER_WARNINGS of its numbers'."""
    numbers = [warning for warning in warnings if warning.number_id is not None]
    if len(numbers) <= LISTED_NUMBER_WARNINGS:
        return warnings
    return [warning for warning in warnings if warning.number_id is None] + numbers[:LISTED_NUMBER_WARNINGS]


def config_warnings(
    provider: ProviderKey, present_keys: Iterable[str], active_numbers: int,
    account: AccountCheck | None = None, number_problems: Iterable[NumberProblem] = (),
) -> list[ConfigWarning]:
    """Configuration-level warnings first, then one per number the provider found wrong."""
    present = set(present_keys)
    found = [warning for (key_provider, key), warning in _MISSING_KEY_RULES.items()
             if key_provider is provider and key not in present]
    if account is not None and (account_warning := _ACCOUNT_RULES.get(account.status)) is not None:
        found.append(account_warning(PROVIDERS[provider].name))
    if active_numbers == 0 and provider not in _NEEDS_NO_NUMBERS:
        found.append(_NO_NUMBERS)
    found.extend(_number_warning(PROVIDERS[provider].name, problem) for problem in number_problems)
    return found


def _account_warning(code: WarningCode, severity: Severity, says: str) -> Callable[[str], ConfigWarning]:
    def make(provider_name: str) -> ConfigWarning:
        return ConfigWarning(code, severity, says.format(provider=provider_name), None)

    return make


# What the provider last said about the account -> its warning. ACTIVE says nothing wrong. The
# messages are fixed sentences: the check's own message (providerCheck.message) has the detail,
# and a warning list stays small however long the details are.
_ACCOUNT_RULES = {
    AccountStatus.REJECTED: _account_warning(
        WarningCode.PROVIDER_CREDENTIALS_REJECTED, Severity.CRITICAL,
        "{provider} refused these credentials: calls will fail until they are corrected.",
    ),
    AccountStatus.SUSPENDED: _account_warning(
        WarningCode.PROVIDER_ACCOUNT_SUSPENDED, Severity.CRITICAL,
        "The {provider} account is suspended: calls will fail until it is reinstated.",
    ),
    AccountStatus.CLOSED: _account_warning(
        WarningCode.PROVIDER_ACCOUNT_SUSPENDED, Severity.CRITICAL,
        "The {provider} account is closed: calls will fail.",
    ),
    AccountStatus.UNREACHABLE: _account_warning(
        WarningCode.PROVIDER_UNREACHABLE, Severity.WARNING,
        "{provider} did not answer the last check; what it said before may be out of date.",
    ),
    AccountStatus.TRIAL: _account_warning(
        WarningCode.PROVIDER_TRIAL_ACCOUNT, Severity.INFO,
        "The {provider} account is a trial: providers limit whom trial accounts may call.",
    ),
}


def _number_warning(provider_name: str, problem: NumberProblem) -> ConfigWarning:
    if problem.status is NumberStatus.NOT_IN_ACCOUNT:
        return ConfigWarning(
            WarningCode.PHONE_NUMBER_NOT_IN_ACCOUNT, Severity.CRITICAL,
            f"This number is not in the {provider_name} account: calls from it will fail.",
            None, problem.number_id,
        )
    return ConfigWarning(
        WarningCode.PHONE_NUMBER_NOT_VOICE_CAPABLE, Severity.CRITICAL,
        f"{provider_name} says this number cannot carry voice calls.", None, problem.number_id,
    )


# A webhook endpoint the delivery worker disabled after a day of failures: the organization's
# systems no longer hear about changes. Counted in the summary, though no configuration has it.
ENDPOINT_DISABLED = ConfigWarning(
    WarningCode.WEBHOOK_ENDPOINT_DISABLED, Severity.CRITICAL,
    "A webhook endpoint failed for a day and was disabled: it receives no events until it is re-enabled.",
    None,
)


def summarize(
    per_config: Iterable[list[ConfigWarning]], *, has_default_outbound: bool, disabled_endpoints: int = 0,
) -> WarningSummary:
    """`disabled_endpoints`: webhook endpoints disabled for failing, each one warning of the
    organization's (in totalCount and byCode, not in configsWithWarningsCount)."""
    counts: Counter[WarningCode] = Counter()
    severities: list[Severity] = [ENDPOINT_DISABLED.severity] * disabled_endpoints
    configs_with_warnings = 0
    for warnings in per_config:
        configs_with_warnings += bool(warnings)
        counts.update(warning.code for warning in warnings)
        severities.extend(warning.severity for warning in warnings)
    counts[WarningCode.WEBHOOK_ENDPOINT_DISABLED] += disabled_endpoints
    return WarningSummary(
        total_count=sum(counts.values()),
        configs_with_warnings_count=configs_with_warnings,
        by_code=tuple((code, counts[code]) for code in WarningCode if counts[code]),
        has_default_outbound=has_default_outbound,
        by_severity=SeverityCounts.of(severities),
    )
