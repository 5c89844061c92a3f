"""Audit trail and webhooks: the audit events, the endpoints, their deliveries (the outbox) and attempts, and one-process-at-a-time leases

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

NEVER_REUSE_IDS = {"sqlite_autoincrement": True}


def _fk(target: str) -> sa.ForeignKey:
    return sa.ForeignKey(target, ondelete="CASCADE")


def _when(name: str, nullable: bool = True) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.add_column("organization", sa.Column("warnings_digest", sa.String(length=64), nullable=True))
    op.create_table(
        "audit_event",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("organization_id", sa.Integer(), _fk("organization.id"), nullable=False),
        _when("occurred_at", nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("entity_type", sa.String(length=40), nullable=False),
        sa.Column("entity_id", sa.String(length=100), nullable=True),
        sa.Column("api_key_id", sa.Integer(), nullable=True),
        sa.Column("api_key_label", sa.String(length=64), nullable=True),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("changes", sa.JSON(), nullable=False),
        **NEVER_REUSE_IDS,
    )
    op.create_index("ix_audit_event_org", "audit_event", ["organization_id", "id"])
    op.create_index("ix_audit_event_entity", "audit_event", ["organization_id", "entity_id", "id"])
    op.create_index("ix_audit_event_occurred_at", "audit_event", ["occurred_at"])
    op.create_table(
        "webhook_endpoint",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("organization_id", sa.Integer(), _fk("organization.id"), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=True),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("disabled_reason", sa.String(length=16), nullable=True),
        _when("disabled_at"),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("previous_secret", sa.Text(), nullable=True),
        _when("previous_secret_until"),
        _when("failing_since"),
        sa.Column("version", sa.Integer(), nullable=False),
        _when("created_at", nullable=False),
        _when("updated_at", nullable=False),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        _when("lease_until"),
        **NEVER_REUSE_IDS,
    )
    op.create_index("ix_webhook_endpoint_org", "webhook_endpoint", ["organization_id", "id"])
    op.create_table(
        "webhook_delivery",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("organization_id", sa.Integer(), _fk("organization.id"), nullable=False),
        sa.Column("endpoint_id", sa.Integer(), _fk("webhook_endpoint.id"), nullable=False),
        sa.Column("message_id", sa.String(length=64), nullable=False),
        sa.Column("event_type", sa.String(length=40), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        _when("created_at", nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempt_count", sa.Integer(), nullable=False),
        _when("next_attempt_at"),
        _when("last_attempt_at"),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        _when("delivered_at"),
        **NEVER_REUSE_IDS,
    )
    op.create_index("ix_webhook_delivery_due", "webhook_delivery", ["next_attempt_at"])
    op.create_index("ix_webhook_delivery_endpoint", "webhook_delivery", ["endpoint_id", "id"])
    op.create_table(
        "webhook_attempt",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("delivery_id", sa.Integer(), _fk("webhook_delivery.id"), nullable=False),
        _when("attempted_at", nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=300), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        **NEVER_REUSE_IDS,
    )
    op.create_index("ix_webhook_attempt_delivery", "webhook_attempt", ["delivery_id", "id"])
    op.create_table(
        "worker_lease",
        sa.Column("name", sa.String(length=64), primary_key=True),
        sa.Column("owner", sa.String(length=64), nullable=True),
        _when("until"),
    )


def downgrade() -> None:
    op.drop_table("worker_lease")
    op.drop_table("webhook_attempt")
    op.drop_table("webhook_delivery")
    op.drop_table("webhook_endpoint")
    op.drop_table("audit_event")
    with op.batch_alter_table("organization") as batch:
        batch.drop_column("warnings_digest")
