"""objectives: where progress comes from; key results: the child objective measuring them

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-08 14:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("objectives") as batch:
        batch.add_column(
            sa.Column("progress_source", sa.String(20), nullable=False, server_default="key_results")
        )
    with op.batch_alter_table("key_results") as batch:
        batch.add_column(sa.Column("measured_by_objective_id", sa.Uuid(), nullable=True))
        batch.create_foreign_key(
            "fk_key_results_measured_by_objective",
            "objectives",
            ["org_id", "measured_by_objective_id"],
            ["org_id", "id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("key_results") as batch:
        batch.drop_constraint("fk_key_results_measured_by_objective", type_="foreignkey")
        batch.drop_column("measured_by_objective_id")
    with op.batch_alter_table("objectives") as batch:
        batch.drop_column("progress_source")
