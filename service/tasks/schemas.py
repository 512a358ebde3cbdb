"""REST models of the task list (read only: a task is computed, never written)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import Field

from service.kit.schemas import Output

TaskKind = Literal[
    "objective_approval",
    "peer_feedback",
    "self_review",
    "manager_review",
    "interview_acknowledgement",
    "calibration",
    "check_in_overdue",
    "development_item",
    "meeting_action",
    "improvement_action",
]
TaskSubjectKind = Literal[
    "objective",
    "peer_request",
    "evaluation",
    "interview",
    "calibration",
    "key_result",
    "development_plan_item",
    "meeting_action",
    "review_meeting",
]


class TaskSubject(Output):
    """The object a task is about."""

    kind: TaskSubjectKind = Field(description="What kind of object it is")
    id: uuid.UUID = Field(description="Its id (the REST path of its kind names it)")


class TaskLinks(Output):
    """Where to act on a task."""

    rest: str = Field(description='the call that acts on the task, e.g. "POST /api/v1/objectives/{id}/approve"')


class TaskRead(Output):
    """Something waiting for the caller, with the call that acts on it."""

    kind: TaskKind = Field(description="What the task asks of the caller")
    subject: TaskSubject = Field(description="the object to act on")
    title: str = Field(description="A human title built from the data, e.g. \"Approve objective 'Grow ARR'\"")
    due: dt.date | None = Field(
        description="when the task is due in the organization's days; null when nothing sets it"
    )
    cycle_id: uuid.UUID | None = Field(description="The cycle the subject belongs to, when it has one")
    links: TaskLinks = Field(description="Where to act on it")
