"""Composite, calibration, final score and rating, SPEC section 7."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from service.scoring.evaluation import evaluation_points
from service.scoring.kpi import AssignmentIn, KpiComponent, kpi_component
from service.scoring.numbers import ZERO, div, round_points
from service.scoring.okr import ObjectiveIn, OkrComponent, okr_component
from service.scoring.policy import PolicyParams
from service.scoring.proration import Presence

COMPONENTS = ("kpi", "okr", "eval")


@dataclass(frozen=True, slots=True)
class Adjustment:
    delta: Decimal
    reason: str
    author: str
    id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class EmployeeInputs:
    employee_id: uuid.UUID | None
    objectives: tuple[ObjectiveIn, ...] = ()
    assignments: tuple[AssignmentIn, ...] = ()
    manager_rating: Decimal | None = None
    peer_ratings: tuple[Decimal, ...] = ()
    adjustments: tuple[Adjustment, ...] = ()
    cycle_start: dt.date | None = None
    cycle_end: dt.date | None = None
    # Hire and termination dates, read only under the policy's `kpi_proration`.
    presence: Presence | None = None


@dataclass(frozen=True, slots=True)
class ScoreResult:
    employee_id: uuid.UUID | None
    status: str  # "scored" or "insufficient_data"
    components: dict[str, Decimal | None]
    weights: dict[str, Decimal]
    composite: Decimal | None
    calibration_delta: Decimal
    final: Decimal | None
    rating: str | None
    flags: tuple[str, ...]
    explanation: dict[str, Any] = field(repr=False)


def rating_for(final: Decimal, bands: Sequence[tuple[str, Decimal]]) -> str | None:
    """The first band from the top whose minimum ≤ final rounded to 2 places."""
    shown = round_points(final)
    for rating, minimum in sorted(bands, key=lambda b: b[1], reverse=True):
        if minimum <= shown:
            return rating
    return None


def effective_weights(points: dict[str, Decimal | None], policy: PolicyParams) -> tuple[dict[str, Decimal], bool]:
    """Scale the weights of present components to sum to 1; absent ones weigh 0.
    Returns the weights and whether anything was reweighted."""
    nominal = {"kpi": policy.w_kpi, "okr": policy.w_okr, "eval": policy.w_eval}
    present = {c: w for c, w in nominal.items() if points.get(c) is not None}
    total = sum(present.values(), ZERO)
    if total <= 0:
        return {c: ZERO for c in nominal}, False
    reweighted = any(points.get(c) is None and w > 0 for c, w in nominal.items())
    return {c: (div(present[c], total) if c in present else ZERO) for c in nominal}, reweighted


def score_employee(inputs: EmployeeInputs, policy: PolicyParams, *, explain: bool = True) -> ScoreResult:
    """Without `explain` (a bulk recompute, which stores no explanation) the result's
    numbers, rating and flags are the same and its explanation is empty."""
    kpi = kpi_component(
        inputs.assignments, policy, inputs.cycle_start, inputs.cycle_end, explain=explain, presence=inputs.presence
    )
    okr = okr_component(inputs.objectives, policy, explain=explain)
    ev = evaluation_points(inputs.manager_rating, inputs.peer_ratings, policy)
    points: dict[str, Decimal | None] = {"kpi": kpi.points, "okr": okr.points, "eval": ev}
    flags = set(kpi.flags) | set(okr.flags)
    weights, reweighted = effective_weights(points, policy)
    delta = sum((a.delta for a in inputs.adjustments), ZERO)
    explanation: dict[str, Any] = _explanation(inputs, policy, kpi, okr, ev, weights) if explain else {}
    if all(w == 0 for w in weights.values()):
        flags.add("insufficient_data")
        if explain:
            for c in COMPONENTS:
                explanation["components"][c]["contribution"] = None
        return ScoreResult(
            inputs.employee_id,
            "insufficient_data",
            points,
            weights,
            None,
            delta,
            None,
            None,
            tuple(sorted(flags)),
            explanation,
        )
    if reweighted:
        flags.add("reweighted")
    contributions: dict[str, Decimal] = {}
    for c in COMPONENTS:
        p = points[c]
        contributions[c] = weights[c] * p if p is not None else ZERO
    composite = sum(contributions.values(), ZERO)
    final = max(ZERO, composite + delta)
    rating = rating_for(final, policy.bands)
    if explain:
        for c in COMPONENTS:
            explanation["components"][c]["contribution"] = contributions[c] if points[c] is not None else None
        explanation.update(composite=composite, final=final, rating=rating)
    return ScoreResult(
        inputs.employee_id,
        "scored",
        points,
        weights,
        composite,
        delta,
        final,
        rating,
        tuple(sorted(flags)),
        explanation,
    )


def _explanation(
    inputs: EmployeeInputs,
    policy: PolicyParams,
    kpi: KpiComponent,
    okr: OkrComponent,
    ev: Decimal | None,
    weights: dict[str, Decimal],
) -> dict[str, Any]:
    return {
        "policy": {
            "id": str(policy.id) if policy.id else None,
            "version": policy.version,
            "w_kpi": policy.w_kpi,
            "w_okr": policy.w_okr,
            "w_eval": policy.w_eval,
            **({"kpi_proration": policy.kpi_proration} if policy.kpi_proration != "none" else {}),
        },
        "components": {
            "kpi": {
                "points": kpi.points,
                "weight": weights["kpi"],
                "assignments": list(kpi.assignments),
                **({"left_out": list(kpi.left_out)} if kpi.left_out else {}),
            },
            "okr": {"points": okr.points, "weight": weights["okr"], "objectives": list(okr.objectives)},
            "eval": {
                "points": ev,
                "weight": weights["eval"],
                "manager_rating": inputs.manager_rating,
                "peer_ratings": list(inputs.peer_ratings),
                "peer_weight": policy.peer_weight,
                "rating_scale": policy.rating_scale,
            },
        },
        "calibration": [
            {"delta": a.delta, "reason": a.reason, "author": a.author, "id": str(a.id) if a.id else None}
            for a in inputs.adjustments
        ],
    }
