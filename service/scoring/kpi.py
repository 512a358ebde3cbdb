"""KPI scoring, SPEC section 5: the actual (aggregation within the cycle), points per
method, and the KPI component with veto. Pure: frozen inputs, Decimal results."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from service.scoring.numbers import HUNDRED, ONE, ZERO, clamp, div
from service.scoring.policy import PolicyParams
from service.scoring.proration import Presence, exclude, prorate, window, window_explained

DIRECTIONS = ("higher_is_better", "lower_is_better", "target_range")
AGGREGATIONS = ("sum", "avg", "last", "min", "max")
METHODS = ("banded", "ratio", "range", "binary")


@dataclass(frozen=True, slots=True)
class Measurement:
    value: Decimal
    measured_at: dt.date
    created_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class MeasurementSummary:
    """What the aggregations read of the measurements dated within the window: how many,
    their sum, the smallest, the largest, and the last (the latest `measured_at`; ties go
    to the latest created, then to the first given). A bulk loader may compute it in the
    database (`service.kpi.scoring_inputs`); `summarize` is the rule."""

    count: int
    total: Decimal
    minimum: Decimal
    maximum: Decimal
    last: Decimal


@dataclass(frozen=True, slots=True)
class AssignmentIn:
    id: uuid.UUID | None
    method: str
    direction: str
    aggregation: str
    weight: Decimal = ONE
    threshold: Decimal | None = None
    target: Decimal | None = None
    stretch: Decimal | None = None
    range_low: Decimal | None = None
    range_high: Decimal | None = None
    tolerance: Decimal | None = None
    veto: bool = False
    rewardable: bool = False
    measurements: tuple[Measurement, ...] = ()
    code: str = ""
    # The assignment's own cycle; when set it bounds the actual instead of the caller's window.
    cycle_start: dt.date | None = None
    cycle_end: dt.date | None = None
    # Its effective dates (a move mid-cycle): they narrow the cycle to the days it counts.
    effective_from: dt.date | None = None
    effective_to: dt.date | None = None
    # The measurements already summarized within the assignment's window (then
    # `measurements` is not read): None with `summarized` means there was none.
    summary: MeasurementSummary | None = None
    summarized: bool = False


_EPOCH = dt.datetime.min.replace(tzinfo=dt.UTC)


def _last_key(m: Measurement) -> tuple[dt.date, dt.datetime]:
    return m.measured_at, m.created_at or _EPOCH


def summarize(
    measurements: Sequence[Measurement], start: dt.date | None = None, end: dt.date | None = None
) -> MeasurementSummary | None:
    """The summary of the measurements dated within [start, end]; None when there is none."""
    inside = [
        m for m in measurements if (start is None or m.measured_at >= start) and (end is None or m.measured_at <= end)
    ]
    if not inside:
        return None
    values = [m.value for m in inside]
    return MeasurementSummary(
        count=len(values),
        total=sum(values, ZERO),
        minimum=min(values),
        maximum=max(values),
        last=max(inside, key=_last_key).value,
    )


def actual_of(summary: MeasurementSummary | None, aggregation: str) -> Decimal | None:
    """The definition's aggregation: sum, avg (the sum over the count), min, max or last."""
    if aggregation not in AGGREGATIONS:
        raise ValueError(f"unknown aggregation {aggregation}")
    if summary is None:
        return None
    if aggregation == "sum":
        return summary.total
    if aggregation == "avg":
        return div(summary.total, Decimal(summary.count))
    if aggregation == "min":
        return summary.minimum
    if aggregation == "max":
        return summary.maximum
    return summary.last


def actual(
    measurements: Sequence[Measurement], aggregation: str, start: dt.date | None = None, end: dt.date | None = None
) -> Decimal | None:
    """The definition's aggregation over measurements dated within [start, end]; None when
    there is none. `last` takes the latest `measured_at` (ties: the latest created)."""
    return actual_of(summarize(measurements, start, end), aggregation)


def banded_points(
    value: Decimal, threshold: Decimal, target: Decimal, stretch: Decimal | None, policy: PolicyParams
) -> Decimal:
    thr, tgt, cap = policy.kpi_threshold_points, policy.kpi_target_points, policy.kpi_cap
    f = div(value - threshold, target - threshold)
    if f < 0:
        return ZERO
    if f < 1:
        return thr + (tgt - thr) * f
    if stretch is None:
        return tgt
    g = div(value - target, stretch - target)
    return tgt + (cap - tgt) * min(g, ONE)


def ratio_points(value: Decimal, target: Decimal, direction: str, policy: PolicyParams) -> Decimal:
    if direction == "lower_is_better":
        if value <= 0:
            return policy.kpi_cap
        raw = HUNDRED * div(target, value)
    else:
        raw = HUNDRED * div(value, target)
    return clamp(raw, ZERO, policy.kpi_cap)


def range_points(value: Decimal, low: Decimal, high: Decimal, tolerance: Decimal) -> Decimal:
    if low <= value <= high:
        return HUNDRED
    distance = low - value if value < low else value - high
    return HUNDRED * max(ZERO, ONE - div(distance, tolerance))


def binary_points(value: Decimal, target: Decimal, direction: str) -> Decimal:
    met = value <= target if direction == "lower_is_better" else value >= target
    return HUNDRED if met else ZERO


def kpi_points(a: AssignmentIn, value: Decimal, policy: PolicyParams) -> Decimal:
    if a.method == "banded":
        assert a.threshold is not None and a.target is not None
        return banded_points(value, a.threshold, a.target, a.stretch, policy)
    if a.method == "ratio":
        assert a.target is not None
        return ratio_points(value, a.target, a.direction, policy)
    if a.method == "range":
        assert a.range_low is not None and a.range_high is not None and a.tolerance is not None
        return range_points(value, a.range_low, a.range_high, a.tolerance)
    if a.method == "binary":
        assert a.target is not None
        return binary_points(value, a.target, a.direction)
    raise ValueError(f"unknown method {a.method}")


@dataclass(frozen=True, slots=True)
class AssignmentScore:
    actual: Decimal | None
    points: Decimal
    missing_data: bool


def score_assignment(
    a: AssignmentIn, policy: PolicyParams, start: dt.date | None = None, end: dt.date | None = None
) -> AssignmentScore:
    summary = a.summary if a.summarized else summarize(a.measurements, *window(a, start, end))
    value = actual_of(summary, a.aggregation)
    if value is None:
        return AssignmentScore(actual=None, points=ZERO, missing_data=True)
    return AssignmentScore(actual=value, points=kpi_points(a, value, policy), missing_data=False)


@dataclass(frozen=True, slots=True)
class KpiComponent:
    points: Decimal | None
    assignments: tuple[dict[str, Any], ...]
    flags: tuple[str, ...]
    # Assignments the policy's `kpi_proration` left out, with the days that decided it.
    left_out: tuple[dict[str, Any], ...] = ()


def kpi_component(
    assignments: Sequence[AssignmentIn],
    policy: PolicyParams,
    start: dt.date | None = None,
    end: dt.date | None = None,
    *,
    explain: bool = True,
    presence: Presence | None = None,
) -> KpiComponent:
    """Σ(w × points) / Σ w; a veto assignment at 0 points makes the component 0.
    Without `explain` the same numbers come without the per-assignment explanation.
    `presence` (hire and termination dates) matters only under the policy's
    `kpi_proration` (`service.scoring.proration`)."""
    if not assignments:
        return KpiComponent(points=None, assignments=(), flags=())
    flags: set[str] = set()
    mode = policy.kpi_proration
    prorations: dict[int, dict[str, Any] | None] = {}
    left_out: list[dict[str, Any]] = []
    if presence is not None and mode in ("prorate_target", "exclude"):
        rule, flag = (prorate, "kpi_prorated") if mode == "prorate_target" else (exclude, "kpi_excluded")
        kept = []
        for p in rule(assignments, presence, start, end):
            if p.explanation is not None:
                flags.add(flag)
            if p.dropped:
                if explain:
                    a = p.assignment
                    left_out.append({"id": str(a.id) if a.id else None, "code": a.code, "proration": p.explanation})
                continue
            kept.append(p.assignment)
            prorations[len(kept) - 1] = p.explanation
        if not kept:
            return KpiComponent(points=None, assignments=(), flags=tuple(sorted(flags)), left_out=tuple(left_out))
        assignments = kept
    explained: list[dict[str, Any]] = []
    total_w = ZERO
    total = ZERO
    veto = False
    for i, a in enumerate(assignments):
        s = score_assignment(a, policy, start, end)
        if s.missing_data:
            flags.add("missing_data")
        if a.veto and s.points == 0:
            veto = True
        total_w += a.weight
        total += a.weight * s.points
        if explain:
            explained.append(
                {
                    "id": str(a.id) if a.id else None,
                    "code": a.code,
                    "method": a.method,
                    "direction": a.direction,
                    "aggregation": a.aggregation,
                    "weight": a.weight,
                    "actual": s.actual,
                    "points": s.points,
                    "missing_data": s.missing_data,
                    "veto": a.veto,
                    "rewardable": a.rewardable,
                    **window_explained(a, start, end),
                    **({"proration": prorations[i]} if prorations.get(i) is not None else {}),
                }
            )
    if veto:
        flags.add("veto_triggered")
        return KpiComponent(
            points=ZERO, assignments=tuple(explained), flags=tuple(sorted(flags)), left_out=tuple(left_out)
        )
    if total_w <= 0:
        flags.add("zero_weights")
        return KpiComponent(
            points=None, assignments=tuple(explained), flags=tuple(sorted(flags)), left_out=tuple(left_out)
        )
    return KpiComponent(
        points=div(total, total_w), assignments=tuple(explained), flags=tuple(sorted(flags)), left_out=tuple(left_out)
    )
