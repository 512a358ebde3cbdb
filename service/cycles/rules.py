"""Cycle rules: the status machine and how a parent splits into children by cadence."""

from __future__ import annotations

import calendar
import datetime as dt

CADENCES = ("annual", "semiannual", "quarterly", "bimonthly", "8_weeks", "6_weeks", "monthly", "custom")
STATUSES = ("planning", "active", "review", "calibration", "closed")
# Forward one step at a time; `review` may go back to `active` (a reopened period).
TRANSITIONS = {
    "planning": {"active"},
    "active": {"review"},
    "review": {"calibration", "active"},
    "calibration": {"closed"},
    "closed": set(),
}
_MONTHS = {"semiannual": 6, "quarterly": 3, "bimonthly": 2, "monthly": 1}
_WEEKS = {"8_weeks": 8, "6_weeks": 6}
_LABEL = {"semiannual": "H", "quarterly": "Q", "bimonthly": "B", "monthly": "M", "8_weeks": "P", "6_weeks": "P"}


def _add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def split(start: dt.date, end: dt.date, cadence: str) -> list[tuple[dt.date, dt.date]]:
    """Consecutive child periods covering [start, end] (inclusive dates); the last one
    is cut at the parent's end."""
    periods: list[tuple[dt.date, dt.date]] = []
    cursor = start
    while cursor <= end:
        if cadence in _MONTHS:
            nxt = _add_months(cursor, _MONTHS[cadence])
        elif cadence in _WEEKS:
            nxt = cursor + dt.timedelta(weeks=_WEEKS[cadence])
        else:
            raise ValueError(f"cannot split by {cadence}")
        periods.append((cursor, min(nxt - dt.timedelta(days=1), end)))
        cursor = nxt
    return periods


def child_name(parent_name: str, cadence: str, index: int) -> str:
    return f"{parent_name} {_LABEL[cadence]}{index}"
