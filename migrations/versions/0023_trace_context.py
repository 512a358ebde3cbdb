"""trace context: an outbox event and the webhook deliveries fanned out from it keep the
W3C `traceparent` of the request (or job) that wrote the event, so the worker's delivery
span joins that trace. Null when tracing was off.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06 23:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

TABLES = ("outbox_events", "webhook_deliveries")


def upgrade() -> None:
    for name in TABLES:
        with op.batch_alter_table(name) as t:
            t.add_column(sa.Column("traceparent", sa.String(55), nullable=True))


def downgrade() -> None:
    # A plain DROP COLUMN, on SQLite too (3.35 and later): a batch copy would drop and
    # recreate `webhook_deliveries`, and with foreign keys on, dropping it deletes every
    # row of `webhook_delivery_attempts` (ON DELETE CASCADE).
    for name in reversed(TABLES):
        op.drop_column(name, "traceparent")
