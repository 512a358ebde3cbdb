"""scim: sidecar tables for SCIM-only attributes and deprovisioning


Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 12:00:00
"""
from alembic import op
import sqlalchemy as sa
import service.types


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('scim_users',
    sa.Column('user_name', sa.String(length=320), nullable=False),
    sa.Column('user_name_key', sa.String(length=320), nullable=True),
    sa.Column('external_id', sa.String(length=200), nullable=True),
    sa.Column('display_name', sa.String(length=400), nullable=True),
    sa.Column('email_type', sa.String(length=40), nullable=True),
    sa.Column('email_primary', sa.Boolean(), nullable=True),
    sa.Column('active_unassigned', sa.Boolean(), nullable=False),
    sa.Column('deleted_at', service.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('created_at', service.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', service.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['org_id', 'id'], ['employees.org_id', 'employees.id'], name=op.f('fk_scim_users_org_id_id_employees'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('org_id', 'id', name=op.f('pk_scim_users')),
    sa.UniqueConstraint('org_id', 'user_name_key', name=op.f('uq_scim_users_org_id_user_name_key'))
    )
    with op.batch_alter_table('scim_users', schema=None) as batch_op:
        batch_op.create_index('ix_scim_users_org_external_id', ['org_id', 'external_id'], unique=False)

    op.create_table('scim_groups',
    sa.Column('external_id', sa.String(length=200), nullable=True),
    sa.Column('deleted_at', service.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('created_at', service.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', service.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['org_id', 'id'], ['departments.org_id', 'departments.id'], name=op.f('fk_scim_groups_org_id_id_departments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('org_id', 'id', name=op.f('pk_scim_groups'))
    )
    with op.batch_alter_table('scim_groups', schema=None) as batch_op:
        batch_op.create_index('ix_scim_groups_org_external_id', ['org_id', 'external_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('scim_groups', schema=None) as batch_op:
        batch_op.drop_index('ix_scim_groups_org_external_id')
    op.drop_table('scim_groups')
    with op.batch_alter_table('scim_users', schema=None) as batch_op:
        batch_op.drop_index('ix_scim_users_org_external_id')
    op.drop_table('scim_users')
