"""The tables. Invariants live here as constraints, so that they hold under any concurrency."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Timezone-aware UTC on the way out, also on SQLite (which stores naive text)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value

    def result_processor(self, dialect: sa.Dialect, coltype: object) -> Any:
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)

        # SQLite hands back text; the standard parser (C) is several times faster than the
        # dialect's regular expression, which matters with a thousand rows in a response.
        def parse(value: str | None) -> datetime | None:
            if value is None:
                return None
            parsed = datetime.fromisoformat(value)
            return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)

        return parse


def utcnow() -> datetime:
    return datetime.now(UTC)


def _fk(target: str) -> sa.ForeignKey:
    return sa.ForeignKey(target, ondelete="CASCADE")


# SQLite reuses the largest deleted rowid unless a table says AUTOINCREMENT; ids must never be
# reused, or a retried delete (or any stale id) could name a newer row.
NEVER_REUSE_IDS = {"sqlite_autoincrement": True}


class Organization(SQLModel, table=True):
    __tablename__ = "organization"
    __table_args__ = (NEVER_REUSE_IDS,)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_type=sa.String(200))
    # Bumped in the transaction of every write to the organization's data: a response cached
    # under an older version is never served again (see api/http/response_cache.py).
    data_version: int = Field(default=1, sa_type=sa.BigInteger, sa_column_kwargs={"server_default": "1"})
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_key"
    __table_args__ = (NEVER_REUSE_IDS,)

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = Field(sa_column_args=[_fk("organization.id")], index=True)
    # SHA-256 of the key: the key itself is shown once and never stored.
    key_hash: str = Field(sa_type=sa.String(64), unique=True)
    read_only: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    label: str | None = Field(default=None, sa_type=sa.String(64))
    # Written at most once a minute per key and server process (services/key_usage.py).
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # A revoked key is kept (what it did stays attributable) and never authenticates again.
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class TelephonyConfigRow(SQLModel, table=True):
    __tablename__ = "telephony_config"
    __table_args__ = (
        sa.UniqueConstraint("organization_id", "name_key", name="uq_telephony_config_org_name"),
        sa.Index(
            "uq_telephony_config_one_default", "organization_id", unique=True,
            sqlite_where=sa.text("is_default_outbound"), postgresql_where=sa.text("is_default_outbound"),
        ),
        NEVER_REUSE_IDS,
    )

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = Field(sa_column_args=[_fk("organization.id")])
    name: str = Field(sa_type=sa.String(64))
    # Case-folded name: the unique constraint compares names without regard to case.
    name_key: str = Field(sa_type=sa.String(256))
    provider: str = Field(sa_type=sa.String(32))
    settings: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    # One Fernet token holding the JSON of every secret field.
    secrets: str = Field(default="", sa_type=sa.Text)
    is_default_outbound: bool = False
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class PhoneNumberRow(SQLModel, table=True):
    __tablename__ = "phone_number"
    __table_args__ = (
        sa.UniqueConstraint("organization_id", "phone_number", name="uq_phone_number_org_number"),
        sa.Index("ix_phone_number_config_id", "telephony_config_id", "id"),
        NEVER_REUSE_IDS,
    )

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = Field(sa_column_args=[_fk("organization.id")])
    telephony_config_id: int = Field(sa_column_args=[_fk("telephony_config.id")])
    phone_number: str = Field(sa_type=sa.String(300))
    label: str | None = Field(default=None, sa_type=sa.String(64))
    is_active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


metadata = SQLModel.metadata


class ProviderCheckRow(SQLModel, table=True):
    """What the provider last said about a configuration's account, and when it is next asked.

    One row per configuration, written with it. `wanted` counts the changes that asked for a
    check (a new config, new credentials, a new number): a check records the `wanted` it was
    started for, and its answer is kept only if nothing asked again meanwhile. `lease_until`
    is the claim of the server process running the check (workers/provider_checks.py).
    """

    __tablename__ = "provider_check"
    __table_args__ = (sa.Index("ix_provider_check_due", "due_at"),)

    telephony_config_id: int = Field(sa_column_args=[_fk("telephony_config.id")], primary_key=True)
    organization_id: int = Field(sa_column_args=[_fk("organization.id")], index=True)
    status: str | None = Field(default=None, sa_type=sa.String(16))  # None until first asked
    message: str | None = Field(default=None, sa_type=sa.String(300))
    first_asked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # None: no check scheduled
    wanted: int = Field(default=1, sa_type=sa.BigInteger)
    lease_owner: str | None = Field(default=None, sa_type=sa.String(64))
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)


class PhoneNumberCheckRow(SQLModel, table=True):
    """What the provider last said about one registered number."""

    __tablename__ = "phone_number_check"

    phone_number_id: int = Field(sa_column_args=[_fk("phone_number.id")], primary_key=True)
    status: str = Field(sa_type=sa.String(16))
    voice_capable: bool | None = None
    message: str | None = Field(default=None, sa_type=sa.String(300))
    checked_at: datetime = Field(sa_type=UTCDateTime)
