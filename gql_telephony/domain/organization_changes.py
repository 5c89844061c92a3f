"""What changed in an organization since a subscriber's last message (organizationChanges).

Plain values and functions. A follower reads the audit events committed since it last looked
(their actions and entities, in commit order) and whether the warning summary moved; these
functions turn that into one message, and merge messages a slow subscriber has not taken yet
into one, so that it never holds a backlog and never misses a change.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import chain

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
    return OrganizationChange(
        max(earlier.data_version, later.data_version), coalesce(chain(_pairs(earlier.events), _pairs(later.events)))
    )
