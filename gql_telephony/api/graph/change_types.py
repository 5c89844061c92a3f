"""Subscription.organizationChanges' messages as views (fields.py) over the domain's values
(domain/organization_changes.py): what changed, by type, and the data version after it."""

from __future__ import annotations

import strawberry

from ...domain.audit import WebhookEventType
from ...domain.organization_changes import ChangeEvent, OrganizationChange
from . import webhook_types  # noqa: F401 - registers WebhookEventType as the GraphQL enum
from .fields import read, view


@view("OrganizationChangeEvent", description="Changes of one type since the previous message.")
class OrganizationChangeEventType:
    source: strawberry.Private[ChangeEvent]
    type: WebhookEventType = read(description="What kind of change, as webhook endpoints subscribe to it.")
    entity_ids: list[strawberry.ID] = read(then=list, description=(
        "Global ids of what changed, each once, in order of first change (may be deleted since)."
    ))


@view("OrganizationChange", description="The organization's data moved: its new version, and what changed.")
class OrganizationChangeType:
    source: strawberry.Private[OrganizationChange]
    data_version: str = read(then=str, description="Organization.dataVersion after these changes (decimal text).")
    events: list[OrganizationChangeEventType] = read(description=(
        "One entry per type of change, in the enum's order; empty in the first message."
    ))
