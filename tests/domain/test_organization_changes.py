"""Coalescing an organization's changes: one entry per type in the enum's order, each entity once
in order of first appearance; merged messages say everything both said, at the later version."""

from __future__ import annotations

from gql_telephony.domain.audit import AuditAction, WebhookEventType
from gql_telephony.domain.organization_changes import (
    ChangeEvent,
    OrganizationChange,
    Pending,
    announced,
    coalesce,
    merge,
)

E = WebhookEventType


def test_one_entry_per_type_in_the_enums_order_ids_distinct_in_order_of_first_appearance() -> None:
    happened = [(E.PHONE_NUMBER_ADDED, "n2"), (E.TELEPHONY_CONFIG_UPDATED, "c1"), (E.PHONE_NUMBER_ADDED, "n1"),
                (E.PHONE_NUMBER_ADDED, "n2"), (E.WARNINGS_CHANGED, "o"), (E.TELEPHONY_CONFIG_CREATED, "c2"),
                (E.TELEPHONY_CONFIG_UPDATED, "c1")]
    assert coalesce(happened) == (
        ChangeEvent(E.TELEPHONY_CONFIG_CREATED, ("c2",)),
        ChangeEvent(E.TELEPHONY_CONFIG_UPDATED, ("c1",)),
        ChangeEvent(E.PHONE_NUMBER_ADDED, ("n2", "n1")),
        ChangeEvent(E.WARNINGS_CHANGED, ("o",)),
    )
    assert coalesce([]) == ()


def test_every_type_keeps_the_enums_order() -> None:
    backwards = [(event, event.value) for event in reversed(E)]
    assert [entry.type for entry in coalesce(backwards)] == list(E)


def test_audit_actions_map_to_webhook_event_types_and_endpoint_changes_are_left_out() -> None:
    actions = [(action.value, f"id-{action.value}") for action in AuditAction]
    found = announced([*actions, ("SOMETHING_NEWER", "x"), ("TELEPHONY_CONFIG_UPDATED", None)])
    assert found == [(E(action.value), f"id-{action.value}") for action in AuditAction
                     if not action.value.startswith("WEBHOOK_ENDPOINT")]
    assert {event for event, _ in found} == set(E)


def test_merging_keeps_every_change_and_the_later_version() -> None:
    first = OrganizationChange(5, coalesce([(E.PHONE_NUMBER_ADDED, "n1"), (E.WARNINGS_CHANGED, "o")]))
    second = OrganizationChange(7, coalesce([(E.TELEPHONY_CONFIG_CREATED, "c1"), (E.PHONE_NUMBER_ADDED, "n2"),
                                             (E.PHONE_NUMBER_ADDED, "n1")]))
    third = OrganizationChange(9, coalesce([(E.PHONE_NUMBER_REMOVED, "n1"), (E.WARNINGS_CHANGED, "o")]))
    merged = merge(merge(merge(None, first), second), third)
    assert merged == OrganizationChange(9, (
        ChangeEvent(E.TELEPHONY_CONFIG_CREATED, ("c1",)),
        ChangeEvent(E.PHONE_NUMBER_ADDED, ("n1", "n2")),
        ChangeEvent(E.PHONE_NUMBER_REMOVED, ("n1",)),
        ChangeEvent(E.WARNINGS_CHANGED, ("o",)),
    ))
    # The same as coalescing everything at once.
    assert merged.events == coalesce([(e.type, i) for m in (first, second, third) for e in m.events for i in e.entity_ids])
    assert merge(None, first) is first


def test_pending_merges_as_messages_arrive_and_empties_when_taken() -> None:
    messages = [OrganizationChange(v, coalesce([(E.PHONE_NUMBER_ADDED, f"n{v % 3}"), (E.WARNINGS_CHANGED, "o")]))
                for v in range(1, 8)]
    pending = Pending()
    assert pending.take() is None
    merged = None
    for message in messages:
        pending.add(message)
        merged = merge(merged, message)
    assert pending.take() == merged == OrganizationChange(7, (
        ChangeEvent(E.PHONE_NUMBER_ADDED, ("n1", "n2", "n0")), ChangeEvent(E.WARNINGS_CHANGED, ("o",)),
    ))
    assert pending.take() is None
    pending.add(OrganizationChange(3))  # a version with no events is still a message
    assert pending.take() == OrganizationChange(3)


def test_a_change_alone_is_taken_as_it_came_so_its_subscribers_share_one_object() -> None:
    change = OrganizationChange(4, coalesce([(E.PHONE_NUMBER_ADDED, "n1"), (E.WARNINGS_CHANGED, "o")]))
    later = OrganizationChange(5, coalesce([(E.PHONE_NUMBER_ADDED, "n2")]))
    first, second = Pending(), Pending()
    first.add(change)
    second.add(change)
    assert first.take() is change and second.take() is change
    first.add(change)
    first.add(later)  # two: merged into a new one
    assert first.take() == merge(change, later) != change
    first.add(later)  # alone again after a take
    assert first.take() is later
