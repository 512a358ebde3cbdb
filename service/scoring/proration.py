"""KPI target proration for people present only part of a period (the policy's
`kpi_proration`). Pure: dates and assignments in, assignments out.

SPEC prorates a short-term bonus by the days employed; it is silent on the KPIs the
bonus may rest on. A person hired in the sixth week of a quarter cannot sell a whole
quarter's GMV, so the policy may choose:

- `none` (the default): targets stand as assigned.
- `prorate_target`: an assignment whose definition sums its measurements (a volume that
  grows with time: GMV, units, calls) has its threshold, target, stretch and range
  bounds scaled by the days present within the assignment's own cycle over that cycle's
  days. A level (avg, last, min, max: a return rate, a satisfaction score) is what it is
  on any day, so its parameters stand. An assignment with no day of presence in its
  cycle is left out of the component.
- `exclude`: a person not present for the whole scored cycle has no KPI component, and
  the blend re-weights the present components (SPEC section 7, flag `reweighted`).

Presence runs from the hire date to the termination date, both included (the same days
the bonus counts as employed); an unknown date is open-ended. A move between positions
or departments is not a gap in presence: the assignments of the new position are made
in the cycle (or a descendant cycle covering the new stint), so each assignment's own
cycle bounds what it is measured and prorated over.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from service.scoring.numbers import div

MODES = ("none", "prorate_target", "exclude")
# The aggregations whose actual grows with the days measured.
VOLUME_AGGREGATIONS = ("sum",)
_SCALED = ("threshold", "target", "stretch", "range_low", "range_high", "tolerance")


@dataclass(frozen=True, slots=True)
class Presence:
    """The days a person was there: hire date to termination date, both included."""

    first: dt.date | None = None
    last: dt.date | None = None

    def days_within(self, start: dt.date, end: dt.date) -> int:
        lo = max(start, self.first) if self.first else start
        hi = min(end, self.last) if self.last else end
        return max(0, (hi - lo).days + 1)

    def covers(self, start: dt.date, end: dt.date) -> bool:
        return self.days_within(start, end) == (end - start).days + 1


@dataclass(frozen=True, slots=True)
class Prorated:
    """An assignment as scored under proration, and what was done to it."""

    assignment: Any  # service.scoring.kpi.AssignmentIn
    explanation: dict[str, Any] | None  # None: left as assigned
    dropped: bool = False  # no day of presence in its cycle: left out


def prorate(
    assignments: Sequence[Any], presence: Presence, start: dt.date | None, end: dt.date | None
) -> list[Prorated]:
    """Each assignment with its volume parameters scaled by days present / days in its
    own cycle (the scored window when it has none)."""
    out = []
    for a in assignments:
        lo, hi = a.cycle_start or start, a.cycle_end or end
        if lo is None or hi is None:
            out.append(Prorated(a, None))
            continue
        days = (hi - lo).days + 1
        present = presence.days_within(lo, hi)
        if present == days:
            out.append(Prorated(a, None))
            continue
        if present == 0:
            out.append(Prorated(a, {"days_present": 0, "period_days": days, "left_out": True}, dropped=True))
            continue
        why: dict[str, Any] = {"days_present": present, "period_days": days}
        if a.aggregation not in VOLUME_AGGREGATIONS:
            out.append(Prorated(a, {**why, "factor": None, "scaled": False}))
            continue
        factor = div(Decimal(present), Decimal(days))
        scaled = {
            name: div(getattr(a, name) * present, Decimal(days)) for name in _SCALED if getattr(a, name) is not None
        }
        out.append(Prorated(dataclasses.replace(a, **scaled), {**why, "factor": factor, "scaled": True, **scaled}))
    return out
