"""REST routes of meetings, their occurrences and follow-up actions: thin, they call the
services."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import Enum
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status

from service.auth.deps import RequestCtx, Session
from service.authz import policy
from service.authz.access import governed_by
from service.briefs.schemas import BriefFormat
from service.kit.etag import IfMatchHeader, set_etag
from service.kit.pagination import PageOut, PageParams, page_params
from service.kit.schemas import Timestamp
from service.meetings import actions, brief, calendar, service
from service.meetings.models import Meeting
from service.meetings.schemas import (
    ActionCreate,
    ActionRead,
    ActionStatus,
    ActionUpdate,
    CalendarFeedCreated,
    CalendarFeedRead,
    MeetingBrief,
    MeetingCreate,
    MeetingKind,
    MeetingRead,
    MeetingStatus,
    MeetingUpdate,
    OccurrenceRead,
    OccurrenceRecord,
)

router = APIRouter(prefix="/api/v1")
Pages = Annotated[PageParams, Depends(page_params)]
TAGS: list[str | Enum] = ["meetings"]
CREATED = status.HTTP_201_CREATED
MEETING = "/meetings/{id}"
OCCURRENCE = MEETING + "/occurrences/{start}"
# `{id}`, not `{meeting_id}`: that name already stands for a review meeting's id.
MeetingId = Annotated[uuid.UUID, Path(alias="id", description="The meeting's id")]
Start = Annotated[
    dt.datetime,
    Path(description="The occurrence's start, RFC 3339 (`2027-01-04T08:00:00Z`), as the occurrences list gives it"),
]


async def _read(ctx: RequestCtx, meeting: Meeting, response: Response) -> MeetingRead:
    set_etag(response, meeting.version)
    return (await service.reads(ctx, [meeting]))[0]


@router.get("/meetings", response_model=PageOut[MeetingRead], tags=TAGS)
@governed_by(policy.list_meetings)
async def list_meetings(
    ctx: RequestCtx,
    pages: Pages,
    kind: MeetingKind | None = None,
    department_id: uuid.UUID | None = None,
    attendee_id: uuid.UUID | None = None,
    cycle_id: uuid.UUID | None = None,
    status_: Annotated[MeetingStatus | None, Query(alias="status")] = None,
) -> PageOut[MeetingRead]:
    """Meetings the caller may read (those they attend or someone in their reporting
    subtree attends; everyone's for hr, admin and auditors), optionally of one kind,
    department, attendee, cycle or status."""
    page = await service.list_meetings(
        ctx, pages, kind=kind, department_id=department_id, attendee_id=attendee_id, cycle_id=cycle_id, status=status_
    )
    return PageOut[MeetingRead](items=await service.reads(ctx, page.items), next_cursor=page.next_cursor)


@router.post("/meetings", response_model=MeetingRead, status_code=CREATED, tags=TAGS)
@governed_by(policy.schedule_meeting)
async def create_meeting(ctx: RequestCtx, body: MeetingCreate, response: Response) -> MeetingRead:
    """Schedules a meeting (a single one, or a series with `rrule`): a team's (a
    department's members attend unless attendees are named) or a one-on-one between a
    manager and their direct report. Emits `meeting.scheduled`."""
    meeting = await service.create_meeting(ctx, body)
    response.headers["Location"] = f"/api/v1/meetings/{meeting.id}"
    return await _read(ctx, meeting, response)


@router.get(MEETING, response_model=MeetingRead, tags=TAGS)
@governed_by(policy.read_meeting)
async def get_meeting(ctx: RequestCtx, meeting_id: MeetingId, response: Response) -> MeetingRead:
    """One meeting with its attendees."""
    meeting, _, _ = await service.get_meeting(ctx, meeting_id)
    return await _read(ctx, meeting, response)


@router.patch(MEETING, response_model=MeetingRead, tags=TAGS)
@governed_by(policy.write_meeting)
async def update_meeting(
    ctx: RequestCtx, meeting_id: MeetingId, body: MeetingUpdate, if_match: IfMatchHeader, response: Response
) -> MeetingRead:
    """Changes a meeting (under `If-Match`): its title, attendees, organizer, time,
    recurrence or status (`cancelled` cancels the whole series)."""
    meeting = await service.update_meeting(ctx, meeting_id, body, if_match)
    return await _read(ctx, meeting, response)


@router.get(MEETING + "/occurrences", response_model=PageOut[OccurrenceRead], tags=TAGS)
@governed_by(policy.read_meeting)
async def list_occurrences(
    ctx: RequestCtx,
    meeting_id: MeetingId,
    from_: Annotated[Timestamp, Query(alias="from", description="The window's start (inclusive)")],
    to: Annotated[Timestamp, Query(description="The window's end (exclusive); at most 366 days after `from`")],
) -> PageOut[OccurrenceRead]:
    """The occurrences of the meeting starting in the window, in order (at most 1000;
    the window is the page, so `next_cursor` is always null): scheduled, held (with notes
    and decisions) or cancelled. A window longer than 366 days is a 422."""
    items = await service.occurrences(ctx, meeting_id, from_, to)
    return PageOut[OccurrenceRead](items=items, next_cursor=None)


@router.get(
    MEETING + "/brief",
    response_model=MeetingBrief,
    responses={200: {"content": {"text/markdown": {"schema": {"type": "string"}}}, "description": "The brief"}},
    tags=TAGS,
)
@governed_by(policy.read_meeting)
async def meeting_brief(
    ctx: RequestCtx,
    meeting_id: MeetingId,
    occurrence: Annotated[
        Timestamp | None, Query(description="The occurrence's start (default: the next one from now)")
    ] = None,
    format: Annotated[
        BriefFormat, Query(description="`json` (the default) or `markdown`: the same brief rendered as text/markdown")
    ] = "json",
) -> Response:
    """The brief of an occurrence of the meeting, built from the data by its kind: for a
    stand-up or weekly meeting the team brief of its attendees since the previous
    occurrence (key results off pace or with a confidence drop, overdue check-ins, KPIs
    below threshold, the meeting's open actions); for a one-on-one the report's brief; for
    a quarterly review the brief of its review meeting or its cycle. 404 when the meeting
    has no occurrence then."""
    found = await brief.meeting_brief(ctx, meeting_id, occurrence)
    if format == "markdown":
        return Response(brief.markdown(found), media_type="text/markdown; charset=utf-8")
    return Response(found.model_dump_json(by_alias=True), media_type="application/json")


@router.post(OCCURRENCE + "/held", response_model=OccurrenceRead, tags=TAGS)
@governed_by(policy.record_meeting)
async def hold_occurrence(
    ctx: RequestCtx, meeting_id: MeetingId, start: Start, body: OccurrenceRecord | None = None
) -> OccurrenceRead:
    """Records the occurrence starting at `start` as held, with its notes and decisions
    (its attendees, organizer, the managers above them, hr/admin). 404 when the meeting
    has no occurrence then; 409 when it is already recorded as held. Emits `meeting.held`."""
    return await service.record_occurrence(ctx, meeting_id, start, "held", body or OccurrenceRecord())


@router.post(OCCURRENCE + "/cancel", response_model=OccurrenceRead, tags=TAGS)
@governed_by(policy.record_meeting)
async def cancel_occurrence(
    ctx: RequestCtx, meeting_id: MeetingId, start: Start, body: OccurrenceRecord | None = None
) -> OccurrenceRead:
    """Cancels the occurrence starting at `start` (the calendar feed lists it as an
    EXDATE); `notes` may say why. 409 when it was already held."""
    return await service.record_occurrence(ctx, meeting_id, start, "cancelled", body or OccurrenceRecord())


@router.post(OCCURRENCE + "/actions", response_model=ActionRead, status_code=CREATED, tags=TAGS)
@governed_by(policy.record_meeting)
async def add_meeting_action(
    ctx: RequestCtx, meeting_id: MeetingId, start: Start, body: ActionCreate, response: Response
) -> ActionRead:
    """Adds a follow-up action decided in the occurrence starting at `start`: an owner
    (one of the attendees), a title and a due date. It is on the owner's task list until
    done or cancelled."""
    action = await actions.add_action(ctx, meeting_id, start, body)
    set_etag(response, action.version)
    response.headers["Location"] = f"/api/v1/meeting-actions/{action.id}"
    return actions.action_read(action)


@router.get(MEETING + "/actions", response_model=PageOut[ActionRead], tags=TAGS)
@governed_by(policy.read_meeting)
async def list_meeting_actions(
    ctx: RequestCtx,
    meeting_id: MeetingId,
    pages: Pages,
    status_: Annotated[ActionStatus | None, Query(alias="status")] = None,
) -> PageOut[ActionRead]:
    """The follow-up actions of a meeting (of all its occurrences), optionally of one status."""
    page = await actions.list_actions(ctx, meeting_id, pages, status_)
    return PageOut[ActionRead](items=[actions.action_read(a) for a in page.items], next_cursor=page.next_cursor)


@router.get("/meeting-actions/{action_id}", response_model=ActionRead, tags=TAGS)
@governed_by(policy.read_meeting)
async def get_meeting_action(ctx: RequestCtx, action_id: uuid.UUID, response: Response) -> ActionRead:
    """One follow-up action (readable with its meeting)."""
    action = await actions.get_action(ctx, action_id)
    set_etag(response, action.version)
    return actions.action_read(action)


@router.patch("/meeting-actions/{action_id}", response_model=ActionRead, tags=TAGS)
@governed_by(policy.update_meeting_action)
async def update_meeting_action(
    ctx: RequestCtx, action_id: uuid.UUID, body: ActionUpdate, if_match: IfMatchHeader, response: Response
) -> ActionRead:
    """Changes a follow-up action (under `If-Match`); its owner may change `status` alone
    (`done`, `cancelled`, or back to `open`)."""
    action = await actions.update_action(ctx, action_id, body, if_match)
    set_etag(response, action.version)
    return actions.action_read(action)


# --- calendar feeds ---------------------------------------------------------------------------------

FEED = "/me/calendar-feed"


@router.get(FEED, response_model=CalendarFeedRead, tags=TAGS)
@governed_by(policy.manage_calendar_feed)
async def get_calendar_feed(ctx: RequestCtx) -> CalendarFeedRead:
    """Whether the caller has a live calendar feed (its URL is shown only when made)."""
    return await calendar.feed_status(ctx)


@router.post(FEED, response_model=CalendarFeedCreated, status_code=CREATED, tags=TAGS)
@governed_by(policy.manage_calendar_feed)
async def create_calendar_feed(ctx: RequestCtx) -> CalendarFeedCreated:
    """Makes the caller's private iCalendar feed URL of their meetings and interviews,
    shown only in this answer; making it again rotates it (the old URL stops working).
    Needs an employee record."""
    return await calendar.make_feed(ctx)


@router.delete(FEED, status_code=status.HTTP_204_NO_CONTENT, tags=TAGS)
@governed_by(policy.manage_calendar_feed)
async def revoke_calendar_feed(ctx: RequestCtx) -> Response:
    """Revokes the caller's calendar feed: its URL answers 404 from now on. 404 when
    there is none."""
    await calendar.revoke_feed(ctx)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


feed_router = APIRouter()


@feed_router.get(
    calendar.FEED_PATH,
    tags=TAGS,
    response_class=Response,
    responses={
        200: {"content": {"text/calendar": {}}, "description": "The iCalendar (RFC 5545) document"},
        404: {
            "description": "No feed has this token (a wrong, rotated or revoked one)",
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
        },
    },
)
async def calendar_feed(
    token: Annotated[str, Path(description="The feed's token, from its URL")], session: Session
) -> Response:
    """A person's calendar feed (read-only), authenticated by the token in its URL alone:
    their scheduled meetings (a recurring one as one event with its RRULE and an EXDATE
    per cancelled occurrence) and interviews. 404 for a bad or revoked token."""
    body = await calendar.feed_ics(session, token)
    return Response(
        content=body, media_type="text/calendar; charset=utf-8", headers={"Cache-Control": "private, no-store"}
    )
