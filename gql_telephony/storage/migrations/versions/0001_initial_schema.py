"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-29 05:04:11.986646
"""

from alembic import op
import sqlalchemy as sa

from gql_telephony.storage.tables import UTCDateTime


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('organization',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('api_key',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('read_only', sa.Boolean(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key_hash')
    )
    with op.batch_alter_table('api_key', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_key_organization_id'), ['organization_id'], unique=False)

    op.create_table('telephony_config',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('name_key', sa.String(length=256), nullable=False),
    sa.Column('provider', sa.String(length=32), nullable=False),
    sa.Column('settings', sa.JSON(), nullable=False),
    sa.Column('secrets', sa.Text(), nullable=False),
    sa.Column('is_default_outbound', sa.Boolean(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('organization_id', 'name_key', name='uq_telephony_config_org_name')
    )
    with op.batch_alter_table('telephony_config', schema=None) as batch_op:
        batch_op.create_index('uq_telephony_config_one_default', ['organization_id'], unique=True, sqlite_where=sa.text('is_default_outbound'), postgresql_where=sa.text('is_default_outbound'))

    op.create_table('phone_number',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('telephony_config_id', sa.Integer(), nullable=False),
    sa.Column('phone_number', sa.String(length=300), nullable=False),
    sa.Column('label', sa.String(length=64), nullable=True),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['telephony_config_id'], ['telephony_config.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('organization_id', 'phone_number', name='uq_phone_number_org_number')
    )
    with op.batch_alter_table('phone_number', schema=None) as batch_op:
        batch_op.create_index('ix_phone_number_config_id', ['telephony_config_id', 'id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('phone_number', schema=None) as batch_op:
        batch_op.drop_index('ix_phone_number_config_id')

    op.drop_table('phone_number')
    with op.batch_alter_table('telephony_config', schema=None) as batch_op:
        batch_op.drop_index('uq_telephony_config_one_default', sqlite_where=sa.text('is_default_outbound'), postgresql_where=sa.text('is_default_outbound'))

    op.drop_table('telephony_config')
    with op.batch_alter_table('api_key', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_key_organization_id'))

    op.drop_table('api_key')
    op.drop_table('organization')
