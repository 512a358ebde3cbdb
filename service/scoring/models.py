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
    false,
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
    """Each employee's stored score per cycle: what the score lists read (service/scoring/
    stored.py). A row holds the score as shown (the record's when the result is official,
    else the live computation), without its explanation, and the inputs' version it was
    computed from (`inputs_version`, against `ScoreFreshness`). Writes that change an
    employee's inputs re-score the employee in the same transaction
    (service/scoring/freshness.py); a recompute job rewrites the whole cycle. The score
    of record stays in `score_records`, frozen: these rows only mirror it."""

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
    weights: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    calibration_delta: Mapped[Decimal | None] = mapped_column(ExactDecimal, nullable=True)
    # The final and composite points as shown (2 places): the keys lists sort by.
    final_shown: Mapped[Decimal | None] = mapped_column(ExactDecimal, nullable=True)
    composite_shown: Mapped[Decimal | None] = mapped_column(ExactDecimal, nullable=True)
    official: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    finalized_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    record_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    inputs_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    __table_args__ = (
        tenant_fk("cycle_id", "cycles"),
        tenant_fk("employee_id", "employees"),
        Index("ix_score_snapshots_final", "org_id", "cycle_id", "final_shown", "employee_id"),
    )


# Pages of one rating sorted by `-final` read this index in order (migration 0022).
Index(
    "ix_score_snapshots_rating",
    ScoreSnapshot.__table__.c.org_id,
    ScoreSnapshot.__table__.c.cycle_id,
    ScoreSnapshot.__table__.c.rating,
    ScoreSnapshot.__table__.c.final_shown.desc().nulls_last(),
    ScoreSnapshot.__table__.c.employee_id,
)


class ScoreFreshness(Base):
    """Per cycle, the version of its scoring inputs and the version its stored scores are
    complete for. A change that affects a few employees re-scores them in its own
    transaction and moves neither; a change that affects many (a policy, a cycle's dates,
    a bulk import) moves `version` forward and queues a recompute, which sets
    `complete_version` when every chunk is done. While the two differ, score lists
    compute live, as before stored scores (service/scoring/stored.py)."""

    __tablename__ = "score_freshness"

    org_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    cycle_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    complete_version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)

    __table_args__ = (tenant_fk("cycle_id", "cycles"),)


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
    # Progress for a progress bar: employees to score and scored so far.
    total: Mapped[int | None] = mapped_column(Integer, nullable=True)
    done: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The cycle's inputs version (ScoreFreshness.version) the job computes.
    inputs_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Why it runs: `requested` (POST .../scores/recompute) or `refresh` (inputs changed
    # for many employees at once).
    reason: Mapped[str] = mapped_column(String(40), default="requested", server_default="requested")

    __table_args__ = (
        tenant_fk("cycle_id", "cycles"),
        Index("ix_score_jobs_org_status", "org_id", "status", "cycle_id"),
    )


class ScoreJobChunk(Base):
    """One leased piece of a recompute job: the population's employees from
    `first_employee_id` to `last_employee_id` (inclusive, in id order)."""

    __tablename__ = "score_job_chunks"

    org_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    job_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    first_employee_id: Mapped[uuid.UUID] = mapped_column()
    last_employee_id: Mapped[uuid.UUID] = mapped_column()
    size: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="queued")
    lease_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    runner: Mapped[str | None] = mapped_column(String(200), nullable=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)

    __table_args__ = (
        tenant_fk("job_id", "score_jobs"),
        Index("ix_score_job_chunks_org_status", "org_id", "status", "lease_until"),
    )


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
