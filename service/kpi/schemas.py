"""REST models of the KPI module. Decimals are accepted as JSON strings or numbers and
answered as strings; requests forbid unknown fields."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, model_validator

from service.kit.schemas import DecimalStr, Input, Output, checked_by_service
from service.org.schemas import LevelTarget

Direction = Literal["higher_is_better", "lower_is_better", "target_range"]
Aggregation = Literal["sum", "avg", "last", "min", "max"]
Perspective = Literal["financial", "customer", "internal_process", "learning_growth"]
Method = Literal["banded", "ratio", "range", "binary"]
Number = Annotated[Decimal, Field(max_digits=30, decimal_places=12, allow_inf_nan=False)]
Weight = Annotated[Decimal, Field(gt=0, max_digits=20, decimal_places=8, allow_inf_nan=False)]
Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:\-]*$")]
Name = Annotated[str, Field(min_length=1, max_length=200)]
SourceText = Annotated[str, Field(min_length=1, max_length=100)]
SourceKey = Annotated[str, Field(min_length=1, max_length=200)]


def plain_decimal(value: Decimal) -> Decimal:
    """The same number in plain notation ("1000000", never "1.00E+6") for every decimal
    shown, stored or computed: asyncpg returns some round NUMERICs with an exponent, and a
    sum can come out of the decimal context with one."""
    exponent = value.as_tuple().exponent  # a letter ("n", "N", "F") for a NaN or an infinity
    if value.is_finite() and isinstance(exponent, int) and exponent > 0:
        return Decimal(format(value, "f"))
    return value


Dec = Annotated[DecimalStr, AfterValidator(plain_decimal)]


# --- definitions ---------------------------------------------------------------------------


class KpiDefinitionRead(Output):
    """A KPI of the organization's library: what is measured and how measurements aggregate."""

    id: uuid.UUID
    code: str = Field(description="Unique in the organization (`GMV`)")
    name: str
    unit: str | None
    direction: Direction
    aggregation: str = Field(description="How the measurements of a cycle make the actual: sum, avg, last, min or max")
    perspective: str | None
    description: str | None
    created_at: dt.datetime
    updated_at: dt.datetime


class KpiDefinitionCreate(Input):
    described_like = (KpiDefinitionRead,)

    code: Code
    name: Name
    unit: str | None = Field(None, max_length=40)
    direction: Direction
    aggregation: Aggregation
    perspective: Perspective | None = None
    description: str | None = Field(None, max_length=4000)


class KpiDefinitionUpdate(Input):
    described_like = (KpiDefinitionRead,)

    code: Code | None = None
    name: Name | None = None
    unit: str | None = Field(None, max_length=40)
    direction: Direction | None = None
    aggregation: Aggregation | None = None
    perspective: Perspective | None = None
    description: str | None = Field(None, max_length=4000)


# --- parameters shared by template items and assignments ------------------------------


class ParameterRead(Output):
    method: Method = Field(description="How the actual turns into points: banded, ratio, range or binary")
    weight: Dec
    threshold: Dec | None = Field(description="The actual that earns the threshold points (banded); below it, 0")
    target: Dec | None = Field(description="The actual that earns the target points")
    stretch: Dec | None = Field(description="The actual that earns the cap (banded, optional)")
    range_low: Dec | None = Field(description="The lower bound of the good range (range method)")
    range_high: Dec | None = Field(description="The upper bound of the good range (range method)")
    tolerance: Dec | None = Field(description="How far outside the range points fall to 0 (range method)")
    veto: bool = Field(description="When this KPI scores 0 points the whole KPI component is 0")
    rewardable: bool = Field(description="Whether exceeding the target can earn a KPI excess reward")


class ParameterFields(Input):
    described_like = (ParameterRead,)

    threshold: Number | None = None
    target: Number | None = None
    stretch: Number | None = None
    range_low: Number | None = None
    range_high: Number | None = None
    tolerance: Number | None = None
    veto: bool = False
    rewardable: bool = False


# --- templates -------------------------------------------------------------------------------


class KpiTemplateItemIn(ParameterFields):
    definition_id: uuid.UUID
    method: Method = "banded"
    weight: Weight = Decimal(1)


class KpiTemplateItemRead(ParameterRead):
    """One KPI of a template, with its default parameters."""

    definition_id: uuid.UUID


class KpiTemplateRead(Output):
    """A position's default set of KPIs, or a level's (every position of that level that
    has no template of its own), applied to create assignments."""

    id: uuid.UUID
    name: str
    position_id: uuid.UUID | None = Field(description="The position it is for; null for a level template")
    level: str | None = Field(
        description="The position level it is for, normalized (`Senior Manager` is `senior_manager`); null for a "
        "position template"
    )
    items: list[KpiTemplateItemRead] = Field(description="The KPIs it assigns, with weights and default parameters")
    created_at: dt.datetime
    updated_at: dt.datetime


class KpiTemplateCreate(Input):
    described_like = (KpiTemplateRead,)

    position_id: uuid.UUID | None = None
    level: LevelTarget | None = None
    name: Name | None = Field(None, description="defaults to the position's name, or the level")
    items: list[KpiTemplateItemIn] = Field(
        default_factory=list, max_length=100, description="The KPIs it assigns, with weights and default parameters"
    )

    @model_validator(mode="after")
    def _one_target(self) -> KpiTemplateCreate:
        if (self.position_id is None) == (self.level is None):
            raise ValueError("give exactly one of position_id or level")
        return self


class KpiTemplateUpdate(Input):
    """Setting `position_id` retargets the template to that position (its level becomes
    null), setting `level` to that level (its position becomes null)."""

    described_like = (KpiTemplateRead,)

    position_id: uuid.UUID | None = None
    level: LevelTarget | None = None
    name: Name | None = None
    items: list[KpiTemplateItemIn] | None = Field(None, max_length=100, description="replaces the whole list")

    @model_validator(mode="after")
    def _one_target(self) -> KpiTemplateUpdate:
        if self.position_id is not None and self.level is not None:
            raise ValueError("give at most one of position_id or level")
        return self


class KpiTemplateApply(Input):
    cycle_id: uuid.UUID
    employee_ids: list[uuid.UUID] = Field(min_length=1, max_length=10000)
    effective_from: dt.date | None = Field(
        None,
        description="A move: the day the template's KPIs start (within the cycle). The assignments it creates start "
        "that day, and the employee's assignments in the cycle that came from another template and that this one "
        "does not carry end the day before (`ended`). Left out: the assignments cover the whole cycle and nothing "
        "ends",
    )


class AppliedAssignment(Output):
    employee_id: uuid.UUID
    definition_id: uuid.UUID
    assignment_id: uuid.UUID
    outcome: Literal["created", "skipped"]
    template_id: uuid.UUID = Field(description="The template the assignment comes from")


class EndedAssignment(Output):
    """An assignment a move ended: it counts up to `effective_to`, the day before the new KPIs start."""

    employee_id: uuid.UUID
    definition_id: uuid.UUID
    assignment_id: uuid.UUID
    template_id: uuid.UUID | None = Field(description="The template the ended assignment came from")
    effective_to: dt.date = Field(description="Its last day now: the day before the move")


class KpiTemplateApplyResult(Output):
    created: int
    skipped: int
    assignment_ids: list[uuid.UUID] = Field(
        description="every assignment the template now stands for, created or already there"
    )
    assignments: list[AppliedAssignment] = Field(
        description="One entry per employee and KPI of the template: created, or skipped as already assigned"
    )
    ended: list[EndedAssignment] = Field(
        default_factory=list,
        description="With `effective_from` (a move): the assignments of another template that end the day before; "
        "empty otherwise",
    )


class KpiTemplateResolvedApplyResult(KpiTemplateApplyResult):
    """What applying each employee's own templates did (position templates first, else
    their position level's)."""

    unmatched_employee_ids: list[uuid.UUID] = Field(
        description="Employees no template applies to (no position, or neither it nor its level has a template)"
    )


# --- assignments -------------------------------------------------------------------------


EFFECTIVE_FROM = (
    "The first day the assignment counts (its measurements and, under `kpi_proration`, its target); null is the "
    "cycle's first day. Within the cycle"
)
EFFECTIVE_TO = (
    "The last day the assignment counts; null is the cycle's last day. Within the cycle and not before `effective_from`"
)


class KpiAssignmentCreate(ParameterFields):
    employee_id: uuid.UUID
    cycle_id: uuid.UUID
    definition_id: uuid.UUID
    method: Method = "banded"
    weight: Weight = Decimal(1)
    effective_from: dt.date | None = Field(None, description=EFFECTIVE_FROM)
    effective_to: dt.date | None = Field(None, description=EFFECTIVE_TO)


class KpiAssignmentUpdate(Input):
    """Employee, cycle and definition are fixed; make a new assignment to change them."""

    described_like = (ParameterRead,)

    method: Method | None = None
    weight: Weight | None = None
    threshold: Number | None = None
    target: Number | None = None
    stretch: Number | None = None
    range_low: Number | None = None
    range_high: Number | None = None
    tolerance: Number | None = None
    veto: bool | None = None
    rewardable: bool | None = None
    effective_from: dt.date | None = Field(None, description=EFFECTIVE_FROM + "; send null to clear")
    effective_to: dt.date | None = Field(None, description=EFFECTIVE_TO + "; send null to clear")


class KpiAssignmentRead(ParameterRead):
    """An employee's KPI in a cycle: the definition, how its actual turns into points, and the result so far."""

    id: uuid.UUID
    employee_id: uuid.UUID
    cycle_id: uuid.UUID
    definition_id: uuid.UUID
    template_id: uuid.UUID | None
    effective_from: dt.date | None = Field(description=EFFECTIVE_FROM)
    effective_to: dt.date | None = Field(description=EFFECTIVE_TO)
    kpi_code: str = Field(description="The definition's `code`, for reading without a second request")
    actual: Dec | None = Field(
        description="the definition's aggregation over the measurements dated within the cycle and the assignment's "
        "effective dates; null when there is none"
    )
    points: Dec = Field(description="rounded half-up to 2 places")
    points_exact: Dec = Field(description="unrounded, for further arithmetic")
    missing_data: bool = Field(description="True when no measurement counts yet (the assignment scores 0 points)")
    veto_triggered: bool = Field(
        description="a veto assignment scoring 0 points: the KPI component of the employee becomes 0"
    )
    flags: list[str]
    measurement_count: int = Field(
        description="every measurement recorded on the assignment; only "
        "those dated within the cycle and the effective dates count toward actual"
    )
    created_at: dt.datetime
    updated_at: dt.datetime


# --- measurements ------------------------------------------------------------------------


class KpiMeasurementRead(Output):
    """One measured value of a KPI assignment on a day."""

    id: uuid.UUID
    assignment_id: uuid.UUID
    value: Dec = Field(description="The measured value")
    measured_at: dt.date = Field(description="The day the value is for")
    source: str | None = Field(description="The system it came from (free text)")
    source_key: str | None
    recorded_by: str | None = Field(description="Who recorded it (user id or client id)")
    created_at: dt.datetime
    updated_at: dt.datetime


class KpiMeasurementCreate(Input):
    described_like = (KpiMeasurementRead,)

    value: Number
    measured_at: dt.date
    source: SourceText | None = None
    source_key: SourceKey | None = Field(
        None, description="idempotency key: re-sending it updates (or leaves unchanged) the same measurement"
    )


class KpiMeasurementPut(Input):
    value: Number
    source: SourceText | None = None


class BulkMeasurementRow(Input):
    """A row of `POST /kpi-measurements/bulk`: a value on a date for one KPI assignment,
    addressed by `assignment_id`, or by (`employee_external_id`, `kpi_code`, `cycle_id`)."""

    assignment_id: uuid.UUID | None = None
    employee_external_id: str | None = Field(None, min_length=1, max_length=200)
    kpi_code: str | None = Field(None, min_length=1, max_length=64)
    cycle_id: uuid.UUID | None = None
    value: Number
    measured_at: dt.date
    source: SourceText | None = None
    source_key: SourceKey | None = None


class BulkMeasurementRequest(Input):
    """Measurements to ingest. Each row is validated on its own (as a
    `BulkMeasurementRow`), so a bad row is answered with its errors and, unless `atomic`,
    the others are still applied."""

    rows: list[Annotated[dict[str, Any], checked_by_service(BulkMeasurementRow)]] = Field(min_length=1)


class BulkMeasurementResult(Output):
    """What a bulk load did with one row."""

    described_like = (KpiMeasurementRead,)

    index: int
    outcome: Literal["created", "updated", "unchanged", "error"]
    id: uuid.UUID | None
    assignment_id: uuid.UUID | None
    source_key: str | None
    errors: list[dict[str, Any]] = []


class BulkMeasurementResponse(Output):
    """What a bulk load of measurements did: one result a row, and the counts."""

    results: list[BulkMeasurementResult] = Field(description="One result a row, in the rows' order")
    created: int
    updated: int
    unchanged: int
    errors: int
