"""Warning rules per configuration, and the organization's summary."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from gql_telephony.domain.providers import ProviderKey
from gql_telephony.domain.warnings import (
    ConfigWarning,
    Severity,
    SeverityCounts,
    WarningCode,
    config_warnings,
    summarize,
)

TELNYX_KEY = WarningCode.TELNYX_MISSING_WEBHOOK_PUBLIC_KEY
VONAGE_SECRET = WarningCode.VONAGE_MISSING_SIGNATURE_SECRET
NO_NUMBERS = WarningCode.NO_ACTIVE_PHONE_NUMBERS


def codes(provider: ProviderKey, keys: Iterable[str], active: int) -> list[WarningCode]:
    return [w.code for w in config_warnings(provider, keys, active)]


def test_codes_are_in_schema_order() -> None:
    assert [c.value for c in WarningCode] == [
        "TELNYX_MISSING_WEBHOOK_PUBLIC_KEY", "VONAGE_MISSING_SIGNATURE_SECRET", "NO_ACTIVE_PHONE_NUMBERS",
        "PROVIDER_CREDENTIALS_REJECTED", "PROVIDER_ACCOUNT_SUSPENDED", "PROVIDER_UNREACHABLE",
        "PROVIDER_TRIAL_ACCOUNT", "PHONE_NUMBER_NOT_IN_ACCOUNT", "PHONE_NUMBER_NOT_VOICE_CAPABLE",
        "WEBHOOK_ENDPOINT_DISABLED",
    ]
    assert [s.value for s in Severity] == ["INFO", "WARNING", "CRITICAL"]


# --- Telnyx -------------------------------------------------------------------------------------

def test_telnyx_without_webhook_public_key() -> None:
    [warning] = config_warnings(ProviderKey.TELNYX, {"api_key", "connection_id"}, 1)
    assert warning.code is TELNYX_KEY
    assert warning.severity is Severity.WARNING
    assert warning.field == "webhook_public_key"
    assert warning.message


def test_telnyx_with_webhook_public_key_is_clean() -> None:
    assert config_warnings(ProviderKey.TELNYX, {"api_key", "webhook_public_key"}, 1) == []


# --- Vonage -------------------------------------------------------------------------------------

def test_vonage_without_signature_secret() -> None:
    [warning] = config_warnings(ProviderKey.VONAGE, {"application_id", "private_key", "api_key", "api_secret"}, 2)
    assert warning.code is VONAGE_SECRET
    assert warning.severity is Severity.WARNING
    assert warning.field == "signature_secret"


def test_vonage_with_signature_secret_is_clean() -> None:
    keys = {"application_id", "private_key", "api_key", "api_secret", "signature_secret"}
    assert config_warnings(ProviderKey.VONAGE, keys, 1) == []


@pytest.mark.parametrize("provider", [p for p in ProviderKey if p not in (ProviderKey.TELNYX, ProviderKey.VONAGE)])
def test_missing_key_rules_belong_to_their_provider_only(provider: ProviderKey) -> None:
    assert codes(provider, set(), 1) == []


def test_a_key_of_another_provider_does_not_satisfy_the_rule() -> None:
    assert codes(ProviderKey.TELNYX, {"signature_secret"}, 1) == [TELNYX_KEY]
    assert codes(ProviderKey.VONAGE, {"webhook_public_key"}, 1) == [VONAGE_SECRET]


# --- no active phone numbers ------------------------------------------------------------------------

@pytest.mark.parametrize("provider", [p for p in ProviderKey if p is not ProviderKey.ARI])
def test_no_active_numbers_is_critical_for_all_but_ari(provider: ProviderKey) -> None:
    all_keys = {"webhook_public_key", "signature_secret"}
    [warning] = config_warnings(provider, all_keys, 0)
    assert warning.code is NO_NUMBERS
    assert warning.severity is Severity.CRITICAL
    assert warning.field is None
    assert codes(provider, all_keys, 1) == []
    assert codes(provider, all_keys, 7) == []


def test_ari_needs_no_numbers() -> None:
    assert config_warnings(ProviderKey.ARI, {"ari_endpoint", "app_name", "app_password"}, 0) == []


def test_warnings_add_up_on_one_config() -> None:
    assert set(codes(ProviderKey.TELNYX, {"api_key"}, 0)) == {TELNYX_KEY, NO_NUMBERS}
    assert set(codes(ProviderKey.VONAGE, set(), 0)) == {VONAGE_SECRET, NO_NUMBERS}


def test_present_keys_may_be_any_iterable() -> None:
    assert codes(ProviderKey.TELNYX, iter(["webhook_public_key"]), 1) == []


# --- summary ----------------------------------------------------------------------------------------

def w(code: WarningCode) -> ConfigWarning:
    return ConfigWarning(code, Severity.WARNING, "m", None)


def test_empty_organization() -> None:
    summary = summarize([], has_default_outbound=False)
    assert summary.total_count == 0
    assert summary.configs_with_warnings_count == 0
    assert summary.by_code == ()
    assert summary.has_default_outbound is False


def test_summary_counts_and_orders_codes_by_enum() -> None:
    per_config = [
        [w(NO_NUMBERS)],
        [],
        [w(NO_NUMBERS), w(TELNYX_KEY)],
        [w(TELNYX_KEY)],
        [],
    ]
    summary = summarize(per_config, has_default_outbound=True)
    assert summary.total_count == 4
    assert summary.configs_with_warnings_count == 3
    assert summary.by_code == ((TELNYX_KEY, 2), (NO_NUMBERS, 2))  # enum order, no zero for Vonage
    assert summary.has_default_outbound is True


def test_summary_by_code_has_only_codes_with_a_count() -> None:
    summary = summarize([[w(VONAGE_SECRET)], [w(VONAGE_SECRET)]], has_default_outbound=False)
    assert summary.by_code == ((VONAGE_SECRET, 2),)
    assert all(count > 0 for _, count in summary.by_code)


def test_summary_accepts_a_generator_once() -> None:
    summary = summarize((ws for ws in [[w(NO_NUMBERS)], [w(VONAGE_SECRET), w(NO_NUMBERS)]]), has_default_outbound=False)
    assert summary.total_count == 3
    assert summary.configs_with_warnings_count == 2
    assert summary.by_code == ((VONAGE_SECRET, 1), (NO_NUMBERS, 2))


def test_summary_from_real_rules() -> None:
    per_config = [
        config_warnings(ProviderKey.TELNYX, {"api_key"}, 0),              # 2
        config_warnings(ProviderKey.ARI, {"ari_endpoint"}, 0),            # 0
        config_warnings(ProviderKey.TWILIO, {"account_sid"}, 3),          # 0
        config_warnings(ProviderKey.VONAGE, {"signature_secret"}, 0),     # 1
    ]
    summary = summarize(per_config, has_default_outbound=True)
    assert summary.total_count == 3
    assert summary.configs_with_warnings_count == 2
    assert summary.by_code == ((TELNYX_KEY, 1), (NO_NUMBERS, 2))


def test_endpoints_disabled_for_failing_count_as_warnings_of_no_configuration() -> None:
    summary = summarize([[w(NO_NUMBERS)], []], has_default_outbound=True, disabled_endpoints=2)
    assert summary.total_count == 3
    assert summary.configs_with_warnings_count == 1
    assert summary.by_code == ((NO_NUMBERS, 1), (WarningCode.WEBHOOK_ENDPOINT_DISABLED, 2))
    assert summarize([], has_default_outbound=False, disabled_endpoints=0).by_code == ()


def test_the_summary_counts_every_warning_by_its_severity() -> None:
    trial = ConfigWarning(WarningCode.PROVIDER_TRIAL_ACCOUNT, Severity.INFO, "trial", None)
    summary = summarize([[w(NO_NUMBERS), w(TELNYX_KEY), trial], [w(VONAGE_SECRET)], []],
                        has_default_outbound=True, disabled_endpoints=2)
    # Each warning by its own severity (w() makes WARNINGs); a disabled endpoint is a CRITICAL one.
    assert summary.by_severity == SeverityCounts(critical=2, warning=3, info=1)
    assert sum(vars(summary.by_severity).values()) == summary.total_count == 6
    assert summarize([], has_default_outbound=False).by_severity == SeverityCounts(0, 0, 0)


def test_severity_counts_of_one_configuration() -> None:
    found = config_warnings(ProviderKey.TELNYX, {"api_key"}, 0)
    assert SeverityCounts.of(warning.severity for warning in found) == SeverityCounts(critical=1, warning=1, info=0)
