"""Pages of audit events: what an AuditEventConnection is made from, for Query.auditEvents and
for each entity's own history (TelephonyConfig.auditEvents, PhoneNumber.auditEvents).

Kept apart from the views (audit_types.py) so that types.py can give its types an `auditEvents`
field without importing the views, which import types.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

from ...domain.ids import decode_id
from ...services.reader import Reader
from ...storage.audit import EventFilter
from .arguments import bad_user_input, page_arguments


class AuditPage(NamedTuple):
    """A page of events, newest first, with what PageInfo and totalCount need."""

    rows: Sequence[Any]
    has_next: bool
    after_given: bool
    entity_id: str | None = None  # an entity's own history
    events: EventFilter | None = None  # or the organization's events this filter selects

    @classmethod
    def of(cls, fetched: Sequence[Any], limit: int, after_id: int | None, **extra: Any) -> AuditPage:
        """The page of `fetched`, read with one row more than `limit` to learn if another follows."""
        return cls(fetched[:limit], len(fetched) > limit, after_id is not None, **extra)


def in_utc(moment: datetime | None) -> datetime | None:
    """In UTC, as stored; a time without an offset is taken as UTC, as every time the API gives is."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # within an offset of the calendar's ends: the end it is nearest to
        return (datetime.min if moment.year == 1 else datetime.max).replace(tzinfo=UTC)


def filter_refusal(field: str, entity_id: object, since: datetime | None, until: datetime | None) -> str | None:
    """Why the filter of `field` is refused (the request guard asks before anything runs), if it is:
    an id that is none of ours, or an empty span of time."""
    if isinstance(entity_id, str) and decode_id(entity_id) is None:
        return f"`filter.entityId` on `{field}` is not a global id of this API."
    since, until = in_utc(since), in_utc(until)
    if since is not None and until is not None and since > until:
        return f"`filter.since` on `{field}` is after `filter.until`: no event can match."
    return None


def event_filter(entity_id: str | None, action: str | None, since: datetime | None,
                 until: datetime | None) -> EventFilter:
    """The stored form of AuditEventFilter (BAD_USER_INPUT as the guard says, should it be passed)."""
    refusal = filter_refusal("auditEvents", entity_id, since, until)
    if refusal is not None:
        raise bad_user_input(refusal)
    return EventFilter(entity_id=entity_id, action=action, since=in_utc(since), until=in_utc(until))


async def organization_pages(reader: Reader, count: int, events: EventFilter, first: int | None,
                             after: str | None) -> list[AuditPage]:
    limit, after_id = page_arguments(first, after)
    rows = await reader.audit_page(events, limit=limit + 1, before_id=after_id)
    return [AuditPage.of(rows, limit, after_id, events=events)] * count


async def entity_pages(reader: Reader, entity_ids: list[str], first: int | None,
                       after: str | None) -> list[AuditPage]:
    """Each entity's own page, all in one statement."""
    limit, after_id = page_arguments(first, after)
    pages = await reader.audit_entity_pages(entity_ids, limit=limit + 1, before_id=after_id)
    return [AuditPage.of(pages[entity_id], limit, after_id, entity_id=entity_id) for entity_id in entity_ids]
