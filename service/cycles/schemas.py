"""REST models of cycles."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import Field, model_validator

from service.kit.schemas import Input, Output

Cadence = Literal["annual", "semiannual", "quarterly", "bimonthly", "8_weeks", "6_weeks", "monthly", "custom"]
CycleStatus = Literal["planning", "active", "review", "calibration", "closed"]
ChildCadence = Literal["semiannual", "quarterly", "bimonthly", "8_weeks", "6_weeks", "monthly"]


class CycleCreate(Input):
    name: str = Field(min_length=1, max_length=200)
    cadence: Cadence = Field(description="How long the cycle is (`custom` for any other length)")
    start_date: dt.date
    end_date: dt.date
    parent_id: uuid.UUID | None = None

    @model_validator(mode="after")
    def _dates(self) -> CycleCreate:
        if self.end_date <= self.start_date:
            raise ValueError("end_date must be after start_date")
        return self


class CycleUpdate(Input):
    name: str | None = Field(None, min_length=1, max_length=200)
    start_date: dt.date | None = None
    end_date: dt.date | None = None


class CycleTransition(Input):
    to: CycleStatus = Field(
        description="The status to move to: planning to active to review to calibration to closed (review may "
        "go back to active); any other move is a 409"
    )


class CycleChildren(Input):
    cadence: ChildCadence = Field(
        description="The length of each child cycle: the parent's dates are split into consecutive children "
        "of this length"
    )


class CycleRead(Output):
    """A performance period (a year, a half, a quarter...); cycles nest (`parent_id`) and
    move through planning, active, review, calibration and closed."""

    id: uuid.UUID
    name: str
    cadence: Cadence = Field(description="How long the cycle is")
    start_date: dt.date
    end_date: dt.date
    parent_id: uuid.UUID | None
    status: CycleStatus = Field(description="Where the cycle is: planning, active, review, calibration or closed")
    created_at: dt.datetime
    updated_at: dt.datetime
