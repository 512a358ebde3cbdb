"""outbox events and webhook deliveries: per-organization indexes of pending work

The outbox relay and the delivery claims find the organizations with pending work first,
then claim per organization (`org_id = :org ... FOR UPDATE SKIP LOCKED`), which on Citus
routes to one shard (service/webhooks/delivery.py, docs/webhooks.md "On Citus"). These
indexes serve those claims: one organization's unpublished events oldest first, and one
organization's due deliveries soonest first, without reading other organizations' rows.

Both tables grow with every change, so on PostgreSQL the indexes are built with
CREATE INDEX CONCURRENTLY outside the migration's transaction (docs/operations.md,
"Large tables"); an index left invalid by an interrupted build is dropped and built
again. On Citus each shard gets its own index. SQLite builds them plainly.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 17:00:00
"""

import sqlalchemy as sa
from alembic import op

from service.migrate import build_index_concurrently

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

# name -> (table, columns); the models declare the same (service/kit/models.py,
# service/webhooks/models.py)
INDEXES = {
    "ix_outbox_events_org_unpublished": ("outbox_events", ("org_id", "published_at", "created_at")),
    "ix_webhook_deliveries_org_due": ("webhook_deliveries", ("org_id", "status", "next_attempt_at")),
}


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "postgresql":
        for name, (table, columns) in INDEXES.items():
            op.create_index(name, table, list(columns))
        return
    with op.get_context().autocommit_block():
        for name, (table, columns) in INDEXES.items():
            build_index_concurrently(
                conn, name, f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {table} ({', '.join(columns)})"
            )


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "postgresql":
        for name, (table, _) in INDEXES.items():
            op.drop_index(name, table_name=table)
        return
    with op.get_context().autocommit_block():
        for name in INDEXES:
            conn.execute(sa.text(f"DROP INDEX CONCURRENTLY IF EXISTS {name}"))
