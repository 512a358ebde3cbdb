"""REST models of the evaluation module. Requests forbid unknown fields; decimals are
accepted as strings or numbers and answered as strings."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from service.kit.schemas import DecimalStr, Input, Output

EvaluationStatus = Literal["not_started", "self_review", "manager_review", "calibrated", "finalized", "acknowledged"]
EvaluationAction = Literal["submit_self", "submit_manager", "finalize", "acknowledge"]
PeerStatus = Literal["requested", "submitted", "declined"]
Rating = Annotated[int, Field(ge=1, le=100, description="on the policy's scale 1..N (`rating_scale`)")]
Text = Annotated[str, Field(max_length=20000)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Reason = Annotated[str, Field(min_length=1, max_length=4000)]
Delta = Annotated[Decimal, Field(ge=-1000, le=1000, max_digits=12, decimal_places=4, allow_inf_nan=False)]
MAX_EMPLOYEES = 10000


def _utc(value: dt.datetime) -> dt.datetime:
    """Timestamps are kept and answered in UTC; a naive one is taken as UTC."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


UtcStamp = Annotated[dt.datetime, AfterValidator(_utc)]


# --- evaluations ------------------------------------------------------------------------------


class SelfReviewIn(Input):
    rating: Rating | None = None
    comments: Text | None = None


class CompetencyIn(Input):
    name: Name
    rating: Rating
    comments: Text | None = None


class ManagerReviewIn(Input):
    rating: Rating | None = None
    comments: Text | None = None
    competencies: list[CompetencyIn] | None = Field(None, max_length=50)


class EvaluationCreate(Input):
    employee_id: uuid.UUID
    cycle_id: uuid.UUID


class EvaluationBulkCreate(Input):
    """The whole scored population of the cycle, a department (with its sub-departments)
    or a list of employees."""

    cycle_id: uuid.UUID
    department_id: uuid.UUID | None = None
    employee_ids: list[uuid.UUID] | None = Field(None, min_length=1, max_length=MAX_EMPLOYEES)

    @model_validator(mode="after")
    def _one_selector(self) -> EvaluationBulkCreate:
        if self.department_id is not None and self.employee_ids is not None:
            raise ValueError("give department_id or employee_ids, not both")
        return self


class EvaluationBulkResult(Output):
    created: int
    skipped: int
    evaluation_ids: list[uuid.UUID] = Field(description="every evaluation of the selection, created or already there")


class EvaluationUpdate(Input):
    """Drafts: the employee writes `self_review` until they submit it; the direct manager
    (or hr/admin) writes `manager_review` until it is submitted."""

    self_review: SelfReviewIn | None = None
    manager_review: ManagerReviewIn | None = None


class EvaluationActionIn(Input):
    """Optional body of a workflow action: `submit_self` may carry the final
    `self_review`, `submit_manager` the final `manager_review`, `acknowledge` a
    `comment`."""

    self_review: SelfReviewIn | None = None
    manager_review: ManagerReviewIn | None = None
    comment: Text | None = None


class SelfReviewRead(Output):
    rating: int | None
    comments: str | None
    submitted_at: dt.datetime | None


class CompetencyRead(Output):
    name: str
    rating: int
    comments: str | None = None


class ManagerReviewRead(Output):
    rating: int | None
    comments: str | None
    competencies: list[CompetencyRead]
    reviewer_id: uuid.UUID | None
    submitted_at: dt.datetime | None


class CalibrationOutcome(Output):
    calibration_id: uuid.UUID
    calibrated_at: dt.datetime | None
    final: DecimalStr | None = Field(description="the final score when the session was finalized")
    rating: str | None = Field(description="the rating after calibration (enforced when the distribution is)")
    computed_rating: str | None
    distribution_enforced: bool


class FeedbackSummary(Output):
    """360 feedback in aggregate. For the evaluated employee it is anonymous and shown only
    once `min_reviewers` answered (`available`); until then every figure is null."""

    available: bool
    min_reviewers: int
    answered: int | None
    mean_rating: DecimalStr | None = Field(description="mean of the submitted ratings, 2 places")
    comments: list[str] = Field(description="submitted comments, sorted by text (never by reviewer or time)")


class EvaluationRead(Output):
    id: uuid.UUID
    employee_id: uuid.UUID
    cycle_id: uuid.UUID
    status: EvaluationStatus
    self_review: SelfReviewRead | None = Field(description="null until there is one the caller may see")
    manager_review: ManagerReviewRead | None = Field(description="null until there is one the caller may see")
    peer_feedback: FeedbackSummary | None
    calibration: CalibrationOutcome | None
    final_score: DecimalStr | None
    final_rating: str | None
    finalized_at: dt.datetime | None
    acknowledged_at: dt.datetime | None
    acknowledged_by: str | None
    acknowledgement_comment: str | None
    created_at: dt.datetime
    updated_at: dt.datetime


# --- 360 feedback ------------------------------------------------------------------------------


class PeerRequestCreate(Input):
    reviewer_id: uuid.UUID
    due_date: dt.date | None = Field(None, description="the deadline: no submission after this day")


class PeerRequestRead(Output):
    """For the evaluated employee the request is anonymised: they see the reviewers they
    asked themselves, never who answered or declined (`status` and the answer are null)."""

    id: uuid.UUID
    evaluation_id: uuid.UUID
    employee_id: uuid.UUID
    cycle_id: uuid.UUID
    reviewer_id: uuid.UUID | None
    requested_by: str | None
    due_date: dt.date | None
    status: PeerStatus | None
    rating: int | None
    comments: str | None
    submitted_at: dt.datetime | None
    declined_at: dt.datetime | None
    decline_reason: str | None
    created_at: dt.datetime


class FeedbackCreate(Input):
    reviewer_id: uuid.UUID | None = Field(None, description="the caller; any other reviewer is refused")
    rating: Rating
    comments: Text | None = None


class PeerDecline(Input):
    reason: Text | None = None


class FeedbackRead(Output):
    id: uuid.UUID = Field(description="the peer request answered")
    evaluation_id: uuid.UUID
    reviewer_id: uuid.UUID
    rating: int | None
    comments: str | None
    submitted_at: dt.datetime | None


class FeedbackPage(Output):
    """`items` are attributed answers, for managers and hr/admin/auditors only; the
    evaluated employee gets an empty `items` and the anonymous `summary`."""

    items: list[FeedbackRead]
    next_cursor: str | None
    attributed: bool
    summary: FeedbackSummary


# --- calibration -------------------------------------------------------------------------------


class CalibrationCreate(Input):
    cycle_id: uuid.UUID
    name: Name
    employee_ids: list[uuid.UUID] | None = Field(None, min_length=1, max_length=MAX_EMPLOYEES)
    department_id: uuid.UUID | None = Field(None, description="its scored employees, sub-departments included")

    @model_validator(mode="after")
    def _one_selector(self) -> CalibrationCreate:
        if (self.employee_ids is None) == (self.department_id is None):
            raise ValueError("give exactly one of employee_ids or department_id")
        return self


class CalibrationRead(Output):
    id: uuid.UUID
    cycle_id: uuid.UUID
    name: str
    department_id: uuid.UUID | None
    status: Literal["open", "finalized"]
    employee_ids: list[uuid.UUID]
    created_by: str
    finalized_at: dt.datetime | None
    finalized_by: str | None
    created_at: dt.datetime
    updated_at: dt.datetime


class CalibrationAdjustmentCreate(Input):
    employee_id: uuid.UUID
    delta: Delta = Field(description="points added to the final score (negative to lower it)")
    reason: Reason

    @field_validator("delta")
    @classmethod
    def _nonzero(cls, v: Decimal) -> Decimal:
        if v == 0:
            raise ValueError("an adjustment must change the score")
        return v


class AdjustmentRead(Output):
    id: uuid.UUID
    calibration_id: uuid.UUID
    employee_id: uuid.UUID
    delta: DecimalStr
    reason: str
    author: str
    created_at: dt.datetime


class ProposedAdjustment(Input):
    employee_id: uuid.UUID
    delta: Delta
    reason: Reason | None = None


class SimulateIn(Input):
    adjustments: list[ProposedAdjustment] = Field(default_factory=list, max_length=MAX_EMPLOYEES)


class BandRead(Output):
    rating: str
    pct: DecimalStr | None = Field(description="the guideline's share; null without a guideline")
    allowed: int | None
    actual: int


class PolicyRefRead(Output):
    id: uuid.UUID | None
    version: int


class DistributionGroup(Output):
    """Members scored under one policy version, checked against its guideline."""

    policy: PolicyRefRead
    mode: Literal["advisory", "enforced"] | None
    employee_ids: list[uuid.UUID]
    bands: list[BandRead]


class MemberResult(Output):
    employee_id: uuid.UUID
    status: str
    composite: DecimalStr | None
    calibration_delta: DecimalStr
    final: DecimalStr | None
    rating: str | None = Field(description="the rating the score shows now")
    computed_rating: str | None = Field(description="the rating from the bands, before any enforcement")
    enforced_rating: str | None = Field(description="what the enforced distribution gives (or gave)")
    flags: list[str]


class DistributionRead(Output):
    calibration_id: uuid.UUID
    cycle_id: uuid.UUID
    status: Literal["open", "finalized"]
    simulated: bool
    bands: list[BandRead] = Field(description="all groups together, per rating")
    groups: list[DistributionGroup]
    employees: list[MemberResult]


# --- interviews ----------------------------------------------------------------------------


class InterviewCreate(Input):
    evaluation_id: uuid.UUID
    interviewer_id: uuid.UUID | None = Field(None, description="defaults to the caller")
    scheduled_at: UtcStamp | None = None
    plan: Text | None = None
    notes: Text | None = None
    outcome: Text | None = None


class InterviewUpdate(Input):
    interviewer_id: uuid.UUID | None = None
    scheduled_at: UtcStamp | None = None
    plan: Text | None = None
    notes: Text | None = None
    outcome: Text | None = None


class InterviewAcknowledge(Input):
    comment: Text | None = None


class InterviewRead(Output):
    id: uuid.UUID
    evaluation_id: uuid.UUID
    employee_id: uuid.UUID
    cycle_id: uuid.UUID
    interviewer_id: uuid.UUID | None
    status: Literal["planned", "held", "acknowledged"]
    scheduled_at: dt.datetime | None
    plan: str | None
    notes: str | None
    outcome: str | None
    acknowledged_at: dt.datetime | None
    acknowledged_by: str | None
    acknowledgement_comment: str | None
    created_by: str
    created_at: dt.datetime
    updated_at: dt.datetime


# --- review meetings -----------------------------------------------------------------------

SubjectKind = Literal["objective", "cycle", "evaluation"]


class SubjectRef(Input):
    kind: SubjectKind
    id: uuid.UUID


class ImprovementAction(Input):
    action: Annotated[str, Field(min_length=1, max_length=2000)]
    owner_id: uuid.UUID
    due_date: dt.date
    status: Literal["open", "in_progress", "done"] = "open"


def _json_size(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is not None and len(json.dumps(value, default=str)) > 65536:
        raise ValueError("result_data is limited to 64 KiB of JSON")
    return value


class ReviewMeetingFields(Input):
    title: Annotated[str, Field(min_length=1, max_length=300)] | None = None
    held_on: dt.date | None = None
    summary: Text | None = None
    result_data: dict[str, Any] | None = Field(None, description="the figures discussed, as any JSON object")
    gap: Text | None = None
    cause_analysis: Text | None = None

    @field_validator("result_data")
    @classmethod
    def _size(cls, v: dict[str, Any] | None) -> dict[str, Any] | None:
        return _json_size(v)


class ReviewMeetingCreate(ReviewMeetingFields):
    subject: SubjectRef
    improvement_plan: list[ImprovementAction] = Field(default_factory=list, max_length=100)


class ReviewMeetingUpdate(ReviewMeetingFields):
    improvement_plan: list[ImprovementAction] | None = Field(
        None, max_length=100, description="replaces the whole plan"
    )


class SubjectRead(Output):
    kind: SubjectKind
    id: uuid.UUID


class ImprovementActionRead(Output):
    action: str
    owner_id: uuid.UUID
    due_date: dt.date
    status: str


class ReviewMeetingRead(Output):
    id: uuid.UUID
    subject: SubjectRead
    employee_id: uuid.UUID | None
    title: str | None
    held_on: dt.date | None
    summary: str | None
    result_data: dict[str, Any] | None
    gap: str | None
    cause_analysis: str | None
    improvement_plan: list[ImprovementActionRead]
    created_by: str
    created_at: dt.datetime
    updated_at: dt.datetime
