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
    # A digest of the warning summary as the last write that looked left it: a write that
    # changes it announces WARNINGS_CHANGED (services/audit.py). None: not looked at yet.
    warnings_digest: str | None = Field(default=None, sa_type=sa.String(64))


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


class AuditEventRow(SQLModel, table=True):
    """One audited change, written in the transaction of the change. Kept for the retention
    period (GQL_TELEPHONY_AUDIT_RETENTION_DAYS), then pruned by workers/maintenance.py."""

    __tablename__ = "audit_event"
    __table_args__ = (
        sa.Index("ix_audit_event_org", "organization_id", "id"),
        sa.Index("ix_audit_event_entity", "organization_id", "entity_id", "id"),
        sa.Index("ix_audit_event_occurred_at", "occurred_at"),
        NEVER_REUSE_IDS,
    )

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = Field(sa_column_args=[_fk("organization.id")])
    occurred_at: datetime = Field(sa_type=UTCDateTime)
    action: str = Field(sa_type=sa.String(40))
    entity_type: str = Field(sa_type=sa.String(40))
    entity_id: str | None = Field(default=None, sa_type=sa.String(100))  # the global id
    # No foreign key: an event names its key as it was, after the key is revoked.
    api_key_id: int | None = None
    api_key_label: str | None = Field(default=None, sa_type=sa.String(64))
    request_id: str | None = Field(default=None, sa_type=sa.String(64))
    changes: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON)


class WebhookEndpointRow(SQLModel, table=True):
    """Where an organization wants its events sent, and the secret that signs them."""

    __tablename__ = "webhook_endpoint"
    __table_args__ = (sa.Index("ix_webhook_endpoint_org", "organization_id", "id"), NEVER_REUSE_IDS)

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = Field(sa_column_args=[_fk("organization.id")])
    url: str = Field(sa_type=sa.String(2048))
    description: str | None = Field(default=None, sa_type=sa.String(500))
    events: list[str] = Field(default_factory=list, sa_type=sa.JSON)  # WebhookEventType values
    enabled: bool = True
    # Why it is disabled: "USER" (updateWebhookEndpoint) or "FAILING" (a day of failed deliveries).
    disabled_reason: str | None = Field(default=None, sa_type=sa.String(16))
    disabled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Fernet tokens, like credentials. After a rotation the previous secret signs too, until
    # `previous_secret_until`.
    secret: str = Field(sa_type=sa.Text)
    previous_secret: str | None = Field(default=None, sa_type=sa.Text)
    previous_secret_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Since when every attempt has failed (None: the last attempt succeeded).
    failing_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # The claim of the server process sending this endpoint's deliveries (one sender per
    # endpoint keeps its first attempts in commit order); at most 30 seconds.
    lease_owner: str | None = Field(default=None, sa_type=sa.String(64))
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)


class WebhookDeliveryRow(SQLModel, table=True):
    """One event for one endpoint: the outbox row, written in the transaction of the change.
    Its `message_id` is the webhook-id of every attempt; its body never changes."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        sa.Index("ix_webhook_delivery_due", "next_attempt_at"),
        sa.Index("ix_webhook_delivery_endpoint", "endpoint_id", "id"),
        NEVER_REUSE_IDS,
    )

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = Field(sa_column_args=[_fk("organization.id")])
    endpoint_id: int = Field(sa_column_args=[_fk("webhook_endpoint.id")])
    message_id: str = Field(sa_type=sa.String(64))
    event_type: str = Field(sa_type=sa.String(40))  # a WebhookEventType value, or "PING"
    body: str = Field(sa_type=sa.Text)  # the JSON sent, exactly
    created_at: datetime = Field(sa_type=UTCDateTime)
    status: str = Field(default="PENDING", sa_type=sa.String(16))  # PENDING, DELIVERED, FAILED
    attempt_count: int = 0
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # None: finished
    last_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, sa_type=sa.String(300))
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class WebhookAttemptRow(SQLModel, table=True):
    """One try of a delivery: when, what came back, how long it took."""

    __tablename__ = "webhook_attempt"
    __table_args__ = (sa.Index("ix_webhook_attempt_delivery", "delivery_id", "id"), NEVER_REUSE_IDS)

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(sa_column_args=[_fk("webhook_delivery.id")])
    attempted_at: datetime = Field(sa_type=UTCDateTime)
    status_code: int | None = None
    error: str | None = Field(default=None, sa_type=sa.String(300))
    duration_ms: int = 0


class WorkerLeaseRow(SQLModel, table=True):
    """A job that one server process at a time runs (the audit retention prune): whoever holds
    an unexpired lease runs it."""

    __tablename__ = "worker_lease"

    name: str = Field(sa_type=sa.String(64), primary_key=True)
    owner: str | None = Field(default=None, sa_type=sa.String(64))
    until: datetime | None = Field(default=None, sa_type=UTCDateTime)
