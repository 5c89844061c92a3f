"""What changed in an organization since a subscriber's last message (organizationChanges).

Plain values and functions. A follower reads the audit events committed since it last looked
(their actions and entities, in commit order) and whether the warning summary moved; these
functions turn that into one message, and merge messages a slow subscriber has not taken yet
into one, so that it never holds a backlog and never misses a change.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .audit import AuditAction, WebhookEventType, webhook_event_of

Happened = tuple[WebhookEventType, str]  # a type of change, and the global id of what it changed


@dataclass(frozen=True)
class ChangeEvent:
    """Changes of one type: the entities they touched, each once, in order of first appearance."""

    type: WebhookEventType
    entity_ids: tuple[str, ...]


@dataclass(frozen=True)
class OrganizationChange:
    """The organization's data version after the changes, and the changes (none: where a
    subscription starts)."""

    data_version: int
    events: tuple[ChangeEvent, ...] = ()


def announced(actions: Iterable[tuple[str, str | None]]) -> list[Happened]:
    """The (action, entity id) pairs of audit events that are webhook event types, in their order.
    Webhook endpoint changes are not, and an action this version does not know is left out."""
    found = []
    for action, entity_id in actions:
        known = AuditAction.__members__.get(action)
        event = webhook_event_of(known) if known is not None else None
        if event is not None and entity_id is not None:
            found.append((event, entity_id))
    return found


def coalesce(happened: Iterable[Happened]) -> tuple[ChangeEvent, ...]:
    """One entry per type, in the enum's order; its entity ids distinct, in order of first appearance."""
    by_type: dict[WebhookEventType, dict[str, None]] = {}
    for event, entity_id in happened:
        by_type.setdefault(event, {}).setdefault(entity_id)
    return tuple(ChangeEvent(event, tuple(by_type[event])) for event in WebhookEventType if event in by_type)


def _pairs(events: Iterable[ChangeEvent]) -> Iterable[Happened]:
    return ((event.type, entity_id) for event in events for entity_id in event.entity_ids)


def merge(earlier: OrganizationChange | None, later: OrganizationChange) -> OrganizationChange:
    """One message saying what both say: the later version, every change of either."""
    if earlier is None:
        return later
    pending = Pending()
    pending.add(earlier)
    pending.add(later)
    change = pending.take()
    assert change is not None
    return change


class Pending:
    """What a subscriber has not taken yet, merged as it arrives: adding costs what the new
    message holds, not what is already pending (a slow reader during a large import)."""

    def __init__(self) -> None:
        self._version: int | None = None
        self._by_type: dict[WebhookEventType, dict[str, None]] = {}
        # The one change added since the last take, taken as it came (already coalesced): then
        # every subscriber gets the same object, whose execution they share (api/graph/shared_events.py).
        self._alone: OrganizationChange | None = None

    def add(self, change: OrganizationChange) -> None:
        self._alone = change if self._version is None else None
        self._version = change.data_version if self._version is None else max(self._version, change.data_version)
        for event, entity_id in _pairs(change.events):
            self._by_type.setdefault(event, {}).setdefault(entity_id)

    def take(self) -> OrganizationChange | None:
        """The one message (None: nothing pending), and nothing pending after."""
        if self._version is None:
            return None
        by_type, version, alone = self._by_type, self._version, self._alone
        self._by_type, self._version, self._alone = {}, None, None
        if alone is not None:
            return alone
        return OrganizationChange(
            version, tuple(ChangeEvent(event, tuple(by_type[event])) for event in WebhookEventType if event in by_type)
        )
