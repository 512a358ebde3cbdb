"""REST models of the OKR module. Decimals are accepted as strings or numbers and
answered as strings; computed fractions are rounded to 4 places for display only."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from service.kit.schemas import DecimalStr, Input, Output
from service.kpi.schemas import Perspective  # the balanced-scorecard perspectives, one set for KPIs and OKRs

Level = Literal["company", "department", "team", "individual"]
ObjectiveType = Literal["committed", "aspirational"]
Visibility = Literal["public", "private"]
ObjectiveStatus = Literal["draft", "submitted", "approved", "published", "closed"]
ObjectiveAction = Literal["submit", "approve", "reject", "publish", "close"]
KrKind = Literal["metric", "boolean", "milestone"]
CheckInStatus = Literal["on_track", "at_risk", "off_track"]
Pace = Literal["on_track", "at_risk", "off_track"]
ProgressSource = Literal["key_results", "children", "both"]

Number = Annotated[Decimal, Field(max_digits=30, decimal_places=10, allow_inf_nan=False)]
Weight = Annotated[Decimal, Field(gt=0, max_digits=20, decimal_places=10, allow_inf_nan=False)]
Title = Annotated[str, Field(min_length=1, max_length=300)]
Text = Annotated[str, Field(max_length=10000)]
Reason = Annotated[str, Field(min_length=1, max_length=2000)]


# --- objectives --------------------------------------------------------------------------


class ObjectiveRead(Output):
    """An objective of an OKR set: what an owner means to achieve in a cycle, measured by its key results."""

    id: uuid.UUID
    title: str
    description: str | None
    level: Level = Field(description="Where it sits: company, department, team or individual")
    owner_id: uuid.UUID
    department_id: uuid.UUID | None
    cycle_id: uuid.UUID
    type: ObjectiveType = Field(description="Committed (expected in full) or aspirational")
    parent_id: uuid.UUID | None
    supports: list[uuid.UUID] = Field(
        description="The ids of other objectives it contributes to besides its parent (cross-team alignment), "
        "at most 50"
    )
    weight: DecimalStr
    perspective: str | None
    visibility: Visibility = Field(
        description="Who may see it: public (the organization) or private (the owner, their managers, hr)"
    )
    progress_source: ProgressSource = Field(
        description="Where its rolled-up progress (alignment tree, strategy map) comes from: its key results, "
        "its child objectives weighted by their weight, or both as peers"
    )
    status: ObjectiveStatus
    rejection_comment: str | None = Field(description="The comment of the last rejection (null unless rejected)")
    score: DecimalStr | None = Field(description="Σ(w × KR score) / Σ w, 4 places; null when not scored")
    progress: DecimalStr | None = Field(description="as score, from computed KR progress (grades ignored)")
    pace: Pace | None = Field(description="progress against the elapsed part of the cycle")
    flags: list[str] = Field(description="`not_scored` when the objective has no key result")
    created_at: dt.datetime
    updated_at: dt.datetime


class ObjectiveCreate(Input):
    described_like = (ObjectiveRead,)

    title: Title
    description: Text | None = None
    level: Level
    owner_id: uuid.UUID
    department_id: uuid.UUID | None = None
    cycle_id: uuid.UUID
    type: ObjectiveType = "committed"
    parent_id: uuid.UUID | None = None
    supports: list[uuid.UUID] = Field(default_factory=list, max_length=50)
    weight: Weight = Decimal(1)
    perspective: Perspective | None = None
    visibility: Visibility = "public"
    progress_source: ProgressSource = "key_results"
    key_results: list[ObjectiveKeyResultCreate] | None = Field(
        None,
        max_length=50,
        description="key results created with the objective, in one transaction: all of them or nothing; "
        "at most the organization's okr_max_krs",
    )


class ObjectiveUpdate(Input):
    """Any subset of the fields; `reason` says why a published objective changed (kept
    in its revision history)."""

    described_like = (ObjectiveRead,)

    title: Title | None = None
    description: Text | None = None
    level: Level | None = None
    owner_id: uuid.UUID | None = None
    department_id: uuid.UUID | None = None
    cycle_id: uuid.UUID | None = None
    type: ObjectiveType | None = None
    parent_id: uuid.UUID | None = None
    supports: list[uuid.UUID] | None = Field(None, max_length=50)
    weight: Weight | None = None
    perspective: Perspective | None = None
    visibility: Visibility | None = None
    progress_source: ProgressSource | None = None
    reason: Reason | None = None


class WorkflowAction(Input):
    comment: Annotated[str, Field(max_length=2000)] | None = None


class AlignmentNode(Output):
    """An objective in an alignment tree, with the objectives aligned below it."""

    described_like = (ObjectiveRead,)

    id: uuid.UUID
    title: str
    level: Level
    owner_id: uuid.UUID
    cycle_id: uuid.UUID
    status: ObjectiveStatus
    progress: DecimalStr | None
    score: DecimalStr | None
    progress_source: ProgressSource
    own_progress: DecimalStr | None = Field(description="Progress from its own key results (as `progress`)")
    rolled_up_progress: DecimalStr | None = Field(
        description="Progress by its `progress_source` over the tree shown below it, 4 places; null when nothing "
        "measures it"
    )
    children: list[AlignmentNode] = Field(
        [], description="The objectives whose parent it is, each with its own tree (those the caller may see)"
    )
    supporters: list[AlignmentNode] = Field(
        [], description="The objectives that list it in their `supports`, each with its own tree"
    )


class AlignmentRead(Output):
    """`objective` with the tree below it (children and supporters, recursively);
    `parents` the chain above it, nearest first; `supports` what it contributes to.
    Objectives the caller may not see are left out, with whatever hangs below them."""

    objective: AlignmentNode = Field(description="The objective asked for, with the tree below it")
    parents: list[AlignmentNode] = Field(
        description="Its parent, the parent's parent and so on up to the top, nearest first (without their trees)"
    )
    supports: list[AlignmentNode] = Field(description="The objectives it contributes to (its `supports`)")


class StrategyNode(Output):
    """An objective on the strategy map, with its child objectives (the cycle's or a nested cycle's) below it."""

    described_like = (AlignmentNode,)

    id: uuid.UUID
    title: str
    level: Level
    owner_id: uuid.UUID
    perspective: str | None
    weight: DecimalStr
    status: ObjectiveStatus
    progress_source: ProgressSource
    own_progress: DecimalStr | None
    rolled_up_progress: DecimalStr | None
    children: list[StrategyNode] = Field(description="The objectives whose parent it is (those the caller may see)")


class PerspectiveGroup(Output):
    """The top-level objectives of one balanced-scorecard perspective (`unassigned`: none set)."""

    perspective: Literal["financial", "customer", "internal_process", "learning_growth", "unassigned"]
    progress: DecimalStr | None = Field(
        description="The weighted mean (objective weight) of its objectives' rolled-up progress; "
        "null when none is measured"
    )
    objectives: list[StrategyNode] = Field(description="Its top-level objectives, each with its tree")


class StrategyMapRead(Output):
    """Every top-level (company, no parent) objective of a cycle with its tree, grouped by perspective."""

    cycle_id: uuid.UUID
    node_count: int = Field(
        description="How many objectives the map shows; past 5000 objectives in the cycle and the cycles nested in "
        "it the map is refused (422) rather than cut"
    )
    groups: list[PerspectiveGroup] = Field(
        description="financial, customer, internal_process, learning_growth, unassigned, in that order, each present"
    )


class RevisionRead(Output):
    """One change of an objective (its fields or its workflow status) or of one of its key
    results, as its revision history keeps it."""

    id: uuid.UUID
    objective_id: uuid.UUID
    key_result_id: uuid.UUID | None
    action: str
    changes: dict[str, Any] = Field(description="{field: {before, after}}")
    reason: str | None
    actor: str = Field(description="Who made the change: a person's user id (the token's `sub`) or a client's id")
    actor_employee_id: uuid.UUID | None = Field(
        description="The employee who made the change (null for an integration client or a person with none)"
    )
    at: dt.datetime = Field(description="When the change was made (RFC 3339, UTC)")


# --- key results --------------------------------------------------------------------------


class MilestoneIn(Input):
    title: Annotated[str, Field(min_length=1, max_length=200)]
    weight: Weight = Decimal(1)
    done: bool = False


class MilestoneRead(Output):
    """A step of a milestone key result."""

    title: str
    weight: DecimalStr
    done: bool


class KeyResultRead(Output):
    """A measurable result of an objective: a metric from start to target, a milestone list, or a yes/no."""

    id: uuid.UUID
    objective_id: uuid.UUID
    title: str
    description: str | None
    kind: KrKind
    start: DecimalStr | None = Field(description="The metric's value when the cycle began")
    target: DecimalStr | None = Field(description="The metric's value that scores 1")
    unit: str | None
    direction: Literal["increase", "decrease"] | None = Field(description="metric: from the sign of target - start")
    weight: DecimalStr
    milestones: list[MilestoneRead] | None = Field(
        description="The steps of a milestone key result (null for other kinds)"
    )
    owner_id: uuid.UUID | None
    due_date: dt.date | None = Field(
        description="When the result is due, within the objective's cycle (null: by the cycle's end)"
    )
    measured_by_objective_id: uuid.UUID | None = Field(
        description="A child objective (its parent is this result's objective; same cycle or a cycle nested in it) "
        "whose rolled-up progress stands for this result's progress in the rollup"
    )
    current: DecimalStr | None = Field(description="metric: the latest check-in's value, else start")
    done: bool | None = Field(description="boolean: done per the latest check-in that says")
    progress: DecimalStr = Field(description="computed score 0..1, 4 places")
    score: DecimalStr = Field(description="the grade when graded, else progress")
    pace: Pace = Field(description="computed against the cycle's elapsed time")
    status: CheckInStatus | None = Field(description="the status chosen in the latest check-in")
    confidence: int | None = Field(description="the latest check-in's confidence")
    last_checked_in_at: dt.datetime | None = Field(description="When the last check-in was made")
    grade: DecimalStr | None = Field(description="A manual grade, 0 to 1, replacing the computed score")
    grade_reason: str | None = Field(description="Why the manual grade was given")
    graded_by: str | None = Field(description="Who gave the manual grade (user id)")
    graded_at: dt.datetime | None = Field(description="When the manual grade was given")
    created_at: dt.datetime
    updated_at: dt.datetime


class ObjectiveKeyResultCreate(Input):
    """A key result created with its objective (`ObjectiveCreate.key_results`): every
    field of `KeyResultCreate` but the objective."""

    described_like = (KeyResultRead,)

    title: Title
    description: Text | None = None
    kind: KrKind
    start: Number | None = None
    target: Number | None = None
    unit: Annotated[str, Field(max_length=40)] | None = None
    weight: Weight = Decimal(1)
    milestones: list[MilestoneIn] | None = Field(
        None, max_length=50, description="The steps of a milestone key result, at least one (none for other kinds)"
    )
    owner_id: uuid.UUID | None = None
    due_date: dt.date | None = None
    measured_by_objective_id: uuid.UUID | None = None

    @model_validator(mode="after")
    def _kind(self) -> ObjectiveKeyResultCreate:
        check_kind_fields(self.kind, self.start, self.target, self.milestones)
        return self


class KeyResultCreate(ObjectiveKeyResultCreate):
    objective_id: uuid.UUID


class KeyResultUpdate(Input):
    """Any subset of the fields; the kind is fixed. `reason` says why it changed (kept in
    its objective's revision history)."""

    described_like = (KeyResultRead,)

    title: Title | None = None
    description: Text | None = None
    start: Number | None = None
    target: Number | None = None
    unit: Annotated[str, Field(max_length=40)] | None = None
    weight: Weight | None = None
    milestones: list[MilestoneIn] | None = Field(
        None, max_length=50, description="The steps of a milestone key result; replaces the whole list"
    )
    owner_id: uuid.UUID | None = None
    due_date: dt.date | None = None
    measured_by_objective_id: uuid.UUID | None = None
    grade: Annotated[Decimal, Field(ge=0, le=1, max_digits=12, decimal_places=10, allow_inf_nan=False)] | None = None
    grade_reason: Reason | None = None
    reason: Reason | None = None

    @model_validator(mode="after")
    def _grade(self) -> KeyResultUpdate:
        if self.grade is not None and not self.grade_reason:
            raise ValueError("a grade needs a grade_reason")
        return self


def check_kind_fields(
    kind: str, start: Decimal | None, target: Decimal | None, milestones: Sequence[MilestoneIn | dict[str, Any]] | None
) -> None:
    """What each kind needs (SPEC 4: `target == start` is refused at write time). `milestones`:
    the new ones, or the stored ones (JSON) when they do not change."""
    if kind == "metric":
        if start is None or target is None:
            raise ValueError("a metric key result needs start and target")
        if start == target:
            raise ValueError("target must differ from start")
        if milestones:
            raise ValueError("milestones belong to milestone key results")
    else:
        if start is not None or target is not None:
            raise ValueError("start and target belong to metric key results")
        if kind == "milestone" and not milestones:
            raise ValueError("a milestone key result needs at least one milestone")
        if kind == "boolean" and milestones:
            raise ValueError("milestones belong to milestone key results")


# --- check-ins -----------------------------------------------------------------------------


class CheckInRead(Output):
    """A progress update of a key result: the value reached, the owner's confidence and status."""

    id: uuid.UUID
    key_result_id: uuid.UUID
    value: DecimalStr | None = Field(description="The value the metric reached (metric key results)")
    done: bool | None = Field(description="Whether the key result is done (boolean key results)")
    milestone: int | None = Field(
        description="The index of the milestone this check-in marks done (milestone key results)"
    )
    confidence: int | None
    status: CheckInStatus | None = Field(description="The owner's view: on track, at risk or off track")
    note: str | None
    author: str
    author_employee_id: uuid.UUID | None = Field(
        description="The employee who wrote it (null for an integration client)"
    )
    checked_in_at: dt.datetime = Field(description="When the value was reached (defaults to when it was recorded)")
    created_at: dt.datetime


class CheckInCreate(Input):
    """Fill what the key result's kind takes: `value` (metric), `done` (boolean), or
    `milestone` with `done` (milestone)."""

    described_like = (CheckInRead,)

    value: Number | None = None
    done: bool | None = None
    milestone: Annotated[int, Field(ge=0, le=49)] | None = Field(
        None, description="milestone key results: the index of the milestone `done` applies to"
    )
    confidence: Annotated[int, Field(ge=0, le=10)] | None = None
    status: CheckInStatus | None = None
    note: Annotated[str, Field(max_length=5000)] | None = None
    checked_in_at: dt.datetime | None = None


MAX_BULK_CHECK_INS = 100


class CheckInItem(CheckInCreate):
    """One check-in of `POST /api/v1/check-ins/bulk`: its key result and the fields of a
    single check-in."""

    key_result_id: uuid.UUID


class CheckInBulk(Input):
    """Check-ins of several key results at once, all or nothing."""

    items: list[CheckInItem] = Field(
        min_length=1,
        max_length=MAX_BULK_CHECK_INS,
        description=f"The check-ins to make, 1 to {MAX_BULK_CHECK_INS}, each naming its key result",
    )


# --- lint -----------------------------------------------------------------------------------


class LintMilestone(Input):
    title: str | None = None
    weight: Decimal | None = None
    done: bool = False


class LintKeyResult(Input):
    """Deliberately lenient: the lint reports what a write would refuse."""

    described_like = (KeyResultRead,)

    title: str = ""
    description: str | None = None
    kind: KrKind = "metric"
    start: Decimal | None = None
    target: Decimal | None = None
    unit: str | None = None
    weight: Decimal | None = Decimal(1)
    milestones: list[LintMilestone] | None = None
    owner_id: uuid.UUID | None = None
    due_date: dt.date | None = None


class LintRequest(Input):
    """Either `objective_id` of a saved objective, or an unsaved objective with its key
    results (`owner_id` and `cycle_id`, when given, count the owner's objectives)."""

    described_like = (ObjectiveRead,)

    objective_id: uuid.UUID | None = None
    title: str | None = None
    description: str | None = None
    level: Level | None = None
    owner_id: uuid.UUID | None = None
    department_id: uuid.UUID | None = None
    cycle_id: uuid.UUID | None = None
    type: ObjectiveType | None = None
    parent_id: uuid.UUID | None = None
    supports: list[uuid.UUID] = Field(default_factory=list, max_length=50)
    weight: Decimal | None = Decimal(1)
    perspective: Perspective | None = None
    visibility: Visibility | None = None
    key_results: list[LintKeyResult] = Field(
        default_factory=list, max_length=100, description="The unsaved objective's key results"
    )

    @model_validator(mode="after")
    def _one(self) -> LintRequest:
        if self.objective_id is None and self.level is None:
            raise ValueError("give objective_id, or an objective with at least its level")
        if self.objective_id is not None and (self.key_results or self.level is not None):
            raise ValueError("give either objective_id or an unsaved objective, not both")
        return self


class FindingRead(Output):
    """One finding of the OKR linter."""

    code: str = Field(description="The finding's stable name (`too_few_key_results`), the same in every language")
    severity: Literal["error", "warning"] = Field(description="An error (blocks submission) or a warning")
    message: str = Field(
        description="What is wrong and how to fix it, in the language `Accept-Language` asks for (`en`, `zh-CN`)"
    )
    path: list[str | int] = Field(
        description='Where in the objective it is: field names and list positions (`["key_results", 0, "target"]`); '
        "empty for the objective as a whole"
    )


class LintResponse(Output):
    """What the OKR linter found; nothing is saved."""

    findings: list[FindingRead] = Field(
        description="What the linter found, errors and warnings; empty when nothing is wrong"
    )


class ObjectiveCreated(ObjectiveRead):
    """The answer to creating an objective: the objective with the key results created
    with it (none when the request gave none)."""

    key_results: list[KeyResultRead] = Field(description="The key results created with it, in the request's order")


ObjectiveCreate.model_rebuild()


class CheckInBulkRead(Output):
    items: list[CheckInRead] = Field(description="the check-ins made, in the order of the request's items")
