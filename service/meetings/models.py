"""ORM models of meetings: the meeting (a recurring series or a single one), its
attendees, the records of its occurrences (held, with notes and decisions, or
cancelled), the follow-up actions decided in an occurrence, and each person's calendar
feed token. Keyed by org_id first; every reference is a composite foreign key that
includes org_id, so nothing can point into another organization."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import Date, ForeignKeyConstraint, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, TenantMixin, Versioned, tenant_fk
from service.org.models import Timestamps
from service.types import UtcDateTime


class Meeting(TenantMixin, Timestamps, Versioned, Base):
    """A meeting of a team (a department) or a pair (a one-on-one: a manager and their
    report). `starts_at` is the first occurrence (UTC); with `rrule` (RFC 5545, without
    DTSTART) it repeats at the same wall-clock time in `timezone`."""

    __tablename__ = "meetings"

    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(300))
    department_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    organizer_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    cycle_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    review_meeting_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    starts_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    duration_minutes: Mapped[int] = mapped_column(Integer)
    timezone: Mapped[str] = mapped_column(String(64))
    rrule: Mapped[str | None] = mapped_column(String(500), nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="scheduled")
    created_by: Mapped[str] = mapped_column(String(200))

    __table_args__ = (
        ForeignKeyConstraint(["org_id"], ["organizations.id"]),
        tenant_fk("department_id", "departments"),
        tenant_fk("organizer_id", "employees"),
        tenant_fk("cycle_id", "cycles"),
        tenant_fk("review_meeting_id", "review_meetings"),
        Index("ix_meetings_org_department", "org_id", "department_id"),
    )


class MeetingAttendee(Base):
    """Who attends a meeting (what decides most of who may read it)."""

    __tablename__ = "meeting_attendees"

    org_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    meeting_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    employee_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)

    __table_args__ = (
        ForeignKeyConstraint(["org_id"], ["organizations.id"]),
        tenant_fk("meeting_id", "meetings"),
        tenant_fk("employee_id", "employees"),
        Index("ix_meeting_attendees_org_employee", "org_id", "employee_id"),
    )


class MeetingOccurrence(Timestamps, Versioned, Base):
    """The record of one occurrence, keyed by its start (UTC), made when it is held
    (notes, decisions) or cancelled; an occurrence without a record is just scheduled."""

    __tablename__ = "meeting_occurrences"

    org_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    meeting_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    starts_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, primary_key=True)
    status: Mapped[str] = mapped_column(String(20))
    notes: Mapped[str | None] = mapped_column(Text, nullable=True)
    decisions: Mapped[str | None] = mapped_column(Text, nullable=True)
    recorded_by: Mapped[str] = mapped_column(String(200))

    __table_args__ = (
        ForeignKeyConstraint(["org_id"], ["organizations.id"]),
        tenant_fk("meeting_id", "meetings"),
    )


class MeetingAction(TenantMixin, Timestamps, Versioned, Base):
    """A follow-up action decided in an occurrence of a meeting: an owner, a due date and
    a status (open → done or cancelled). `overdue_notified_at` marks the one
    `action.overdue` event it gets once past due."""

    __tablename__ = "meeting_actions"

    meeting_id: Mapped[uuid.UUID] = mapped_column()
    occurrence_start: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    owner_id: Mapped[uuid.UUID] = mapped_column()
    title: Mapped[str] = mapped_column(String(300))
    due_date: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="open")
    closed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    overdue_notified_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_by: Mapped[str] = mapped_column(String(200))

    __table_args__ = (
        ForeignKeyConstraint(["org_id"], ["organizations.id"]),
        tenant_fk("meeting_id", "meetings"),
        tenant_fk("owner_id", "employees"),
        Index("ix_meeting_actions_org_meeting", "org_id", "meeting_id"),
        Index("ix_meeting_actions_org_owner_status", "org_id", "owner_id", "status"),
        Index("ix_meeting_actions_org_status_due", "org_id", "status", "due_date"),
    )


class CalendarFeed(TenantMixin, Timestamps, Versioned, Base):
    """A person's private calendar feed: the SHA-256 of the secret part of the token in
    its URL (the token itself is shown once). Rotating revokes the live one and makes a
    new one; a revoked feed answers 404."""

    __tablename__ = "calendar_feeds"

    employee_id: Mapped[uuid.UUID] = mapped_column()
    token_hash: Mapped[str] = mapped_column(String(64))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)

    __table_args__ = (
        ForeignKeyConstraint(["org_id"], ["organizations.id"]),
        tenant_fk("employee_id", "employees"),
        Index("uq_calendar_feeds_org_token", "org_id", "token_hash", unique=True),
        Index("ix_calendar_feeds_org_employee", "org_id", "employee_id"),
    )
