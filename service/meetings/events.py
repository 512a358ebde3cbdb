"""The meeting events a webhook receiver gets: a meeting scheduled, an occurrence held, a
follow-up action past due, of a meeting or of a review meeting's improvement plan (their
models, service/kit/events.py). They carry ids, kinds and times, never notes, decisions
or an action's text (read through the API, by who may)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import ClassVar, Literal

from pydantic import Field

from service.kit.events import ACTOR, EventPayload, IsoTime
from service.meetings.schemas import MeetingKind

ActionSource = Literal["meeting_action", "improvement_action"]


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
    """A follow-up action is past its due date and not done (sent once per action): an
    action decided in a meeting (`source` `meeting_action`, with `action_id` and
    `meeting_id`) or an action of a review meeting's improvement plan (`source`
    `improvement_action`, with `review_meeting_id` and `action_index`)."""

    event_type: ClassVar[str] = "action.overdue"

    source: ActionSource = Field(description="meeting_action or improvement_action: which kind of action it is")
    action_id: uuid.UUID | None = Field(description="The meeting action's id; null for an improvement action")
    meeting_id: uuid.UUID | None = Field(description="The meeting it was decided in; null for an improvement action")
    review_meeting_id: uuid.UUID | None = Field(
        description="The review meeting whose improvement plan holds it; null for a meeting action"
    )
    action_index: int | None = Field(
        description="Its position in that improvement plan (from 0); null for a meeting action"
    )
    owner_id: uuid.UUID = Field(description="The employee who owns it")
    due_date: dt.date = Field(description="When it was due")
