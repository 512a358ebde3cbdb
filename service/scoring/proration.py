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
- `exclude`: an assignment whose cycle the person was not present for throughout is
  left out; with none left (an undated assignment of the scored cycle and a partial
  presence) the person has no KPI component, and the blend re-weights the present
  components (SPEC section 7, flag `reweighted`).

Presence runs from the hire date to the termination date, both included (the same days
the bonus counts as employed); an unknown date is open-ended.

An assignment may also be dated (`effective_from`, `effective_to`): a person who moves
position in the middle of a cycle has the old position's KPIs end the day before the move
and the new one's begin that day. Its window is [effective_from or the cycle's start,
effective_to or the cycle's end], within its own cycle (a descendant cycle's assignment is
bounded by that cycle). Under every mode only the measurements dated within the window
count. The modes then read the days the person held the role, the window ∩ presence, over
the days of the period the target was set for, the assignment's own cycle:

- `none`: the dates only restrict the measurements; targets stand.
- `prorate_target`: volume parameters × (days of window ∩ presence) / (days of the cycle);
  no such day: left out.
- `exclude`: an assignment whose window ∩ presence does not cover its whole cycle is left
  out; with none left the person has no KPI component.

An undated assignment's window is its cycle, so for it window ∩ presence is presence alone:
the hire and termination rule above is the same rule.
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


def period(a: Any, start: dt.date | None, end: dt.date | None) -> tuple[dt.date | None, dt.date | None]:
    """The period an assignment's target was set for: its own cycle, else the scored window."""
    return a.cycle_start or start, a.cycle_end or end


def window(a: Any, start: dt.date | None, end: dt.date | None) -> tuple[dt.date | None, dt.date | None]:
    """The days an assignment counts: its effective dates, its cycle's where it has none
    (never outside the cycle)."""
    lo, hi = period(a, start, end)
    frm, to = a.effective_from, a.effective_to
    if frm is not None:
        lo = frm if lo is None else max(lo, frm)
    if to is not None:
        hi = to if hi is None else min(hi, to)
    return lo, hi


def _days(lo: dt.date, hi: dt.date) -> int:
    return max(0, (hi - lo).days + 1)


def _dated(a: Any) -> bool:
    return a.effective_from is not None or a.effective_to is not None


def window_explained(a: Any, start: dt.date | None, end: dt.date | None) -> dict[str, Any]:
    """The window of a dated assignment, for its explanation (nothing for an undated one)."""
    if not _dated(a):
        return {}
    lo, hi = window(a, start, end)
    return {"window": {"from": lo.isoformat() if lo else None, "to": hi.isoformat() if hi else None}}


@dataclass(frozen=True, slots=True)
class Prorated:
    """An assignment as scored under proration, and what was done to it."""

    assignment: Any  # service.scoring.kpi.AssignmentIn
    explanation: dict[str, Any] | None  # None: left as assigned
    dropped: bool = False  # no day of presence in its window: left out


def _in_role(a: Any, presence: Presence, start: dt.date | None, end: dt.date | None) -> tuple[int, int] | None:
    """(days of window ∩ presence, days of the period), or None without known bounds."""
    lo, hi = period(a, start, end)
    wlo, whi = window(a, start, end)
    if lo is None or hi is None or wlo is None or whi is None:
        return None
    return (presence.days_within(wlo, whi) if wlo <= whi else 0), _days(lo, hi)


def prorate(
    assignments: Sequence[Any], presence: Presence, start: dt.date | None, end: dt.date | None
) -> list[Prorated]:
    """Each assignment with its volume parameters scaled by the days in the role (its
    window ∩ presence) / the days of its own cycle (the scored window when it has none)."""
    out = []
    for a in assignments:
        counted = _in_role(a, presence, start, end)
        if counted is None:
            out.append(Prorated(a, None))
            continue
        present, days = counted
        if present == days:
            out.append(Prorated(a, None))
            continue
        dated = window_explained(a, start, end)
        if present == 0:
            out.append(Prorated(a, {"days_present": 0, "period_days": days, **dated, "left_out": True}, dropped=True))
            continue
        why: dict[str, Any] = {"days_present": present, "period_days": days, **dated}
        if a.aggregation not in VOLUME_AGGREGATIONS:
            out.append(Prorated(a, {**why, "factor": None, "scaled": False}))
            continue
        factor = div(Decimal(present), Decimal(days))
        scaled = {
            name: div(getattr(a, name) * present, Decimal(days)) for name in _SCALED if getattr(a, name) is not None
        }
        out.append(Prorated(dataclasses.replace(a, **scaled), {**why, "factor": factor, "scaled": True, **scaled}))
    return out


def exclude(
    assignments: Sequence[Any], presence: Presence, start: dt.date | None, end: dt.date | None
) -> list[Prorated]:
    """Each assignment, left out (`dropped`) unless the days in the role (window ∩
    presence) cover its whole cycle."""
    out = []
    for a in assignments:
        counted = _in_role(a, presence, start, end)
        if counted is None or counted[0] == counted[1]:
            out.append(Prorated(a, None))
            continue
        present, days = counted
        why = {"days_present": present, "period_days": days, **window_explained(a, start, end), "left_out": True}
        out.append(Prorated(a, why, dropped=True))
    return out
