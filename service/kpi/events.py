"""The KPI event a webhook receiver gets: measurements recorded (its model, service/kit/events.py)."""

from __future__ import annotations

import uuid
from typing import ClassVar

from pydantic import Field

from service.kit.events import EventPayload


class KpiMeasurementCreated(EventPayload):
    """Measurements were recorded or changed, one at a time or by a bulk upload; a
    receiver reads the assignments' measurements again."""

    event_type: ClassVar[str] = "kpi.measurement.created"

    count: int = Field(description="How many measurements were created or changed")
    created: int = Field(description="How many measurements were created")
    updated: int = Field(description="How many measurements were changed")
    assignment_ids: list[uuid.UUID] = Field(description="The KPI assignments whose measurements changed")
    measurement_ids: list[uuid.UUID] = Field(
        default_factory=list,
        description="The measurements' ids; present for a single measurement, absent after a bulk upload",
    )
