"""ORM models of the KPI module. Like every tenant table they are keyed by (org_id, id),
and each reference is a composite foreign key that includes org_id, so the database
itself refuses a KPI that points into another organization."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, TenantMixin, Versioned, tenant_fk
from service.org.levels import LEVEL_MAX_LENGTH
from service.org.models import Timestamps
from service.types import ExactDecimal


class KpiDefinition(TenantMixin, Timestamps, Versioned, Base):
    """A library entry: what is measured and how measurements aggregate."""

    __tablename__ = "kpi_definitions"

    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str | None] = mapped_column(String(40), nullable=True)
    direction: Mapped[str] = mapped_column(String(20))
    aggregation: Mapped[str] = mapped_column(String(10))
    perspective: Mapped[str | None] = mapped_column(String(20), nullable=True)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)

    __table_args__ = (
        UniqueConstraint("org_id", "code"),
        ForeignKeyConstraint(["org_id"], ["organizations.id"]),
    )


class KpiTemplate(TenantMixin, Timestamps, Versioned, Base):
    """A position's default set of KPIs, or a position level's (exactly one of
    `position_id` and `level` is set); its items live in `kpi_template_items`."""

    __tablename__ = "kpi_templates"

    name: Mapped[str] = mapped_column(String(200))
    position_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    level: Mapped[str | None] = mapped_column(String(LEVEL_MAX_LENGTH), nullable=True)

    __table_args__ = (
        ForeignKeyConstraint(["org_id"], ["organizations.id"]),
        tenant_fk("position_id", "positions"),
        Index("ix_kpi_templates_org_position", "org_id", "position_id"),
        Index("ix_kpi_templates_org_level", "org_id", "level"),
        CheckConstraint("(position_id IS NULL) <> (level IS NULL)", name="one_target"),
    )


class KpiParameters:
    """Method and parameters shared by template items and assignments."""

    method: Mapped[str] = mapped_column(String(10))
    weight: Mapped[Decimal] = mapped_column(ExactDecimal)
    threshold: Mapped[Decimal | None] = mapped_column(ExactDecimal, nullable=True)
    target: Mapped[Decimal | None] = mapped_column(ExactDecimal, nullable=True)
    stretch: Mapped[Decimal | None] = mapped_column(ExactDecimal, nullable=True)
    range_low: Mapped[Decimal | None] = mapped_column(ExactDecimal, nullable=True)
    range_high: Mapped[Decimal | None] = mapped_column(ExactDecimal, nullable=True)
    tolerance: Mapped[Decimal | None] = mapped_column(ExactDecimal, nullable=True)
    veto: Mapped[bool] = mapped_column(Boolean, default=False)
    rewardable: Mapped[bool] = mapped_column(Boolean, default=False)


class KpiTemplateItem(TenantMixin, KpiParameters, Base):
    __tablename__ = "kpi_template_items"

    template_id: Mapped[uuid.UUID] = mapped_column()
    ordinal: Mapped[int] = mapped_column(Integer)
    definition_id: Mapped[uuid.UUID] = mapped_column()

    __table_args__ = (
        ForeignKeyConstraint(["org_id"], ["organizations.id"]),
        ForeignKeyConstraint(
            ["org_id", "template_id"], ["kpi_templates.org_id", "kpi_templates.id"], ondelete="CASCADE"
        ),
        tenant_fk("definition_id", "kpi_definitions"),
        UniqueConstraint("org_id", "template_id", "definition_id"),
        Index("ix_kpi_template_items_org_definition", "org_id", "definition_id"),
    )


class KpiAssignment(TenantMixin, Timestamps, KpiParameters, Versioned, Base):
    """An employee's KPI in a cycle. One per (employee, cycle, definition), which is what
    makes template application idempotent and bulk rows addressable by
    (employee_external_id, kpi_code, cycle_id)."""

    __tablename__ = "kpi_assignments"

    employee_id: Mapped[uuid.UUID] = mapped_column()
    cycle_id: Mapped[uuid.UUID] = mapped_column()
    definition_id: Mapped[uuid.UUID] = mapped_column()
    template_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    # The days of the cycle the assignment counts for (a move mid-cycle ends one
    # position's KPIs and starts the next one's); null is the cycle's start or end.
    effective_from: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    effective_to: Mapped[dt.date | None] = mapped_column(Date, nullable=True)

    __table_args__ = (
        ForeignKeyConstraint(["org_id"], ["organizations.id"]),
        tenant_fk("employee_id", "employees"),
        tenant_fk("cycle_id", "cycles"),
        tenant_fk("definition_id", "kpi_definitions"),
        tenant_fk("template_id", "kpi_templates"),
        UniqueConstraint("org_id", "employee_id", "cycle_id", "definition_id"),
        Index("ix_kpi_assignments_org_employee_cycle", "org_id", "employee_id", "cycle_id"),
        Index("ix_kpi_assignments_org_cycle", "org_id", "cycle_id"),
        Index("ix_kpi_assignments_org_definition", "org_id", "definition_id"),
    )


class KpiMeasurement(TenantMixin, Timestamps, Versioned, Base):
    """An actual. `source_key` is the ingesting system's idempotency key: unique per
    assignment when set."""

    __tablename__ = "kpi_measurements"

    assignment_id: Mapped[uuid.UUID] = mapped_column()
    value: Mapped[Decimal] = mapped_column(ExactDecimal)
    measured_at: Mapped[dt.date] = mapped_column(Date)
    source: Mapped[str | None] = mapped_column(String(100), nullable=True)
    source_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    recorded_by: Mapped[str | None] = mapped_column(String(200), nullable=True)

    __table_args__ = (
        ForeignKeyConstraint(["org_id"], ["organizations.id"]),
        ForeignKeyConstraint(
            ["org_id", "assignment_id"], ["kpi_assignments.org_id", "kpi_assignments.id"], ondelete="CASCADE"
        ),
        Index("ix_kpi_measurements_org_assignment_measured", "org_id", "assignment_id", "measured_at"),
        Index(
            "uq_kpi_measurements_org_assignment_source_key",
            "org_id",
            "assignment_id",
            "source_key",
            unique=True,
            sqlite_where=text("source_key IS NOT NULL"),
            postgresql_where=text("source_key IS NOT NULL"),
        ),
    )
