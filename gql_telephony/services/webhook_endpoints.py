"""Use cases of webhook endpoints: create, update (disable and re-enable), delete, rotate the
signing secret, and enqueue a test ping. Sending is the delivery worker's (workers/).

A URL's host is resolved and judged before the write's transaction opens: no network inside
a transaction. The delivery worker judges the address again at each send.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from ..crypto import Vault
from ..domain.addresses import IPAddress, refusal_of
from ..domain.audit import Actor, AuditAction, Change, Happening, WebhookEventType, changes_between
from ..domain.errors import ErrorCode, UserErrors
from ..domain.ids import encode_id
from ..domain.webhook_endpoints import (
    MAX_ENDPOINTS_PER_ORGANIZATION,
    PING_EVENT,
    PING_TYPE,
    URL_PATH,
    DeliveryStatus,
    DisabledReason,
    Target,
    clean_description,
    clean_events,
    clean_url,
)
from ..storage import outbox
from ..storage.db import Database
from ..storage.outbox import new_message_id
from ..storage.tables import WebhookDeliveryRow, WebhookEndpointRow, utcnow
from . import audit, signing_secrets
from .events import Broker
from .unit_of_work import writing

ENTITY = "WebhookEndpoint"
ID_PATH = ("input", "id")
RESOLVE_TIMEOUT_SECONDS = 3.0
# After a rotation the previous secret still signs for this long (a second signature).
PREVIOUS_SECRET_LASTS = timedelta(hours=24)
SETTING = "GQL_TELEPHONY_ALLOW_PRIVATE_WEBHOOK_HOSTS"
SECRET_FIELD = "signingSecret"  # audited as changed, never with a value
ENDPOINTS: sa.Table = WebhookEndpointRow.__table__  # type: ignore[attr-defined]  # SQLModel sets it undeclared

KEEP: Any = object()  # a description left out: kept (None clears it)


def endpoint_id(key: int | None) -> str:
    assert key is not None
    return encode_id(ENTITY, key)


def not_found(path: tuple[str, ...] = ID_PATH) -> UserErrors:
    return UserErrors.one(path, "No webhook endpoint has this id.", ErrorCode.NOT_FOUND)


@dataclass(frozen=True)
class Created:
    endpoint: WebhookEndpointRow
    secret: str  # in clear: shown once, in the mutation's payload


@dataclass
class WebhookEndpoints:
    db: Database
    vault: Vault
    events: Broker
    allow_private_hosts: bool = False  # GQL_TELEPHONY_ALLOW_PRIVATE_WEBHOOK_HOSTS
    webhooks_due: Callable[[], None] = field(default=lambda: None)  # wakes this process's webhook sender

    async def create(
        self, org_id: int, actor: Actor, *, url: str, events: list[WebhookEventType], description: str | None,
    ) -> Created:
        clean = _checked(url=url, events=events, description=description)
        clean["url"], target = clean["url"]
        await self._check_target(target)
        secret = signing_secrets.new_secret()
        now = utcnow()
        row = WebhookEndpointRow(
            organization_id=org_id, url=clean["url"], description=clean["description"], events=clean["events"],
            secret=signing_secrets.seal(self.vault, secret), created_at=now, updated_at=now,
        )
        async with writing(self.db, org_id) as session:
            count = (await session.execute(
                sa.select(sa.func.count()).select_from(ENDPOINTS).where(ENDPOINTS.c.organization_id == org_id)
            )).scalar_one()
            if count >= MAX_ENDPOINTS_PER_ORGANIZATION:
                raise UserErrors.one(None, (
                    f"An organization has at most {MAX_ENDPOINTS_PER_ORGANIZATION} webhook endpoints: "
                    "delete one first."
                ), ErrorCode.INVALID)
            session.add(row)
            await session.flush()
            if _wants_warnings(row) and not await _others_listen(session, org_id, row.id or 0):
                await audit.reset_warnings_digest(session, self.vault, org_id=org_id)
            changes = (*changes_between({}, _shown(row)), Change(SECRET_FIELD, secret=True))
            await audit.record(session, self.vault, org_id=org_id, actor=actor, warnings_may_change=False,
                               happenings=[Happening(AuditAction.WEBHOOK_ENDPOINT_CREATED, ENTITY,
                                                     endpoint_id(row.id), changes)])
        await self.events.publish(org_id)
        return Created(row, secret)

    async def update(
        self, org_id: int, actor: Actor, key: int | None, *, url: str | None = None,
        events: list[WebhookEventType] | None = None, description: str | None = KEEP, enabled: bool | None = None,
    ) -> WebhookEndpointRow:
        given: dict[str, Any] = {"url": url, "events": events}
        if description is not KEEP:
            given["description"] = description
        new = _checked(**{name: value for name, value in given.items() if value is not None or name == "description"})
        target = None
        if "url" in new:
            new["url"], target = new["url"]
        if key is None:
            raise not_found()
        # A URL already stored passes again: the rule applies to a new one (the worker checks at each send).
        if target is not None and not await self._stored_url_is(org_id, key, new["url"]):
            await self._check_target(target)
        async with writing(self.db, org_id) as session:
            row = await _locked(session, org_id, key)
            before = _shown(row)
            was_failing = not row.enabled and row.disabled_reason == DisabledReason.FAILING.value
            wanted_warnings = _wants_warnings(row)
            for name, value in new.items():
                setattr(row, name, value)
            now = utcnow()
            if enabled is True and not row.enabled:
                row.enabled, row.disabled_reason, row.disabled_at, row.failing_since = True, None, None, None
            elif enabled is False and row.enabled:
                row.enabled, row.disabled_reason, row.disabled_at = False, DisabledReason.USER.value, now
            changes = changes_between(before, _shown(row))
            if not changes:
                return row  # nothing changed: no new version, no event
            row.version += 1
            row.updated_at = now
            await session.flush()
            # The stored digest is current only while some endpoint listens: the first listener
            # starts from the summary as it is now, and is not told of older changes.
            first_listener = _wants_warnings(row) and not wanted_warnings and not await _others_listen(
                session, org_id, key)
            if first_listener:
                await audit.reset_warnings_digest(session, self.vault, org_id=org_id)
            # Re-enabling an endpoint disabled for failing clears an organization warning.
            await audit.record(
                session, self.vault, org_id=org_id, actor=actor,
                warnings_may_change=was_failing and row.enabled and not first_listener,
                happenings=[Happening(AuditAction.WEBHOOK_ENDPOINT_UPDATED, ENTITY, endpoint_id(row.id),
                                      tuple(changes))],
            )
        await self.events.publish(org_id)
        return row

    async def delete(self, org_id: int, actor: Actor, key: int | None) -> int:
        """Its deliveries and their attempts go with it (the foreign keys cascade)."""
        if key is None:
            raise not_found()
        async with writing(self.db, org_id) as session:
            row = await _locked(session, org_id, key, for_delete=True)
            before = _shown(row)
            was_failing = not row.enabled and row.disabled_reason == DisabledReason.FAILING.value
            await session.delete(row)
            await session.flush()
            await audit.record(session, self.vault, org_id=org_id, actor=actor, warnings_may_change=was_failing,
                               happenings=[Happening(AuditAction.WEBHOOK_ENDPOINT_DELETED, ENTITY, endpoint_id(key),
                                                     tuple(changes_between(before, {})))])
        await self.events.publish(org_id)
        return key

    async def rotate_secret(self, org_id: int, actor: Actor, key: int | None) -> Created:
        """A new secret; the one it replaces still signs for 24 hours (one previous secret is kept:
        rotating again within them drops the older one)."""
        if key is None:
            raise not_found()
        secret = signing_secrets.new_secret()
        sealed = signing_secrets.seal(self.vault, secret)
        async with writing(self.db, org_id) as session:
            row = await _locked(session, org_id, key)
            now = utcnow()
            row.previous_secret, row.previous_secret_until = row.secret, now + PREVIOUS_SECRET_LASTS
            row.secret = sealed
            row.version += 1
            row.updated_at = now
            await session.flush()
            await audit.record(session, self.vault, org_id=org_id, actor=actor, warnings_may_change=False,
                               happenings=[Happening(AuditAction.WEBHOOK_ENDPOINT_SECRET_ROTATED, ENTITY,
                                                     endpoint_id(row.id), (Change(SECRET_FIELD, secret=True),))])
        await self.events.publish(org_id)
        return Created(row, secret)

    async def send_test(self, org_id: int, key: int | None, *, path: tuple[str, ...]) -> WebhookDeliveryRow:
        """A ping delivery, due now, for the delivery worker to send like any other."""
        if key is None:
            raise not_found(path)
        async with writing(self.db, org_id) as session:
            row = await _locked(session, org_id, key, path=path)
            if not row.enabled:
                raise UserErrors.one(path, "The endpoint is disabled: enable it first.", ErrorCode.INVALID)
            now = utcnow()
            body = {"type": PING_TYPE, "timestamp": now.isoformat().replace("+00:00", "Z"),
                    "data": {"id": endpoint_id(row.id)}}
            delivery = WebhookDeliveryRow(
                organization_id=org_id, endpoint_id=key, message_id=new_message_id(), event_type=PING_EVENT,
                body=orjson.dumps(body).decode(), created_at=now, status=DeliveryStatus.PENDING.value,
                attempt_count=0, next_attempt_at=now,
            )
            session.add(delivery)
            await session.flush()
        await self.events.publish(org_id)
        self.webhooks_due()
        return delivery

    async def _stored_url_is(self, org_id: int, key: int, url: str) -> bool:
        async with self.db.reading() as session:
            stored = (await session.execute(
                sa.select(ENDPOINTS.c.url).where(ENDPOINTS.c.id == key, ENDPOINTS.c.organization_id == org_id)
            )).scalar_one_or_none()
        return stored == url

    async def _check_target(self, target: Target) -> None:
        """UserErrors unless the host resolves, and (unless the operator allows private hosts)
        only to addresses the server may contact."""
        try:
            addresses = await resolve(target)
        except TimeoutError:
            raise UserErrors.one(URL_PATH, "The URL's host did not resolve in time; try again.",
                                 ErrorCode.INVALID) from None
        if not addresses:
            raise UserErrors.one(URL_PATH, "The URL's host does not resolve to an address.", ErrorCode.INVALID)
        if self.allow_private_hosts:
            return
        for address in addresses:
            rule = refusal_of(address)
            if rule is not None:
                raise UserErrors.one(URL_PATH, (
                    f"The URL's host is (or resolves to) {rule}: webhooks are not sent to loopback, private, "
                    f"link-local or cloud metadata addresses unless the operator sets {SETTING}=1."
                ), ErrorCode.INVALID)


async def resolve(target: Target) -> list[IPAddress]:
    """The host's addresses (an IP literal is its own); empty when it does not resolve.
    TimeoutError after RESOLVE_TIMEOUT_SECONDS."""
    try:
        return [ipaddress.ip_address(target.host)]
    except ValueError:
        pass
    try:
        async with asyncio.timeout(RESOLVE_TIMEOUT_SECONDS):
            found = await asyncio.get_running_loop().getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return []
    return list(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in found))


def _checked(**given: Any) -> dict[str, Any]:
    """Each given input cleaned (the URL as (url, target)); UserErrors holding every refusal."""
    cleaners: dict[str, Any] = {"url": clean_url, "events": clean_events, "description": clean_description}
    errors = []
    clean: dict[str, Any] = {}
    for name, value in given.items():
        try:
            clean[name] = cleaners[name](value)
        except UserErrors as refused:
            errors += refused.errors
    if errors:
        raise UserErrors(errors)
    return clean


def _shown(row: WebhookEndpointRow) -> dict[str, Any]:
    """The fields an audit event shows the values of (the secrets are audited as changed only)."""
    return {"url": row.url, "description": row.description, "events": list(row.events), "enabled": row.enabled}


def _wants_warnings(row: WebhookEndpointRow) -> bool:
    return row.enabled and WebhookEventType.WARNINGS_CHANGED.value in row.events


async def _others_listen(session: AsyncSession, org_id: int, key: int) -> bool:
    """Whether another enabled endpoint of the organization wants WARNINGS_CHANGED."""
    endpoints = await outbox.subscriptions(session, org_id=org_id)
    return any(WebhookEventType.WARNINGS_CHANGED in events for other, events in endpoints.items() if other != key)


async def _locked(
    session: AsyncSession, org_id: int, key: int, *, for_delete: bool = False, path: tuple[str, ...] = ID_PATH,
) -> WebhookEndpointRow:
    """The organization's endpoint, locked after the organization row (`writing` took that)."""
    row = (await session.execute(
        select(WebhookEndpointRow)
        .where(WebhookEndpointRow.id == key, WebhookEndpointRow.organization_id == org_id)
        .with_for_update(key_share=not for_delete)
        .execution_options(populate_existing=True)
    )).scalars().first()
    if row is None:
        raise not_found(path)
    return row
