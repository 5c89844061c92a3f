"""Provider checks: what each provider last said about an account and its numbers, and when to ask again

Revision ID: 0006
Revises: 0005

Every existing configuration gets its row, due now: the first check after the upgrade runs
within seconds (the worker spreads them out as it claims them a few at a time).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "provider_check",
        sa.Column("telephony_config_id", sa.Integer(), sa.ForeignKey("telephony_config.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("organization_id", sa.Integer(), sa.ForeignKey("organization.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("status", sa.String(length=16), nullable=True),
        sa.Column("message", sa.String(length=300), nullable=True),
        sa.Column("first_asked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("wanted", sa.BigInteger(), nullable=False),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_provider_check_due", "provider_check", ["due_at"])
    op.create_index("ix_provider_check_organization_id", "provider_check", ["organization_id"])
    op.create_table(
        "phone_number_check",
        sa.Column("phone_number_id", sa.Integer(), sa.ForeignKey("phone_number.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("voice_capable", sa.Boolean(), nullable=True),
        sa.Column("message", sa.String(length=300), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.execute(
        "INSERT INTO provider_check (telephony_config_id, organization_id, due_at, wanted) "
        "SELECT id, organization_id, CURRENT_TIMESTAMP, 1 FROM telephony_config"
    )


def downgrade() -> None:
    op.drop_table("phone_number_check")
    op.drop_index("ix_provider_check_organization_id", "provider_check")
    op.drop_index("ix_provider_check_due", "provider_check")
    op.drop_table("provider_check")
