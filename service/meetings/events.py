"""The meeting events a webhook receiver gets: a meeting scheduled, an occurrence held, a
follow-up action past due (their models, service/kit/events.py). They carry ids, kinds
and times, never notes, decisions or an action's text (read through the API, by who may)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import ClassVar

from pydantic import Field

from service.kit.events import ACTOR, EventPayload, IsoTime
from service.meetings.schemas import MeetingKind


class MeetingScheduled(EventPayload):
    """A meeting (a single one or a recurring series) was scheduled."""

    event_type: ClassVar[str] = "meeting.scheduled"

    meeting_id: uuid.UUID = Field(description="The meeting's id")
    kind: MeetingKind = Field(description="standup, weekly, one_on_one or quarterly_review")
    starts_at: IsoTime = Field(description="The first occurrence's start (RFC 3339)")
    rrule: str | None = Field(description="Its recurrence rule; null for a single meeting")
    attendee_ids: list[uuid.UUID] = Field(description="Who attends")
    actor: str = Field(description=ACTOR)


class MeetingHeld(EventPayload):
    """An occurrence of a meeting was recorded as held."""

    event_type: ClassVar[str] = "meeting.held"

    meeting_id: uuid.UUID = Field(description="The meeting's id")
    kind: MeetingKind = Field(description="standup, weekly, one_on_one or quarterly_review")
    occurrence_start: IsoTime = Field(description="The occurrence's start (RFC 3339)")
    actor: str = Field(description=ACTOR)


class ActionOverdue(EventPayload):
    """A follow-up action of a meeting is past its due date and still open (sent once per
    action)."""

    event_type: ClassVar[str] = "action.overdue"

    action_id: uuid.UUID = Field(description="The action's id")
    meeting_id: uuid.UUID = Field(description="The meeting it was decided in")
    owner_id: uuid.UUID = Field(description="The employee who owns it")
    due_date: dt.date = Field(description="When it was due")
