"""REST models of development plans and their items."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from pydantic import Field

from service.kit.schemas import Input, Output

PlanStatus = Literal["draft", "active", "completed", "cancelled"]
ItemKind = Literal["training", "goal", "action", "mentoring"]
ItemStatus = Literal["open", "in_progress", "done", "cancelled"]

MAX_GOALS = 20
MAX_ITEMS = 100  # per plan

Goal = Annotated[str, Field(min_length=1, max_length=300)]
Title = Annotated[str, Field(min_length=1, max_length=300)]
Details = Annotated[str, Field(max_length=4000, description="More about it, in prose")]


class DevelopmentItemCreate(Input):
    kind: ItemKind = Field(description="training, goal, action or mentoring")
    title: Title = Field(description="What is to be done")
    details: Details | None = Field(None, description="More about it, in prose")
    due_date: dt.date | None = Field(None, description="When it is due; null when open-ended")
    status: ItemStatus = "open"


class DevelopmentItemUpdate(Input):
    """A partial change: a field left out keeps its value. The employee may send `status`
    alone."""

    kind: ItemKind | None = Field(None, description="training, goal, action or mentoring")
    title: Title | None = Field(None, description="What is to be done")
    details: Details | None = Field(None, description="More about it, in prose")
    due_date: dt.date | None = Field(None, description="When it is due; null when open-ended")
    status: ItemStatus | None = None


class DevelopmentPlanCreate(Input):
    employee_id: uuid.UUID = Field(description="The employee the plan develops")
    owner_id: uuid.UUID | None = Field(
        None,
        description="Who follows the plan with the employee; defaults to the employee's manager, "
        "else the caller's own employee record",
    )
    cycle_id: uuid.UUID | None = Field(None, description="The cycle the plan belongs to, if any")
    review_meeting_id: uuid.UUID | None = Field(
        None, description="The review meeting whose improvement plan the plan follows up, if any"
    )
    copy_improvement_actions: bool = Field(
        False,
        description="Copy the review meeting's improvement actions owned by the employee as items "
        "(kind action); needs review_meeting_id",
    )
    title: Title = Field(description="The plan's title")
    goals: list[Goal] = Field(default_factory=list, max_length=MAX_GOALS, description="Short goals, at most 20")
    status: PlanStatus = "draft"
    due_date: dt.date | None = Field(None, description="When the plan should be completed; null when open-ended")
    items: list[DevelopmentItemCreate] = Field(
        default_factory=list, max_length=MAX_ITEMS, description="Items to start with, at most 100"
    )


class DevelopmentPlanUpdate(Input):
    """A partial change: a field left out keeps its value."""

    owner_id: uuid.UUID | None = Field(None, description="Who follows the plan with the employee")
    review_meeting_id: uuid.UUID | None = Field(
        None, description="The review meeting whose improvement plan the plan follows up, if any"
    )
    title: Title | None = Field(None, description="The plan's title")
    goals: list[Goal] | None = Field(None, max_length=MAX_GOALS, description="replaces the goals, at most 20")
    status: PlanStatus | None = None
    due_date: dt.date | None = Field(None, description="When the plan should be completed; null when open-ended")


class NominationPlanCreate(Input):
    """Optional choices when making a nomination's plan; every field has a default."""

    review_meeting_id: uuid.UUID | None = Field(
        None,
        description="The review meeting to link; by default the latest one about the employee in the "
        "nomination's cycle, if any",
    )
    owner_id: uuid.UUID | None = Field(
        None, description="Who follows the plan with the employee; defaults to the employee's manager"
    )
    due_date: dt.date | None = Field(None, description="When the plan should be completed")
    goals: list[Goal] = Field(default_factory=list, max_length=MAX_GOALS, description="Short goals, at most 20")


class ItemSourceRead(Output):
    """Where an item was copied from: a review meeting's improvement action."""

    review_meeting_id: uuid.UUID = Field(description="The review meeting")
    action_index: int = Field(description="The action's position in the meeting's improvement plan (from 0)")


class DevelopmentItemRead(Output):
    """One item of a development plan."""

    id: uuid.UUID
    plan_id: uuid.UUID = Field(description="The development plan's id")
    kind: ItemKind = Field(description="training, goal, action or mentoring")
    title: str = Field(description="What is to be done")
    details: str | None = Field(description="More about it, in prose")
    due_date: dt.date | None = Field(description="When it is due; null when open-ended")
    status: ItemStatus
    completed_at: dt.datetime | None = Field(description="When it was marked done; null otherwise")
    source: ItemSourceRead | None = Field(description="The improvement action it was copied from; null otherwise")
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class DevelopmentPlanRead(Output):
    """A development plan: whose, who follows it, what it came from, its goals and items."""

    id: uuid.UUID
    employee_id: uuid.UUID = Field(description="The employee the plan develops")
    owner_id: uuid.UUID = Field(description="Who follows the plan with the employee")
    cycle_id: uuid.UUID | None = Field(description="The cycle the plan belongs to; null when none")
    nomination_id: uuid.UUID | None = Field(description="The nomination the plan was made for; null when none")
    review_meeting_id: uuid.UUID | None = Field(
        description="The review meeting whose improvement plan it follows up; null when none"
    )
    title: str
    goals: list[str] = Field(description="Short goals")
    status: PlanStatus
    due_date: dt.date | None = Field(description="When the plan should be completed; null when open-ended")
    items: list[DevelopmentItemRead] = Field(description="The plan's items, oldest first")
    created_by: str
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime
