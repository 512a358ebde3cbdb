"""stored scores: each employee's current score per cycle kept as a row, with the inputs'
version it was computed from; per-cycle freshness; recompute jobs in leased chunks

- `score_snapshots` gains what a score page shows (weights, calibration delta, the
  official record's version and date), the shown (2-place) final and composite the
  lists sort by, and `inputs_version`; indexes serve pages sorted by final, within a
  rating.
- `score_freshness`: per cycle, the inputs' version (moved forward by changes that
  affect many employees) and the version the stored rows are complete for. Existing
  cycles start at version 1 with nothing complete, so the first refresh job fills them.
- `score_jobs` gains progress (`total`, `done`), the inputs' version a job computes and
  why it was started; `score_job_chunks` holds its leased chunks of employees.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06 20:00:00
"""

import sqlalchemy as sa
from alembic import op

import service.types

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("score_snapshots") as t:
        t.add_column(sa.Column("weights", sa.JSON(), nullable=True))
        t.add_column(sa.Column("calibration_delta", service.types.ExactDecimal(), nullable=True))
        t.add_column(sa.Column("final_shown", service.types.ExactDecimal(), nullable=True))
        t.add_column(sa.Column("composite_shown", service.types.ExactDecimal(), nullable=True))
        t.add_column(sa.Column("official", sa.Boolean(), server_default=sa.false(), nullable=False))
        t.add_column(sa.Column("finalized_at", service.types.UtcDateTime(timezone=True), nullable=True))
        t.add_column(sa.Column("record_version", sa.Integer(), nullable=True))
        t.add_column(sa.Column("inputs_version", sa.Integer(), server_default="0", nullable=False))
    op.create_index("ix_score_snapshots_final", "score_snapshots", ["org_id", "cycle_id", "final_shown", "employee_id"])
    # Within a rating, pages sorted by `-final` (the list's ORDER BY final_shown DESC NULLS
    # LAST, employee_id) read the index in its order, forward and backward, and stop after
    # the page; SQLite puts NULLs first, so its DESC alone is NULLS LAST.
    final_desc = "final_shown DESC NULLS LAST" if op.get_bind().dialect.name == "postgresql" else "final_shown DESC"
    op.create_index(
        "ix_score_snapshots_rating",
        "score_snapshots",
        ["org_id", "cycle_id", "rating", sa.text(final_desc), "employee_id"],
    )

    op.create_table(
        "score_freshness",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("cycle_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("complete_version", sa.Integer(), nullable=False),
        sa.Column("updated_at", service.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id", "cycle_id"],
            ["cycles.org_id", "cycles.id"],
            name=op.f("fk_score_freshness_org_id_cycle_id_cycles"),
        ),
        sa.PrimaryKeyConstraint("org_id", "cycle_id", name=op.f("pk_score_freshness")),
    )

    with op.batch_alter_table("score_jobs") as t:
        t.add_column(sa.Column("total", sa.Integer(), nullable=True))
        t.add_column(sa.Column("done", sa.Integer(), server_default="0", nullable=False))
        t.add_column(sa.Column("inputs_version", sa.Integer(), nullable=True))
        t.add_column(sa.Column("reason", sa.String(length=40), server_default="requested", nullable=False))
    op.create_index("ix_score_jobs_org_status", "score_jobs", ["org_id", "status", "cycle_id"])

    op.create_table(
        "score_job_chunks",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("first_employee_id", sa.Uuid(), nullable=False),
        sa.Column("last_employee_id", sa.Uuid(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("lease_until", service.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("runner", sa.String(length=200), nullable=True),
        sa.Column("finished_at", service.types.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id", "job_id"],
            ["score_jobs.org_id", "score_jobs.id"],
            name=op.f("fk_score_job_chunks_org_id_job_id_score_jobs"),
        ),
        sa.PrimaryKeyConstraint("org_id", "job_id", "seq", name=op.f("pk_score_job_chunks")),
    )
    op.create_index("ix_score_job_chunks_org_status", "score_job_chunks", ["org_id", "status", "lease_until"])


def downgrade() -> None:
    op.drop_index("ix_score_job_chunks_org_status", table_name="score_job_chunks")
    op.drop_table("score_job_chunks")
    op.drop_index("ix_score_jobs_org_status", table_name="score_jobs")
    with op.batch_alter_table("score_jobs") as t:
        for name in ("reason", "inputs_version", "done", "total"):
            t.drop_column(name)
    op.drop_table("score_freshness")
    op.drop_index("ix_score_snapshots_rating", table_name="score_snapshots")
    op.drop_index("ix_score_snapshots_final", table_name="score_snapshots")
    with op.batch_alter_table("score_snapshots") as t:
        for name in (
            "inputs_version",
            "record_version",
            "finalized_at",
            "official",
            "composite_shown",
            "final_shown",
            "calibration_delta",
            "weights",
        ):
            t.drop_column(name)
