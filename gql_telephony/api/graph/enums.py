"""The domain's enums under their GraphQL names, each value described.

strawberry.enum marks the domain's class itself (fields are annotated with the domain's enums);
the descriptions live here so that the domain imports no framework.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

import strawberry

from ...domain.audit import AuditAction
from ...domain.errors import ErrorCode
from ...domain.provider_checks import AccountStatus, NumberStatus
from ...domain.providers import PROVIDERS, Connectivity, FieldType, ProviderKey
from ...domain.warnings import Severity, WarningCode


def _register(cls: type[enum.Enum], name: str, description: str, values: Mapping[enum.Enum, str]) -> None:
    """`cls` as GraphQL enum `name`; every member must have a description (a new one fails here)."""
    undescribed = [member.name for member in cls if member not in values]
    assert not undescribed, f"{name}: describe {undescribed}"
    strawberry.enum(cls, name=name, description=description)
    for value in cls.__strawberry_definition__.values:  # type: ignore[attr-defined]  # set by strawberry.enum
        value.description = values[cls[value.name]]


def register_enums() -> None:
    _register(ProviderKey, "TelephonyProviderKey", "A provider the API connects; telephonyProviders describes each.", {
        # From the provider's own declaration: its name and notes, as telephonyProviders gives them.
        key: f"{provider.name} ({provider.connectivity.value}): {provider.notes}."
        for key, provider in PROVIDERS.items()
    })
    _register(Connectivity, "ProviderConnectivity", "How the provider places calls.", {
        Connectivity.API: "Through the provider's HTTP API; phone numbers are E.164.",
        Connectivity.SIP: "Over SIP; a phone number may also be a sip:user@host URI.",
    })
    _register(FieldType, "ProviderFieldType", "How a form draws a provider field, and the JSON type of its value.", {
        FieldType.TEXT: "A one-line string.",
        FieldType.PASSWORD: "A one-line secret string: draw a password input.",
        FieldType.TEXTAREA: "A multi-line string, e.g. a PEM private key.",
        FieldType.BOOLEAN: "A JSON boolean (true or false), not a string.",
        FieldType.URL: "An http:// or https:// URL string.",
    })
    _register(WarningCode, "TelephonyWarningCode", "What a warning is about (stable: match on it, not on message).", {
        WarningCode.TELNYX_MISSING_WEBHOOK_PUBLIC_KEY:
            "WARNING: no webhook_public_key, so Telnyx webhooks cannot be verified.",
        WarningCode.VONAGE_MISSING_SIGNATURE_SECRET:
            "WARNING: no signature_secret, so Vonage signed webhooks are refused.",
        WarningCode.NO_ACTIVE_PHONE_NUMBERS:
            "CRITICAL: no active phone number, so the config cannot place a call (never on ARI).",
        WarningCode.PROVIDER_CREDENTIALS_REJECTED:
            "CRITICAL: the provider refused the credentials, or the host is one never contacted.",
        WarningCode.PROVIDER_ACCOUNT_SUSPENDED: "CRITICAL: the provider account is suspended or closed.",
        WarningCode.PROVIDER_UNREACHABLE: "WARNING: the last check got no answer; earlier answers may be stale.",
        WarningCode.PROVIDER_TRIAL_ACCOUNT: "INFO: a trial account; the provider restricts whom it may call.",
        WarningCode.PHONE_NUMBER_NOT_IN_ACCOUNT:
            "CRITICAL: the number is not in the provider account; phoneNumber names it.",
        WarningCode.PHONE_NUMBER_NOT_VOICE_CAPABLE:
            "CRITICAL: the provider says the number cannot carry voice; phoneNumber names it.",
        WarningCode.WEBHOOK_ENDPOINT_DISABLED:
            "CRITICAL: a webhook endpoint failed for a day and was disabled; re-enable it.",
    })
    _register(Severity, "WarningSeverity", "How urgent a warning is.", {
        Severity.INFO: "Worth knowing; calls work.",
        Severity.WARNING: "Something works only in part, or may be out of date.",
        Severity.CRITICAL: "Calls fail, or will, until it is fixed.",
    })
    _register(ErrorCode, "UserErrorCode", "Why a mutation refused its input.", {
        ErrorCode.INVALID: "Malformed or not allowed: an unknown config key, a bad number, a masked secret...",
        ErrorCode.REQUIRED: "A required value is missing, empty or blank.",
        ErrorCode.TOO_LONG: "Too long: names and labels take 64 characters, config values 8,192.",
        ErrorCode.TAKEN: "The organization already has this name (ignoring case) or phone number.",
        ErrorCode.NOT_FOUND: "No such object in this organization.",
        ErrorCode.CONFLICT: "expectedVersion is not the current version: read again, then retry.",
        ErrorCode.PROVIDER_ERROR: "The provider refused the credentials or did not answer.",
    })
    _register(AccountStatus, "ProviderAccountStatus", "The account's state, as its provider last told it.", {
        AccountStatus.ACTIVE: "The credentials work and the account is in good standing.",
        AccountStatus.TRIAL: "A trial account: the provider restricts whom it may call.",
        AccountStatus.SUSPENDED: "The provider suspended the account.",
        AccountStatus.CLOSED: "The provider closed the account.",
        AccountStatus.REJECTED: "Credentials refused, or a host the server never contacts (message names the rule).",
        AccountStatus.UNREACHABLE: "No usable answer (timeout, 5xx, 429 after retries); checkedAt is the last answer.",
    })
    _register(NumberStatus, "PhoneNumberProviderStatus", "Whether the provider account holds the number.", {
        NumberStatus.IN_ACCOUNT: "The provider account holds this number.",
        NumberStatus.NOT_IN_ACCOUNT: "The provider account does not hold this number: calls from it fail.",
        NumberStatus.UNKNOWN: "Not known: the account's credentials were refused, or the provider did not say.",
    })
    _register(AuditAction, "AuditAction", "What an audited change did.", {
        AuditAction.TELEPHONY_CONFIG_CREATED: "A configuration was created.",
        AuditAction.TELEPHONY_CONFIG_UPDATED: "A configuration's name or config changed.",
        AuditAction.TELEPHONY_CONFIG_DELETED: "A configuration was deleted, with its phone numbers.",
        AuditAction.DEFAULT_OUTBOUND_CHANGED: "Another configuration (or none) became the default outbound one.",
        AuditAction.PHONE_NUMBER_ADDED: "A phone number was added to a configuration.",
        AuditAction.PHONE_NUMBER_UPDATED: "A phone number's label or activity changed.",
        AuditAction.PHONE_NUMBER_REMOVED: "A phone number was removed.",
        AuditAction.WARNINGS_CHANGED: "The organization's warning summary changed.",
        AuditAction.PROVIDER_CHECK_CHANGED: "A provider check changed an account's or a number's status.",
        AuditAction.WEBHOOK_ENDPOINT_CREATED: "A webhook endpoint was created.",
        AuditAction.WEBHOOK_ENDPOINT_UPDATED: "A webhook endpoint changed (disabling it included).",
        AuditAction.WEBHOOK_ENDPOINT_DELETED: "A webhook endpoint was deleted.",
        AuditAction.WEBHOOK_ENDPOINT_SECRET_ROTATED: "A webhook endpoint's signing secret was rotated.",
    })
