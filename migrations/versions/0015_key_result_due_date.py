"""key results: an optional due date, within the objective's cycle

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 14:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("key_results", sa.Column("due_date", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("key_results") as batch:
        batch.drop_column("due_date")
