"""The incentive event a webhook receiver gets: results finalized for payroll (its model,
service/kit/events.py)."""

from __future__ import annotations

import uuid
from typing import ClassVar

from pydantic import Field

from service.kit.events import EventPayload


class IncentiveFinalized(EventPayload):
    """Incentive results of a plan were finalized: the ones with an amount are in the
    payroll feed now, under the sequence numbers given."""

    event_type: ClassVar[str] = "incentive.finalized"

    plan_id: uuid.UUID
    cycle_id: uuid.UUID | None = Field(description="The plan's cycle (null when the plan is gone)")
    result_ids: list[uuid.UUID] = Field(description="The incentive results finalized (the first 10,000)")
    count: int = Field(description="How many results were finalized")
    payroll_sequences: list[int] = Field(
        description="The payroll feed's sequence numbers given to the results with an amount (the first 10,000)"
    )
