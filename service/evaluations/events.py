"""The evaluation events a webhook receiver gets: 360 feedback requested, submitted or
declined, the self and manager reviews submitted, an interview scheduled or acknowledged,
an evaluation finalized or acknowledged, and a calibration session finalized (their
models, service/kit/events.py).

The peer feedback events may reach the evaluated person's own channels (a chat bot, a
mobile push), so they never carry who the reviewer is, who asked, nor the feedback's
rating or text: the anonymity of SPEC section 10 holds outside the API too."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import ClassVar, Literal

from pydantic import Field

from service.kit.events import ACTOR, EventModel, EventPayload, IsoTime
from service.kit.schemas import DecimalStr


class EvaluationStep(EventPayload):
    """The evaluation a step was taken on: whose, in which cycle."""

    evaluation_id: uuid.UUID
    employee_id: uuid.UUID
    cycle_id: uuid.UUID


class PeerFeedbackStep(EventPayload):
    """A step of 360 feedback on an evaluation; never the reviewer's identity, the
    requester, the rating or the comments. An answer or a refusal does not name its
    request either: the evaluated person knows whom they asked, so a request id forwarded
    to them would say who answered (or declined)."""

    evaluation_id: uuid.UUID
    employee_id: uuid.UUID = Field(description="The evaluated employee's id")
    cycle_id: uuid.UUID
    status: Literal["requested", "submitted", "declined"] = Field(description="The request's status after the step")
    due_date: dt.date | None = Field(description="The answer's deadline; null when none")


class PeerFeedbackRequested(PeerFeedbackStep):
    """A reviewer was asked for 360 feedback on an evaluation."""

    event_type: ClassVar[str] = "peer_feedback.requested"

    request_id: uuid.UUID = Field(description="The peer request's id")


class PeerFeedbackSubmitted(PeerFeedbackStep):
    """A requested reviewer answered (the answer is read through the API, by who may)."""

    event_type: ClassVar[str] = "peer_feedback.submitted"


class PeerFeedbackDeclined(PeerFeedbackStep):
    """A requested reviewer declined to answer (the reason stays in the API)."""

    event_type: ClassVar[str] = "peer_feedback.declined"


class ReviewSubmitted(EvaluationStep):
    """A review of the evaluation was submitted; the evaluation moved to its next status."""

    status: str = Field(description="The evaluation's status after the step")
    submitted_at: IsoTime = Field(description="When it was submitted (RFC 3339)")
    actor: str = Field(description=ACTOR)


class SelfReviewSubmitted(ReviewSubmitted):
    """The employee submitted their self review; the manager review is next."""

    event_type: ClassVar[str] = "self_review.submitted"


class ManagerReviewSubmitted(ReviewSubmitted):
    """The manager submitted their review; calibration is next."""

    event_type: ClassVar[str] = "manager_review.submitted"


class InterviewStep(EvaluationStep):
    """The review interview (performance conversation) of an evaluation."""

    interview_id: uuid.UUID = Field(description="The interview's id")
    interviewer_id: uuid.UUID | None = Field(description="The interviewer's employee id; null when none")
    scheduled_at: IsoTime | None = Field(description="When the interview is planned (RFC 3339); null when open")
    actor: str = Field(description=ACTOR)


class InterviewScheduled(InterviewStep):
    """An interview was planned, or its time or interviewer changed."""

    event_type: ClassVar[str] = "interview.scheduled"


class InterviewAcknowledged(InterviewStep):
    """The employee signed the interview's outcome. The first signature on a finalized
    evaluation also acknowledges the evaluation (`evaluation.acknowledged`, in the same
    transaction)."""

    event_type: ClassVar[str] = "interview.acknowledged"

    acknowledged_at: IsoTime = Field(description="When the employee signed it (RFC 3339)")


class EvaluationFinalized(EvaluationStep):
    """An evaluation was finalized with its score and rating of record."""

    event_type: ClassVar[str] = "evaluation.finalized"

    final_score: DecimalStr | None = Field(description="The final score, 0 to 100 (a decimal string); null when none")
    rating: str | None
    actor: str = Field(description=ACTOR)


class EvaluationAcknowledged(EvaluationStep):
    """The employee acknowledged the finalized evaluation (after its interview)."""

    event_type: ClassVar[str] = "evaluation.acknowledged"

    acknowledged_at: IsoTime | None = Field(description="When the employee acknowledged it (RFC 3339)")
    actor: str | None = Field(description="Who acknowledged it (user id)")


class CalibrationFinalizedResult(EventModel):
    """One member's result as the calibration session made it official."""

    employee_id: uuid.UUID
    final: DecimalStr | None = Field(description="The final score, 0 to 100 (a decimal string)")
    computed_rating: str | None = Field(description="The rating the score alone gives")
    enforced_rating: str | None = Field(description="The rating the session set instead (null when it kept it)")
    rating: str | None = Field(description="The rating of record: the enforced one, else the computed one")


class CalibrationFinalized(EventPayload):
    """A calibration session was finalized: its members' results are official."""

    event_type: ClassVar[str] = "calibration.finalized"

    calibration_id: uuid.UUID
    cycle_id: uuid.UUID
    count: int = Field(description="How many members the session calibrated")
    results: list[CalibrationFinalizedResult] = Field(description="Each member's result (the first 10,000)")
    actor: str = Field(description=ACTOR)
