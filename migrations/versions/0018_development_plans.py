"""development plans: a plan per employee (goals, owner, status, due date), linked to a
nomination (one plan each), a cycle and a review meeting; its items (training, goals,
actions, mentoring), some copied from a review meeting's improvement plan

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-09 09:00:00
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

import service.types

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def _tenant_fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["org_id", column], [f"{target}.org_id", f"{target}.id"], name=op.f(f"fk_{table}_org_id_{column}_{target}")
    )


def _common(table: str) -> list[Any]:
    return [
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", service.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", service.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], name=op.f(f"fk_{table}_org_id_organizations")),
        sa.PrimaryKeyConstraint("org_id", "id", name=op.f(f"pk_{table}")),
    ]


def upgrade() -> None:
    t = "development_plans"
    op.create_table(
        t,
        sa.Column("employee_id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("cycle_id", sa.Uuid(), nullable=True),
        sa.Column("nomination_id", sa.Uuid(), nullable=True),
        sa.Column("review_meeting_id", sa.Uuid(), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("goals", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        *_common(t),
        _tenant_fk(t, "employee_id", "employees"),
        _tenant_fk(t, "owner_id", "employees"),
        _tenant_fk(t, "cycle_id", "cycles"),
        _tenant_fk(t, "nomination_id", "incentive_results"),
        _tenant_fk(t, "review_meeting_id", "review_meetings"),
    )
    op.create_index("ix_development_plans_org_employee", t, ["org_id", "employee_id"])
    op.create_index("ix_development_plans_org_owner", t, ["org_id", "owner_id"])
    op.create_index(
        "uq_development_plans_org_nomination",
        t,
        ["org_id", "nomination_id"],
        unique=True,
        sqlite_where=sa.text("nomination_id IS NOT NULL"),
        postgresql_where=sa.text("nomination_id IS NOT NULL"),
    )

    t = "development_plan_items"
    op.create_table(
        t,
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.Column("employee_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("details", sa.Text(), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("completed_at", service.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("source_review_meeting_id", sa.Uuid(), nullable=True),
        sa.Column("source_action_index", sa.Integer(), nullable=True),
        *_common(t),
        _tenant_fk(t, "plan_id", "development_plans"),
        _tenant_fk(t, "employee_id", "employees"),
        _tenant_fk(t, "source_review_meeting_id", "review_meetings"),
    )
    op.create_index("ix_development_plan_items_org_plan", t, ["org_id", "plan_id"])
    op.create_index("ix_development_plan_items_org_employee_status", t, ["org_id", "employee_id", "status"])


def downgrade() -> None:
    op.drop_table("development_plan_items")
    op.drop_table("development_plans")
