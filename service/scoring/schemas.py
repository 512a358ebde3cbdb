"""REST models of scoring policies and scores, with the policy validation rules."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from service.kit.schemas import DecimalStr, Input, Output
from service.org.schemas import LevelTarget

ScopeKind = Literal["organization", "department", "position", "employee", "level"]
KpiProration = Literal["none", "prorate_target", "exclude"]
# What the scoring code writes as plain strings, named once: a score's status
# (`composite.ScoreResult.status`, the pure engine's) and a recompute job's (`jobs`).
# tests/test_graphql_conventions.py checks that the code writes no other value.
ScoreStatus = Literal["scored", "insufficient_data"]
JobStatus = Literal["queued", "running", "succeeded", "failed"]
Num = Decimal


class BandOut(Output):
    """A rating band: a final score at or above `min` earns `rating` (unless a higher band does)."""

    rating: str = Field(description="The band's label (`S`, `A`...)")
    min: DecimalStr = Field(description="The lowest final score, 0 to 1000 points, that earns the band")


class DistributionBandOut(Output):
    """The share of a calibration group a rating band should hold."""

    rating: str = Field(description="The band's label, one of the policy's `bands`")
    pct: DecimalStr = Field(description="The share of the group, 0 to 1 (0.2 is 20 %); the shares sum to 1")


class DistributionOut(Output):
    """A forced-distribution guideline for calibration groups."""

    mode: str = Field(
        description="`advisory` (calibration reports each band's count against the allowed one) or `enforced` "
        "(finalizing a calibration re-rates by rank to fit the shares)"
    )
    bands: list[DistributionBandOut] = Field(description="The share of each rating, best first, as in `bands`")


class ScopeOut(Output):
    """What a policy applies to: the whole organization, one department, position or
    employee, or every position of one level."""

    kind: ScopeKind
    id: uuid.UUID | None = Field(description="The department, position or employee; null for organization and level")
    level: str | None = Field(
        None,
        description="The position level of a `level` scope, normalized (`Senior Manager` is `senior_manager`); "
        "null otherwise",
    )


class PolicyRead(Output):
    """How scores are computed for a scope: component weights, OKR pars and cap, KPI
    points, rating bands and distribution guideline. Versioned: a version in use is
    never changed."""

    id: uuid.UUID
    name: str
    scope: ScopeOut = Field(
        description="What it applies to; the most specific wins: employee, position, level (the position's), "
        "department (nearest), organization"
    )
    version: int
    active: bool = Field(description="Whether the policy applies (an inactive one is kept for history)")
    w_kpi: DecimalStr = Field(description="The weight of the KPI component, 0 to 1; `w_kpi + w_okr + w_eval` is 1")
    w_okr: DecimalStr = Field(description="The weight of the OKR component, 0 to 1")
    w_eval: DecimalStr = Field(description="The weight of the evaluation component, 0 to 1")
    okr_par_committed: DecimalStr = Field(
        description="The objective score a committed objective needs for 100 points (default 1.0)"
    )
    okr_par_aspirational: DecimalStr = Field(
        description="The objective score an aspirational objective needs for 100 points (default 0.7)"
    )
    okr_cap: DecimalStr = Field(
        description="The most an objective's score / par may count, so at most `okr_cap` × 100 points (default 1.2)"
    )
    kpi_threshold_points: DecimalStr = Field(
        description="The points a KPI earns at its threshold (banded method; default 60)"
    )
    kpi_target_points: DecimalStr = Field(description="The points a KPI earns at its target (default 100)")
    kpi_cap: DecimalStr = Field(
        description="The most points one KPI can earn (banded: at or past its stretch; ratio: the clamp), "
        "default 120; at least the target points"
    )
    rating_scale: int = Field(
        description="N of the 1..N scale of manager and peer ratings, 2 to 100 (default 5); a rating r is worth "
        "100 × r / N points"
    )
    peer_weight: DecimalStr = Field(
        description="The share of 360 peer ratings in the evaluation component, 0 to 1 (default 0: the manager's "
        "rating alone)"
    )
    bands: list[BandOut] = Field(
        description="The rating bands, best first, in strictly descending `min` (default S 110, A 95, B 80, C 60, D 0)"
    )
    distribution: DistributionOut | None = Field(
        description="A forced-distribution guideline for calibration; null when there is none"
    )
    kpi_proration: KpiProration = Field(
        description="KPIs of a person present for part of the cycle (hired or terminated within it): `none` "
        "(targets as assigned), `prorate_target` (summed KPIs' targets scaled by days present / days in the "
        "assignment's cycle) or `exclude` (no KPI component; the other components re-weight)"
    )
    created_at: dt.datetime
    updated_at: dt.datetime


class Scope(Input):
    described_like = (ScopeOut,)

    kind: ScopeKind
    id: uuid.UUID | None = None
    level: LevelTarget | None = None

    @model_validator(mode="after")
    def _id(self) -> Scope:
        if self.kind in ("organization", "level") and self.id is not None:
            raise ValueError(f"{'an' if self.kind == 'organization' else 'a'} {self.kind} scope takes no id")
        if self.kind not in ("organization", "level") and self.id is None:
            raise ValueError(f"a {self.kind} scope needs an id")
        if self.kind == "level" and self.level is None:
            raise ValueError("a level scope needs a level")
        if self.kind != "level" and self.level is not None:
            raise ValueError("only a level scope takes a level")
        return self


class Band(Input):
    described_like = (BandOut,)

    rating: str = Field(min_length=1, max_length=10)
    min: Num = Field(ge=0, le=1000)


class DistributionBand(Input):
    described_like = (DistributionBandOut,)

    rating: str = Field(min_length=1, max_length=10)
    pct: Num = Field(ge=0, le=1)


class DistributionIn(Input):
    described_like = (DistributionOut,)

    mode: Literal["advisory", "enforced"]
    bands: list[DistributionBand] = Field(min_length=1)

    @model_validator(mode="after")
    def _sum(self) -> DistributionIn:
        if sum((b.pct for b in self.bands), Decimal(0)) != 1:
            raise ValueError("distribution percentages must sum to 1")
        if len({b.rating for b in self.bands}) != len(self.bands):
            raise ValueError("distribution ratings must be unique")
        return self


DEFAULT_BAND_LIST = [
    {"rating": "S", "min": Decimal(110)},
    {"rating": "A", "min": Decimal(95)},
    {"rating": "B", "min": Decimal(80)},
    {"rating": "C", "min": Decimal(60)},
    {"rating": "D", "min": Decimal(0)},
]


class PolicyParamsIn(Input):
    """Every parameter of API.md; defaults are SPEC's."""

    described_like = (PolicyRead,)

    w_kpi: Num = Field(ge=0, le=1)
    w_okr: Num = Field(ge=0, le=1)
    w_eval: Num = Field(ge=0, le=1)
    okr_par_committed: Num = Field(Decimal("1.0"), gt=0, le=10)
    okr_par_aspirational: Num = Field(Decimal("0.7"), gt=0, le=10)
    okr_cap: Num = Field(Decimal("1.2"), gt=0, le=10)
    kpi_threshold_points: Num = Field(Decimal(60), ge=0, le=1000)
    kpi_target_points: Num = Field(Decimal(100), gt=0, le=1000)
    kpi_cap: Num = Field(Decimal(120), gt=0, le=1000)
    rating_scale: int = Field(5, ge=2, le=100)
    peer_weight: Num = Field(Decimal(0), ge=0, le=1)
    bands: list[Band] = Field(default_factory=lambda: [Band(**b) for b in DEFAULT_BAND_LIST], min_length=1)
    distribution: DistributionIn | None = None
    kpi_proration: KpiProration = "none"

    @model_validator(mode="after")
    def _rules(self) -> PolicyParamsIn:
        if self.w_kpi + self.w_okr + self.w_eval != 1:
            raise ValueError("w_kpi + w_okr + w_eval must equal 1")
        mins = [b.min for b in self.bands]
        if any(a <= b for a, b in zip(mins, mins[1:], strict=False)):
            raise ValueError("bands must be in strictly descending order of min")
        if len({b.rating for b in self.bands}) != len(self.bands):
            raise ValueError("band ratings must be unique")
        if not self.kpi_threshold_points < self.kpi_target_points <= self.kpi_cap:
            raise ValueError("kpi_threshold_points < kpi_target_points <= kpi_cap is required")
        if self.distribution is not None:
            if [b.rating for b in self.distribution.bands] != [b.rating for b in self.bands]:
                raise ValueError("distribution bands must name the policy's ratings, best first")
        return self


class PolicyCreate(PolicyParamsIn):
    name: str = Field(min_length=1, max_length=200)
    scope: Scope


class PolicyUpdate(Input):
    """An edit makes a new version; fields left out keep the current version's values."""

    described_like = (PolicyRead,)

    name: str | None = Field(None, min_length=1, max_length=200)
    w_kpi: Num | None = None
    w_okr: Num | None = None
    w_eval: Num | None = None
    okr_par_committed: Num | None = None
    okr_par_aspirational: Num | None = None
    okr_cap: Num | None = None
    kpi_threshold_points: Num | None = None
    kpi_target_points: Num | None = None
    kpi_cap: Num | None = None
    rating_scale: int | None = None
    peer_weight: Num | None = None
    bands: list[Band] | None = None
    distribution: DistributionIn | None = None
    kpi_proration: KpiProration | None = None
    active: bool | None = None


class PolicyRef(Output):
    """The scoring policy version a score was computed with."""

    id: uuid.UUID | None = Field(description="The scoring policy's id (null for the built-in defaults)")
    version: int = Field(description="The version of the policy used")


class ScoreRead(Output):
    """An employee's score in a cycle: component points, composite, calibration, final and rating."""

    employee_id: uuid.UUID
    cycle_id: uuid.UUID
    status: ScoreStatus = Field(description="Whether a score could be computed (scored) or there was too little data")
    components: dict[str, DecimalStr | None] = Field(
        description="The points of each component, by name (`kpi`, `okr`, `eval`), 0 to 1000 points; null for a "
        "component with no data"
    )
    weights: dict[str, DecimalStr] = Field(
        description="The weight each component counted with (`kpi`, `okr`, `eval`), 0 to 1: the policy's, scaled up "
        "to sum to 1 over the components present (flag `reweighted`)"
    )
    composite: DecimalStr | None
    calibration_delta: DecimalStr
    final: DecimalStr | None
    rating: str | None
    flags: list[str]
    policy: PolicyRef = Field(description="The scoring policy and version it was computed with")
    official: bool = Field(
        description="true: the score of record, frozen at finalization (only an amendment "
        "changes it); false: computed live from the current inputs"
    )
    finalized_at: dt.datetime | None = Field(description="when the result became official (null while live)")
    record_version: int | None = Field(
        description="the version of the record answered (1, then one more per amendment); null while live"
    )
    explanation: dict[str, Any] | None = None


class ScoreVersionRead(ScoreRead):
    """One version of a score of record, with how it came to be."""

    source: Literal["calibration", "cycle_closed", "amendment"] = Field(
        description="what wrote this version: a finalized calibration session, the cycle's closing, or an amendment"
    )
    calibration_id: uuid.UUID | None
    reason: str | None = Field(description="the amendment's reason")
    changes: dict[str, Any] | None = Field(description="what the amendment changed: {field: {before, after}}")
    created_by: str
    created_at: dt.datetime


Points = Annotated[Decimal, Field(ge=0, le=1000, max_digits=12, decimal_places=4, allow_inf_nan=False)]


class AmendmentCreate(Input):
    """An amendment of one employee's official result: a new final (the rating follows
    the policy's bands unless given too), or a new rating, or both, with a reason."""

    employee_id: uuid.UUID
    final: Points | None = Field(default=None, description="the corrected final points")
    rating: str | None = Field(
        default=None,
        min_length=1,
        max_length=10,
        description="the corrected rating (one of the policy's bands); by default the band of the final",
    )
    reason: str = Field(min_length=1, max_length=4000)

    @model_validator(mode="after")
    def _something(self) -> AmendmentCreate:
        if self.final is None and self.rating is None:
            raise ValueError("an amendment changes the final, the rating or both")
        if not self.reason.strip():
            raise ValueError("an amendment needs a reason")
        return self


class Correction(Output):
    """What an amendment did to an incentive plan of the cycle that depends on the score."""

    plan_id: uuid.UUID
    plan_kind: str = Field(description="The kind of plan corrected")
    action: Literal["adjustment_created", "payment_created", "unchanged", "not_finalized", "review"] = Field(
        description="adjustment_created: a draft correction of a paid result; payment_created: a new draft "
        "payment; unchanged; not_finalized: the result is not paid yet (run the plan again); review: "
        "a nomination or a pool share that people decide"
    )
    result_id: uuid.UUID | None = Field(
        description="the correction (or new payment) created, else the result concerned"
    )
    amount_minor: int | None = Field(description="the correction's signed amount in minor units")
    currency: str | None
    detail: str = Field(description="What changed, in words")


class AmendmentRead(Output):
    """A change to an official score after finalization, with what it did to dependent incentives."""

    score: ScoreVersionRead
    previous_version: int = Field(description="The version of the score it replaced")
    corrections: list[Correction] = Field(description="The incentive results it corrected")


class RecomputeJobRead(Output):
    """A background recompute of a cycle's scores."""

    id: uuid.UUID
    cycle_id: uuid.UUID
    status: JobStatus
    employees: int | None = Field(description="How many employees it covers (null until known)")
    changed: int | None = Field(description="How many scores changed (null until finished)")
    error: str | None = Field(description="Why it failed (null unless it did)")
    attempts: int = Field(
        description="The most runs any of its chunks has started (a chunk whose runner stopped is retried, up to 3)"
    )
    total: int | None = Field(description="Employees it scores (the cycle's population when queued)")
    done: int = Field(description="Employees scored so far: `done/total` is its progress")
    reason: str = Field(
        description="Why it runs: `requested` (a recompute was asked for) or `refresh` (inputs changed)"
    )
    created_at: dt.datetime
    started_at: dt.datetime | None = Field(description="When it started (null while queued)")
    finished_at: dt.datetime | None = Field(description="When it finished (null while running)")

    @field_validator("error")
    @classmethod
    def _short(cls, v: str | None) -> str | None:
        return v[:500] if v else v
