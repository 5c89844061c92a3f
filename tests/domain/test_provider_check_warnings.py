"""What the providers' answers mean for the warnings: pure rules, no I/O."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gql_telephony.domain.provider_checks import (
    AccountCheck,
    AccountStatus,
    InventoryNumber,
    NumberProblem,
    NumberStatus,
    number_check_from,
)
from gql_telephony.domain.providers import PROVIDERS, ProviderKey
from gql_telephony.domain.warnings import LISTED_NUMBER_WARNINGS, Severity, WarningCode, config_warnings, listed

NOW = datetime(2026, 12, 2, tzinfo=UTC)
TWILIO_KEYS = ("account_sid", "auth_token")


def account(status: AccountStatus, message: str | None = None) -> AccountCheck:
    return AccountCheck(status, NOW, message)


@pytest.mark.parametrize(("status", "code", "severity"), [
    (AccountStatus.REJECTED, WarningCode.PROVIDER_CREDENTIALS_REJECTED, Severity.CRITICAL),
    (AccountStatus.SUSPENDED, WarningCode.PROVIDER_ACCOUNT_SUSPENDED, Severity.CRITICAL),
    (AccountStatus.CLOSED, WarningCode.PROVIDER_ACCOUNT_SUSPENDED, Severity.CRITICAL),
    (AccountStatus.UNREACHABLE, WarningCode.PROVIDER_UNREACHABLE, Severity.WARNING),
    (AccountStatus.TRIAL, WarningCode.PROVIDER_TRIAL_ACCOUNT, Severity.INFO),
])
def test_each_account_status_has_its_warning(status, code, severity):
    found = config_warnings(ProviderKey.TWILIO, TWILIO_KEYS, 1, account(status, "Twilio answered HTTP 503."))
    assert [(w.code, w.severity, w.field, w.number_id) for w in found] == [(code, severity, None, None)]
    assert "Twilio" in found[0].message


def test_an_active_account_or_one_never_checked_warns_of_nothing():
    assert config_warnings(ProviderKey.TWILIO, TWILIO_KEYS, 1, account(AccountStatus.ACTIVE)) == []
    assert config_warnings(ProviderKey.TWILIO, TWILIO_KEYS, 1, None) == []


def test_each_wrong_number_has_a_warning_of_its_own():
    problems = [
        NumberProblem(7, "+14155550100", NumberStatus.NOT_IN_ACCOUNT, None),
        NumberProblem(9, "+14155550101", NumberStatus.IN_ACCOUNT, False),
    ]
    found = config_warnings(ProviderKey.TWILIO, TWILIO_KEYS, 2, account(AccountStatus.ACTIVE), problems)
    assert [(w.code, w.severity, w.number_id) for w in found] == [
        (WarningCode.PHONE_NUMBER_NOT_IN_ACCOUNT, Severity.CRITICAL, 7),
        (WarningCode.PHONE_NUMBER_NOT_VOICE_CAPABLE, Severity.CRITICAL, 9),
    ]
    # Fixed sentences (the number is the warning's phoneNumber), so a list of them stays small.
    assert found[0].message == "This number is not in the Twilio account: calls from it will fail."
    assert found[1].message == "Twilio says this number cannot carry voice calls."


def test_a_configuration_lists_a_few_number_warnings_and_counts_them_all():
    problems = [NumberProblem(n, f"+1415555{n:04d}", NumberStatus.NOT_IN_ACCOUNT, None) for n in range(12)]
    found = config_warnings(ProviderKey.TWILIO, TWILIO_KEYS, 0, account(AccountStatus.TRIAL), problems)
    assert len(found) == 2 + 12  # the trial, no active number, then every number
    shown = listed(found)
    assert [w.code for w in shown[:2]] == [WarningCode.PROVIDER_TRIAL_ACCOUNT, WarningCode.NO_ACTIVE_PHONE_NUMBERS]
    assert [w.number_id for w in shown[2:]] == list(range(LISTED_NUMBER_WARNINGS))


def test_a_number_is_read_against_the_inventory():
    inventory = {
        "+14155550100": InventoryNumber("+14155550100", True),
        "+14155550101": InventoryNumber("+14155550101", False),
        "+14155550102": InventoryNumber("+14155550102", None),
    }
    check = number_check_from("+14155550100", inventory, now=NOW, provider_name="Twilio")
    assert (check.status, check.voice_capable, check.message) == (NumberStatus.IN_ACCOUNT, True, None)
    check = number_check_from("+14155550101", inventory, now=NOW, provider_name="Twilio")
    assert (check.status, check.voice_capable) == (NumberStatus.IN_ACCOUNT, False)
    check = number_check_from("+14155550102", inventory, now=NOW, provider_name="Twilio")
    assert (check.status, check.voice_capable) == (NumberStatus.IN_ACCOUNT, None)
    check = number_check_from("+14155550199", inventory, now=NOW, provider_name="Twilio")
    assert (check.status, check.voice_capable) == (NumberStatus.NOT_IN_ACCOUNT, None)


def test_what_each_provider_can_verify_is_declared():
    assert not PROVIDERS[ProviderKey.ARI].checks_numbers and not PROVIDERS[ProviderKey.ARI].imports_numbers
    others = [provider for key, provider in PROVIDERS.items() if key is not ProviderKey.ARI]
    assert all(p.checks_account and p.checks_numbers and p.imports_numbers for p in others)
