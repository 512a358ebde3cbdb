"""Which parameters each scoring method needs, and how they must relate to the
definition's direction (SPEC section 5). Pure: values in, a list of field errors out,
so every rule is in this one file and REST, GraphQL, templates and the demo share it.

Parameters a method does not use are accepted and ignored (switching an assignment from
banded to ratio need not null its threshold first); the scoring engine never reads them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from service.scoring.kpi import DIRECTIONS, METHODS

PARAMETER_FIELDS = (
    "method",
    "weight",
    "threshold",
    "target",
    "stretch",
    "range_low",
    "range_high",
    "tolerance",
    "veto",
    "rewardable",
)
ORDERED = ("higher_is_better", "lower_is_better")


@dataclass(frozen=True)
class FieldError:
    field: str
    msg: str


def check_parameters(direction: str, params: Mapping[str, Any]) -> list[FieldError]:
    """Every problem with `params` (method, weight, threshold, ...) for a definition of
    `direction`; empty when they are usable. The first error names the field to fix."""
    method = params.get("method")
    get = params.get
    errors: list[FieldError] = []
    if direction not in DIRECTIONS:
        return [FieldError("definition_id", f"unknown direction {direction!r}")]
    if method not in METHODS:
        return [FieldError("method", f"method must be one of {', '.join(METHODS)}")]
    weight = get("weight")
    if weight is None or Decimal(weight) <= 0:
        errors.append(FieldError("weight", "weight must be greater than 0"))

    if method == "range":
        if direction != "target_range":
            errors.append(FieldError("method", "range needs a target_range definition"))
        for name in ("range_low", "range_high", "tolerance"):
            if get(name) is None:
                errors.append(FieldError(name, f"{name} is required for the range method"))
        low, high, tol = get("range_low"), get("range_high"), get("tolerance")
        if low is not None and high is not None and low > high:
            errors.append(FieldError("range_high", "range_low must not exceed range_high"))
        if tol is not None and tol <= 0:
            errors.append(FieldError("tolerance", "tolerance must be greater than 0"))
        return errors

    if direction not in ORDERED:
        errors.append(
            FieldError(
                "method", f"{method} needs a higher_is_better or lower_is_better definition; use range for target_range"
            )
        )
        return errors

    target = get("target")
    if target is None:
        errors.append(FieldError("target", f"target is required for the {method} method"))
    if method == "ratio" and target is not None and target <= 0:
        errors.append(FieldError("target", "target must be greater than 0 for the ratio method"))
    if method == "banded":
        threshold, stretch = get("threshold"), get("stretch")
        if threshold is None:
            errors.append(FieldError("threshold", "threshold is required for the banded method"))
        better = _better(direction)
        word = "below" if direction == "higher_is_better" else "above"
        if threshold is not None and target is not None and not better(target, threshold):
            errors.append(
                FieldError("target", f"threshold must be strictly {word} target for a {direction} definition")
            )
        if stretch is not None and target is not None and not better(stretch, target):
            errors.append(FieldError("stretch", f"target must be strictly {word} stretch for a {direction} definition"))
    return errors


def check_dates(
    effective_from: dt.date | None, effective_to: dt.date | None, cycle_start: dt.date, cycle_end: dt.date
) -> list[FieldError]:
    """An assignment's effective dates: each within its cycle, the first not after the last."""
    errors: list[FieldError] = []
    for name, day in (("effective_from", effective_from), ("effective_to", effective_to)):
        if day is not None and not cycle_start <= day <= cycle_end:
            errors.append(FieldError(name, f"{name} must be within the cycle ({cycle_start} to {cycle_end})"))
    if effective_from is not None and effective_to is not None and effective_from > effective_to:
        errors.append(FieldError("effective_to", "effective_to must not be before effective_from"))
    return errors


def _better(direction: str):
    if direction == "higher_is_better":
        return lambda a, b: a > b
    return lambda a, b: a < b
