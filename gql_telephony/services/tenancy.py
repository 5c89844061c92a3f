"""Organizations and API keys."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

import sqlalchemy as sa

from ..storage import queries
from ..storage.db import Database
from ..storage.tables import ApiKey, Organization

KEY_PREFIX = "gqlt_"
MAX_KEY_LENGTH = 200


@dataclass(frozen=True)
class Principal:
    """Who a request acts for: the organization of its API key."""

    org_id: int
    read_only: bool
    # The organization's data version when the key was checked: whatever this request reads
    # afterwards is at least this recent.
    data_version: int = 0


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def create_organization(db: Database, name: str) -> int:
    name = name.strip()
    if not name or len(name) > 200:
        raise ValueError("the organization name must be 1 to 200 characters")
    async with db.writing() as session:
        organization = Organization(name=name)
        session.add(organization)
        await session.flush()
        assert organization.id is not None
        return organization.id


async def create_api_key(db: Database, org_id: int, *, read_only: bool = False) -> str:
    """A new key (32 random bytes), returned this once; only its hash is stored."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    async with db.writing() as session:
        found = await session.execute(sa.select(Organization.id).where(Organization.id == org_id))  # type: ignore[arg-type]
        if found.first() is None:
            raise LookupError(f"no organization has id {org_id}")
        session.add(ApiKey(organization_id=org_id, key_hash=hash_key(key), read_only=read_only))
    return key


async def authenticate(db: Database, key: str) -> Principal | None:
    """The principal of a key, by an indexed lookup of its hash (no comparison of the key itself)."""
    if not key or len(key) > MAX_KEY_LENGTH:
        return None
    key_hash = hash_key(key)
    async with db.reading_rows(one_statement=True) as connection:
        found = await queries.api_key_by_hash(connection, key_hash=key_hash)
    if found is None or not hmac.compare_digest(found.key_hash, key_hash):
        return None
    return Principal(org_id=found.organization_id, read_only=found.read_only, data_version=found.data_version)


async def create_demo_if_empty(db: Database) -> str | None:
    """On an empty database, a demo organization and one key for it (returned); else None."""
    async with db.reading() as session:
        if (await session.execute(sa.select(sa.func.count()).select_from(Organization))).scalar_one():
            return None
    org_id = await create_organization(db, "Demo organization")
    return await create_api_key(db, org_id)
