"""ORM models of the incentives module. Like every tenant table they are keyed by
(org_id, id) and every reference is a composite foreign key that includes org_id.

A finalized result is immutable: besides the service refusing every write (409), a
database trigger refuses UPDATE and DELETE of a row whose status is `finalized`
(migration 0009). Payroll acknowledgements therefore live in their own table, and the
per-organization payroll sequence in another (see `service/incentives/payroll.py`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    ForeignKeyConstraint,
    Index,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, TenantMixin, Versioned, tenant_fk
from service.org.models import Timestamps
from service.types import UtcDateTime, utcnow


class IncentivePlan(TenantMixin, Timestamps, Versioned, Base):
    """A bonus plan, an excess-KPI reward or a breakthrough nomination scheme over one
    cycle. `params` holds the validated parameters with every default made explicit."""

    __tablename__ = "incentive_plans"

    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(30))
    cycle_id: Mapped[uuid.UUID] = mapped_column()
    currency: Mapped[str] = mapped_column(String(3))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    last_run_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)

    __table_args__ = (
        ForeignKeyConstraint(["org_id"], ["organizations.id"]),
        tenant_fk("cycle_id", "cycles"),
        Index("ix_incentive_plans_org_cycle", "org_id", "cycle_id"),
    )


class IncentiveResult(TenantMixin, Timestamps, Versioned, Base):
    """One employee's result of a plan: an amount in minor units (money plans), or a
    nomination; `kind` is payment, nomination or adjustment (a correction of a finalized
    result, pointing at it through `adjusts_id`). `inputs` is the snapshot every amount
    can be recomputed from. `payroll_seq` is set once, at finalization, for money results."""

    __tablename__ = "incentive_results"

    plan_id: Mapped[uuid.UUID] = mapped_column()
    employee_id: Mapped[uuid.UUID] = mapped_column()
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="draft")
    amount_minor: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    currency: Mapped[str | None] = mapped_column(String(3), nullable=True)
    nomination: Mapped[str | None] = mapped_column(String(20), nullable=True)
    earning_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    period_start: Mapped[dt.date] = mapped_column(Date)
    period_end: Mapped[dt.date] = mapped_column(Date)
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    adjusts_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    decision_comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_by: Mapped[str] = mapped_column(String(200))
    approved_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    approved_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    finalized_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    finalized_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    declined_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    declined_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    payroll_seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # The plan's name when the result was finalized: what payroll exports, whatever the
    # plan is called later (null for results finalized before this was kept).
    plan_name: Mapped[str | None] = mapped_column(String(200), nullable=True)

    __table_args__ = (
        ForeignKeyConstraint(["org_id"], ["organizations.id"]),
        tenant_fk("plan_id", "incentive_plans"),
        tenant_fk("employee_id", "employees"),
        tenant_fk("adjusts_id", "incentive_results"),
        Index("ix_incentive_results_org_plan_status", "org_id", "plan_id", "status"),
        Index("ix_incentive_results_org_employee", "org_id", "employee_id"),
        Index("ix_incentive_results_org_adjusts", "org_id", "adjusts_id"),
        # One run result (payment or nomination) per employee and plan; adjustments are extra.
        Index(
            "uq_incentive_results_org_plan_employee",
            "org_id",
            "plan_id",
            "employee_id",
            unique=True,
            sqlite_where=text("adjusts_id IS NULL"),
            postgresql_where=text("adjusts_id IS NULL"),
        ),
        Index(
            "uq_incentive_results_org_payroll_seq",
            "org_id",
            "payroll_seq",
            unique=True,
            sqlite_where=text("payroll_seq IS NOT NULL"),
            postgresql_where=text("payroll_seq IS NOT NULL"),
        ),
    )


class PayrollSequence(Base):
    """The last payroll sequence number handed out in an organization. Finalizing takes
    this row's lock (an UPDATE) and holds it until commit: see `payroll.py`."""

    __tablename__ = "incentive_payroll_sequences"

    org_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)

    __table_args__ = (ForeignKeyConstraint(["org_id"], ["organizations.id"]),)


class PayrollAck(Base):
    """Payroll's acknowledgement of a finalized result, with its own reference. Kept
    apart from the result so the finalized row itself never changes."""

    __tablename__ = "incentive_payroll_acks"

    org_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    result_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    payroll_reference: Mapped[str] = mapped_column(String(200))
    acknowledged_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    acknowledged_by: Mapped[str] = mapped_column(String(200))

    __table_args__ = (
        ForeignKeyConstraint(["org_id"], ["organizations.id"]),
        tenant_fk("result_id", "incentive_results"),
    )
