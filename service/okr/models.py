"""ORM models of the OKR module. Keyed by (org_id, id); every reference is a composite
foreign key that includes org_id, so a link across organizations cannot exist."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKeyConstraint,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, TenantMixin, Versioned, tenant_fk
from service.org.models import Timestamps
from service.types import ExactDecimal, UtcDateTime, utcnow


class Objective(TenantMixin, Timestamps, Versioned, Base):
    __tablename__ = "objectives"

    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    level: Mapped[str] = mapped_column(String(20))
    owner_id: Mapped[uuid.UUID] = mapped_column()
    department_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    cycle_id: Mapped[uuid.UUID] = mapped_column()
    type: Mapped[str] = mapped_column(String(20), default="committed")
    parent_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    weight: Mapped[Decimal] = mapped_column(ExactDecimal, default=Decimal(1))
    perspective: Mapped[str | None] = mapped_column(String(30), nullable=True)
    visibility: Mapped[str] = mapped_column(String(10), default="public")
    # Where the rolled-up progress comes from: key_results, children or both (docs/cycles-and-okrs.md).
    progress_source: Mapped[str] = mapped_column(String(20), default="key_results", server_default="key_results")
    status: Mapped[str] = mapped_column(String(20), default="draft")
    # The comment of the latest rejection (the objective is back in draft).
    rejection_comment: Mapped[str | None] = mapped_column(Text, nullable=True)

    __table_args__ = (
        ForeignKeyConstraint(["org_id"], ["organizations.id"]),
        tenant_fk("owner_id", "employees"),
        tenant_fk("department_id", "departments"),
        tenant_fk("cycle_id", "cycles"),
        tenant_fk("parent_id", "objectives"),
        Index("ix_objectives_org_cycle", "org_id", "cycle_id"),
        Index("ix_objectives_org_owner", "org_id", "owner_id"),
        Index("ix_objectives_org_parent", "org_id", "parent_id"),
    )


class ObjectiveSupport(Base):
    """Bottom-up alignment: `objective_id` contributes to `supported_id`."""

    __tablename__ = "objective_supports"

    org_id: Mapped[uuid.UUID] = mapped_column()
    objective_id: Mapped[uuid.UUID] = mapped_column()
    supported_id: Mapped[uuid.UUID] = mapped_column()

    __table_args__ = (
        PrimaryKeyConstraint("org_id", "objective_id", "supported_id"),
        tenant_fk("objective_id", "objectives"),
        tenant_fk("supported_id", "objectives"),
        Index("ix_objective_supports_org_supported", "org_id", "supported_id"),
    )


class KeyResult(TenantMixin, Timestamps, Versioned, Base):
    __tablename__ = "key_results"

    objective_id: Mapped[uuid.UUID] = mapped_column()
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    kind: Mapped[str] = mapped_column(String(20))
    start: Mapped[Decimal | None] = mapped_column(ExactDecimal, nullable=True)
    target: Mapped[Decimal | None] = mapped_column(ExactDecimal, nullable=True)
    unit: Mapped[str | None] = mapped_column(String(40), nullable=True)
    weight: Mapped[Decimal] = mapped_column(ExactDecimal, default=Decimal(1))
    # [{"title": str, "weight": "decimal string", "done": bool}]
    milestones: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)
    owner_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    # A child objective whose rolled-up progress is this result's progress in the rollup.
    measured_by_objective_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    # When the result is due, within the objective's cycle; none means the cycle's end.
    due_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    # A manual grade replaces the computed score once the objective is closed (SPEC 4).
    grade: Mapped[Decimal | None] = mapped_column(ExactDecimal, nullable=True)
    grade_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    graded_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    graded_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)

    __table_args__ = (
        ForeignKeyConstraint(["org_id"], ["organizations.id"]),
        tenant_fk("objective_id", "objectives"),
        tenant_fk("owner_id", "employees"),
        tenant_fk("measured_by_objective_id", "objectives", name="fk_key_results_measured_by_objective"),
        Index("ix_key_results_org_objective", "org_id", "objective_id"),
    )


class CheckIn(TenantMixin, Base):
    """A progress report on a key result; immutable once written."""

    __tablename__ = "check_ins"

    key_result_id: Mapped[uuid.UUID] = mapped_column()
    value: Mapped[Decimal | None] = mapped_column(ExactDecimal, nullable=True)
    done: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    milestone: Mapped[int | None] = mapped_column(Integer, nullable=True)
    confidence: Mapped[int | None] = mapped_column(Integer, nullable=True)
    status: Mapped[str | None] = mapped_column(String(20), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    author: Mapped[str] = mapped_column(String(200))
    author_employee_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    checked_in_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)

    __table_args__ = (
        ForeignKeyConstraint(["org_id"], ["organizations.id"]),
        tenant_fk("key_result_id", "key_results"),
        Index("ix_check_ins_org_kr_checked", "org_id", "key_result_id", "checked_in_at"),
    )


class ObjectiveRevision(TenantMixin, Base):
    """One change to an objective or one of its key results: who, when, what, why.
    Kept for every workflow step and for every edit once the objective is published."""

    __tablename__ = "objective_revisions"

    objective_id: Mapped[uuid.UUID] = mapped_column()
    # No foreign key: the revision outlives a deleted key result.
    key_result_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    action: Mapped[str] = mapped_column(String(40))
    changes: Mapped[dict[str, Any]] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    actor: Mapped[str] = mapped_column(String(200))
    actor_employee_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)

    __table_args__ = (
        ForeignKeyConstraint(["org_id"], ["organizations.id"]),
        tenant_fk("objective_id", "objectives"),
        Index("ix_objective_revisions_org_objective", "org_id", "objective_id"),
    )
