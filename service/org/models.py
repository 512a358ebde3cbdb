"""ORM models of the organization module. Tables are keyed by (org_id, id) and every
reference to another tenant row is a composite foreign key that includes org_id, so the
database itself refuses a reference across organizations."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, TenantMixin, Versioned, tenant_fk
from service.types import ExactDecimal, UtcDateTime, new_id, utcnow

DEFAULT_ORG_SETTINGS: dict[str, Any] = {
    "okr_max_objectives": 5,
    "okr_min_krs": 2,
    "okr_max_krs": 5,
    "peer_feedback_min_reviewers": 3,
    "webhooks_allow_private": False,
    "check_in_cadence_days": 7,
    "retention_days_after_termination": 2555,
}


class Timestamps:
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class Organization(Timestamps, Versioned, Base):
    """The tenant. Its own `id` is the distribution column of every other table."""

    __tablename__ = "organizations"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    fiscal_year_start: Mapped[str] = mapped_column(String(5), default="01-01")
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Department(TenantMixin, Timestamps, Versioned, Base):
    __tablename__ = "departments"

    name: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    head_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)

    __table_args__ = (
        ForeignKeyConstraint(["org_id"], ["organizations.id"]),
        tenant_fk("parent_id", "departments"),
        Index("ix_departments_org_parent", "org_id", "parent_id"),
    )


class Position(TenantMixin, Timestamps, Versioned, Base):
    __tablename__ = "positions"

    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str | None] = mapped_column(String(40), nullable=True)
    job_family: Mapped[str | None] = mapped_column(String(100), nullable=True)

    __table_args__ = (ForeignKeyConstraint(["org_id"], ["organizations.id"]),)


class Employee(TenantMixin, Timestamps, Versioned, Base):
    __tablename__ = "employees"

    external_id: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    given_name: Mapped[str] = mapped_column(String(200))
    family_name: Mapped[str] = mapped_column(String(200))
    department_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    position_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    manager_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="active")
    hire_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    termination_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    # Compensation: visible only to hr, admin, payroll scopes and the employee.
    base_salary_minor: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    comp_currency: Mapped[str | None] = mapped_column(String(3), nullable=True)
    target_bonus_pct: Mapped[Decimal | None] = mapped_column(ExactDecimal, nullable=True)
    target_bonus_minor: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # When the person's data was pseudonymized (docs/data-protection.md); NULL until then.
    erased_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)

    __table_args__ = (
        UniqueConstraint("org_id", "external_id"),
        ForeignKeyConstraint(["org_id"], ["organizations.id"]),
        tenant_fk("department_id", "departments"),
        tenant_fk("position_id", "positions"),
        tenant_fk("manager_id", "employees"),
        Index("ix_employees_org_manager", "org_id", "manager_id"),
        Index("ix_employees_org_department", "org_id", "department_id"),
    )


__all__ = ["Organization", "Department", "Position", "Employee", "ForeignKey"]
