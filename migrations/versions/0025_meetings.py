"""meetings: stand-ups, weekly meetings, one-on-ones and quarterly reviews (a team or a
pair, attendees, an RFC 5545 recurrence), the records of held or cancelled occurrences,
follow-up actions with an owner and a due date, and each person's calendar feed token

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-06 23:00:00
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

import service.types

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["org_id", column], [f"{target}.org_id", f"{target}.id"], name=op.f(f"fk_{table}_org_id_{column}_{target}")
    )


def _org(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], name=op.f(f"fk_{table}_org_id_organizations"))


def _stamps() -> list[Any]:
    return [
        sa.Column("created_at", service.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", service.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
    ]


def _keyed(table: str) -> list[Any]:
    return [
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        *_stamps(),
        _org(table),
        sa.PrimaryKeyConstraint("org_id", "id", name=op.f(f"pk_{table}")),
    ]


def upgrade() -> None:
    t = "meetings"
    op.create_table(
        t,
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("department_id", sa.Uuid(), nullable=True),
        sa.Column("organizer_id", sa.Uuid(), nullable=True),
        sa.Column("cycle_id", sa.Uuid(), nullable=True),
        sa.Column("review_meeting_id", sa.Uuid(), nullable=True),
        sa.Column("starts_at", service.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("rrule", sa.String(length=500), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        *_keyed(t),
        _fk(t, "department_id", "departments"),
        _fk(t, "organizer_id", "employees"),
        _fk(t, "cycle_id", "cycles"),
        _fk(t, "review_meeting_id", "review_meetings"),
    )
    op.create_index("ix_meetings_org_department", t, ["org_id", "department_id"])

    t = "meeting_attendees"
    op.create_table(
        t,
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("meeting_id", sa.Uuid(), nullable=False),
        sa.Column("employee_id", sa.Uuid(), nullable=False),
        _org(t),
        _fk(t, "meeting_id", "meetings"),
        _fk(t, "employee_id", "employees"),
        sa.PrimaryKeyConstraint("org_id", "meeting_id", "employee_id", name=op.f(f"pk_{t}")),
    )
    op.create_index("ix_meeting_attendees_org_employee", t, ["org_id", "employee_id"])

    t = "meeting_occurrences"
    op.create_table(
        t,
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("meeting_id", sa.Uuid(), nullable=False),
        sa.Column("starts_at", service.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("decisions", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        *_stamps(),
        _org(t),
        _fk(t, "meeting_id", "meetings"),
        sa.PrimaryKeyConstraint("org_id", "meeting_id", "starts_at", name=op.f(f"pk_{t}")),
    )

    t = "meeting_actions"
    op.create_table(
        t,
        sa.Column("meeting_id", sa.Uuid(), nullable=False),
        sa.Column("occurrence_start", service.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("closed_at", service.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("overdue_notified_at", service.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        *_keyed(t),
        _fk(t, "meeting_id", "meetings"),
        _fk(t, "owner_id", "employees"),
    )
    op.create_index("ix_meeting_actions_org_meeting", t, ["org_id", "meeting_id"])
    op.create_index("ix_meeting_actions_org_owner_status", t, ["org_id", "owner_id", "status"])
    op.create_index("ix_meeting_actions_org_status_due", t, ["org_id", "status", "due_date"])

    t = "calendar_feeds"
    op.create_table(
        t,
        sa.Column("employee_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("revoked_at", service.types.UtcDateTime(timezone=True), nullable=True),
        *_keyed(t),
        _fk(t, "employee_id", "employees"),
    )
    op.create_index("uq_calendar_feeds_org_token", t, ["org_id", "token_hash"], unique=True)
    op.create_index("ix_calendar_feeds_org_employee", t, ["org_id", "employee_id"])


def downgrade() -> None:
    op.drop_table("calendar_feeds")
    op.drop_table("meeting_actions")
    op.drop_table("meeting_occurrences")
    op.drop_table("meeting_attendees")
    op.drop_table("meetings")
