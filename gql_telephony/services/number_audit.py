"""A phone number as the audit trail records it: one place for the fields every number event
names, whichever write adds or removes the number (an add, an import, a configuration's delete)."""

from __future__ import annotations

from ..domain.audit import AuditAction, Happening, changes_between
from ..domain.ids import encode_id
from ..storage.tables import PhoneNumberRow


def number_global_id(row: PhoneNumberRow) -> str:
    assert row.id is not None  # flushed
    return encode_id("PhoneNumber", row.id)


def number_facts(row: PhoneNumberRow) -> dict[str, object]:
    return {
        "phoneNumber": row.phone_number, "label": row.label, "isActive": row.is_active,
        "telephonyConfigId": encode_id("TelephonyConfig", row.telephony_config_id),
    }


def number_added(row: PhoneNumberRow) -> Happening:
    """A number registered (added, or imported from the provider): every field, before null."""
    return Happening(AuditAction.PHONE_NUMBER_ADDED, "PhoneNumber", number_global_id(row),
                     tuple(changes_between({}, number_facts(row))))


def number_removed(row: PhoneNumberRow) -> Happening:
    """A number removed (by itself, or with its configuration): every field, after null."""
    return Happening(AuditAction.PHONE_NUMBER_REMOVED, "PhoneNumber", number_global_id(row),
                     tuple(changes_between(number_facts(row), {})))
