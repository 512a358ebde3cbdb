"""Recurrence of meetings: an RFC 5545 RRULE (without DTSTART) read and expanded by
python-dateutil, at the meeting's wall-clock time in its own time zone (a 09:00 stand-up
stays at 09:00 across a daylight-saving change; its UTC instant moves).

The expansion is bounded three ways: a rule may repeat at most daily (no HOURLY, MINUTELY
or SECONDLY, no BYHOUR, BYMINUTE or BYSECOND: a meeting happens at one time of day),
occurrences are only ever listed for a window of at most `MAX_WINDOW_DAYS`, at most
`MAX_OCCURRENCES` of them, and nothing is expanded past the year `HORIZON_YEAR`. A rule
without COUNT or UNTIL is therefore allowed: it is never expanded beyond the window asked
for.

The horizon matters for rules that never (or only very rarely) match, such as
`FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30`: dateutil looks for the next match period by period
up to `datetime.MAXYEAR` (9999), about three seconds of CPU for a daily rule, and UNTIL does
not stop it (it is only compared with matches). dateutil reads that limit from its module's
`datetime` name, so that name is given a copy of the module with `MAXYEAR = HORIZON_YEAR`:
the same search then ends at the horizon (a daily rule's whole search is ~64,000 periods).
A rule with no occurrence before the horizon is refused when it is set.

Pure: no I/O, no web framework."""

from __future__ import annotations

import datetime as dt
import re
import types
from collections.abc import Iterator
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil import rrule as du

HORIZON_YEAR = 2199  # no meeting is expanded, or starts, after this year
_bounded = types.ModuleType("datetime", "datetime, with MAXYEAR at the meetings' horizon")
_bounded.__dict__.update({k: v for k, v in vars(dt).items() if not k.startswith("__")})
_bounded.MAXYEAR = HORIZON_YEAR  # type: ignore[attr-defined]
du.datetime = _bounded

MAX_WINDOW_DAYS = 366
MAX_OCCURRENCES = 1000
ALLOWED_FREQ = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")
FORBIDDEN_PARTS = ("BYHOUR", "BYMINUTE", "BYSECOND", "DTSTART")
_PART = re.compile(r"^[A-Z]+=[A-Za-z0-9,+\-:]+$")


class RecurrenceError(ValueError):
    """A rule, a time zone or a window that cannot be used (a 422 for the caller)."""


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise RecurrenceError(f"unknown time zone {name!r} (use an IANA name such as Europe/Paris)") from exc


def _local_start(starts_at: dt.datetime, tz: str) -> dt.datetime:
    return starts_at.astimezone(zone(tz))


def parse(rule: str, starts_at: dt.datetime, tz: str) -> du.rrule:
    """The dateutil rule of `rule` from the meeting's first start, in its time zone;
    RecurrenceError when it is malformed or outside what a meeting may use."""
    text = rule.strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    parts = [p for p in text.split(";") if p]
    if not parts or not all(_PART.match(p) for p in parts):
        raise RecurrenceError("not an RRULE: expected NAME=VALUE parts separated by ';' (e.g. FREQ=WEEKLY;BYDAY=MO)")
    names = {p.split("=", 1)[0] for p in parts}
    freq = next((p.split("=", 1)[1] for p in parts if p.startswith("FREQ=")), None)
    if freq not in ALLOWED_FREQ:
        raise RecurrenceError(f"FREQ must be one of {', '.join(ALLOWED_FREQ)}")
    if bad := names & set(FORBIDDEN_PARTS):
        raise RecurrenceError(f"{', '.join(sorted(bad))} not allowed: a meeting starts at its own start time")
    try:
        parsed = du.rrulestr(";".join(parts), dtstart=_local_start(starts_at, tz))
    except (ValueError, TypeError) as exc:
        raise RecurrenceError(f"invalid RRULE: {exc}") from exc
    if not isinstance(parsed, du.rrule):
        raise RecurrenceError("one RRULE expected")
    return parsed


def validate(rule: str | None, starts_at: dt.datetime, tz: str) -> str | None:
    """The rule as stored (without an `RRULE:` prefix), after checking it and the time
    zone."""
    zone(tz)
    if starts_at.year >= HORIZON_YEAR:
        raise RecurrenceError(f"a meeting starts before {HORIZON_YEAR}")
    if rule is None:
        return None
    if next(iter(parse(rule, starts_at, tz)), None) is None:
        raise RecurrenceError(f"the rule has no occurrence from the meeting's start until {HORIZON_YEAR}")
    text = rule.strip()
    return text[6:] if text.upper().startswith("RRULE:") else text


def occurrences(
    starts_at: dt.datetime, tz: str, rule: str | None, start: dt.datetime, end: dt.datetime
) -> Iterator[dt.datetime]:
    """The starts (UTC) of the occurrences in [start, end), in order, at most
    `MAX_OCCURRENCES`; a meeting without a rule has one occurrence, at `starts_at`."""
    if end - start > dt.timedelta(days=MAX_WINDOW_DAYS):
        raise RecurrenceError(f"the window spans at most {MAX_WINDOW_DAYS} days")
    if end <= start:
        raise RecurrenceError("the window's end must be after its start")
    if rule is None:
        if start <= starts_at < end:
            yield starts_at
        return
    parsed = parse(rule, starts_at, tz)
    local_start = start.astimezone(zone(tz))
    n = 0
    for occurrence in parsed.xafter(local_start, inc=True):
        at = occurrence.astimezone(dt.UTC)
        if at >= end or n >= MAX_OCCURRENCES:
            return
        if at >= start:
            n += 1
            yield at


def is_occurrence(starts_at: dt.datetime, tz: str, rule: str | None, at: dt.datetime) -> bool:
    """Whether `at` (UTC) is the start of an occurrence of the meeting."""
    window = list(occurrences(starts_at, tz, rule, at, at + dt.timedelta(seconds=1)))
    return window == [at]
