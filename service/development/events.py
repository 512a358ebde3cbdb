"""The development plan events a webhook receiver gets: a plan made, a plan's status
changed, an item's status changed (their models, service/kit/events.py). They carry ids
and statuses, never the goals' or items' text (read through the API, by who may)."""

from __future__ import annotations

import uuid
from typing import ClassVar

from pydantic import Field

from service.development.schemas import ItemStatus, PlanStatus
from service.kit.events import ACTOR, EventPayload


class DevelopmentPlanCreated(EventPayload):
    """A development plan was made (directly, or for a nomination)."""

    event_type: ClassVar[str] = "development_plan.created"

    plan_id: uuid.UUID = Field(description="The development plan's id")
    employee_id: uuid.UUID = Field(description="The employee the plan develops")
    owner_id: uuid.UUID = Field(description="Who follows the plan with the employee")
    cycle_id: uuid.UUID | None = Field(description="The plan's cycle; null when none")
    nomination_id: uuid.UUID | None = Field(description="The nomination it was made for; null when none")
    review_meeting_id: uuid.UUID | None = Field(description="The review meeting it follows up; null when none")
    status: PlanStatus = Field(description="The plan's status")
    actor: str = Field(description=ACTOR)


class DevelopmentPlanStatusChanged(EventPayload):
    """A development plan's status changed (activated, completed, cancelled...)."""

    event_type: ClassVar[str] = "development_plan.status_changed"

    plan_id: uuid.UUID = Field(description="The development plan's id")
    employee_id: uuid.UUID = Field(description="The employee the plan develops")
    old_status: PlanStatus = Field(description="The status before the change")
    new_status: PlanStatus = Field(description="The status after the change")
    actor: str = Field(description=ACTOR)


class DevelopmentPlanItemStatusChanged(EventPayload):
    """An item of a development plan changed status (by the employee, the owner, a
    manager or hr)."""

    event_type: ClassVar[str] = "development_plan.item_status_changed"

    plan_id: uuid.UUID = Field(description="The development plan's id")
    item_id: uuid.UUID = Field(description="The item's id")
    employee_id: uuid.UUID = Field(description="The employee the plan develops")
    old_status: ItemStatus = Field(description="The item's status before the change")
    new_status: ItemStatus = Field(description="The item's status after the change")
    actor: str = Field(description=ACTOR)
