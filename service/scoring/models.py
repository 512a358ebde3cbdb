"""Scoring policies (immutable versions), score snapshots and recompute jobs."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, TenantMixin, tenant_fk
from service.org.levels import LEVEL_MAX_LENGTH
from service.types import ExactDecimal, UtcDateTime, utcnow


class ScoringPolicy(TenantMixin, Base):
    """A policy attached to a scope. Its parameters live in versions; `current_version`
    moves forward on every edit and old versions never change."""

    __tablename__ = "scoring_policies"

    name: Mapped[str] = mapped_column(String(200))
    scope_kind: Mapped[str] = mapped_column(String(20))
    scope_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    # The position level a `level` scope targets, normalized (scope_id is then null).
    scope_level: Mapped[str | None] = mapped_column(String(LEVEL_MAX_LENGTH), nullable=True)
    current_version: Mapped[int] = mapped_column(Integer, default=1)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
    row_version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": row_version}
    __table_args__ = (
        ForeignKeyConstraint(["org_id"], ["organizations.id"]),
        Index("ix_scoring_policies_scope", "org_id", "scope_kind", "scope_id"),
    )


class ScoringPolicyVersion(Base):
    """One immutable version of a policy's parameters."""

    __tablename__ = "scoring_policy_versions"

    org_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    policy_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)

    __table_args__ = (tenant_fk("policy_id", "scoring_policies"),)


class ScoreSnapshot(Base):
    """The last recompute's result per employee and cycle (for events, exports and the
    benchmark); reads always compute fresh, so this never answers a score query."""

    __tablename__ = "score_snapshots"

    org_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    cycle_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    employee_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(20))
    composite: Mapped[Decimal | None] = mapped_column(ExactDecimal, nullable=True)
    final: Mapped[Decimal | None] = mapped_column(ExactDecimal, nullable=True)
    rating: Mapped[str | None] = mapped_column(String(10), nullable=True)
    components: Mapped[dict[str, Any]] = mapped_column(JSON)
    flags: Mapped[list[str]] = mapped_column(JSON)
    policy_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    policy_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    computed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)

    __table_args__ = (
        tenant_fk("cycle_id", "cycles"),
        tenant_fk("employee_id", "employees"),
    )


class ScoreJob(TenantMixin, Base):
    __tablename__ = "score_jobs"

    cycle_id: Mapped[uuid.UUID] = mapped_column()
    status: Mapped[str] = mapped_column(String(20), default="queued")
    requested_by: Mapped[str] = mapped_column(String(200))
    employees: Mapped[int | None] = mapped_column(Integer, nullable=True)
    changed: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # The runner's lease (service/scoring/jobs.py): renewed while it works; once past, the
    # job is retried (up to MAX_ATTEMPTS) or failed.
    lease_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (tenant_fk("cycle_id", "cycles"),)


class ScoreRecord(TenantMixin, Base):
    """One version of an employee's official result in a cycle (the score of record,
    SPEC section 9). Version 1 is written when the result is finalized (the employee's
    calibration session is finalized, or the cycle closes); each amendment writes the
    next version. Rows never change: the database refuses UPDATE and DELETE (migration
    0010), so every earlier version stays readable. Numbers are stored exact (the
    shown values are rounded on the way out), so incentive rules computed from a record
    give the same amounts as from the live computation it froze."""

    __tablename__ = "score_records"

    cycle_id: Mapped[uuid.UUID] = mapped_column()
    employee_id: Mapped[uuid.UUID] = mapped_column()
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    components: Mapped[dict[str, Any]] = mapped_column(JSON)
    weights: Mapped[dict[str, Any]] = mapped_column(JSON)
    composite: Mapped[Decimal | None] = mapped_column(ExactDecimal, nullable=True)
    calibration_delta: Mapped[Decimal] = mapped_column(ExactDecimal)
    final: Mapped[Decimal | None] = mapped_column(ExactDecimal, nullable=True)
    rating: Mapped[str | None] = mapped_column(String(10), nullable=True)
    flags: Mapped[list[str]] = mapped_column(JSON)
    policy_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    policy_version: Mapped[int] = mapped_column(Integer)
    explanation: Mapped[dict[str, Any]] = mapped_column(JSON)
    # calibration (a session was finalized), cycle_closed, or amendment
    source: Mapped[str] = mapped_column(String(20))
    calibration_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    changes: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    # When version 1 was written: the moment the result became official.
    finalized_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)

    __table_args__ = (
        ForeignKeyConstraint(["org_id"], ["organizations.id"]),
        tenant_fk("cycle_id", "cycles"),
        tenant_fk("employee_id", "employees"),
        UniqueConstraint("org_id", "cycle_id", "employee_id", "version"),
        Index("ix_score_records_org_employee", "org_id", "employee_id"),
    )
