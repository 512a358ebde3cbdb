"""A meeting's brief: what the service already knows, prepared for one occurrence of the
meeting, by its kind (docs/meetings.md, "Briefs of meetings"; the builders are
service/briefs):

- a stand-up or weekly meeting: the team brief of its attendees from the previous
  occurrence to this one (key results off pace, confidence dropped since the previous
  occurrence, overdue check-ins, KPIs below threshold), with the meeting's own open actions
  carried in until they are closed;
- a one-on-one: the one-on-one brief of the report (the attendee managed by the other);
- a quarterly review: the brief of its linked review meeting, else of its cycle over the
  attendees.

The period is [the previous occurrence's day, this occurrence's day); a first occurrence
looks back `FIRST_LOOKBACK_DAYS`. The occurrence defaults to the next one from now (a
meeting without a rule: its only one)."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import select

from service.auth.context import Ctx
from service.briefs import markdown as md
from service.briefs import people, quarterly, team
from service.briefs.schemas import ActionIn, BriefScope
from service.cycles.models import Cycle
from service.errors import NotFound, ValidationFailed
from service.evaluations import reviews
from service.meetings import recurrence
from service.meetings import repository as repo
from service.meetings import service as meetings
from service.meetings.models import Meeting, MeetingAction
from service.meetings.schemas import MeetingBrief
from service.org.models import Employee
from service.types import utcnow

FIRST_LOOKBACK_DAYS = 7
LOOK_AROUND_DAYS = recurrence.MAX_WINDOW_DAYS


async def _this_and_previous(
    ctx: Ctx, meeting: Meeting, occurrence: dt.datetime | None
) -> tuple[dt.datetime, dt.datetime | None]:
    if occurrence is not None:
        at = await meetings.occurrence_of(ctx, meeting, occurrence)
    else:
        now = utcnow()
        upcoming = meetings.window(meeting, now, now + dt.timedelta(days=LOOK_AROUND_DAYS))
        if upcoming:
            at = upcoming[0]
        elif meeting.rrule is None:
            at = meeting.starts_at
        else:
            raise ValidationFailed.field("occurrence", "the meeting has no occurrence in the next year: name one")
    before = meetings.window(meeting, at - dt.timedelta(days=LOOK_AROUND_DAYS), at)
    return at, (before[-1] if before else None)


async def _report_of(ctx: Ctx, attendees: list[uuid.UUID]) -> uuid.UUID:
    """The attendee of a one-on-one whom the other manages."""
    rows = (
        await ctx.session.execute(
            select(Employee.id, Employee.manager_id).where(Employee.org_id == ctx.org_id, Employee.id.in_(attendees))
        )
    ).all()
    pair = set(attendees)
    for emp_id, manager_id in rows:
        if manager_id in pair and manager_id != emp_id:
            return emp_id
    raise NotFound("the one-on-one's report is no longer managed by the other attendee")


async def _open_actions(ctx: Ctx, meeting: Meeting) -> list[ActionIn]:
    found = await ctx.session.execute(
        repo.actions_of_meeting(ctx.org_id, meeting.id)
        .where(MeetingAction.status == "open")
        .order_by(MeetingAction.due_date, MeetingAction.id)
    )
    return [
        ActionIn(
            id=a.id,
            title=a.title,
            owner_id=a.owner_id,
            due_date=a.due_date,
            status=a.status,
            source="meeting",
            source_id=meeting.id,
        )
        for a in found.scalars()
    ]


async def meeting_brief(ctx: Ctx, meeting_id: uuid.UUID, occurrence: dt.datetime | None) -> MeetingBrief:
    """The brief of the meeting's occurrence (see the module's docstring); 404 when the
    caller may not read the meeting, 422 for an occurrence the meeting does not have."""
    meeting, attendees, _ = await meetings.get_meeting(ctx, meeting_id)
    at, previous = await _this_and_previous(ctx, meeting, occurrence)
    day = at.date()
    start = previous.date() if previous is not None else day - dt.timedelta(days=FIRST_LOOKBACK_DAYS)
    if start >= day:  # a previous occurrence the same day: look back a day
        start = day - dt.timedelta(days=1)
    out = MeetingBrief(meeting_id=meeting.id, kind=meeting.kind, occurrence=at, previous_occurrence=previous)
    if meeting.kind == "one_on_one":
        out.one_on_one = await people.one_on_one_brief(ctx, await _report_of(ctx, attendees), start, day)
    elif meeting.kind == "quarterly_review":
        if meeting.review_meeting_id is not None:
            review, _ = await reviews.get_meeting(ctx, meeting.review_meeting_id)
            out.quarterly_review = await quarterly.meeting_brief(ctx, review)
        elif meeting.cycle_id is not None:
            cycle = await ctx.session.get(Cycle, (ctx.org_id, meeting.cycle_id))
            if cycle is None:
                raise NotFound("the meeting's cycle is gone")
            scope = BriefScope(kind="employees", employee_ids=sorted(attendees))
            out.quarterly_review = await quarterly.quarterly_brief(ctx, cycle, scope)
        else:
            raise ValidationFailed.field("meeting", "a quarterly review names a review meeting or a cycle to brief")
    else:
        since = previous.date() if previous is not None else None
        out.team = await team.team_brief(ctx, attendees, start, day, since, await _open_actions(ctx, meeting))
    return out


def markdown(b: MeetingBrief) -> str:
    """The brief as Markdown: a heading naming the occurrence, then the kind's brief."""
    inner = b.team or b.one_on_one or b.quarterly_review
    head = f"# Brief of the {b.kind.replace('_', ' ')} of {b.occurrence:%Y-%m-%d %H:%M} UTC\n\n"
    return head + (md.render(inner) if inner is not None else "")
