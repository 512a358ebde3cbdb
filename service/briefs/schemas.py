"""The briefs as JSON: what each lists, and for each listed item the reasons it is listed
(a stable `code` and the figures that decided it)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from pydantic import Field

from service.evaluations.schemas import (
    EvaluationRead,
    FeedbackSummary,
    ImprovementStatus,
    InterviewRead,
    ManagerReviewRead,
    SelfReviewRead,
)
from service.kit.schemas import DecimalStr, Output
from service.scoring.schemas import ScoreRead
from service.tasks.schemas import TaskRead

ReasonCode = Literal[
    "off_pace",
    "confidence_dropped",
    "check_in_overdue",
    "below_threshold",
    "out_of_range",
    "open",
    "overdue",
]
BriefFormat = Literal["json", "markdown"]


class BriefPeriod(Output):
    """The period a brief covers: `from` included, `to` excluded."""

    start: dt.date = Field(alias="from", serialization_alias="from", description="First day (included)")
    end: dt.date = Field(alias="to", serialization_alias="to", description="Day after the last (excluded)")


class Reason(Output):
    """Why an item is listed: a stable code and the figures that decided it."""

    code: ReasonCode = Field(description="What the item's data shows")
    figures: dict[str, Any] = Field(description="The numbers and dates behind the code (decimals as strings)")


class KeyResultItem(Output):
    """A key result of the team listed by a team brief, with its computed state."""

    key_result_id: uuid.UUID
    title: str
    objective_id: uuid.UUID
    objective_title: str = Field(description="The title of the key result's objective")
    owner_id: uuid.UUID = Field(description="The key result's owner (the objective's owner when it names none)")
    cycle_id: uuid.UUID
    progress: DecimalStr = Field(description="Computed progress, 0 to 1")
    pace: str = Field(description="on_track, at_risk or off_track (as the key result's own `pace`)")
    confidence: int | None = Field(description="Confidence of the latest check-in")
    last_checked_in_at: dt.datetime | None = Field(description="When the latest check-in was made (null without one)")
    reasons: list[Reason] = Field(description="Why it is listed, one or more")


class KpiItem(Output):
    """A KPI assignment whose latest measurement is on the wrong side of its bar."""

    assignment_id: uuid.UUID
    employee_id: uuid.UUID
    cycle_id: uuid.UUID
    kpi_code: str
    kpi_name: str = Field(description="The KPI definition's name")
    direction: str
    latest_value: DecimalStr = Field(description="The latest measurement before the period's end")
    measured_at: dt.date
    reasons: list[Reason] = Field(description="`below_threshold` or `out_of_range`, with the figures")


class ActionIn(Output):
    """An open decision or action carried into a brief (a meeting's or an improvement
    plan's)."""

    id: uuid.UUID | None = None
    title: str
    owner_id: uuid.UUID | None = None
    due_date: dt.date | None = None
    status: str = "open"
    source: str = Field("meeting", description="Where the action was agreed, e.g. `review_meeting`")
    source_id: uuid.UUID | None = Field(None, description="The record the action belongs to (a review meeting's id)")


class ActionItem(ActionIn):
    """An action still open, with why it is listed (`open`, or `overdue` past its due date)."""

    reasons: list[Reason] = Field(description="`overdue` past its due date, else `open`")


class TeamBrief(Output):
    """The brief of a team meeting over a period."""

    kind: Literal["team"] = "team"
    period: BriefPeriod = Field(description="The period covered")
    since: dt.date = Field(description="Changes are counted from this day (the previous meeting or the period start)")
    as_of: dt.date = Field(description="The day pace and overdue check-ins are judged on")
    employee_ids: list[uuid.UUID] = Field(description="The team")
    key_results: list[KeyResultItem] = Field(description="Key results off pace, with a confidence drop, or stale")
    kpis: list[KpiItem] = Field(description="KPIs below threshold (or out of range)")
    actions: list[ActionItem] = Field(description="Decisions and actions still open")


class CheckInSummary(Output):
    """The latest check-in of a key result."""

    checked_in_at: dt.datetime = Field(description="When the progress was reported")
    value: DecimalStr | None
    done: bool | None
    confidence: int | None
    status: str | None
    note: str | None


class KeyResultState(Output):
    """A key result with its computed figures and latest check-in."""

    key_result_id: uuid.UUID
    title: str
    kind: str
    start: DecimalStr | None
    target: DecimalStr | None
    current: DecimalStr | None = Field(description="The current value, as the key result shows it")
    progress: DecimalStr
    score: DecimalStr
    pace: str
    last_check_in: CheckInSummary | None = Field(description="The latest check-in (null without one)")


class ObjectiveState(Output):
    """An objective with its computed score and progress and its key results."""

    objective_id: uuid.UUID
    title: str
    owner_id: uuid.UUID
    cycle_id: uuid.UUID
    status: str
    score: DecimalStr | None
    progress: DecimalStr | None
    pace: str | None
    key_results: list[KeyResultState] = Field(description="Its key results with their latest check-ins")


class FeedbackReceived(Output):
    """360 feedback on one of the employee's evaluations, as the caller may see it
    (anonymous aggregates for the employee themself)."""

    evaluation_id: uuid.UUID
    cycle_id: uuid.UUID
    summary: FeedbackSummary


class OneOnOneBrief(Output):
    """The brief of a one-on-one with an employee over a period."""

    kind: Literal["one_on_one"] = "one_on_one"
    employee_id: uuid.UUID
    period: BriefPeriod = Field(description="The period covered")
    as_of: dt.date = Field(description="The day pace is judged on")
    objectives: list[ObjectiveState] = Field(description="The employee's objectives in the period's cycles")
    feedback: list[FeedbackReceived] = Field(description="Feedback received, per evaluation")
    tasks: list[TaskRead] = Field(description="The employee's open tasks (their own work, as on /me/tasks)")


class ObjectiveGap(Output):
    """An objective's result against its target (a score of 1.0)."""

    objective_id: uuid.UUID
    title: str
    owner_id: uuid.UUID
    level: str
    score: DecimalStr | None = Field(description="The engine's score, 0 to 1 (null when not scored)")
    progress: DecimalStr | None
    target: DecimalStr = Field(description="1")
    gap: DecimalStr | None = Field(description="target - score")
    key_results: list[KeyResultState] = Field(description="Its key results with their computed figures")


class KpiGap(Output):
    """A KPI assignment's actual against its target, and its attainment points against
    the policy's target points."""

    assignment_id: uuid.UUID
    employee_id: uuid.UUID
    kpi_code: str
    direction: str
    method: str = Field(description="How points are computed: banded, ratio, range or binary")
    actual: DecimalStr | None = Field(description="The engine's actual over the cycle (null without data)")
    target: DecimalStr | None
    gap: DecimalStr | None = Field(
        description="How far the actual falls short of the target in the KPI's direction (negative: beyond it)"
    )
    points: DecimalStr = Field(description="Attainment points, as the engine scores them")
    target_points: DecimalStr = Field(description="The points of meeting the target under the employee's policy")
    points_gap: DecimalStr = Field(description="target_points - points")
    missing_data: bool = Field(description="No measurement in the cycle: actual null, 0 points")


class PlanAction(Output):
    """An action of the previous review's improvement plan and where it stands."""

    action: str
    owner_id: uuid.UUID
    due_date: dt.date
    status: ImprovementStatus
    overdue: bool = Field(description="Not done and past its due date")


class PreviousReview(Output):
    """The previous review meeting of the same scope, and its improvement plan."""

    review_meeting_id: uuid.UUID = Field(description="The previous review meeting")
    title: str | None
    held_on: dt.date | None = Field(description="The day it was held")
    improvement_plan: list[PlanAction] = Field(description="The actions it agreed, with where each stands")


class BriefScope(Output):
    """What a quarterly review covers: a cycle's shared objectives, one objective, or
    employees (their objectives and KPIs)."""

    kind: Literal["cycle", "objective", "employees"]
    objective_id: uuid.UUID | None = None
    employee_ids: list[uuid.UUID] = Field(default_factory=list)


class QuarterlyReviewBrief(Output):
    """The brief of a quarterly review: the result data and the gap to target computed by
    the engine, and the previous review's improvement plan."""

    kind: Literal["quarterly_review"] = "quarterly_review"
    cycle_id: uuid.UUID
    scope: BriefScope = Field(description="What the review covers")
    as_of: dt.date = Field(description="The day pace is judged on (the cycle's end once it is over)")
    objectives: list[ObjectiveGap] = Field(description="Each objective in scope against a score of 1")
    kpis: list[KpiGap] = Field(description="Each KPI assignment in scope against its target")
    previous_review: PreviousReview | None = Field(description="The previous review of the same scope and its plan")


class InterviewBrief(Output):
    """What both sides prepare for a performance interview, as the caller may see it."""

    kind: Literal["interview"] = "interview"
    interview: InterviewRead = Field(description="The interview: plan, time, interviewer")
    evaluation: EvaluationRead = Field(description="The evaluation the interview is about, as the caller may see it")
    self_review: SelfReviewRead | None = Field(description="The employee's self review (when the caller may see it)")
    manager_review: ManagerReviewRead | None = Field(description="The manager's review (when the caller may see it)")
    score: ScoreRead | None = Field(description="The employee's score in the cycle, with its explanation")
