"""Meetings: the OKR rhythm's stand-ups, weekly team meetings, one-on-ones and quarterly
reviews, each a single meeting or a recurring series (service/meetings/recurrence.py),
with the records of its occurrences (held with notes and decisions, or cancelled).

Who (service/authz/policy.py, meetings section): a meeting is read by its attendees, the
managers above any attendee, hr/admin and auditors; changed by hr/admin, its organizer
and the managers above its attendees; its occurrences are recorded by those and by its
attendees. A meeting the caller may not read is a 404, as if it did not exist.

Choices where the rules are silent:
- a team meeting names a department, whose current members attend unless attendees are
  named; a one-on-one names exactly two employees, one the direct manager of the other,
  and no department;
- the organizer defaults to a one-on-one's manager, else to the caller's employee record;
- an occurrence is keyed by its start in UTC (`2027-01-04T08:00:00Z`); recording one that
  the rule does not produce is a 404; an occurrence is recorded held once (409 after).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from service.auth.context import Ctx
from service.authz import policy
from service.authz.enforce import require
from service.authz.policy import Relation
from service.cycles.models import Cycle
from service.errors import Conflict, NotFound, ValidationFailed
from service.evaluations import reviews
from service.kit import audit, outbox
from service.kit.changes import audited, set_fields
from service.kit.etag import IfMatch
from service.kit.pagination import Page, PageParams, paginate
from service.kit.schemas import utc
from service.meetings import recurrence
from service.meetings import repository as repo
from service.meetings.events import MeetingHeld, MeetingScheduled
from service.meetings.models import Meeting, MeetingOccurrence
from service.meetings.schemas import MeetingCreate, MeetingRead, MeetingUpdate, OccurrenceRead, OccurrenceRecord
from service.org.models import Department
from service.types import new_id, utcnow

MEETING = "meeting"


# --- reads ---------------------------------------------------------------------------------------


def meeting_read(m: Meeting, attendees: Sequence[uuid.UUID]) -> MeetingRead:
    return MeetingRead(
        id=m.id,
        kind=m.kind,
        title=m.title,
        department_id=m.department_id,
        attendee_ids=list(attendees),
        organizer_id=m.organizer_id,
        cycle_id=m.cycle_id,
        review_meeting_id=m.review_meeting_id,
        starts_at=m.starts_at,
        duration_minutes=m.duration_minutes,
        timezone=m.timezone,
        rrule=m.rrule,
        status=m.status,
        created_by=m.created_by,
        version=m.version,
        created_at=m.created_at,
        updated_at=m.updated_at,
    )


async def reads(ctx: Ctx, meetings: Sequence[Meeting]) -> list[MeetingRead]:
    """The read models of many meetings, their attendees loaded in one query."""
    attendees = await repo.attendees_of(ctx.session, ctx.org_id, [m.id for m in meetings])
    return [meeting_read(m, attendees.get(m.id, [])) for m in meetings]


def _snapshot(m: Meeting) -> dict[str, Any]:
    return meeting_read(m, []).model_dump(mode="json", exclude={"attendee_ids", "created_at", "updated_at", "version"})


async def relation_to_attendees(ctx: Ctx, attendees: Sequence[uuid.UUID]) -> Relation:
    """SELF when the caller attends, MANAGER when an attendee is in their subtree."""
    p = ctx.principal
    if p.is_client or p.employee_id is None:
        return Relation.OTHER
    if p.employee_id in attendees:
        return Relation.SELF
    return Relation.MANAGER if set(attendees) & await ctx.reports() else Relation.OTHER


def _is_organizer(ctx: Ctx, m: Meeting) -> bool:
    me = ctx.principal.employee_id
    return me is not None and not ctx.principal.is_client and m.organizer_id == me


async def list_meetings(
    ctx: Ctx,
    params: PageParams,
    *,
    kind: str | None = None,
    department_id: uuid.UUID | None = None,
    attendee_id: uuid.UUID | None = None,
    cycle_id: uuid.UUID | None = None,
    status: str | None = None,
) -> Page[Meeting]:
    p = ctx.principal
    require(policy.list_meetings(p), "meetings")
    stmt = repo.visible_meetings(ctx.org_id, policy.reads_everything(p), p.employee_id)
    for column, value in (
        (Meeting.kind, kind),
        (Meeting.department_id, department_id),
        (Meeting.cycle_id, cycle_id),
        (Meeting.status, status),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if attendee_id is not None:
        stmt = stmt.where(Meeting.id.in_(repo.attended_by(ctx.org_id, attendee_id, with_reports=False)))
    return await paginate(ctx.session, stmt, Meeting.id, params)


async def get_meeting(ctx: Ctx, meeting_id: uuid.UUID) -> tuple[Meeting, list[uuid.UUID], Relation]:
    """The meeting, its attendees and the caller's relation to them; 404 when it does not
    exist or the caller may not read it."""
    meeting = await ctx.session.get(Meeting, (ctx.org_id, meeting_id))
    if meeting is None:
        raise NotFound("meeting not found")
    attendees = (await repo.attendees_of(ctx.session, ctx.org_id, [meeting.id])).get(meeting.id, [])
    rel = await relation_to_attendees(ctx, attendees)
    require(policy.read_meeting(ctx.principal, rel), MEETING)
    return meeting, attendees, rel


async def for_writing(ctx: Ctx, meeting_id: uuid.UUID) -> tuple[Meeting, list[uuid.UUID]]:
    meeting, attendees, rel = await get_meeting(ctx, meeting_id)
    require(policy.write_meeting(ctx.principal, rel, _is_organizer(ctx, meeting)), MEETING)
    return meeting, attendees


async def for_recording(ctx: Ctx, meeting_id: uuid.UUID) -> tuple[Meeting, list[uuid.UUID], Relation]:
    meeting, attendees, rel = await get_meeting(ctx, meeting_id)
    require(policy.record_meeting(ctx.principal, rel, _is_organizer(ctx, meeting)), MEETING)
    return meeting, attendees, rel


# --- validation ----------------------------------------------------------------------------------


def _rule(rule: str | None, starts_at: dt.datetime, tz: str, field: str = "rrule") -> str | None:
    try:
        recurrence.zone(tz)
    except recurrence.RecurrenceError as exc:
        raise ValidationFailed.field("timezone", str(exc)) from None
    if starts_at.year >= recurrence.HORIZON_YEAR:
        raise ValidationFailed.field("starts_at", f"a meeting starts before {recurrence.HORIZON_YEAR}")
    try:
        return recurrence.validate(rule, starts_at, tz)
    except recurrence.RecurrenceError as exc:
        raise ValidationFailed.field(field, str(exc)) from None


async def _attendees(
    ctx: Ctx, kind: str, department_id: uuid.UUID | None, attendee_ids: list[uuid.UUID] | None
) -> list[uuid.UUID]:
    """The attendees of a meeting, checked: a one-on-one's pair (manager first), or a
    team's named attendees or its members."""
    if kind == "one_on_one":
        if department_id is not None:
            raise ValidationFailed.field("department_id", "a one_on_one is a pair's meeting, not a team's")
        if attendee_ids is None or len(set(attendee_ids)) != 2:
            raise ValidationFailed.field("attendee_ids", "a one_on_one names exactly two employees")
    elif department_id is None and not attendee_ids:
        raise ValidationFailed.field("department_id", "a team meeting names its department or its attendees")
    if department_id is not None and await ctx.session.get(Department, (ctx.org_id, department_id)) is None:
        raise ValidationFailed.field("department_id", "no such department")
    if attendee_ids is None:
        members = await repo.department_members(ctx.session, ctx.org_id, department_id)  # type: ignore[arg-type]
        if not members:
            raise ValidationFailed.field("attendee_ids", "the department has no members: name the attendees")
        return members
    ids = list(dict.fromkeys(attendee_ids))
    found = await repo.existing_employees(ctx.session, ctx.org_id, ids)
    if missing := [i for i, e in enumerate(ids) if e not in found]:
        raise ValidationFailed.field(["attendee_ids", missing[0]], "no such employee")
    if kind == "one_on_one":
        a, b = (found[i] for i in ids)
        if b.manager_id == a.id:
            return [a.id, b.id]
        if a.manager_id == b.id:
            return [b.id, a.id]
        raise ValidationFailed.field("attendee_ids", "a one_on_one is between a manager and their direct report")
    return ids


async def _references(ctx: Ctx, kind: str, changes: dict[str, Any]) -> None:
    if changes.get("cycle_id") is not None and await ctx.session.get(Cycle, (ctx.org_id, changes["cycle_id"])) is None:
        raise ValidationFailed.field("cycle_id", "no such cycle")
    if changes.get("organizer_id") is not None and not await repo.existing_employees(
        ctx.session, ctx.org_id, [changes["organizer_id"]]
    ):
        raise ValidationFailed.field("organizer_id", "no such employee")
    if changes.get("review_meeting_id") is not None:
        if kind != "quarterly_review":
            raise ValidationFailed.field("review_meeting_id", "only a quarterly_review references a review meeting")
        try:
            await reviews.get_meeting(ctx, changes["review_meeting_id"])
        except NotFound:
            raise ValidationFailed.field("review_meeting_id", "no such review meeting") from None


# --- writes --------------------------------------------------------------------------------------


async def create_meeting(ctx: Ctx, data: MeetingCreate) -> Meeting:
    attendees = await _attendees(ctx, data.kind, data.department_id, data.attendee_ids)
    require(policy.schedule_meeting(ctx.principal, await relation_to_attendees(ctx, attendees)), MEETING)
    await _references(ctx, data.kind, data.model_dump())
    starts_at = utc(data.starts_at)
    rule = _rule(data.rrule, starts_at, data.timezone)
    me = None if ctx.principal.is_client else ctx.principal.employee_id
    organizer = data.organizer_id or (attendees[0] if data.kind == "one_on_one" else me)
    meeting = Meeting(
        org_id=ctx.org_id,
        id=new_id(),
        kind=data.kind,
        title=data.title,
        department_id=data.department_id,
        organizer_id=organizer,
        cycle_id=data.cycle_id,
        review_meeting_id=data.review_meeting_id,
        starts_at=starts_at,
        duration_minutes=data.duration_minutes,
        timezone=data.timezone,
        rrule=rule,
        status="scheduled",
        created_by=ctx.principal.actor,
    )
    ctx.session.add(meeting)
    await ctx.session.flush()
    await repo.set_attendees(ctx.session, ctx.org_id, meeting.id, attendees)
    await audit.record(ctx.session, ctx.principal, "meeting.created", "meeting", meeting.id, None, _snapshot(meeting))
    await outbox.emit(
        ctx.session,
        ctx.org_id,
        "meeting.scheduled",
        MeetingScheduled(
            meeting_id=meeting.id,
            kind=meeting.kind,
            starts_at=meeting.starts_at,
            rrule=meeting.rrule,
            attendee_ids=attendees,
            actor=ctx.principal.actor,
        ),
    )
    return meeting


async def update_meeting(
    ctx: Ctx, meeting_id: uuid.UUID, data: MeetingUpdate, expected: IfMatch | None = None
) -> Meeting:
    meeting, attendees = await for_writing(ctx, meeting_id)
    changes = data.model_dump(exclude_unset=True)
    new_attendees = changes.pop("attendee_ids", None)
    async with audited(ctx, meeting, "meeting.updated", _snapshot, expected):
        await _references(ctx, meeting.kind, changes)
        if "starts_at" in changes and changes["starts_at"] is not None:
            changes["starts_at"] = utc(changes["starts_at"])
        set_fields(meeting, changes, not_null=("title", "starts_at", "duration_minutes", "timezone", "status"))
        meeting.rrule = _rule(meeting.rrule, meeting.starts_at, meeting.timezone)
        if new_attendees is not None:
            checked = await _attendees(ctx, meeting.kind, meeting.department_id, new_attendees)
            await repo.set_attendees(ctx.session, ctx.org_id, meeting.id, checked)
            meeting.updated_at = utcnow()  # a change of attendees is a change of the meeting
    return meeting


# --- occurrences ---------------------------------------------------------------------------------


def window(meeting: Meeting, start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    """The meeting's occurrence starts in [start, end); 422 for a window recurrence refuses."""
    try:
        return list(recurrence.occurrences(meeting.starts_at, meeting.timezone, meeting.rrule, start, end))
    except recurrence.RecurrenceError as exc:
        raise ValidationFailed(str(exc), errors=[{"loc": ["query", "to"], "msg": str(exc)}]) from None


def _occurrence(meeting: Meeting, start: dt.datetime, record: MeetingOccurrence | None) -> OccurrenceRead:
    cancelled = meeting.status == "cancelled" and record is None
    return OccurrenceRead(
        meeting_id=meeting.id,
        starts_at=start,
        ends_at=start + dt.timedelta(minutes=meeting.duration_minutes),
        status="cancelled" if cancelled else (record.status if record is not None else "scheduled"),
        notes=record.notes if record is not None else None,
        decisions=record.decisions if record is not None else None,
        recorded_by=record.recorded_by if record is not None else None,
        recorded_at=record.updated_at if record is not None else None,
    )


async def occurrences(ctx: Ctx, meeting_id: uuid.UUID, start: dt.datetime, end: dt.datetime) -> list[OccurrenceRead]:
    """The occurrences of the meeting starting in [start, end) (a window of at most
    `recurrence.MAX_WINDOW_DAYS` days), with what was recorded of them."""
    meeting, _, _ = await get_meeting(ctx, meeting_id)
    start, end = utc(start), utc(end)
    starts = window(meeting, start, end)
    records = await repo.records_between(ctx.session, ctx.org_id, meeting.id, start, end)
    return [_occurrence(meeting, s, records.get(s)) for s in starts]


async def occurrence_of(ctx: Ctx, meeting: Meeting, start: dt.datetime) -> dt.datetime:
    """`start` in UTC when the meeting has an occurrence there; 404 otherwise."""
    start = utc(start)
    try:
        found = recurrence.is_occurrence(meeting.starts_at, meeting.timezone, meeting.rrule, start)
    except recurrence.RecurrenceError:
        found = False
    if not found:
        raise NotFound("the meeting has no occurrence starting then")
    return start


async def record_occurrence(
    ctx: Ctx, meeting_id: uuid.UUID, start: dt.datetime, status: str, data: OccurrenceRecord
) -> OccurrenceRead:
    """Records the occurrence at `start` as held (with notes and decisions: `meeting.held`)
    or cancelled (a calendar's EXDATE). A held occurrence stays held (409); a cancelled one
    may still be held (it took place after all)."""
    meeting, _, _ = await for_recording(ctx, meeting_id)
    if meeting.status == "cancelled":
        raise Conflict("the meeting is cancelled")
    start = await occurrence_of(ctx, meeting, start)
    record = await ctx.session.get(MeetingOccurrence, (ctx.org_id, meeting.id, start))
    if record is not None and record.status == "held":
        raise Conflict("the occurrence is already recorded as held")
    if record is None:
        record = MeetingOccurrence(org_id=ctx.org_id, meeting_id=meeting.id, starts_at=start)
        ctx.session.add(record)
    record.status = status
    record.notes = data.notes
    record.decisions = data.decisions
    record.recorded_by = ctx.principal.actor
    await ctx.session.flush()
    await audit.record(
        ctx.session,
        ctx.principal,
        f"meeting.occurrence_{status}",
        "meeting",
        meeting.id,
        None,
        {"occurrence_start": start.isoformat(), "status": status},
    )
    if status == "held":
        await outbox.emit(
            ctx.session,
            ctx.org_id,
            "meeting.held",
            MeetingHeld(meeting_id=meeting.id, kind=meeting.kind, occurrence_start=start, actor=ctx.principal.actor),
        )
    return _occurrence(meeting, start, record)
