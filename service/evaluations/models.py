"""ORM models of the evaluation module: evaluations, 360 peer requests (with the feedback
they receive), calibration sessions with their members and adjustments, performance
interviews and review meetings. Keyed by (org_id, id); every reference is a composite
foreign key that includes org_id, so nothing can point into another organization."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, TenantMixin, Versioned, tenant_fk
from service.org.models import Timestamps
from service.types import ExactDecimal, UtcDateTime, utcnow


class Evaluation(TenantMixin, Timestamps, Versioned, Base):
    """One employee's evaluation in one cycle. `status` names the last completed step
    (SPEC section 9): not_started → self_review (self review submitted) → manager_review
    (manager review submitted) → calibrated (calibration finalized) → finalized →
    acknowledged (the employee confirmed the interview outcome)."""

    __tablename__ = "evaluations"

    employee_id: Mapped[uuid.UUID] = mapped_column()
    cycle_id: Mapped[uuid.UUID] = mapped_column()
    status: Mapped[str] = mapped_column(String(20), default="not_started")
    self_rating: Mapped[int | None] = mapped_column(Integer, nullable=True)
    self_comments: Mapped[str | None] = mapped_column(Text, nullable=True)
    self_submitted_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    manager_rating: Mapped[int | None] = mapped_column(Integer, nullable=True)
    manager_comments: Mapped[str | None] = mapped_column(Text, nullable=True)
    competencies: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)
    manager_reviewer_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    manager_submitted_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    manager_submitted_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    calibrated_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    calibration_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    final_score: Mapped[Decimal | None] = mapped_column(ExactDecimal, nullable=True)
    final_rating: Mapped[str | None] = mapped_column(String(10), nullable=True)
    finalized_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    finalized_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    acknowledged_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    acknowledgement_comment: Mapped[str | None] = mapped_column(Text, nullable=True)

    __table_args__ = (
        ForeignKeyConstraint(["org_id"], ["organizations.id"]),
        tenant_fk("employee_id", "employees"),
        tenant_fk("cycle_id", "cycles"),
        tenant_fk("manager_reviewer_id", "employees"),
        tenant_fk("calibration_id", "calibration_sessions"),
        UniqueConstraint("org_id", "employee_id", "cycle_id"),
        Index("ix_evaluations_org_cycle", "org_id", "cycle_id"),
    )


class PeerRequest(TenantMixin, Timestamps, Versioned, Base):
    """A 360 request to one reviewer about one evaluation, and the feedback it receives:
    requested → submitted (rating and comments) or declined."""

    __tablename__ = "peer_requests"

    evaluation_id: Mapped[uuid.UUID] = mapped_column()
    employee_id: Mapped[uuid.UUID] = mapped_column()  # the subject, for set-based visibility
    cycle_id: Mapped[uuid.UUID] = mapped_column()
    reviewer_id: Mapped[uuid.UUID] = mapped_column()
    requested_by: Mapped[str] = mapped_column(String(200))
    requested_by_employee_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    due_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="requested")
    rating: Mapped[int | None] = mapped_column(Integer, nullable=True)
    comments: Mapped[str | None] = mapped_column(Text, nullable=True)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    declined_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    decline_reason: Mapped[str | None] = mapped_column(Text, nullable=True)

    __table_args__ = (
        ForeignKeyConstraint(["org_id"], ["organizations.id"]),
        tenant_fk("evaluation_id", "evaluations"),
        tenant_fk("employee_id", "employees"),
        tenant_fk("reviewer_id", "employees"),
        tenant_fk("cycle_id", "cycles"),
        UniqueConstraint("org_id", "evaluation_id", "reviewer_id"),
        Index("ix_peer_requests_org_reviewer", "org_id", "reviewer_id"),
        Index("ix_peer_requests_org_cycle", "org_id", "cycle_id"),
    )


class CalibrationSession(TenantMixin, Timestamps, Versioned, Base):
    """A calibration meeting over a fixed set of employees of one cycle: open while the
    meeting adjusts, finalized (locked) once the distribution is applied."""

    __tablename__ = "calibration_sessions"

    cycle_id: Mapped[uuid.UUID] = mapped_column()
    name: Mapped[str] = mapped_column(String(200))
    department_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="open")
    # How finalizing applies an enforced guideline: enforce (re-rate by rank) or cap (only lower).
    distribution_mode: Mapped[str] = mapped_column(String(10), default="enforce", server_default="enforce")
    created_by: Mapped[str] = mapped_column(String(200))
    finalized_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    finalized_by: Mapped[str | None] = mapped_column(String(200), nullable=True)

    __table_args__ = (
        ForeignKeyConstraint(["org_id"], ["organizations.id"]),
        tenant_fk("cycle_id", "cycles"),
        tenant_fk("department_id", "departments"),
        Index("ix_calibration_sessions_org_cycle", "org_id", "cycle_id"),
    )


class CalibrationMember(TenantMixin, Base):
    """An employee calibrated in a session. An employee is calibrated once per cycle
    (unique), which is what makes an enforced rating unambiguous. Finalizing stores the
    final score, the computed rating and the enforced one."""

    __tablename__ = "calibration_members"

    session_id: Mapped[uuid.UUID] = mapped_column()
    cycle_id: Mapped[uuid.UUID] = mapped_column()
    employee_id: Mapped[uuid.UUID] = mapped_column()
    final: Mapped[Decimal | None] = mapped_column(ExactDecimal, nullable=True)
    computed_rating: Mapped[str | None] = mapped_column(String(10), nullable=True)
    enforced_rating: Mapped[str | None] = mapped_column(String(10), nullable=True)

    __table_args__ = (
        ForeignKeyConstraint(["org_id"], ["organizations.id"]),
        tenant_fk("session_id", "calibration_sessions"),
        tenant_fk("cycle_id", "cycles"),
        tenant_fk("employee_id", "employees"),
        UniqueConstraint("org_id", "cycle_id", "employee_id"),
        Index("ix_calibration_members_org_session", "org_id", "session_id"),
    )


class CalibrationAdjustment(TenantMixin, Base):
    """A points delta on one member's score, with its mandatory reason and author.
    Append-only: a correction is another adjustment."""

    __tablename__ = "calibration_adjustments"

    session_id: Mapped[uuid.UUID] = mapped_column()
    cycle_id: Mapped[uuid.UUID] = mapped_column()
    employee_id: Mapped[uuid.UUID] = mapped_column()
    delta: Mapped[Decimal] = mapped_column(ExactDecimal)
    reason: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(200))
    author_employee_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)

    __table_args__ = (
        ForeignKeyConstraint(["org_id"], ["organizations.id"]),
        tenant_fk("session_id", "calibration_sessions"),
        tenant_fk("cycle_id", "cycles"),
        tenant_fk("employee_id", "employees"),
        Index("ix_calibration_adjustments_org_session", "org_id", "session_id"),
        Index("ix_calibration_adjustments_org_cycle", "org_id", "cycle_id"),
    )


class Interview(TenantMixin, Timestamps, Versioned, Base):
    """A performance interview about an evaluation. The employee's acknowledgement is the
    signature: recorded with time and principal, after which nothing changes."""

    __tablename__ = "interviews"

    evaluation_id: Mapped[uuid.UUID] = mapped_column()
    employee_id: Mapped[uuid.UUID] = mapped_column()
    cycle_id: Mapped[uuid.UUID] = mapped_column()
    interviewer_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    scheduled_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    plan: Mapped[str | None] = mapped_column(Text, nullable=True)
    notes: Mapped[str | None] = mapped_column(Text, nullable=True)
    outcome: Mapped[str | None] = mapped_column(Text, nullable=True)
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    acknowledged_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    acknowledged_employee_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    acknowledgement_comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_by: Mapped[str] = mapped_column(String(200))

    __table_args__ = (
        ForeignKeyConstraint(["org_id"], ["organizations.id"]),
        tenant_fk("evaluation_id", "evaluations"),
        tenant_fk("employee_id", "employees"),
        tenant_fk("interviewer_id", "employees"),
        tenant_fk("cycle_id", "cycles"),
        Index("ix_interviews_org_evaluation", "org_id", "evaluation_id"),
        Index("ix_interviews_org_employee", "org_id", "employee_id"),
    )


class ReviewMeeting(TenantMixin, Timestamps, Versioned, Base):
    """A review meeting record on an objective, a cycle or an evaluation: summary, result
    data, gap, cause analysis and an improvement plan of owned, dated actions.
    `employee_id` is the person it is about (the evaluated employee or the objective's
    owner; none for a cycle), which decides who may read it."""

    __tablename__ = "review_meetings"

    subject_kind: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[uuid.UUID] = mapped_column()
    employee_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    title: Mapped[str | None] = mapped_column(String(300), nullable=True)
    held_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    summary: Mapped[str | None] = mapped_column(Text, nullable=True)
    result_data: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    gap: Mapped[str | None] = mapped_column(Text, nullable=True)
    cause_analysis: Mapped[str | None] = mapped_column(Text, nullable=True)
    improvement_plan: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_by: Mapped[str] = mapped_column(String(200))

    __table_args__ = (
        ForeignKeyConstraint(["org_id"], ["organizations.id"]),
        tenant_fk("employee_id", "employees"),
        Index("ix_review_meetings_org_subject", "org_id", "subject_kind", "subject_id"),
        Index("ix_review_meetings_org_employee", "org_id", "employee_id"),
    )


class ImprovementActionState(Base):
    """The follow-up state of one action of a review meeting's improvement plan, kept
    beside the plan (the JSON on the meeting stays the written record) so that actions
    are found by owner and due date with an index: one row per action, identified like a
    development item's source by its position in the plan (`action_index`, from 0).
    Rewritten with the plan (service/evaluations/plan_actions.py); `overdue_notified_at`
    marks the one `action.overdue` event an action gets once past due, and survives an
    edit of the plan that keeps the action's position and owner."""

    __tablename__ = "improvement_actions"

    org_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    review_meeting_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    action_index: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    owner_id: Mapped[uuid.UUID] = mapped_column()
    due_date: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20))
    overdue_notified_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)

    __table_args__ = (
        ForeignKeyConstraint(["org_id"], ["organizations.id"]),
        tenant_fk("review_meeting_id", "review_meetings"),
        tenant_fk("owner_id", "employees"),
        Index("ix_improvement_actions_org_owner_status", "org_id", "owner_id", "status"),
        Index("ix_improvement_actions_status_due", "status", "due_date"),
    )
