"""API key management: a label, when the key was last used, and when it was revoked

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

COLUMNS = ("label", "last_used_at", "revoked_at")


def upgrade() -> None:
    # Nullable columns: existing keys get no label, "never used" and "not revoked", no rebuild.
    op.add_column("api_key", sa.Column("label", sa.String(length=64), nullable=True))
    op.add_column("api_key", sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("api_key", sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_key") as batch:
        for column in reversed(COLUMNS):
            batch.drop_column(column)
