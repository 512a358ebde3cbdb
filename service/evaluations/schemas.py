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
from service.scoring.schemas import ScoreStatus

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
    competencies: list[CompetencyIn] | None = Field(
        None, max_length=50, description="Ratings of competencies, at most 50; replaces the whole list when given"
    )


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
    """What a bulk creation of evaluations did."""

    created: int
    skipped: int
    evaluation_ids: list[uuid.UUID] = Field(description="every evaluation of the selection, created or already there")


class EvaluationUpdate(Input):
    """Drafts: the employee writes `self_review` until they submit it; the direct manager
    (or hr/admin) writes `manager_review` until it is submitted."""

    self_review: SelfReviewIn | None = Field(None, description="The employee's draft; only the employee may write it")
    manager_review: ManagerReviewIn | None = Field(
        None, description="The manager's draft; the direct manager (or hr/admin) may write it"
    )


class EvaluationActionIn(Input):
    """Optional body of a workflow action: `submit_self` may carry the final
    `self_review`, `submit_manager` the final `manager_review`, `acknowledge` a
    `comment`."""

    self_review: SelfReviewIn | None = Field(None, description="With `submit_self`: the review to submit")
    manager_review: ManagerReviewIn | None = Field(None, description="With `submit_manager`: the review to submit")
    comment: Text | None = None


class SelfReviewRead(Output):
    """The employee's own review of the cycle."""

    rating: int | None
    comments: str | None
    submitted_at: dt.datetime | None


class CompetencyRead(Output):
    """A rating of one competency in a manager review."""

    name: str
    rating: int
    comments: str | None = None


class ManagerReviewRead(Output):
    """The manager's review of the employee."""

    rating: int | None
    comments: str | None
    competencies: list[CompetencyRead] = Field(description="Ratings of competencies")
    reviewer_id: uuid.UUID | None
    submitted_at: dt.datetime | None


class CalibrationOutcome(Output):
    """What calibration did to an evaluation."""

    calibration_id: uuid.UUID
    calibrated_at: dt.datetime | None = Field(description="When the session was finalized")
    final: DecimalStr | None = Field(description="the final score when the session was finalized")
    rating: str | None = Field(description="the rating after calibration (enforced when the distribution is)")
    computed_rating: str | None = Field(description="The rating from the bands, before any enforcement")
    distribution_enforced: bool = Field(description="Whether the enforced distribution moved the rating")


class FeedbackSummary(Output):
    """360 feedback in aggregate. For the evaluated employee it is anonymous and shown only
    once `min_reviewers` answered (`available`); until then every figure is null."""

    available: bool = Field(
        description="Whether the figures are shown (enough reviewers answered, or the caller may see them anyway)"
    )
    min_reviewers: int = Field(description="How many answers are needed before the evaluated employee sees the summary")
    answered: int | None = Field(description="How many reviewers answered (null until available)")
    mean_rating: DecimalStr | None = Field(description="mean of the submitted ratings, 2 places")
    comments: list[str] = Field(description="submitted comments, sorted by text (never by reviewer or time)")


class EvaluationRead(Output):
    """An employee's performance evaluation in a cycle: self review, manager review, 360
    feedback, calibration and the final result."""

    id: uuid.UUID
    employee_id: uuid.UUID
    cycle_id: uuid.UUID
    status: EvaluationStatus
    self_review: SelfReviewRead | None = Field(description="null until there is one the caller may see")
    manager_review: ManagerReviewRead | None = Field(description="null until there is one the caller may see")
    peer_feedback: FeedbackSummary | None = Field(description="360 feedback in aggregate")
    calibration: CalibrationOutcome | None = Field(description="What calibration did (null until calibrated)")
    final_score: DecimalStr | None = Field(description="The final score of record (null until finalized)")
    final_rating: str | None = Field(description="The final rating (null until finalized)")
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
    requested_by: str | None = Field(
        description="Who asked for the feedback (user id; hidden from the evaluated employee)"
    )
    due_date: dt.date | None
    status: PeerStatus | None
    rating: int | None
    comments: str | None
    submitted_at: dt.datetime | None
    declined_at: dt.datetime | None
    decline_reason: str | None = Field(description="Why the reviewer declined (null unless declined)")
    created_at: dt.datetime


class FeedbackCreate(Input):
    reviewer_id: uuid.UUID | None = Field(None, description="the caller; any other reviewer is refused")
    rating: Rating
    comments: Text | None = None


class PeerDecline(Input):
    reason: Text | None = None


class FeedbackRead(Output):
    """One reviewer's 360 answer, attributed (for managers, hr, admin and auditors)."""

    id: uuid.UUID = Field(description="the peer request answered")
    evaluation_id: uuid.UUID
    reviewer_id: uuid.UUID
    rating: int | None
    comments: str | None
    submitted_at: dt.datetime | None


class FeedbackPage(Output):
    """`items` are attributed answers, for managers and hr/admin/auditors only; the
    evaluated employee gets an empty `items` and the anonymous `summary`."""

    items: list[FeedbackRead] = Field(
        description="The attributed answers of this page; empty for the evaluated employee (see `summary`)"
    )
    next_cursor: str | None = Field(
        description="The `cursor` of the next page (opaque); null when this page reached the end"
    )
    attributed: bool = Field(description="Whether the caller may read attributed answers (`items`)")
    summary: FeedbackSummary


# --- calibration -------------------------------------------------------------------------------

# How finalizing applies an `enforced` guideline (an `advisory` one is only reported).
DistributionEnforcement = Literal["enforce", "cap"]
DISTRIBUTION_MODE = (
    "How an enforced guideline is applied at finalization: `enforce` re-rates every member by rank (a "
    "rating can go up or down), `cap` only lowers members above the band shares and never raises anyone"
)


class CalibrationRead(Output):
    """A calibration session over a set of evaluations: adjustments, a distribution check, finalization."""

    id: uuid.UUID
    cycle_id: uuid.UUID
    name: str
    department_id: uuid.UUID | None
    status: Literal["open", "finalized"]
    distribution_mode: DistributionEnforcement = Field(description=DISTRIBUTION_MODE)
    employee_ids: list[uuid.UUID]
    created_by: str
    finalized_at: dt.datetime | None
    finalized_by: str | None
    created_at: dt.datetime
    updated_at: dt.datetime


class CalibrationCreate(Input):
    described_like = (CalibrationRead,)

    cycle_id: uuid.UUID
    name: Name
    employee_ids: list[uuid.UUID] | None = Field(None, min_length=1, max_length=MAX_EMPLOYEES)
    department_id: uuid.UUID | None = Field(None, description="its scored employees, sub-departments included")
    distribution_mode: DistributionEnforcement = "enforce"

    @model_validator(mode="after")
    def _one_selector(self) -> CalibrationCreate:
        if (self.employee_ids is None) == (self.department_id is None):
            raise ValueError("give exactly one of employee_ids or department_id")
        return self


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
    """A calibration adjustment: points added to an employee's composite, with a reason and an author."""

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
    adjustments: list[ProposedAdjustment] = Field(
        default_factory=list,
        max_length=MAX_EMPLOYEES,
        description="The adjustments to try on top of the session's own, one per employee (nothing is saved)",
    )
    distribution_mode: DistributionEnforcement | None = Field(
        None, description="Try this distribution mode instead of the session's (null: the session's)"
    )


class BandRead(Output):
    """One rating band of a distribution: how many are allowed and how many there are."""

    rating: str
    pct: DecimalStr | None = Field(
        description="the guideline's share; null without a guideline",
    )
    allowed: int | None = Field(description="How many members the guideline allows (null without a guideline)")
    actual: int = Field(description="How many members have the rating")


class PolicyRefRead(Output):
    """The scoring policy version a group was scored under."""

    id: uuid.UUID | None
    version: int


class DistributionGroup(Output):
    """Members scored under one policy version, checked against its guideline."""

    policy: PolicyRefRead = Field(description="The policy version")
    mode: Literal["advisory", "enforced"] | None = Field(
        description="advisory (reported) or enforced (applied at finalization); null without a guideline"
    )
    employee_ids: list[uuid.UUID]
    bands: list[BandRead] = Field(description="Per rating: allowed and actual counts")


class MemberResult(Output):
    """A member of a calibration: their score, adjustments and rating."""

    employee_id: uuid.UUID
    status: ScoreStatus
    composite: DecimalStr | None
    calibration_delta: DecimalStr
    final: DecimalStr | None
    rating: str | None = Field(description="the rating the score shows now")
    computed_rating: str | None = Field(description="the rating from the bands, before any enforcement")
    enforced_rating: str | None = Field(
        description="what the enforced distribution gives (or gave)",
    )
    flags: list[str]


class DistributionRead(Output):
    """A calibration's distribution check: per band allowed and actual counts, each member's final and rating."""

    calibration_id: uuid.UUID
    cycle_id: uuid.UUID
    status: Literal["open", "finalized"]
    simulated: bool = Field(description="Whether this is a what-if with proposed adjustments (nothing saved)")
    distribution_mode: DistributionEnforcement = Field(description=DISTRIBUTION_MODE)
    bands: list[BandRead] = Field(description="all groups together, per rating")
    groups: list[DistributionGroup] = Field(description="One per scoring policy version in use")
    employees: list[MemberResult] = Field(description="Each member's result")


# --- interviews ----------------------------------------------------------------------------


class InterviewCreate(Input):
    evaluation_id: uuid.UUID
    interviewer_id: uuid.UUID | None = Field(None, description="defaults to the caller")
    scheduled_at: UtcStamp | None = Field(None, description="When it takes place (RFC 3339; kept in UTC)")
    plan: Text | None = Field(None, description="The agenda, in prose")
    notes: Text | None = None
    outcome: Text | None = None


class InterviewUpdate(Input):
    interviewer_id: uuid.UUID | None = None
    scheduled_at: UtcStamp | None = Field(None, description="When it takes place (RFC 3339; kept in UTC)")
    plan: Text | None = Field(None, description="The agenda, in prose")
    notes: Text | None = None
    outcome: Text | None = None


class InterviewAcknowledge(Input):
    comment: Text | None = None


class InterviewRead(Output):
    """The performance interview of an evaluation: when, the plan, notes and outcome, and
    the employee's acknowledgement."""

    id: uuid.UUID
    evaluation_id: uuid.UUID
    employee_id: uuid.UUID
    cycle_id: uuid.UUID
    interviewer_id: uuid.UUID | None
    status: Literal["planned", "held", "acknowledged"]
    scheduled_at: dt.datetime | None = Field(description="When it takes place")
    plan: str | None = Field(description="The agenda, in prose")
    notes: str | None
    outcome: str | None = Field(description="What the interview concluded, in prose")
    acknowledged_at: dt.datetime | None
    acknowledged_by: str | None
    acknowledgement_comment: str | None
    created_by: str
    created_at: dt.datetime
    updated_at: dt.datetime


# --- review meetings -----------------------------------------------------------------------

SubjectKind = Literal["objective", "cycle", "evaluation"]
ImprovementStatus = Literal["open", "in_progress", "done"]


class SubjectRef(Input):
    kind: SubjectKind
    id: uuid.UUID


class ImprovementAction(Input):
    action: Annotated[str, Field(min_length=1, max_length=2000)]
    owner_id: uuid.UUID
    due_date: dt.date
    status: ImprovementStatus = "open"


def _json_size(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is not None and len(json.dumps(value, default=str)) > 65536:
        raise ValueError("result_data is limited to 64 KiB of JSON")
    return value


class ReviewMeetingFields(Input):
    title: Annotated[str, Field(min_length=1, max_length=300)] | None = None
    held_on: dt.date | None = Field(None, description="The day it was held")
    summary: Text | None = None
    result_data: dict[str, Any] | None = Field(None, description="the figures discussed, as any JSON object")
    gap: Text | None = Field(None, description="The gap between target and result, in prose")
    cause_analysis: Text | None = Field(None, description="Why the gap arose, in prose")

    @field_validator("result_data")
    @classmethod
    def _size(cls, v: dict[str, Any] | None) -> dict[str, Any] | None:
        return _json_size(v)


class ReviewMeetingCreate(ReviewMeetingFields):
    subject: SubjectRef = Field(description="What the meeting is about: an objective, a cycle or an evaluation")
    improvement_plan: list[ImprovementAction] = Field(
        default_factory=list, max_length=100, description="The actions agreed, at most 100"
    )
    prefill: bool = Field(
        False,
        description="Fill `result_data` and `gap` from the engine (the meeting's quarterly review brief) instead of "
        "typed input; then neither may be given",
    )


class ReviewMeetingUpdate(ReviewMeetingFields):
    improvement_plan: list[ImprovementAction] | None = Field(
        None, max_length=100, description="replaces the whole plan"
    )


class SubjectRead(Output):
    """What a review meeting is about: an objective, a cycle or an evaluation."""

    kind: SubjectKind
    id: uuid.UUID


class ImprovementActionRead(Output):
    """One action of an improvement plan."""

    action: str
    owner_id: uuid.UUID
    due_date: dt.date
    status: ImprovementStatus


class ReviewMeetingRead(Output):
    """A review meeting record: its summary, the result data, the gap, its causes and the improvement plan."""

    id: uuid.UUID
    subject: SubjectRead = Field(description="What the meeting is about")
    employee_id: uuid.UUID | None
    title: str | None
    held_on: dt.date | None = Field(description="The day it was held")
    summary: str | None
    result_data: dict[str, Any] | None = Field(description="The results discussed, a JSON object")
    gap: str | None = Field(description="The gap between target and result, in prose")
    cause_analysis: str | None = Field(description="Why the gap arose, in prose")
    improvement_plan: list[ImprovementActionRead] = Field(description="The actions agreed")
    created_by: str
    created_at: dt.datetime
    updated_at: dt.datetime
