"""Organizations and API keys: create, list, revoke, authenticate."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from ..domain.errors import UserErrors
from ..domain.text import clean_text
from ..storage import queries
from ..storage.db import Database, retrying_disconnects
from ..storage.tables import ApiKey, Organization, utcnow

KEY_PREFIX = "gqlt_"
MAX_KEY_LENGTH = 200
MAX_LABEL_LENGTH = 64
MAX_ORGANIZATION_NAME_LENGTH = 200  # the column's width
# Ids per statement when checking many keys at once (well under SQLite's parameter limit).
KEY_IDS_PER_STATEMENT = 500


@dataclass(frozen=True)
class Principal:
    """Who a request acts for: the organization of its API key, and which key."""

    org_id: int
    read_only: bool
    # The organization's data version when the key was checked: whatever this request reads
    # afterwards is at least this recent.
    data_version: int = 0
    key_id: int = 0
    label: str | None = None


@dataclass(frozen=True)
class ApiKeyInfo:
    """What may be shown of a key: everything but the key (and its hash)."""

    id: int
    label: str | None
    read_only: bool
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class Revocation:
    key_id: int
    label: str | None
    revoked_at: datetime
    already: bool  # it had been revoked before: nothing changed


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def create_organization(db: Database, name: str) -> int:
    name = name.strip()
    if not name or len(name) > MAX_ORGANIZATION_NAME_LENGTH:
        raise ValueError("the organization name must be 1 to 200 characters")
    async with db.writing() as session:
        organization = Organization(name=name)
        session.add(organization)
        await session.flush()
        assert organization.id is not None
        return organization.id


def clean_label(label: str | None) -> str | None:
    """The label cleaned as a phone number's label is (domain/text.py: trimmed, NFC, no control or
    bidi-override characters, at most 64 characters); ValueError saying why it cannot be one."""
    if label is None:
        return None
    try:
        return clean_text(label, ("label",), what="A label", max_length=MAX_LABEL_LENGTH, required=True)
    except UserErrors as refused:
        raise ValueError(refused.errors[0].message) from None


async def _require_organization(session: AsyncSession, org_id: int) -> None:
    found = await session.execute(sa.select(col(Organization.id)).where(col(Organization.id) == org_id))
    if found.first() is None:
        raise LookupError(f"no organization has id {org_id}")


async def create_api_key(db: Database, org_id: int, *, read_only: bool = False, label: str | None = None) -> str:
    """A new key (32 random bytes), returned this once; only its hash is stored."""
    label = clean_label(label)
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    async with db.writing() as session:
        await _require_organization(session, org_id)
        session.add(ApiKey(organization_id=org_id, key_hash=hash_key(key), read_only=read_only, label=label))
    return key


async def list_api_keys(db: Database, org_id: int, *, include_revoked: bool = False) -> list[ApiKeyInfo]:
    """The organization's keys, oldest first (revoked ones only when asked)."""
    async with db.reading() as session:
        await _require_organization(session, org_id)
        rows = await queries.api_keys_of_org(session, org_id=org_id, include_revoked=include_revoked)
    return [ApiKeyInfo(row.id, row.label, row.read_only, row.created_at, row.last_used_at, row.revoked_at)
            for row in rows]


async def revoke_api_key(db: Database, key_id: int) -> Revocation:
    """Marks the key revoked (the row stays, so what it did keeps its id and label). Requests
    with it are refused from the commit on; open WebSockets are closed by api/http/key_watch.py."""
    async with db.writing() as session:
        row = (await session.execute(
            sa.select(ApiKey).where(col(ApiKey.id) == key_id).with_for_update()
        )).scalar_one_or_none()
        if row is None:
            raise LookupError(f"no API key has id {key_id}")
        already = row.revoked_at is not None
        if not already:
            row.revoked_at = utcnow()
        assert row.id is not None and row.revoked_at is not None
        return Revocation(row.id, row.label, row.revoked_at, already)


async def live_key_ids(db: Database, key_ids: Collection[int]) -> set[int]:
    """Which of these keys still authenticate (neither revoked nor deleted)."""
    ordered = sorted(key_ids)
    live: set[int] = set()
    for start in range(0, len(ordered), KEY_IDS_PER_STATEMENT):
        # Chunks need no common snapshot: each is its own statement (no BEGIN on SQLite).
        async with db.reading_rows(one_statement=True) as connection:
            live |= await queries.live_key_ids(connection, ids=ordered[start:start + KEY_IDS_PER_STATEMENT])
    return live


async def record_key_use(db: Database, key_ids: Collection[int], at: datetime) -> None:
    """Sets when these keys were last used (services/key_usage.py decides how often)."""
    ordered = sorted(key_ids)
    async with db.writing() as session:
        for start in range(0, len(ordered), KEY_IDS_PER_STATEMENT):
            chunk = ordered[start:start + KEY_IDS_PER_STATEMENT]
            await session.execute(
                sa.update(ApiKey).where(col(ApiKey.id).in_(chunk)).values(last_used_at=at)
                .execution_options(synchronize_session=False)
            )


async def authenticate(db: Database, key: str) -> Principal | None:
    """The principal of a key, by an indexed lookup of its hash (no comparison of the key itself)."""
    if not key or len(key) > MAX_KEY_LENGTH:
        return None
    key_hash = hash_key(key)

    async def look_up() -> queries.KeyLookupRow | None:
        async with db.reading_driver(snapshot=False) as connection:
            return await queries.api_key_by_hash(connection, key_hash=key_hash)

    found = await retrying_disconnects(look_up)  # a dead pooled connection is no reason to refuse
    if found is None or not hmac.compare_digest(found.key_hash, key_hash):
        return None
    return Principal(org_id=found.organization_id, read_only=found.read_only, data_version=found.data_version,
                     key_id=found.id, label=found.label)


async def create_demo_if_empty(db: Database) -> str | None:
    """On an empty database, a demo organization and one key for it (returned); else None."""
    async with db.reading() as session:
        if (await session.execute(sa.select(sa.func.count()).select_from(Organization))).scalar_one():
            return None
    org_id = await create_organization(db, "Demo organization")
    return await create_api_key(db, org_id)
