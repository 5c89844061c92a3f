"""The organization's data version, bumped by every write (response cache invalidation)

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A server default fills the existing rows, so adding the column needs no table rebuild.
    op.add_column("organization", sa.Column("data_version", sa.BigInteger(), server_default="1", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("organization") as batch:
        batch.drop_column("data_version")
