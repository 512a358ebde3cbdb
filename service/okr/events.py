"""The OKR events a webhook receiver gets: each step of an objective's workflow (submitted,
approved, rejected, published, adjusted once published, closed), and a check-in recorded
on a key result (their models, service/kit/events.py)."""

from __future__ import annotations

import uuid
from typing import ClassVar

from pydantic import Field

from service.kit.events import ACTOR, EventPayload, IsoTime
from service.kit.schemas import DecimalStr
from service.okr.schemas import CheckInStatus, Level, ObjectiveStatus, ObjectiveType


class ObjectiveChange(EventPayload):
    """The objective as it is after the step, and who took it."""

    objective_id: uuid.UUID
    owner_id: uuid.UUID
    cycle_id: uuid.UUID
    level: Level
    type: ObjectiveType = Field(description="Committed (expected to be met in full) or aspirational")
    title: str
    status: ObjectiveStatus = Field(description="The objective's status after the step")
    actor: str = Field(description=ACTOR)


class ObjectiveSubmitted(ObjectiveChange):
    """A draft objective was submitted for approval (it passed the lint)."""

    event_type: ClassVar[str] = "objective.submitted"


class ObjectiveApproved(ObjectiveChange):
    """A submitted objective was approved; publishing it is the next step."""

    event_type: ClassVar[str] = "objective.approved"


class ObjectiveRejected(ObjectiveChange):
    """A submitted objective was rejected back to draft, with the reason."""

    event_type: ClassVar[str] = "objective.rejected"

    comment: str = Field(description="Why it was rejected (the rejection comment the owner reads)")


class ObjectivePublished(ObjectiveChange):
    """An approved objective was published: it is now the owner's commitment for the cycle."""

    event_type: ClassVar[str] = "objective.published"


class ObjectiveClosed(ObjectiveChange):
    """A published objective was closed (by hand, or when its cycle went into calibration
    or closed); it can be graded now."""

    event_type: ClassVar[str] = "objective.closed"


class ObjectiveAdjusted(ObjectiveChange):
    """A published objective was changed: its own fields, or one of its key results added,
    changed or removed. The same change is a revision in the objective's history
    (`GET /api/v1/objectives/{objective_id}/revisions`)."""

    event_type: ClassVar[str] = "objective.adjusted"

    change: str = Field(
        description="What was adjusted, as the revision names it: `updated` (the objective's own fields), "
        "`key_result.created`, `key_result.updated` or `key_result.deleted`"
    )
    changed_fields: list[str] = Field(description="The names of the fields that changed, sorted")
    key_result_id: uuid.UUID | None = Field(
        default=None, description="The key result changed (present for the `key_result.*` changes)"
    )
    reason: str | None = Field(description="The reason given with the change; null when none")


class CheckInCreated(EventPayload):
    """A check-in was recorded on a key result: its new value (or done, or milestone),
    confidence and status."""

    event_type: ClassVar[str] = "checkin.created"

    check_in_id: uuid.UUID = Field(description="The check-in's id")
    key_result_id: uuid.UUID
    objective_id: uuid.UUID
    owner_id: uuid.UUID = Field(description="The objective owner's employee id")
    value: DecimalStr | None = Field(description="The metric's value reported (a decimal string); null otherwise")
    done: bool | None = Field(description="A boolean key result's state reported; null otherwise")
    milestone: int | None = Field(description="The index (from 0) of the milestone reported; null otherwise")
    confidence: int | None
    status: CheckInStatus | None = Field(description="The owner's own read of the key result; null when not given")
    checked_in_at: IsoTime = Field(description="The time the check-in is for (RFC 3339)")
    author: str
