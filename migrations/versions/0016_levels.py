"""levels: scoring policies and KPI templates can target a position level; a calibration
session chooses how an enforced distribution applies

A position's `level` stays free text and its stored values are left as they are. A
scoring policy's `scope_level` and a KPI template's `level` are new: free text of the
same length as a position's level, stored normalized (docs/scoring.md, "Levels").

Columns are added in place (not a batch copy, which would drop the triggers of
calibration_sessions on SQLite, migration 0011). `kpi_templates.position_id` becomes
nullable (a level template has no position): a batch copy on SQLite, which is safe there
(the table has no triggers).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-08 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

LEVEL_LENGTH = 40  # as positions.level


def upgrade() -> None:
    op.add_column("scoring_policies", sa.Column("scope_level", sa.String(length=LEVEL_LENGTH), nullable=True))
    op.add_column(
        "calibration_sessions",
        sa.Column("distribution_mode", sa.String(length=10), nullable=False, server_default="enforce"),
    )
    with op.batch_alter_table("kpi_templates", schema=None) as batch_op:
        batch_op.add_column(sa.Column("level", sa.String(length=LEVEL_LENGTH), nullable=True))
        batch_op.alter_column("position_id", existing_type=sa.Uuid(), nullable=True)
        batch_op.create_index("ix_kpi_templates_org_level", ["org_id", "level"], unique=False)
        batch_op.create_check_constraint("one_target", "(position_id IS NULL) <> (level IS NULL)")


def downgrade() -> None:
    level_templates = "SELECT id FROM kpi_templates WHERE position_id IS NULL"
    op.execute(f"UPDATE kpi_assignments SET template_id = NULL WHERE template_id IN ({level_templates})")
    op.execute(f"DELETE FROM kpi_template_items WHERE template_id IN ({level_templates})")
    op.execute("DELETE FROM kpi_templates WHERE position_id IS NULL")
    with op.batch_alter_table("kpi_templates", schema=None) as batch_op:
        batch_op.drop_constraint("one_target", type_="check")
        batch_op.drop_index("ix_kpi_templates_org_level")
        batch_op.alter_column("position_id", existing_type=sa.Uuid(), nullable=False)
        batch_op.drop_column("level")
    op.drop_column("calibration_sessions", "distribution_mode")
    op.drop_column("scoring_policies", "scope_level")
