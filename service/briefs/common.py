"""What every brief needs: the organization's calendar (its time zone, today, its check-in
cadence) and the period's shape."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from service.auth.context import Ctx
from service.briefs.schemas import BriefPeriod
from service.errors import ValidationFailed
from service.tasks.service import organization_calendar
from service.types import utcnow

MAX_PERIOD_DAYS = 400
DEFAULT_PERIOD_DAYS = 7


@dataclass(frozen=True)
class Calendar:
    tz: dt.tzinfo
    cadence_days: int
    today: dt.date

    def midnight(self, day: dt.date) -> dt.datetime:
        """The instant the organization's `day` begins."""
        return dt.datetime.combine(day, dt.time(0), self.tz)


async def calendar(ctx: Ctx) -> Calendar:
    tz, cadence = await organization_calendar(ctx)
    return Calendar(tz=tz, cadence_days=cadence, today=utcnow().astimezone(tz).date())


def _bad_period(msg: str) -> ValidationFailed:
    return ValidationFailed(f"to: {msg}", errors=[{"loc": ["query", "to"], "msg": msg}])


def period_of(start: dt.date, end: dt.date) -> BriefPeriod:
    """[start, end), at least a day and at most `MAX_PERIOD_DAYS`; else 422."""
    if end <= start:
        raise _bad_period("must be after `from`")
    if (end - start).days > MAX_PERIOD_DAYS:
        raise _bad_period(f"a brief covers at most {MAX_PERIOD_DAYS} days")
    return BriefPeriod.model_validate({"from": start, "to": end})


def plain(value: Decimal) -> str:
    """A decimal as the API writes it: a string, no exponent."""
    return format(value, "f")


def period_or_default(clock: Calendar, start: dt.date | None, end: dt.date | None) -> tuple[dt.date, dt.date]:
    """The period asked for; by default the seven days up to today included (`to`
    tomorrow, `from` seven days before `to`); 422 for a default past the calendar's ends."""
    try:
        end = end or (start + dt.timedelta(days=DEFAULT_PERIOD_DAYS) if start else clock.today + dt.timedelta(days=1))
        return start or end - dt.timedelta(days=DEFAULT_PERIOD_DAYS), end
    except OverflowError:
        raise _bad_period("the period does not fit the calendar") from None
