"""REST models of meetings, their occurrences, follow-up actions and calendar feeds."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from pydantic import Field

from service.briefs.schemas import OneOnOneBrief, QuarterlyReviewBrief, TeamBrief
from service.kit.schemas import Input, Output

MeetingKind = Literal["standup", "weekly", "one_on_one", "quarterly_review"]
MeetingStatus = Literal["scheduled", "cancelled"]
OccurrenceStatus = Literal["scheduled", "held", "cancelled"]
ActionStatus = Literal["open", "done", "cancelled"]

MAX_ATTENDEES = 200
Title = Annotated[str, Field(min_length=1, max_length=300)]
Text = Annotated[str, Field(max_length=20000)]
RULE = (
    "An RFC 5545 RRULE without DTSTART (e.g. `FREQ=WEEKLY;BYDAY=MO`), repeating the meeting at its start's "
    "wall-clock time in `timezone`; FREQ is DAILY, WEEKLY, MONTHLY or YEARLY; null for a single meeting"
)
Rule = Annotated[str, Field(min_length=1, max_length=500)]
DURATION = "How long each occurrence lasts, in minutes"
ZONE = "IANA time zone of the meeting (Europe/Paris), whose wall-clock time the recurrence keeps"
Duration = Annotated[int, Field(ge=5, le=24 * 60)]
Zone = Annotated[str, Field(min_length=1, max_length=64)]


class MeetingCreate(Input):
    kind: MeetingKind = Field(description="standup, weekly, one_on_one or quarterly_review")
    title: Title = Field(description="The meeting's title")
    department_id: uuid.UUID | None = Field(
        None, description="The team (department) meeting; its attendees default to its members"
    )
    attendee_ids: list[uuid.UUID] | None = Field(
        None,
        max_length=MAX_ATTENDEES,
        description="Who attends; a one_on_one names exactly two employees, a manager and their direct report",
    )
    organizer_id: uuid.UUID | None = Field(
        None, description="Who runs it; defaults to the caller's employee record (or the pair's manager)"
    )
    cycle_id: uuid.UUID | None = Field(None, description="The cycle it is about, if any")
    review_meeting_id: uuid.UUID | None = Field(
        None, description="For a quarterly_review: the review meeting record it produces"
    )
    starts_at: dt.datetime = Field(description="The first occurrence's start")
    duration_minutes: Duration = Field(30, description=DURATION)
    timezone: Zone = Field("UTC", description=ZONE)
    rrule: Rule | None = Field(None, description=RULE)


class MeetingUpdate(Input):
    """A partial change: a field left out keeps its value."""

    title: Title | None = Field(None, description="The meeting's title")
    attendee_ids: list[uuid.UUID] | None = Field(None, max_length=MAX_ATTENDEES, description="replaces the attendees")
    organizer_id: uuid.UUID | None = Field(None, description="Who runs it")
    cycle_id: uuid.UUID | None = Field(None, description="The cycle it is about, if any")
    review_meeting_id: uuid.UUID | None = Field(None, description="For a quarterly_review: its review meeting record")
    starts_at: dt.datetime | None = Field(None, description="The first occurrence's start")
    duration_minutes: Duration | None = Field(None, description=DURATION)
    timezone: Zone | None = Field(None, description=ZONE)
    rrule: Rule | None = Field(None, description=RULE)
    status: MeetingStatus | None = Field(None, description="scheduled, or cancelled (the whole series)")


class MeetingRead(Output):
    """A meeting: a team's or a pair's, who attends, when and how often."""

    id: uuid.UUID
    kind: MeetingKind
    title: str
    department_id: uuid.UUID | None = Field(description="The team (department); null for a pair")
    attendee_ids: list[uuid.UUID] = Field(description="Who attends")
    organizer_id: uuid.UUID | None = Field(description="Who runs it")
    cycle_id: uuid.UUID | None = Field(description="The cycle it is about; null when none")
    review_meeting_id: uuid.UUID | None = Field(
        description="A quarterly_review's review meeting record; null otherwise"
    )
    starts_at: dt.datetime = Field(description="The first occurrence's start")
    duration_minutes: int = Field(description="How long each occurrence lasts, in minutes")
    timezone: str = Field(description="IANA time zone the recurrence keeps its wall-clock time in")
    rrule: str | None = Field(description="The RFC 5545 recurrence rule; null for a single meeting")
    status: MeetingStatus
    created_by: str
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class OccurrenceRecord(Input):
    notes: Text | None = Field(None, description="What was said, in prose")
    decisions: Text | None = Field(None, description="What was decided, in prose")


class OccurrenceRead(Output):
    """One occurrence of a meeting: scheduled (no record yet), held (with its notes and
    decisions) or cancelled."""

    meeting_id: uuid.UUID = Field(description="The meeting's id")
    starts_at: dt.datetime = Field(description="The occurrence's start: its key in the URL")
    ends_at: dt.datetime = Field(description="The occurrence's end (its start plus the meeting's duration)")
    status: OccurrenceStatus
    notes: str | None = Field(description="What was said; null until held")
    decisions: str | None = Field(description="What was decided; null until held")
    recorded_by: str | None = Field(description="Who recorded it; null until held or cancelled")
    recorded_at: dt.datetime | None = Field(description="When it was recorded; null until held or cancelled")


class ActionCreate(Input):
    owner_id: uuid.UUID = Field(description="The employee who does it")
    title: Title = Field(description="What is to be done")
    due_date: dt.date = Field(description="When it is due")


class ActionUpdate(Input):
    """A partial change: a field left out keeps its value. The owner may send `status` alone."""

    owner_id: uuid.UUID | None = Field(None, description="The employee who does it")
    title: Title | None = Field(None, description="What is to be done")
    due_date: dt.date | None = Field(None, description="When it is due")
    status: ActionStatus | None = Field(None, description="open, done or cancelled")


class ActionRead(Output):
    """A follow-up action decided in an occurrence of a meeting."""

    id: uuid.UUID
    meeting_id: uuid.UUID = Field(description="The meeting it was decided in")
    occurrence_start: dt.datetime = Field(description="The start of the occurrence it was decided in")
    owner_id: uuid.UUID = Field(description="The employee who does it")
    title: str
    due_date: dt.date
    status: ActionStatus
    closed_at: dt.datetime | None = Field(description="When it was done or cancelled; null while open")
    created_by: str
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class CalendarFeedRead(Output):
    """The caller's calendar feed: whether one is live, since when."""

    active: bool = Field(description="Whether a feed URL is live")
    created_at: dt.datetime | None = Field(description="When the live feed was made; null when none")


class CalendarFeedCreated(CalendarFeedRead):
    url: str = Field(description="The feed's private URL (path), with its token: shown only in this answer")


class MeetingBrief(Output):
    """The brief of one occurrence of a meeting, built from the data by its kind: the team
    brief for a stand-up or weekly meeting, the report's one-on-one brief, or the quarterly
    review brief; the other two are null."""

    meeting_id: uuid.UUID = Field(description="The meeting briefed")
    kind: MeetingKind = Field(description="The meeting's kind, which decides the brief")
    occurrence: dt.datetime = Field(description="The start of the occurrence briefed (UTC)")
    previous_occurrence: dt.datetime | None = Field(
        None, description="The occurrence before it, where the brief's period starts; null for the first"
    )
    team: TeamBrief | None = Field(None, description="A stand-up's or weekly meeting's brief of its attendees")
    one_on_one: OneOnOneBrief | None = Field(None, description="A one-on-one's brief of the report")
    quarterly_review: QuarterlyReviewBrief | None = Field(None, description="A quarterly review's brief")
