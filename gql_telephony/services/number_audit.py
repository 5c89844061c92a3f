"""A phone number as the audit trail records it: one place for the fields every number event
names, whichever write adds or removes the number (an add, an import, a configuration's delete)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from ..domain.audit import AuditAction, Change, Happening, changes_between
from ..domain.ids import encode_id


class AuditedNumber(Protocol):
    """What the trail names of a number: a row, or (for an import's thousands) a `NewNumber`."""

    @property
    def id(self) -> int | None: ...
    @property
    def phone_number(self) -> str: ...
    @property
    def label(self) -> str | None: ...
    @property
    def is_active(self) -> bool: ...
    @property
    def telephony_config_id(self) -> int: ...


@dataclass(frozen=True, slots=True)
class NewNumber:
    """A number just inserted by id: an ORM row each would cost more than the rest of an import."""

    id: int
    phone_number: str
    telephony_config_id: int
    label: str | None = None
    is_active: bool = True


def number_global_id(row: AuditedNumber) -> str:
    assert row.id is not None  # flushed
    return encode_id("PhoneNumber", row.id)


def number_facts(row: AuditedNumber) -> dict[str, object]:
    return {
        "phoneNumber": row.phone_number, "label": row.label, "isActive": row.is_active,
        "telephonyConfigId": encode_id("TelephonyConfig", row.telephony_config_id),
    }


def number_added(row: AuditedNumber) -> Happening:
    """A number registered (added, or imported from the provider): every field, before null."""
    return Happening(AuditAction.PHONE_NUMBER_ADDED, "PhoneNumber", number_global_id(row),
                     tuple(changes_between({}, number_facts(row))))


def numbers_added(rows: Iterable[AuditedNumber]) -> list[Happening]:
    """number_added of each row, made for thousands at once (an import): a change the rows have
    in common (no label, active, one configuration) is one Change for all of them (it is
    immutable); made one by one, those were most of the time an import spent on its audit trail.
    tests/services/test_number_audit.py holds this equal to number_added."""
    shared: dict[tuple[str, object], Change] = {}
    found = []
    for row in rows:
        changes = []
        # A number's creation, as changes_between({}, facts) has it: every field, before null.
        for name, value in sorted(number_facts(row).items()):
            change = shared.get((name, value))
            if change is None:
                change = shared[(name, value)] = Change(name, None, value)
            changes.append(change)
        found.append(Happening(AuditAction.PHONE_NUMBER_ADDED, "PhoneNumber", number_global_id(row), tuple(changes)))
    return found


def number_removed(row: AuditedNumber) -> Happening:
    """A number removed (by itself, or with its configuration): every field, after null."""
    return Happening(AuditAction.PHONE_NUMBER_REMOVED, "PhoneNumber", number_global_id(row),
                     tuple(changes_between(number_facts(row), {})))
