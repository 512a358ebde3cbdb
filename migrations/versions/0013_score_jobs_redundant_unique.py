"""score jobs: drop the unique constraint on (org_id, id), which repeats the primary key

PostgreSQL never created it (CREATE TABLE leaves out a unique constraint that repeats the
primary key); SQLite did. Found by the test that compares the migrated schema with the
models (tests/deploy/test_migrations.py).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 10:00:00
"""
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE score_jobs DROP CONSTRAINT IF EXISTS uq_score_jobs_org_id_id")
    else:
        with op.batch_alter_table("score_jobs") as batch:
            batch.drop_constraint("uq_score_jobs_org_id_id", type_="unique")


def downgrade() -> None:
    """Nothing to restore: the primary key keeps (org_id, id) unique."""
