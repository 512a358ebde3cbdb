"""The evaluation events a webhook receiver gets: an evaluation finalized or acknowledged,
and a calibration session finalized (their models, service/kit/events.py)."""

from __future__ import annotations

import uuid
from typing import ClassVar

from pydantic import Field

from service.kit.events import ACTOR, EventModel, EventPayload, IsoTime
from service.kit.schemas import DecimalStr


class EvaluationStep(EventPayload):
    """The evaluation a step was taken on: whose, in which cycle."""

    evaluation_id: uuid.UUID
    employee_id: uuid.UUID
    cycle_id: uuid.UUID


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
