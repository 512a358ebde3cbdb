"""score jobs: a runner's lease and the attempts made, so no job is left running forever

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 09:30:00
"""
import sqlalchemy as sa
from alembic import op

import service.types

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("score_jobs", sa.Column("lease_until", service.types.UtcDateTime(timezone=True), nullable=True))
    op.add_column("score_jobs", sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
    # Jobs an earlier release left queued or running have no runner any more.
    op.execute("UPDATE score_jobs SET status = 'failed', error = 'the runner stopped before this release' "
               "WHERE status IN ('queued', 'running')")


def downgrade() -> None:
    with op.batch_alter_table("score_jobs") as batch:
        batch.drop_column("attempts")
        batch.drop_column("lease_until")
