"""kpi_assignments: effective dates (a person moving positions in the middle of a cycle)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 16:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("kpi_assignments") as batch:
        batch.add_column(sa.Column("effective_from", sa.Date(), nullable=True))
        batch.add_column(sa.Column("effective_to", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("kpi_assignments") as batch:
        batch.drop_column("effective_to")
        batch.drop_column("effective_from")
