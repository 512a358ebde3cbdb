"""improvement actions: the follow-up state of each action of a review meeting's
improvement plan, beside the plan

`improvement_actions` holds one row per action of every plan (identified by the review
meeting and the action's position in the plan, `action_index`), with its owner, due date
and status, and `overdue_notified_at`, the mark of its one `action.overdue` event. The
owner's task list and the overdue round find actions through its indexes instead of
reading every plan's JSON. The rows of the plans already written are filled here, none
marked (an action already past due is announced by the first round after the upgrade).

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07 01:40:00
"""

import datetime as dt
import uuid
from typing import Any

import sqlalchemy as sa
from alembic import op

import service.types

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

BATCH = 500  # review meetings read at a time

meetings = sa.table(
    "review_meetings",
    sa.column("org_id", sa.Uuid()),
    sa.column("id", sa.Uuid()),
    sa.column("improvement_plan", sa.JSON()),
)


def _rows(org_id: uuid.UUID, meeting_id: uuid.UUID, plan: Any) -> list[dict[str, Any]]:
    """The rows of one plan, as service/evaluations/plan_actions.py `rows_of` writes them
    today (a migration keeps its own copy: it must do the same thing after that changes)."""
    return [
        {
            "org_id": org_id,
            "review_meeting_id": meeting_id,
            "action_index": n,
            "owner_id": uuid.UUID(str(a["owner_id"])),
            "due_date": dt.date.fromisoformat(str(a["due_date"])),
            "status": str(a.get("status") or "open"),
            "overdue_notified_at": None,
        }
        for n, a in enumerate(plan or [])
    ]


def upgrade() -> None:
    t = "improvement_actions"
    table = op.create_table(
        t,
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("review_meeting_id", sa.Uuid(), nullable=False),
        sa.Column("action_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("overdue_notified_at", service.types.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], name=op.f(f"fk_{t}_org_id_organizations")),
        sa.ForeignKeyConstraint(
            ["org_id", "review_meeting_id"],
            ["review_meetings.org_id", "review_meetings.id"],
            name=op.f(f"fk_{t}_org_id_review_meeting_id_review_meetings"),
        ),
        sa.ForeignKeyConstraint(
            ["org_id", "owner_id"], ["employees.org_id", "employees.id"], name=op.f(f"fk_{t}_org_id_owner_id_employees")
        ),
        sa.PrimaryKeyConstraint("org_id", "review_meeting_id", "action_index", name=op.f(f"pk_{t}")),
    )
    op.create_index("ix_improvement_actions_org_owner_status", t, ["org_id", "owner_id", "status"])
    op.create_index("ix_improvement_actions_status_due", t, ["status", "due_date"])

    bind = op.get_bind()
    after: tuple[uuid.UUID, uuid.UUID] | None = None
    while True:
        stmt = sa.select(meetings.c.org_id, meetings.c.id, meetings.c.improvement_plan)
        if after is not None:
            stmt = stmt.where(sa.tuple_(meetings.c.org_id, meetings.c.id) > sa.tuple_(*after))
        batch = bind.execute(stmt.order_by(meetings.c.org_id, meetings.c.id).limit(BATCH)).all()
        if not batch:
            break
        rows = [row for org_id, meeting_id, plan in batch for row in _rows(org_id, meeting_id, plan)]
        if rows:
            op.bulk_insert(table, rows)
        after = (batch[-1][0], batch[-1][1])


def downgrade() -> None:
    op.drop_table("improvement_actions")
