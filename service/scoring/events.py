"""The scoring events a webhook receiver gets: scores recomputed, and a score of record
amended (their models, service/kit/events.py)."""

from __future__ import annotations

import uuid
from typing import ClassVar

from pydantic import Field

from service.kit.events import ACTOR, EventModel, EventPayload
from service.kit.schemas import DecimalStr


class ScoreUpdated(EventPayload):
    """A recompute changed employees' final scores or ratings in a cycle."""

    event_type: ClassVar[str] = "score.updated"

    cycle_id: uuid.UUID
    employee_ids: list[uuid.UUID] = Field(
        description="The employees whose final score or rating changed (the first 10,000)"
    )
    count: int = Field(description="How many employees' scores changed (all of them, past the first 10,000 too)")


class ScoreAmendedPrevious(EventModel):
    """The score of record before the amendment."""

    version: int = Field(description="The score of record's version before the amendment")
    final: DecimalStr | None = Field(description="The final score before, 0 to 100 (a decimal string)")
    rating: str | None = Field(description="The rating before")


class ScoreAmended(EventPayload):
    """An official score of record was amended (a new version): its final score or rating
    changed after the cycle's results were made official, with the incentive corrections
    that followed."""

    event_type: ClassVar[str] = "score.amended"

    cycle_id: uuid.UUID
    employee_id: uuid.UUID
    version: int = Field(description="The score of record's new version")
    previous: ScoreAmendedPrevious = Field(description="The score of record before the amendment")
    final: DecimalStr | None = Field(description="The new final score, 0 to 100 (a decimal string)")
    rating: str | None = Field(description="The new rating")
    amended_by: str = Field(description=ACTOR)
    correction_ids: list[uuid.UUID] = Field(
        description="The incentive results created to correct payouts already made (adjustments, payments)"
    )
