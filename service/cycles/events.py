"""The cycle event a webhook receiver gets: a cycle moved to another status (its model,
service/kit/events.py)."""

from __future__ import annotations

import uuid
from typing import ClassVar

from pydantic import Field

from service.cycles.schemas import CycleStatus
from service.kit.events import ACTOR, EventPayload


class CycleStatusChanged(EventPayload):
    """A cycle moved from one status to the next (planning, active, review, calibration,
    closed; review may go back to active). Closing a cycle closes the cycles nested in it
    too, each with its own event; the steps the move causes (objectives closed, results
    made official) follow as their own events in the same transaction."""

    event_type: ClassVar[str] = "cycle.status_changed"

    cycle_id: uuid.UUID
    name: str = Field(description="The cycle's name")
    parent_id: uuid.UUID | None = Field(description="The cycle it is nested in; null for a top-level cycle")
    from_status: CycleStatus = Field(description="The status before the move")
    to_status: CycleStatus = Field(description="The status after the move")
    reason: str | None = Field(description="Why, when the move was caused by another (a parent closed); null otherwise")
    actor: str = Field(description=ACTOR)
