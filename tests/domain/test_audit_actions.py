"""The two enums of domain/audit.py: mypy needs each member spelled out, so the webhook event
types are listed twice; this keeps the lists in step."""

from __future__ import annotations

from gql_telephony.domain.audit import AuditAction, WebhookEventType, webhook_event_of


def test_every_webhook_event_type_is_an_audit_action_of_the_same_name_and_value():
    for event in WebhookEventType:
        assert AuditAction[event.name].value == event.value
        assert webhook_event_of(AuditAction[event.name]) is event


def test_the_audit_actions_beyond_the_event_types_are_the_endpoint_changes_announced_to_no_endpoint():
    others = [action for action in AuditAction if webhook_event_of(action) is None]
    assert others == [AuditAction.WEBHOOK_ENDPOINT_CREATED, AuditAction.WEBHOOK_ENDPOINT_UPDATED,
                      AuditAction.WEBHOOK_ENDPOINT_DELETED, AuditAction.WEBHOOK_ENDPOINT_SECRET_ROTATED]
    assert [action.name for action in AuditAction][:len(WebhookEventType)] == list(WebhookEventType.__members__)
