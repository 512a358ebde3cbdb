"""REST models of the incentives module, and the validation of each plan kind's
parameters (SPEC section 8, "Parameter names"). Requests forbid unknown fields; money is
an integer count of minor units; decimals are accepted as strings or numbers and
answered as strings."""

from __future__ import annotations

import datetime as dt
import inspect
import uuid
from decimal import Decimal
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import ConfigDict, Field, GetJsonSchemaHandler, TypeAdapter, field_validator, model_validator
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from service.incentives import calc
from service.kit.money import is_currency
from service.kit.patch_schema import merge_patch_model
from service.kit.schemas import Input, Output, checked_by_service
from service.org.schemas import EmployeeStatus

PlanKind = Literal["short_term_bonus", "kpi_excess_reward", "okr_breakthrough"]
ResultStatus = Literal["draft", "approved", "finalized", "declined"]
ResultKind = Literal["payment", "nomination", "adjustment"]
NominationKind = Literal["promotion_track", "training"]
BonusBasis = Literal["rating", "score", "kpi_points"]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Minor = Annotated[int, Field(ge=0, le=10**15)]
Rating = Annotated[str, Field(min_length=1, max_length=10)]
EarningCode = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:\-]*$")]
Factor = Annotated[Decimal, Field(ge=0, le=100, max_digits=20, decimal_places=8, allow_inf_nan=False)]
Comment = Annotated[str, Field(min_length=1, max_length=2000)]


def _currency(v: str | None) -> str | None:
    if v is not None and not is_currency(v.upper()):
        raise ValueError("not an ISO 4217 currency code")
    return v.upper() if v is not None else None


def _unique(values: list[Any], what: str) -> list[Any]:
    if len(set(values)) != len(values):
        raise ValueError(f"{what} must not repeat")
    return values


# --- plan parameters, one model per kind --------------------------------------------------------


class PlanParams(Input):
    """A plan kind's parameters. One schema serves requests and answers alike (the
    request's: a decimal as a string or a number; answers always hold strings), so each
    model is one component of the OpenAPI document and one class of a generated client."""

    model_config = ConfigDict(json_schema_mode_override="validation")


def _default_statuses() -> list[EmployeeStatus]:
    return list(calc.DEFAULT_STATUSES)


class EligibilityParams(PlanParams):
    """Who may receive a result. Departments match with their sub-departments."""

    statuses: list[EmployeeStatus] = Field(default_factory=_default_statuses, min_length=1)
    min_tenure_days: int = Field(0, ge=0, le=36500)
    include_departments: list[uuid.UUID] = Field(default_factory=list, max_length=1000)
    exclude_departments: list[uuid.UUID] = Field(default_factory=list, max_length=1000)
    include_positions: list[uuid.UUID] = Field(default_factory=list, max_length=1000)
    exclude_positions: list[uuid.UUID] = Field(default_factory=list, max_length=1000)

    _u = field_validator("statuses")(lambda v: _unique(v, "statuses"))


KpiPointsValue = Annotated[Decimal, Field(ge=0, le=1000, max_digits=12, decimal_places=4, allow_inf_nan=False)]


class KpiBand(PlanParams):
    """A band of basis `kpi_points`: KPI component points at or above `min` (rounded to 2
    places) earn `multiplier`, unless a higher band takes them."""

    label: Annotated[str, Field(min_length=1, max_length=40)] = Field(
        description="The band's name, shown in each result's explanation"
    )
    min: KpiPointsValue = Field(description="The lowest KPI component points, 0 to 1000, that earn the band")
    multiplier: Factor = Field(description="What the target bonus is multiplied by in this band")


def _default_kpi_bands() -> list[KpiBand]:
    return [KpiBand(label=label, min=low, multiplier=m) for label, low, m in calc.DEFAULT_KPI_BANDS]


class ShortTermBonusParams(PlanParams):
    """`short_term_bonus`: target bonus times the multiplier of the employee's rating, final
    score or KPI component points (`basis`)."""

    basis: BonusBasis = Field(
        "rating",
        description="What sets the multiplier: `rating` (the `multipliers` table), `score` (final / 100, capped) "
        "or `kpi_points` (the band of `kpi_bands` the KPI component's points fall in)",
    )
    multipliers: dict[Rating, Factor] = Field(default_factory=lambda: dict(calc.DEFAULT_MULTIPLIERS))
    kpi_bands: list[KpiBand] = Field(
        default_factory=_default_kpi_bands,
        min_length=1,
        max_length=20,
        description="Basis `kpi_points`: the bands, best first, in strictly descending `min`; KPI points below "
        "the lowest band get no result (`no_kpi_band`)",
    )
    multiplier_cap: Annotated[Decimal, Field(gt=0, le=100, max_digits=20, decimal_places=8, allow_inf_nan=False)] = (
        calc.DEFAULT_MULTIPLIER_CAP
    )
    min_score: Annotated[Decimal, Field(ge=0, le=1000, max_digits=12, decimal_places=4)] = calc.DEFAULT_MIN_SCORE
    pool_minor: Minor | None = None
    earning_code: EarningCode = calc.DEFAULT_EARNING_CODES["short_term_bonus"]
    eligibility: EligibilityParams = Field(default_factory=EligibilityParams)

    @field_validator("multipliers")
    @classmethod
    def _table(cls, v: dict[str, Decimal]) -> dict[str, Decimal]:
        if not v:
            raise ValueError("the multiplier table needs at least one rating")
        if len(v) > 20:
            raise ValueError("at most 20 ratings")
        return v

    @field_validator("kpi_bands")
    @classmethod
    def _bands(cls, v: list[KpiBand]) -> list[KpiBand]:
        """Best first and strictly descending, as a policy's rating bands: each band
        then covers the points from its `min` up to the next band's, so no two overlap."""
        mins = [b.min for b in v]
        if any(a <= b for a, b in zip(mins, mins[1:], strict=False)):
            raise ValueError("kpi_bands must be in strictly descending order of min")
        _unique([b.label for b in v], "kpi_bands labels")
        return v


class KpiExcessRewardParams(PlanParams):
    """`kpi_excess_reward`: an amount per point of KPI achievement above target."""

    amount_per_point_minor: Minor
    cap_per_employee_minor: Minor | None = None
    earning_code: EarningCode = calc.DEFAULT_EARNING_CODES["kpi_excess_reward"]
    eligibility: EligibilityParams = Field(default_factory=EligibilityParams)


class OkrBreakthroughParams(PlanParams):
    """`okr_breakthrough`: a nomination for employees with an outstanding objective and rating."""

    min_objective_score: Annotated[Decimal, Field(ge=0, le=1, max_digits=6, decimal_places=4)] = (
        calc.DEFAULT_MIN_OBJECTIVE_SCORE
    )
    ratings: list[Rating] = Field(default_factory=lambda: list(calc.DEFAULT_RATINGS), min_length=1, max_length=20)
    nomination_kind: NominationKind = calc.DEFAULT_NOMINATION_KIND
    history_cycles: int = Field(
        calc.DEFAULT_HISTORY_CYCLES,
        ge=1,
        le=calc.MAX_HISTORY_CYCLES,
        description="How many cycles the rule looks at: the plan's cycle and the `history_cycles - 1` most recent "
        "earlier cycles of the same cadence that ended before it started (4 with a quarterly cycle: the last four "
        "quarters); fewer when fewer exist",
    )
    min_breakthrough_cycles: int = Field(
        calc.DEFAULT_MIN_BREAKTHROUGH_CYCLES,
        ge=1,
        le=calc.MAX_HISTORY_CYCLES,
        description="In how many cycles of the window the employee must own an aspirational objective scored at or "
        "above `min_objective_score`; at most `history_cycles`",
    )
    min_average_okr_score: Annotated[Decimal, Field(ge=0, le=1, max_digits=6, decimal_places=4)] | None = Field(
        None,
        description="When set, the mean over the window's cycles of the employee's OKR grade (per cycle the "
        "weighted mean, by objective weight, of their scored objectives' scores, 0 to 1; cycles without one left "
        "out), rounded to 4 places, must be at least this",
    )
    eligibility: EligibilityParams = Field(default_factory=EligibilityParams)

    _u = field_validator("ratings")(lambda v: _unique(v, "ratings"))

    @model_validator(mode="after")
    def _window(self) -> OkrBreakthroughParams:
        if self.min_breakthrough_cycles > self.history_cycles:
            raise ValueError("min_breakthrough_cycles must not exceed history_cycles")
        return self


PARAMS_MODELS: dict[str, type[PlanParams]] = {
    "short_term_bonus": ShortTermBonusParams,
    "kpi_excess_reward": KpiExcessRewardParams,
    "okr_breakthrough": OkrBreakthroughParams,
}


# --- plans --------------------------------------------------------------------------------------


PARAMS_DESCRIPTION = "the kind's parameters (SPEC section 8); defaults filled in"


class PlanCreateFields(Input):
    """What every plan to create has besides its `kind` and `params`: shared by the
    request model and the contract's model of each kind."""

    name: Name
    cycle_id: uuid.UUID
    currency: str | None = Field(
        None, min_length=3, max_length=3, description="ISO 4217; the organization's currency when left out"
    )

    _cur = field_validator("currency")(_currency)


class ShortTermBonusPlanCreate(PlanCreateFields):
    """A `short_term_bonus` plan to create."""

    kind: Literal["short_term_bonus"]
    params: ShortTermBonusParams = Field(default_factory=ShortTermBonusParams, description=PARAMS_DESCRIPTION)


class KpiExcessRewardPlanCreate(PlanCreateFields):
    """A `kpi_excess_reward` plan to create."""

    kind: Literal["kpi_excess_reward"]
    params: KpiExcessRewardParams = Field(description=PARAMS_DESCRIPTION)


class OkrBreakthroughPlanCreate(PlanCreateFields):
    """An `okr_breakthrough` plan to create."""

    kind: Literal["okr_breakthrough"]
    params: OkrBreakthroughParams = Field(default_factory=OkrBreakthroughParams, description=PARAMS_DESCRIPTION)


# The contract of `IncentivePlanCreate`: one model a kind, told apart by `kind`.
PLAN_CREATE_BY_KIND: TypeAdapter[Any] = TypeAdapter(
    Annotated[
        ShortTermBonusPlanCreate | KpiExcessRewardPlanCreate | OkrBreakthroughPlanCreate, Field(discriminator="kind")
    ]
)


def _by_kind(adapter: TypeAdapter[Any], handler: GetJsonSchemaHandler, title: str, doc: str | None) -> JsonSchemaValue:
    """A model's schema as the `oneOf` by `kind` of `adapter` (with its `discriminator`
    mapping; each kind's model becomes a component of its own), under the model's name."""
    schema = handler(adapter.core_schema)
    return {"title": title, **({"description": inspect.cleandoc(doc)} if doc else {}), **schema}


class IncentivePlanCreate(PlanCreateFields):
    """An incentive plan to create: `params` is the model of its `kind`. The body is read
    as one object and `params` validated by the kind named (its errors at
    `["body", "params", ...]`, every default filled in), exactly as the contract's
    `oneOf` by `kind` describes it."""

    kind: PlanKind
    params: dict[str, Any] = Field(default_factory=dict, description=PARAMS_DESCRIPTION)

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        return _by_kind(PLAN_CREATE_BY_KIND, handler, cls.__name__, cls.__doc__)


# A change of `params` is a merge patch of the stored plan's kind's parameters.
ParamsPatch = Annotated[
    dict[str, Any] | None,
    checked_by_service(
        merge_patch_model(ShortTermBonusParams, PlanParams)
        | merge_patch_model(KpiExcessRewardParams, PlanParams)
        | merge_patch_model(OkrBreakthroughParams, PlanParams)
        | None
    ),
]


class IncentivePlanUpdate(Input):
    name: Name | None = None
    cycle_id: uuid.UUID | None = None
    currency: str | None = Field(None, min_length=3, max_length=3)
    params: ParamsPatch = Field(
        None,
        description="merged into the stored parameters (RFC 7386: a null removes a key, so its default applies "
        "again); the stored plan's kind decides which parameters",
    )

    _cur = field_validator("currency")(_currency)


K = TypeVar("K")
P = TypeVar("P")


class PlanReadFields(Output, Generic[K, P]):
    """A plan as answered, its `kind` and `params` left open: the answer model takes any
    kind and the stored parameters, the contract's model of each kind its own."""

    id: uuid.UUID
    name: str
    kind: K
    cycle_id: uuid.UUID
    currency: str
    params: P | None = Field(
        description="null for callers who may not see plan parameters (pools and rates are pay data)"
    )
    version: int
    last_run_at: dt.datetime | None = Field(description="When it was last run (null before the first run)")
    created_at: dt.datetime
    updated_at: dt.datetime


class ShortTermBonusPlanRead(PlanReadFields[Literal["short_term_bonus"], ShortTermBonusParams]):
    """A `short_term_bonus` plan."""


class KpiExcessRewardPlanRead(PlanReadFields[Literal["kpi_excess_reward"], KpiExcessRewardParams]):
    """A `kpi_excess_reward` plan."""


class OkrBreakthroughPlanRead(PlanReadFields[Literal["okr_breakthrough"], OkrBreakthroughParams]):
    """An `okr_breakthrough` plan."""


PLAN_READ_BY_KIND: TypeAdapter[Any] = TypeAdapter(
    Annotated[ShortTermBonusPlanRead | KpiExcessRewardPlanRead | OkrBreakthroughPlanRead, Field(discriminator="kind")]
)


class IncentivePlanRead(PlanReadFields[PlanKind, dict[str, Any]]):
    """An incentive plan of a cycle: a short-term bonus, a KPI excess reward or an OKR
    breakthrough nomination, with its parameters."""

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        return _by_kind(PLAN_READ_BY_KIND, handler, cls.__name__, cls.__doc__)


class RunSkip(Output):
    """An employee a run gave no result, and why."""

    employee_id: uuid.UUID
    reason: str


class IncentiveRunRead(Output):
    """What a run of an incentive plan did: the drafts it wrote, replaced, kept and skipped."""

    plan_id: uuid.UUID
    cycle_id: uuid.UUID
    kind: PlanKind
    population: int = Field(description="employees of the cycle's population")
    created: int = Field(description="draft results written by this run")
    replaced: int = Field(description="earlier drafts this run replaced")
    kept: int = Field(description="approved, finalized or declined results left untouched")
    skipped: dict[str, int] = Field(description="employees without a result, counted by reason")
    skipped_employees: list[RunSkip] = Field(description="Each skipped employee and why")
    total_minor: int | None = Field(description="sum of the new drafts (money plans)")
    pool: dict[str, Any] | None = Field(description="How the pool was applied (money plans with a pool), a JSON object")
    result_ids: list[uuid.UUID]


class BulkActionRead(Output):
    """What a bulk approval or finalization of results did."""

    plan_id: uuid.UUID
    action: str
    count: int
    result_ids: list[uuid.UUID]


# --- results ------------------------------------------------------------------------------------


class ResultAction(Input):
    comment: Comment | None = None


class ResultAdjustmentCreate(Input):
    """A correction of a finalized result: give the signed change (`amount_minor`) or the
    corrected total (`corrected_amount_minor`), and why."""

    amount_minor: int | None = Field(None, ge=-(10**15), le=10**15, description="signed change, not 0")
    corrected_amount_minor: Minor | None = Field(
        None, description="the corrected total; the change is this minus the original and its adjustments"
    )
    reason: Comment

    @model_validator(mode="after")
    def _one(self) -> ResultAdjustmentCreate:
        if (self.amount_minor is None) == (self.corrected_amount_minor is None):
            raise ValueError("give exactly one of amount_minor and corrected_amount_minor")
        if self.amount_minor == 0:
            raise ValueError("an adjustment of 0 changes nothing")
        return self


class PayrollAckInfo(Output):
    """Payroll's acknowledgement of a result, as the feed shows it."""

    payroll_reference: str
    acknowledged_at: dt.datetime
    acknowledged_by: str


class IncentiveResultRead(Output):
    """What an incentive plan gives an employee: an amount or a nomination, through draft,
    approved, finalized (or declined)."""

    id: uuid.UUID
    plan_id: uuid.UUID
    employee_id: uuid.UUID
    kind: ResultKind
    status: ResultStatus
    amount_minor: int | None = Field(
        description="minor units; null for nominations and for callers who may not see pay (managers, auditors)"
    )
    amount: str | None = Field(description="amount_minor in major units with the currency's decimals")
    currency: str | None
    amount_visible: bool = Field(description="Whether the caller may see the amount")
    nomination: str | None = Field(description="promotion_track or training (okr_breakthrough plans)")
    nomination_kind: NominationKind | None = Field(
        description="The same as `nomination`, under the name `/nominations` and the events use: promotion_track "
        "or training (okr_breakthrough plans), null for payments"
    )
    earning_code: str | None = Field(description="The payroll earning code it is paid under")
    period_start: dt.date
    period_end: dt.date
    inputs: dict[str, Any] = Field(
        description="the snapshot every amount is recomputed from; its `money` part only for those who may see pay"
    )
    version: int
    adjusts_id: uuid.UUID | None
    reason: str | None
    decision_comment: str | None
    approved_at: dt.datetime | None
    approved_by: str | None
    finalized_at: dt.datetime | None
    finalized_by: str | None
    declined_at: dt.datetime | None
    declined_by: str | None
    payroll: PayrollAckInfo | None = Field(description="Payroll's acknowledgement (null until acknowledged)")
    created_by: str
    created_at: dt.datetime
    updated_at: dt.datetime


# --- payroll ------------------------------------------------------------------------------------


class PayrollResultRead(Output):
    """One finalized money result as payroll reads it."""

    id: uuid.UUID
    sequence: int = Field(description="the result's position in the organization's payroll feed")
    employee_id: uuid.UUID
    employee_external_id: str = Field(description="The employee's id in the HRIS")
    plan_id: uuid.UUID
    plan: str = Field(description="The incentive plan's name")
    period_start: dt.date
    period_end: dt.date
    earning_code: str | None = Field(description="The payroll earning code it is paid under")
    amount_minor: int
    amount: str = Field(description="amount_minor in major units with the currency's decimals")
    currency: str
    kind: ResultKind
    adjusts_id: uuid.UUID | None
    finalized_at: dt.datetime
    payroll: PayrollAckInfo | None = Field(description="Payroll's acknowledgement (null until acknowledged)")


class PayrollPage(Output):
    """A page of the payroll feed: finalized results, oldest first."""

    items: list[PayrollResultRead] = Field(description="The finalized results of this page, in feed order")
    next_cursor: str | None = Field(description="the next page; null when this page reached the end")
    resume_cursor: str | None = Field(
        description="where to continue later: after the last result returned (or the cursor given)"
    )


class PayrollAckCreate(Input):
    payroll_reference: Annotated[str, Field(min_length=1, max_length=200)]


class PayrollAckRead(Output):
    """Payroll's acknowledgement of a result: its reference in the payroll system."""

    result_id: uuid.UUID
    payroll_reference: str = Field(description="The result's reference in the payroll system")
    acknowledged_at: dt.datetime
    acknowledged_by: str


# --- nominations ----------------------------------------------------------------------------------


class NominationRead(Output):
    """An okr_breakthrough result seen as a nomination: who, for what, why, and its
    decision (approved or declined; finalized locks it)."""

    id: uuid.UUID
    plan_id: uuid.UUID
    employee_id: uuid.UUID
    nomination_kind: NominationKind = Field(description="What the nomination is for: promotion_track or training")
    kind: NominationKind = Field(
        description="The same as `nomination_kind`; deprecated, use `nomination_kind` (removed in API v2)",
        deprecated=True,
    )
    status: ResultStatus
    period_start: dt.date
    period_end: dt.date
    inputs: dict[str, Any] = Field(description="rating, criteria and the objectives that qualified")
    decision_comment: str | None
    approved_at: dt.datetime | None
    approved_by: str | None
    declined_at: dt.datetime | None
    declined_by: str | None
    finalized_at: dt.datetime | None
    development_plan_id: uuid.UUID | None = Field(
        None, description="The development plan made for the nomination; null when none"
    )
    review_meeting_id: uuid.UUID | None = Field(
        None, description="The review meeting whose improvement plan the development plan follows up; null when none"
    )
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime
