"""REST models of a data subject's rights."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from pydantic import Field

from service.kit.schemas import Input, Output

Rows = list[dict[str, Any]]


class EraseRequest(Input):
    """Why the person's data is erased: kept in the audit log's `employee.erased` event."""

    reason: str = Field(min_length=1, max_length=2000, description="Why the data is erased (the audit log keeps it)")


class ErasureRead(Output):
    """An erasure: the same answer however often it is asked for."""

    employee_id: uuid.UUID = Field(description="The erased employee")
    erased_at: dt.datetime = Field(description="When the person's data was pseudonymized")


class SubjectExport(Output):
    """Everything held about one person (docs/data-protection.md). Each section is a list
    of the rows of one table, with the table's own field names; peer feedback received
    names no reviewer."""

    employee_id: uuid.UUID = Field(description="The person")
    exported_at: dt.datetime = Field(description="When the export was read (one snapshot)")
    sections: list[str] = Field(description="The names of the sections that follow, in order")
    profile: Rows = Field(description="The employee record")
    scim_identity: Rows = Field(description="The identity provider's view of them (user name, external id)")
    objectives: Rows = Field(description="Objectives they own")
    key_results: Rows = Field(description="Key results they own or of their objectives")
    check_ins: Rows = Field(description="Check-ins on those key results, and those they wrote")
    kpi_assignments: Rows = Field(description="Their KPI assignments")
    kpi_measurements: Rows = Field(description="The measurements of those assignments")
    evaluations_received: Rows = Field(description="Their evaluations (self review, manager review, final)")
    peer_feedback_received: Rows = Field(description="360 feedback about them, without the reviewers' identity")
    evaluations_written: Rows = Field(description="Manager reviews they wrote of others")
    peer_feedback_written: Rows = Field(description="360 feedback they gave")
    interviews: Rows = Field(description="Their review interviews")
    review_meetings: Rows = Field(description="Review meetings about them")
    calibration_adjustments: Rows = Field(description="Calibration adjustments of their score, without the calibrator")
    scores: Rows = Field(description="Their current scores per cycle")
    score_records: Rows = Field(description="Their scores of record, every version")
    incentive_results: Rows = Field(description="Their incentives and payouts")
    development_plans: Rows = Field(description="Their development plans")
    development_tasks: Rows = Field(description="The items (tasks) of those plans")
    audit_events: Rows = Field(description="Audit events about their employee record")
