"""ORM models of development plans and their items. Keyed by (org_id, id); every
reference is a composite foreign key that includes org_id, so nothing can point into
another organization. A nomination has at most one plan (unique per organization)."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import JSON, Date, ForeignKeyConstraint, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, TenantMixin, Versioned, tenant_fk
from service.org.models import Timestamps
from service.types import UtcDateTime


class DevelopmentPlan(TenantMixin, Timestamps, Versioned, Base):
    """A development plan of one employee: goals (short texts), a status
    (draft → active → completed, or cancelled), an owner who follows it with the
    employee, and the nomination, cycle and review meeting it came from."""

    __tablename__ = "development_plans"

    employee_id: Mapped[uuid.UUID] = mapped_column()
    owner_id: Mapped[uuid.UUID] = mapped_column()
    cycle_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    nomination_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    review_meeting_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    title: Mapped[str] = mapped_column(String(300))
    goals: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(20), default="draft")
    due_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    created_by: Mapped[str] = mapped_column(String(200))

    __table_args__ = (
        ForeignKeyConstraint(["org_id"], ["organizations.id"]),
        tenant_fk("employee_id", "employees"),
        tenant_fk("owner_id", "employees"),
        tenant_fk("cycle_id", "cycles"),
        tenant_fk("nomination_id", "incentive_results"),
        tenant_fk("review_meeting_id", "review_meetings"),
        Index("ix_development_plans_org_employee", "org_id", "employee_id"),
        Index("ix_development_plans_org_owner", "org_id", "owner_id"),
        Index(
            "uq_development_plans_org_nomination",
            "org_id",
            "nomination_id",
            unique=True,
            sqlite_where=text("nomination_id IS NOT NULL"),
            postgresql_where=text("nomination_id IS NOT NULL"),
        ),
    )


class DevelopmentPlanItem(TenantMixin, Timestamps, Versioned, Base):
    """One item of a plan: a training, a goal, an action or mentoring, with its own due
    date and status. An item copied from a review meeting's improvement plan keeps the
    meeting and the action's index (`source_*`)."""

    __tablename__ = "development_plan_items"

    plan_id: Mapped[uuid.UUID] = mapped_column()
    employee_id: Mapped[uuid.UUID] = mapped_column()  # the plan's, for set-based reads (tasks)
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(300))
    details: Mapped[str | None] = mapped_column(Text, nullable=True)
    due_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="open")
    completed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    source_review_meeting_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    source_action_index: Mapped[int | None] = mapped_column(Integer, nullable=True)

    __table_args__ = (
        ForeignKeyConstraint(["org_id"], ["organizations.id"]),
        tenant_fk("plan_id", "development_plans"),
        tenant_fk("employee_id", "employees"),
        tenant_fk("source_review_meeting_id", "review_meetings"),
        Index("ix_development_plan_items_org_plan", "org_id", "plan_id"),
        Index("ix_development_plan_items_org_employee_status", "org_id", "employee_id", "status"),
    )
