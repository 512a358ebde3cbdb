"""The directory event a webhook receiver gets: employees created or changed by the HRIS
bulk import or SCIM (its model, service/kit/events.py)."""

from __future__ import annotations

import uuid
from typing import ClassVar, Literal

from pydantic import Field

from service.kit.events import EventPayload


class EmployeeUpserted(EventPayload):
    """Employees were created or changed by a directory sync; a receiver reads them again."""

    event_type: ClassVar[str] = "employee.upserted"

    employee_ids: list[uuid.UUID] = Field(description="The employees created or changed")
    created: int = Field(description="How many employees were created")
    updated: int = Field(description="How many employees were changed")
    source: Literal["scim"] | None = Field(
        None, description="`scim` when a SCIM provisioning call made the change; absent for the bulk import"
    )
