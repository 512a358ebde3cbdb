"""The incentive events a webhook receiver gets: results finalized for payroll, a
nomination made by a plan run, and a decision on a nomination (their models,
service/kit/events.py)."""

from __future__ import annotations

import uuid
from typing import ClassVar, Literal

from pydantic import Field

from service.kit.events import ACTOR, EventPayload


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


Decision = Literal["approve", "decline", "finalize"]
Decided = Literal["approved", "declined", "finalized"]


class NominationDecided(EventPayload):
    """A nomination (for the promotion track or training) was approved, declined or
    finalized; one event per nomination, for bulk decisions on a plan too."""

    event_type: ClassVar[str] = "nomination.decided"

    nomination_id: uuid.UUID = Field(description="The nomination's id (its incentive result's id)")
    plan_id: uuid.UUID
    cycle_id: uuid.UUID | None = Field(description="The plan's cycle (null when the plan is gone)")
    employee_id: uuid.UUID = Field(description="The nominated employee's id")
    nomination_kind: str | None = Field(description="What the nomination is for: promotion_track or training")
    kind: str | None = Field(
        description="The same as `nomination_kind`; deprecated, use `nomination_kind` (removed in API v2)",
        deprecated=True,
    )
    decision: Decision = Field(description="The decision taken")
    status: Decided = Field(description="The nomination's status after it")
    actor: str = Field(description=ACTOR)


class NominationCreated(EventPayload):
    """A plan run nominated an employee (a draft nomination, for the promotion track or
    training); one event per nomination. A re-run that replaces drafts emits it again for
    the new ones. The scores behind it are in the nomination's `inputs`, not here."""

    event_type: ClassVar[str] = "nomination.created"

    nomination_id: uuid.UUID = Field(description="The nomination's id (its incentive result's id)")
    plan_id: uuid.UUID
    cycle_id: uuid.UUID = Field(description="The plan's cycle")
    employee_id: uuid.UUID = Field(description="The nominated employee's id")
    nomination_kind: str = Field(description="What the nomination is for: promotion_track or training")
    cycles_counted: int = Field(
        description="How many cycles the plan's window held (1: the plan's cycle alone; see `history_cycles`)"
    )
    window_cycle_ids: list[uuid.UUID] = Field(
        description="The cycles of the window, newest first: the plan's cycle, then the earlier ones"
    )
