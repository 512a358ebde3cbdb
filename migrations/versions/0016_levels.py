"""levels: a position's level is one of a fixed set; scoring policies and KPI templates
can target a level; a calibration session chooses how an enforced distribution applies

A position's `level` was free text. It becomes one of staff, lead, manager,
senior_manager, executive: values that spell one of them (any case, spaces or hyphens for
underscores: `Senior Manager`, `senior-manager`) are rewritten to it, any other value is
cleared (the position then has no level; docs/scoring.md, "Levels").

Columns are added in place (not a batch copy, which would drop the triggers of
calibration_sessions on SQLite, migration 0011). `kpi_templates.position_id` becomes
nullable (a level template has no position): a batch copy on SQLite, which is safe there
(the table has no triggers).

Revision ID: 0016
Revises: 0014
Create Date: 2026-12-08 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0014"
branch_labels = None
depends_on = None

LEVELS = ("staff", "lead", "manager", "senior_manager", "executive")


def upgrade() -> None:
    normalized = "replace(replace(lower(trim(level)), ' ', '_'), '-', '_')"
    op.execute(f"UPDATE positions SET level = {normalized} WHERE level IS NOT NULL")
    allowed = ", ".join(f"'{v}'" for v in LEVELS)
    op.execute(f"UPDATE positions SET level = NULL WHERE level IS NOT NULL AND level NOT IN ({allowed})")

    op.add_column("scoring_policies", sa.Column("scope_level", sa.String(length=20), nullable=True))
    op.add_column(
        "calibration_sessions",
        sa.Column("distribution_mode", sa.String(length=10), nullable=False, server_default="enforce"),
    )
    with op.batch_alter_table("kpi_templates", schema=None) as batch_op:
        batch_op.add_column(sa.Column("level", sa.String(length=20), nullable=True))
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
