"""webhooks: subscriptions, deliveries, the attempt log

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 14:00:00.000000

"""
from alembic import op
import sqlalchemy as sa
import service.types


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('webhook_subscriptions',
    sa.Column('url', sa.String(length=2048), nullable=False),
    sa.Column('events', sa.JSON(), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('secret', sa.String(length=500), nullable=False),
    sa.Column('previous_secret', sa.String(length=500), nullable=True),
    sa.Column('previous_secret_expires_at', service.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('secret_rotated_at', service.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('disabled_at', service.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('disabled_reason', sa.String(length=200), nullable=True),
    sa.Column('consecutive_dead', sa.Integer(), nullable=False),
    sa.Column('failing_since', service.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', service.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', service.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_webhook_subscriptions_org_id_organizations')),
    sa.PrimaryKeyConstraint('org_id', 'id', name=op.f('pk_webhook_subscriptions'))
    )
    op.create_table('webhook_deliveries',
    sa.Column('subscription_id', sa.Uuid(), nullable=False),
    sa.Column('event_id', sa.Uuid(), nullable=False),
    sa.Column('event_type', sa.String(length=60), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('schedule_step', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', service.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('claimed_until', service.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('claim_token', sa.String(length=64), nullable=True),
    sa.Column('last_attempt_at', service.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('last_status_code', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('last_response_excerpt', sa.Text(), nullable=True),
    sa.Column('succeeded_at', service.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('created_at', service.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_webhook_deliveries_org_id_organizations')),
    sa.ForeignKeyConstraint(['org_id', 'subscription_id'], ['webhook_subscriptions.org_id', 'webhook_subscriptions.id'], name='fk_webhook_deliveries_subscription', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('org_id', 'id', name=op.f('pk_webhook_deliveries')),
    sa.UniqueConstraint('org_id', 'subscription_id', 'event_id', name=op.f('uq_webhook_deliveries_org_id_subscription_id_event_id'))
    )
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        # The engine's claim: due rows by status and time.
        batch_op.create_index('ix_webhook_deliveries_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index('ix_webhook_deliveries_org_subscription', ['org_id', 'subscription_id', 'id'], unique=False)

    op.create_table('webhook_delivery_attempts',
    sa.Column('delivery_id', sa.Uuid(), nullable=False),
    sa.Column('subscription_id', sa.Uuid(), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('attempted_at', service.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('error', sa.String(length=500), nullable=True),
    sa.Column('response_excerpt', sa.Text(), nullable=True),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_webhook_delivery_attempts_org_id_organizations')),
    sa.ForeignKeyConstraint(['org_id', 'delivery_id'], ['webhook_deliveries.org_id', 'webhook_deliveries.id'], name='fk_webhook_delivery_attempts_delivery', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('org_id', 'id', name=op.f('pk_webhook_delivery_attempts'))
    )
    with op.batch_alter_table('webhook_delivery_attempts', schema=None) as batch_op:
        batch_op.create_index('ix_webhook_delivery_attempts_org_delivery', ['org_id', 'delivery_id', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('webhook_delivery_attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_webhook_delivery_attempts_org_delivery')

    op.drop_table('webhook_delivery_attempts')
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_webhook_deliveries_org_subscription')
        batch_op.drop_index('ix_webhook_deliveries_due')

    op.drop_table('webhook_deliveries')
    op.drop_table('webhook_subscriptions')
