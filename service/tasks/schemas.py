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
]
TaskSubjectKind = Literal["objective", "peer_request", "evaluation", "interview", "calibration", "key_result"]


class TaskSubject(Output):
    kind: TaskSubjectKind
    id: uuid.UUID


class TaskLinks(Output):
    rest: str = Field(description='the call that acts on the task, e.g. "POST /api/v1/objectives/{id}/approve"')


class TaskRead(Output):
    kind: TaskKind
    subject: TaskSubject = Field(description="the object to act on")
    title: str
    due: dt.date | None = Field(
        description="when the task is due in the organization's days; null when nothing sets it"
    )
    cycle_id: uuid.UUID | None
    links: TaskLinks
