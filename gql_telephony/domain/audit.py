"""What happened, who did it, and what it changed: the audit trail's and the webhooks' facts.

Plain values and functions, no I/O. A write builds `Happening`s; storage keeps each as an audit
event and, for the actions that are webhook events, as one delivery per subscribed endpoint.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class AuditAction(enum.Enum):
    TELEPHONY_CONFIG_CREATED = "TELEPHONY_CONFIG_CREATED"
    TELEPHONY_CONFIG_UPDATED = "TELEPHONY_CONFIG_UPDATED"
    TELEPHONY_CONFIG_DELETED = "TELEPHONY_CONFIG_DELETED"
    DEFAULT_OUTBOUND_CHANGED = "DEFAULT_OUTBOUND_CHANGED"
    PHONE_NUMBER_ADDED = "PHONE_NUMBER_ADDED"
    PHONE_NUMBER_UPDATED = "PHONE_NUMBER_UPDATED"
    PHONE_NUMBER_REMOVED = "PHONE_NUMBER_REMOVED"
    WARNINGS_CHANGED = "WARNINGS_CHANGED"
    PROVIDER_CHECK_CHANGED = "PROVIDER_CHECK_CHANGED"
    WEBHOOK_ENDPOINT_CREATED = "WEBHOOK_ENDPOINT_CREATED"
    WEBHOOK_ENDPOINT_UPDATED = "WEBHOOK_ENDPOINT_UPDATED"
    WEBHOOK_ENDPOINT_DELETED = "WEBHOOK_ENDPOINT_DELETED"
    WEBHOOK_ENDPOINT_SECRET_ROTATED = "WEBHOOK_ENDPOINT_SECRET_ROTATED"


class WebhookEventType(enum.Enum):
    """The actions a webhook endpoint can subscribe to (endpoint changes are audited only)."""

    TELEPHONY_CONFIG_CREATED = "TELEPHONY_CONFIG_CREATED"
    TELEPHONY_CONFIG_UPDATED = "TELEPHONY_CONFIG_UPDATED"
    TELEPHONY_CONFIG_DELETED = "TELEPHONY_CONFIG_DELETED"
    DEFAULT_OUTBOUND_CHANGED = "DEFAULT_OUTBOUND_CHANGED"
    PHONE_NUMBER_ADDED = "PHONE_NUMBER_ADDED"
    PHONE_NUMBER_UPDATED = "PHONE_NUMBER_UPDATED"
    PHONE_NUMBER_REMOVED = "PHONE_NUMBER_REMOVED"
    WARNINGS_CHANGED = "WARNINGS_CHANGED"
    PROVIDER_CHECK_CHANGED = "PROVIDER_CHECK_CHANGED"

    @property
    def dotted(self) -> str:
        """The payload's `type`: PHONE_NUMBER_ADDED is phone_number.added."""
        subject, _, verb = self.value.lower().rpartition("_")
        return f"{subject}.{verb}"


def webhook_event_of(action: AuditAction) -> WebhookEventType | None:
    return WebhookEventType.__members__.get(action.value)


@dataclass(frozen=True)
class Actor:
    """Who made a change: an API key (kept by id and label, even after it is revoked) or the
    server itself (a provider check, retention, an endpoint disabled after failing)."""

    api_key_id: int | None = None
    label: str | None = None
    request_id: str | None = None

    @property
    def system(self) -> bool:
        return self.api_key_id is None


SYSTEM = Actor()


@dataclass(frozen=True)
class Change:
    """One field's change. A secret's values are never kept: only that it changed."""

    field: str
    before: Any = None
    after: Any = None
    secret: bool = False

    def as_json(self) -> dict[str, Any]:
        return {"field": self.field, "before": self.before, "after": self.after, "secret": self.secret}

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> Change:
        return cls(field=value["field"], before=value.get("before"), after=value.get("after"),
                   secret=bool(value.get("secret")))


def changes_between(
    before: Mapping[str, Any], after: Mapping[str, Any], *, secret: Iterable[str] = (), prefix: str = "",
) -> list[Change]:
    """The fields whose values differ, in a stable order; a field absent on one side is None there,
    and counts as changed even when the other side holds None (a create passes an empty `before`
    and records every field; a delete, an empty `after`). Fields named in `secret` come out with
    no values."""
    secret_fields = set(secret)
    found = []
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name), after.get(name)
        if old == new and (name in before) == (name in after):
            continue
        if name in secret_fields:
            found.append(Change(prefix + name, secret=True))
        else:
            found.append(Change(prefix + name, old, new))
    return found


@dataclass(frozen=True)
class Happening:
    """One audited change of one entity (`entity_id` is its global id; None for the organization)."""

    action: AuditAction
    entity_type: str
    entity_id: str | None
    changes: tuple[Change, ...] = field(default_factory=tuple)

    @property
    def changed_fields(self) -> list[str]:
        return [change.field for change in self.changes]


def webhook_data(happening: Happening) -> dict[str, Any]:
    """The payload's `data`: the entity's id and the names of what changed, never a value."""
    data: dict[str, Any] = {"id": happening.entity_id}
    if happening.changes:
        data["changedFields"] = happening.changed_fields
    return data


def webhook_body(event: WebhookEventType, data: Mapping[str, Any], at: datetime) -> dict[str, Any]:
    """The Standard Webhooks shape: type, ISO 8601 UTC timestamp, data."""
    return {"type": event.dotted, "timestamp": at.isoformat().replace("+00:00", "Z"), "data": dict(data)}
