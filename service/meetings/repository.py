"""Every query of the meetings module, each scoped to one organization. The list starts
from a statement already restricted to what the caller may read (meetings they attend,
or that someone in their reporting subtree attends); attendees and occurrence records
are read for many meetings at once."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Select, delete, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from service.kit import hierarchy
from service.kit.chunks import chunks
from service.meetings.models import CalendarFeed, Meeting, MeetingAction, MeetingAttendee, MeetingOccurrence
from service.org.models import Employee
from service.types import utcnow


def attended_by(org_id: uuid.UUID, employee_id: uuid.UUID, *, with_reports: bool) -> Select[Any]:
    """Ids of the meetings the employee attends (and, `with_reports`, that anyone in
    their reporting subtree attends), as a subquery."""
    who = MeetingAttendee.employee_id == employee_id
    if with_reports:
        who = or_(who, MeetingAttendee.employee_id.in_(hierarchy.reports_of(org_id, employee_id, "meeting_reports")))
    return select(MeetingAttendee.meeting_id).where(MeetingAttendee.org_id == org_id, who)


def visible_meetings(org_id: uuid.UUID, everything: bool, employee_id: uuid.UUID | None) -> Select[Any]:
    """Meetings the caller may read (`policy.read_meeting`)."""
    stmt = select(Meeting).where(Meeting.org_id == org_id)
    if everything:
        return stmt
    if employee_id is None:
        return stmt.where(literal(False))
    return stmt.where(Meeting.id.in_(attended_by(org_id, employee_id, with_reports=True)))


async def attendees_of(
    session: AsyncSession, org_id: uuid.UUID, meeting_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    out: dict[uuid.UUID, list[uuid.UUID]] = {}
    for chunk in chunks(list(set(meeting_ids))):
        rows = await session.execute(
            select(MeetingAttendee.meeting_id, MeetingAttendee.employee_id)
            .where(MeetingAttendee.org_id == org_id, MeetingAttendee.meeting_id.in_(chunk))
            .order_by(MeetingAttendee.employee_id)
        )
        for r in rows:
            out.setdefault(r.meeting_id, []).append(r.employee_id)
    return out


async def set_attendees(
    session: AsyncSession, org_id: uuid.UUID, meeting_id: uuid.UUID, employee_ids: Sequence[uuid.UUID]
) -> None:
    await session.execute(
        delete(MeetingAttendee).where(MeetingAttendee.org_id == org_id, MeetingAttendee.meeting_id == meeting_id)
    )
    session.add_all(MeetingAttendee(org_id=org_id, meeting_id=meeting_id, employee_id=e) for e in employee_ids)
    await session.flush()


async def department_members(session: AsyncSession, org_id: uuid.UUID, department_id: uuid.UUID) -> list[uuid.UUID]:
    """The department's employees who are not terminated."""
    stmt = select(Employee.id).where(
        Employee.org_id == org_id, Employee.department_id == department_id, Employee.status != "terminated"
    )
    return list((await session.execute(stmt.order_by(Employee.id))).scalars())


async def existing_employees(
    session: AsyncSession, org_id: uuid.UUID, ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, Employee]:
    out: dict[uuid.UUID, Employee] = {}
    for chunk in chunks(list(set(ids))):
        rows = await session.execute(select(Employee).where(Employee.org_id == org_id, Employee.id.in_(chunk)))
        out.update({e.id: e for e in rows.scalars()})
    return out


async def records_between(
    session: AsyncSession, org_id: uuid.UUID, meeting_id: uuid.UUID, start: dt.datetime, end: dt.datetime
) -> dict[dt.datetime, MeetingOccurrence]:
    stmt = select(MeetingOccurrence).where(
        MeetingOccurrence.org_id == org_id,
        MeetingOccurrence.meeting_id == meeting_id,
        MeetingOccurrence.starts_at >= start,
        MeetingOccurrence.starts_at < end,
    )
    return {r.starts_at: r for r in (await session.execute(stmt)).scalars()}


async def cancelled_starts(
    session: AsyncSession, org_id: uuid.UUID, meeting_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, list[dt.datetime]]:
    """The cancelled occurrences of each meeting (a calendar's EXDATEs)."""
    out: dict[uuid.UUID, list[dt.datetime]] = {}
    for chunk in chunks(list(set(meeting_ids))):
        rows = await session.execute(
            select(MeetingOccurrence.meeting_id, MeetingOccurrence.starts_at)
            .where(
                MeetingOccurrence.org_id == org_id,
                MeetingOccurrence.meeting_id.in_(chunk),
                MeetingOccurrence.status == "cancelled",
            )
            .order_by(MeetingOccurrence.starts_at)
        )
        for r in rows:
            out.setdefault(r.meeting_id, []).append(r.starts_at)
    return out


def actions_of_meeting(org_id: uuid.UUID, meeting_id: uuid.UUID) -> Select[Any]:
    return select(MeetingAction).where(MeetingAction.org_id == org_id, MeetingAction.meeting_id == meeting_id)


async def open_actions_of(session: AsyncSession, org_id: uuid.UUID, owner_id: uuid.UUID) -> Sequence[MeetingAction]:
    """The open actions an employee owns (their task list's)."""
    stmt = select(MeetingAction).where(
        MeetingAction.org_id == org_id, MeetingAction.owner_id == owner_id, MeetingAction.status == "open"
    )
    return (await session.execute(stmt.order_by(MeetingAction.due_date, MeetingAction.id))).scalars().all()


async def newly_overdue(session: AsyncSession, today: dt.date, limit: int) -> Sequence[MeetingAction]:
    """Open actions past due that have not had their `action.overdue` event, of every
    organization (the worker's round), oldest due first."""
    stmt = (
        select(MeetingAction)
        .where(
            MeetingAction.status == "open",
            MeetingAction.due_date < today,
            MeetingAction.overdue_notified_at.is_(None),
        )
        .order_by(MeetingAction.due_date, MeetingAction.org_id, MeetingAction.id)
        .limit(limit)
    )
    return (await session.execute(stmt)).scalars().all()


async def claim_overdue(session: AsyncSession, action: MeetingAction) -> bool:
    """Mark the action announced unless another round did, or it was closed meanwhile."""
    result = await session.execute(
        update(MeetingAction)
        .where(
            MeetingAction.org_id == action.org_id,
            MeetingAction.id == action.id,
            MeetingAction.overdue_notified_at.is_(None),
            MeetingAction.status == "open",
        )
        .values(overdue_notified_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return getattr(result, "rowcount", 0) == 1


async def live_feed(session: AsyncSession, org_id: uuid.UUID, employee_id: uuid.UUID) -> CalendarFeed | None:
    stmt = select(CalendarFeed).where(
        CalendarFeed.org_id == org_id, CalendarFeed.employee_id == employee_id, CalendarFeed.revoked_at.is_(None)
    )
    return (await session.execute(stmt)).scalars().first()


async def feed_by_hash(session: AsyncSession, org_id: uuid.UUID, token_hash: str) -> CalendarFeed | None:
    stmt = select(CalendarFeed).where(
        CalendarFeed.org_id == org_id, CalendarFeed.token_hash == token_hash, CalendarFeed.revoked_at.is_(None)
    )
    return (await session.execute(stmt)).scalars().first()


def meetings_of(org_id: uuid.UUID, employee_id: uuid.UUID) -> Select[Any]:
    """The scheduled meetings the employee attends (their calendar)."""
    return select(Meeting).where(
        Meeting.org_id == org_id,
        Meeting.status == "scheduled",
        Meeting.id.in_(attended_by(org_id, employee_id, with_reports=False)),
    )
