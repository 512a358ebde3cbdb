"""The incentive rules of SPEC section 8, pure: frozen inputs in, amounts and their
explanation out. No database, web framework or clock: `runs.py` gathers the facts and
stores what this module answers, so every rule can be read and tested here alone.

Numbers follow SPEC section 3: Decimal throughout, never a binary float; money is an
integer count of the currency's minor units (ISO 4217 exponent, `service.kit.money`);
an amount is rounded half-up to minor units once, at the end, from the exact value (one
division, so the rounding decision is exact). Shown fractions and points are the exact
values as plain decimal strings, so a person can recompute any amount by hand from the
`inputs` snapshot stored on the result.

Rules:
- short_term_bonus: target bonus (the employee's amount, or annual base salary × % for
  the plan's period) × multiplier (rating table; or min(final / 100, cap) and 0 below
  `min_score`; or the KPI band the KPI component's points fall in) × proration (days
  employed / days in the period), rounded half-up; an optional pool scales every amount
  down proportionally when the sum exceeds it, floors, and hands the remaining units out
  one by one by largest fractional remainder (ties: the smaller employee id), so the
  total equals the pool exactly.
- kpi_excess_reward: Σ (points − 100) × amount_per_point over the employee's rewardable
  KPI assignments above 100 points, capped per employee, rounded half-up.
- okr_breakthrough: a nomination (promotion_track or training) for each employee who owns
  an aspirational objective scored ≥ `min_objective_score` and whose rating is listed;
  optionally over a window of cycles (`history_cycles`): the plan's cycle and the most
  recent earlier cycles of the same cadence, with a breakthrough in at least
  `min_breakthrough_cycles` of them and a mean OKR grade of at least
  `min_average_okr_score` (`history_window`, `nomination`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any, Final

PLAN_KINDS = ("short_term_bonus", "kpi_excess_reward", "okr_breakthrough")
MONEY_KINDS = ("short_term_bonus", "kpi_excess_reward")
BASES = ("rating", "score", "kpi_points")
EMPLOYEE_STATUSES = ("active", "on_leave", "terminated")
NOMINATION_KINDS = ("promotion_track", "training")

DEFAULT_MULTIPLIERS: dict[str, Decimal] = {
    "S": Decimal("1.5"),
    "A": Decimal("1.2"),
    "B": Decimal("1.0"),
    "C": Decimal("0.6"),
    "D": Decimal("0"),
}
DEFAULT_MULTIPLIER_CAP = Decimal("1.5")
# The bands of basis `kpi_points`, best first: (label, lowest KPI points, multiplier).
DEFAULT_KPI_BANDS: tuple[tuple[str, Decimal, Decimal], ...] = (
    ("exceeds", Decimal(110), Decimal("1.5")),
    ("meets", Decimal(100), Decimal("1.0")),
    ("partial", Decimal(80), Decimal("0.6")),
    ("below", Decimal(0), Decimal(0)),
)
DEFAULT_MIN_SCORE = Decimal("0")
DEFAULT_MIN_OBJECTIVE_SCORE = Decimal("0.7")
DEFAULT_RATINGS = ("S", "A")
DEFAULT_NOMINATION_KIND: Final = "promotion_track"
DEFAULT_HISTORY_CYCLES: Final = 1
MAX_HISTORY_CYCLES: Final = 8
DEFAULT_MIN_BREAKTHROUGH_CYCLES: Final = 1
DEFAULT_STATUSES: Final = ("active", "on_leave")
DEFAULT_EARNING_CODES = {"short_term_bonus": "BONUS", "kpi_excess_reward": "KPI_REWARD"}

# Why an employee of the cycle's population got no result (reported by the run).
INELIGIBLE_STATUS = "ineligible_status"
INELIGIBLE_TENURE = "ineligible_tenure"
INELIGIBLE_DEPARTMENT = "ineligible_department"
INELIGIBLE_POSITION = "ineligible_position"
NOT_EMPLOYED = "not_employed_in_period"
NO_SCORE = "no_score"
NO_MULTIPLIER = "no_multiplier_for_rating"
NO_KPI_COMPONENT = "no_kpi_component"
NO_KPI_BAND = "no_kpi_band"
MISSING_COMPENSATION = "missing_compensation"
CURRENCY_MISMATCH = "currency_mismatch"
ZERO_AMOUNT = "zero_amount"
NOT_NOMINATED = "not_nominated"
TOO_FEW_BREAKTHROUGH_CYCLES = "too_few_breakthrough_cycles"
OKR_AVERAGE_BELOW_MINIMUM = "okr_average_below_minimum"
NO_OKR_SCORES = "no_okr_scores_in_window"

ZERO = Decimal(0)
ONE = Decimal(1)
HUNDRED = Decimal(100)
_PRECISION = 60


def D(value: Any) -> Decimal:
    """An exact Decimal from a str, int or Decimal (a float is refused: SPEC section 3)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        raise TypeError("binary floats are not accepted; pass a string or a Decimal")
    return Decimal(str(value))


def div(a: Decimal, b: Decimal) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        return a / b


def mul(*factors: Decimal) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        out = ONE
        for f in factors:
            out *= f
        return out


def half_up(value: Decimal) -> int:
    """Rounded half-up to an integer (minor units). Negative halves go away from zero."""
    return int(value.to_integral_value(rounding=ROUND_HALF_UP))


def round_points(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def round_fraction(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def text(value: Decimal | None) -> str | None:
    """A decimal as a plain string ("190956.52173…", never "1.9E+5")."""
    return None if value is None else format(value, "f")


# --- the plan's period ------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date

    @property
    def days(self) -> int:
        """Days in the period, both ends included (a quarter Oct 1 – Dec 31 has 92)."""
        return (self.end - self.start).days + 1

    @property
    def year_days(self) -> int:
        """Days in the year that begins on the period's first day (365, or 366 when it
        holds a February 29): an annual salary for the period is salary × days / year_days,
        so a calendar-year period gets exactly one year's salary."""
        start = self.start
        try:
            next_year = start.replace(year=start.year + 1)
        except ValueError:  # February 29 → March 1 of the next year
            next_year = dt.date(start.year + 1, 3, 1)
        return (next_year - start).days


# --- facts about an employee -------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    id: uuid.UUID
    status: str = "active"
    hire_date: dt.date | None = None
    termination_date: dt.date | None = None
    departments: tuple[uuid.UUID, ...] = ()  # own department, then its ancestors
    position_id: uuid.UUID | None = None
    base_salary_minor: int | None = None
    comp_currency: str | None = None
    target_bonus_pct: Decimal | None = None
    target_bonus_minor: int | None = None


@dataclass(frozen=True)
class KpiPoints:
    """One KPI assignment of the employee as scored (exact points, SPEC section 5)."""

    id: str | None
    code: str
    points: Decimal
    rewardable: bool
    missing_data: bool = False


@dataclass(frozen=True)
class ObjectiveScore:
    """One counted objective of the employee as scored (exact score, SPEC section 4)."""

    id: str | None
    title: str
    type: str
    score: Decimal | None
    weight: Decimal = ONE


@dataclass(frozen=True)
class ScoreFacts:
    """The employee's final score of the cycle, as the scoring service computed it."""

    status: str = "scored"
    final: Decimal | None = None
    rating: str | None = None
    # The KPI component's exact points (SPEC section 5); None when the score has none.
    kpi_component: Decimal | None = None
    flags: tuple[str, ...] = ()
    policy_id: str | None = None
    policy_version: int = 0
    kpis: tuple[KpiPoints, ...] = ()
    objectives: tuple[ObjectiveScore, ...] = ()
    # The score of record's version when the result is official, None for a live score.
    record_version: int | None = None


@dataclass(frozen=True)
class CycleInfo:
    """A cycle as the window of an okr_breakthrough plan sees it."""

    id: str
    name: str
    cadence: str
    start: dt.date
    end: dt.date


@dataclass(frozen=True)
class CycleOkr:
    """An employee's scored objectives in one earlier cycle of the window, from the score
    of record when the cycle has one (`official`), else the live score."""

    cycle_id: str
    objectives: tuple[ObjectiveScore, ...] = ()
    official: bool = False


@dataclass(frozen=True)
class Candidate:
    person: Person
    score: ScoreFacts
    # The earlier cycles of the plan's window in which the employee was scored, by cycle id.
    history: Mapping[str, CycleOkr] = field(default_factory=dict)


# --- eligibility, proration, target bonus, multiplier ---------------------------------------


@dataclass(frozen=True)
class Eligibility:
    statuses: tuple[str, ...] = DEFAULT_STATUSES
    min_tenure_days: int = 0
    include_departments: frozenset[uuid.UUID] = frozenset()
    exclude_departments: frozenset[uuid.UUID] = frozenset()
    include_positions: frozenset[uuid.UUID] = frozenset()
    exclude_positions: frozenset[uuid.UUID] = frozenset()

    @staticmethod
    def of(params: Mapping[str, Any] | None) -> Eligibility:
        p = dict(params or {})

        def ids(key: str) -> frozenset[uuid.UUID]:
            return frozenset(uuid.UUID(str(v)) for v in p.get(key) or ())

        return Eligibility(
            statuses=tuple(p.get("statuses") or DEFAULT_STATUSES),
            min_tenure_days=int(p.get("min_tenure_days") or 0),
            include_departments=ids("include_departments"),
            exclude_departments=ids("exclude_departments"),
            include_positions=ids("include_positions"),
            exclude_positions=ids("exclude_positions"),
        )


def tenure_days(person: Person, period: Period) -> int | None:
    """Days from the hire date to the period's end, both included; None when the hire
    date is unknown (such an employee counts as employed since before the period)."""
    if person.hire_date is None:
        return None
    return max(0, (period.end - person.hire_date).days + 1)


def ineligibility(person: Person, rules: Eligibility, period: Period) -> str | None:
    """Why the employee is not eligible, or None. Departments match with their
    sub-departments (including "Sales" includes "Sales / EMEA")."""
    if person.status not in rules.statuses:
        return INELIGIBLE_STATUS
    tenure = tenure_days(person, period)
    if rules.min_tenure_days and tenure is not None and tenure < rules.min_tenure_days:
        return INELIGIBLE_TENURE
    departments = set(person.departments)
    if rules.include_departments and not departments & rules.include_departments:
        return INELIGIBLE_DEPARTMENT
    if departments & rules.exclude_departments:
        return INELIGIBLE_DEPARTMENT
    if rules.include_positions and person.position_id not in rules.include_positions:
        return INELIGIBLE_POSITION
    if person.position_id is not None and person.position_id in rules.exclude_positions:
        return INELIGIBLE_POSITION
    return None


def days_employed(person: Person, period: Period) -> int:
    """Days of the period between the hire date and the termination date (both included;
    the termination date is the last day employed)."""
    first = max(period.start, person.hire_date) if person.hire_date else period.start
    last = min(period.end, person.termination_date) if person.termination_date else period.end
    return max(0, (last - first).days + 1)


@dataclass(frozen=True)
class TargetBonus:
    """The employee's target bonus for the period as an exact fraction numerator /
    denominator (kept apart so the final amount needs a single division)."""

    numerator: Decimal
    denominator: Decimal
    source: str  # "amount" or "percent"
    explanation: dict[str, Any]

    @property
    def value(self) -> Decimal:
        return div(self.numerator, self.denominator)


def target_bonus(person: Person, currency: str, period: Period) -> TargetBonus | str:
    """The target bonus amount as it stands (an amount wins when both are set), or annual
    base salary × target bonus % × days in the period / days in the year. Compensation in
    another currency than the plan's is not converted: the employee is reported instead."""
    if person.comp_currency is not None and person.comp_currency != currency:
        return CURRENCY_MISMATCH
    if person.target_bonus_minor is not None:
        amount = Decimal(person.target_bonus_minor)
        return TargetBonus(
            amount,
            ONE,
            "amount",
            {"source": "amount", "target_bonus_minor": person.target_bonus_minor, "value": text(amount)},
        )
    if person.target_bonus_pct is not None and person.base_salary_minor is not None:
        num = mul(Decimal(person.base_salary_minor), person.target_bonus_pct, Decimal(period.days))
        den = HUNDRED * period.year_days
        return TargetBonus(
            num,
            den,
            "percent",
            {
                "source": "percent",
                "base_salary_minor": person.base_salary_minor,
                "target_bonus_pct": text(person.target_bonus_pct),
                "period_days": period.days,
                "year_days": period.year_days,
                "formula": "base_salary_minor × target_bonus_pct / 100 × period_days / year_days",
                "value": text(div(num, den)),
            },
        )
    return MISSING_COMPENSATION


def multipliers_of(params: Mapping[str, Any]) -> dict[str, Decimal]:
    table = params.get("multipliers")
    return {str(k): D(v) for k, v in table.items()} if table else dict(DEFAULT_MULTIPLIERS)


def kpi_bands_of(params: Mapping[str, Any]) -> tuple[tuple[str, Decimal, Decimal], ...]:
    """The plan's KPI bands, best first (the defaults when it names none)."""
    bands = params.get("kpi_bands")
    if not bands:
        return DEFAULT_KPI_BANDS
    return tuple(
        sorted(
            ((str(b["label"]), D(b["min"]), D(b["multiplier"])) for b in bands),
            key=lambda b: b[1],
            reverse=True,
        )
    )


def kpi_band(params: Mapping[str, Any], score: ScoreFacts) -> tuple[Decimal, dict[str, Any]] | str:
    """Basis `kpi_points`: the multiplier of the first band, from the top, whose minimum
    is at most the KPI component's points as shown (rounded to 2 places, as a rating's
    final is), so a score exactly on a band's edge earns that band. The blend of OKR and
    evaluation plays no part: short-term pay rests on the KPIs alone."""
    if score.kpi_component is None:
        return NO_KPI_COMPONENT
    shown = round_points(score.kpi_component)
    bands = kpi_bands_of(params)
    table = [{"label": label, "min": text(low), "multiplier": text(m)} for label, low, m in bands]
    for label, low, value in bands:
        if low <= shown:
            return value, {
                "basis": "kpi_points",
                "kpi_points": text(score.kpi_component),
                "kpi_points_rounded": text(shown),
                "band": label,
                "band_min": text(low),
                "value": text(value),
                "bands": table,
                "rule": "the first band from the top whose min ≤ the KPI component's points rounded to 2 places",
            }
    return NO_KPI_BAND


def multiplier(params: Mapping[str, Any], score: ScoreFacts) -> tuple[Decimal, dict[str, Any]] | str:
    """The rating's multiplier from the table, or min(final / 100, multiplier_cap) with 0
    below `min_score` (compared with the final as shown, rounded to 2 places, as ratings
    are), or the KPI band's multiplier (`kpi_band`)."""
    basis = params.get("basis") or "rating"
    if basis == "kpi_points":
        return kpi_band(params, score)
    if basis == "rating":
        if score.rating is None:
            return NO_SCORE
        table = multipliers_of(params)
        if score.rating not in table:
            return NO_MULTIPLIER
        value = table[score.rating]
        return value, {
            "basis": "rating",
            "rating": score.rating,
            "value": text(value),
            "table": {k: text(v) for k, v in table.items()},
        }
    if score.final is None:
        return NO_SCORE
    cap = D(params.get("multiplier_cap", DEFAULT_MULTIPLIER_CAP))
    min_score = D(params.get("min_score", DEFAULT_MIN_SCORE))
    below = round_points(score.final) < min_score
    value = ZERO if below else min(div(score.final, HUNDRED), cap)
    return value, {
        "basis": "score",
        "final": text(score.final),
        "multiplier_cap": text(cap),
        "min_score": text(min_score),
        "below_min_score": below,
        "value": text(value),
        "formula": "0 when final < min_score, else min(final / 100, multiplier_cap)",
    }


# --- the pool ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PoolShare:
    raw_minor: int
    amount_minor: int
    share_exact: Decimal
    floor_minor: int
    extra_unit: bool


def split_pool(raws: Sequence[tuple[uuid.UUID, int]], pool_minor: int) -> tuple[dict[uuid.UUID, PoolShare], bool]:
    """SPEC section 8: when Σ raw exceeds the pool each share is raw × pool / Σ raw, floored
    to minor units; the units left over go one each to the largest fractional remainders
    (ties: the smaller employee id), so the shares sum to the pool exactly. Integer
    arithmetic throughout. Answers the shares and whether the pool scaled anything."""
    total = sum(raw for _, raw in raws)
    if total <= pool_minor or total == 0:
        return {e: PoolShare(raw, raw, Decimal(raw), raw, False) for e, raw in raws}, False
    floors = {e: raw * pool_minor // total for e, raw in raws}
    remainders = {e: raw * pool_minor % total for e, raw in raws}
    left = pool_minor - sum(floors.values())
    order = sorted((e for e, _ in raws), key=lambda e: (-remainders[e], e))
    extra = set(order[:left])
    shares = {
        e: PoolShare(
            raw_minor=raw,
            amount_minor=floors[e] + (1 if e in extra else 0),
            share_exact=div(Decimal(raw * pool_minor), Decimal(total)),
            floor_minor=floors[e],
            extra_unit=e in extra,
        )
        for e, raw in raws
    }
    return shares, True


# --- per kind ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """One result to store: an amount (money plans) or a nomination, with its inputs."""

    employee_id: uuid.UUID
    amount_minor: int | None
    nomination: str | None
    inputs: dict[str, Any]


@dataclass(frozen=True)
class PlanSpec:
    kind: str
    currency: str
    period: Period
    params: Mapping[str, Any]
    plan_id: str | None = None
    plan_version: int = 1
    plan_name: str = ""
    # okr_breakthrough: the plan's cycle and the earlier cycles of its window, newest first
    # (`history_window`); empty when the plan looks at its own cycle alone.
    cycle: CycleInfo | None = None
    window: tuple[CycleInfo, ...] = ()


@dataclass(frozen=True)
class PlanRun:
    outcomes: tuple[Outcome, ...]
    skipped: tuple[tuple[uuid.UUID, str], ...]
    pool: dict[str, Any] | None = None


def _common(spec: PlanSpec, c: Candidate) -> dict[str, Any]:
    s = c.score
    return {
        "plan": {"id": spec.plan_id, "version": spec.plan_version, "kind": spec.kind, "name": spec.plan_name},
        "period": {
            "start": spec.period.start.isoformat(),
            "end": spec.period.end.isoformat(),
            "days": spec.period.days,
        },
        "score": {
            "status": s.status,
            "final": text(s.final),
            "final_rounded": text(round_points(s.final)) if s.final is not None else None,
            "rating": s.rating,
            "flags": list(s.flags),
            "official": s.record_version is not None,
            "record_version": s.record_version,
        },
        "policy": {"id": s.policy_id, "version": s.policy_version},
        "employment": {
            "status": c.person.status,
            "hire_date": c.person.hire_date.isoformat() if c.person.hire_date else None,
            "termination_date": (c.person.termination_date.isoformat() if c.person.termination_date else None),
            "tenure_days": tenure_days(c.person, spec.period),
        },
    }


def short_term_bonus(spec: PlanSpec, c: Candidate) -> tuple[int, dict[str, Any]] | str:
    """The rounded raw amount before any pool, with its inputs, or why there is none."""
    days = days_employed(c.person, spec.period)
    if days == 0:
        return NOT_EMPLOYED
    m = multiplier(spec.params, c.score)
    if isinstance(m, str):
        return m
    target = target_bonus(c.person, spec.currency, spec.period)
    if isinstance(target, str):
        return target
    mult, mult_inputs = m
    exact = div(mul(target.numerator, mult, Decimal(days)), target.denominator * spec.period.days)
    raw = half_up(exact)
    inputs = _common(spec, c)
    inputs.update(
        formula="amount = round_half_up(target_bonus × multiplier × days_employed / period_days)",
        multiplier=mult_inputs,
        proration={
            "days_employed": days,
            "period_days": spec.period.days,
            "value": text(div(Decimal(days), Decimal(spec.period.days))),
        },
        money={
            "currency": spec.currency,
            "target_bonus": target.explanation,
            "raw_exact": text(exact),
            "raw_minor": raw,
            "pool": None,
            "amount_minor": raw,
        },
    )
    return raw, inputs


def kpi_excess(
    kpis: Sequence[KpiPoints], amount_per_point_minor: Decimal, cap_minor: int | None
) -> tuple[int, Decimal, Decimal, list[dict[str, Any]]]:
    """Σ (points − 100) × amount_per_point over rewardable assignments above 100 points,
    capped, rounded half-up: (amount, uncapped exact, capped exact, lines)."""
    lines = []
    total = ZERO
    for k in kpis:
        if not k.rewardable or k.points <= HUNDRED:
            continue
        excess = k.points - HUNDRED
        amount = mul(excess, amount_per_point_minor)
        total += amount
        lines.append(
            {
                "id": k.id,
                "code": k.code,
                "points": text(k.points),
                "excess_points": text(excess),
                "amount_exact": text(amount),
            }
        )
    capped = total if cap_minor is None else min(total, Decimal(cap_minor))
    return half_up(capped), total, capped, lines


def kpi_excess_reward(spec: PlanSpec, c: Candidate) -> tuple[int, dict[str, Any]] | str:
    per_point = D(spec.params["amount_per_point_minor"])
    cap = spec.params.get("cap_per_employee_minor")
    amount, uncapped, capped, lines = kpi_excess(c.score.kpis, per_point, None if cap is None else int(cap))
    inputs = _common(spec, c)
    inputs.update(
        formula="amount = round_half_up(min(Σ (points − 100) × amount_per_point_minor over rewardable "
        "KPIs above 100 points, cap_per_employee_minor))",
        kpis=[
            {
                "id": k.id,
                "code": k.code,
                "points": text(k.points),
                "rewardable": k.rewardable,
                "missing_data": k.missing_data,
            }
            for k in c.score.kpis
        ],
        money={
            "currency": spec.currency,
            "amount_per_point_minor": text(per_point),
            "cap_per_employee_minor": None if cap is None else int(cap),
            "lines": lines,
            "uncapped_exact": text(uncapped),
            "capped_exact": text(capped),
            "amount_minor": amount,
        },
    )
    return amount, inputs


def history_window(plan_cycle: CycleInfo, cycles: Sequence[CycleInfo], history_cycles: int) -> tuple[CycleInfo, ...]:
    """The earlier cycles of an okr_breakthrough plan's window, newest first: the
    `history_cycles - 1` most recent cycles of the plan cycle's cadence that ended before
    it started (by end date, then start date, then id). Fewer when fewer exist; never more
    than `MAX_HISTORY_CYCLES - 1`."""
    wanted = max(0, min(history_cycles, MAX_HISTORY_CYCLES) - 1)
    earlier = [
        c for c in cycles if c.id != plan_cycle.id and c.cadence == plan_cycle.cadence and c.end < plan_cycle.start
    ]
    earlier.sort(key=lambda c: (c.end, c.start, c.id), reverse=True)
    return tuple(earlier[:wanted])


def _qualifying(objectives: Sequence[ObjectiveScore], minimum: Decimal) -> list[ObjectiveScore]:
    """The aspirational objectives scored at or above `minimum` (compared as shown,
    rounded to 4 places)."""
    return [
        o for o in objectives if o.type == "aspirational" and o.score is not None and round_fraction(o.score) >= minimum
    ]


def okr_grade(objectives: Sequence[ObjectiveScore]) -> Decimal | None:
    """An employee's OKR grade in one cycle, 0–1: the weighted mean (objective weights, as
    SPEC section 4's OKR component) of the scores of their scored objectives; None when
    none is scored (or their weights sum to zero)."""
    scored = [o for o in objectives if o.score is not None]
    total = sum((o.weight for o in scored), ZERO)
    if not scored or total == 0:
        return None
    return div(sum((mul(o.weight, o.score) for o in scored if o.score is not None), ZERO), total)


def _objective_lines(
    objectives: Sequence[ObjectiveScore], qualifying: Sequence[ObjectiveScore]
) -> list[dict[str, Any]]:
    return [
        {
            "id": o.id,
            "title": o.title,
            "type": o.type,
            "score": text(o.score),
            "score_rounded": text(round_fraction(o.score)) if o.score is not None else None,
            "qualifies": o in qualifying,
        }
        for o in objectives
    ]


def windowed(params: Mapping[str, Any]) -> bool:
    """Whether the plan looks past its own cycle's single breakthrough (any window
    parameter away from its default): only then do the inputs show the window."""
    return (
        int(params.get("history_cycles") or DEFAULT_HISTORY_CYCLES) != DEFAULT_HISTORY_CYCLES
        or int(params.get("min_breakthrough_cycles") or DEFAULT_MIN_BREAKTHROUGH_CYCLES)
        != DEFAULT_MIN_BREAKTHROUGH_CYCLES
        or params.get("min_average_okr_score") is not None
    )


def nomination(spec: PlanSpec, c: Candidate) -> tuple[str, dict[str, Any]] | str:
    """A nomination when the rating (of the plan's cycle) is listed and, in at least
    `min_breakthrough_cycles` cycles of the window, an aspirational objective scored at or
    above `min_objective_score` (compared as shown, rounded to 4 places); with
    `min_average_okr_score`, the mean of the window's per-cycle OKR grades (`okr_grade`;
    cycles without a scored objective left out) must reach it too. With the defaults
    (one cycle, one breakthrough, no average) this is SPEC section 8's rule exactly."""
    s = c.score
    if s.rating is None:
        return NO_SCORE
    params = spec.params
    ratings = tuple(params.get("ratings") or DEFAULT_RATINGS)
    minimum = D(params.get("min_objective_score", DEFAULT_MIN_OBJECTIVE_SCORE))
    kind = params.get("nomination_kind") or DEFAULT_NOMINATION_KIND
    qualifying = _qualifying(s.objectives, minimum)
    if not windowed(params):
        if s.rating not in ratings or not qualifying:
            return NOT_NOMINATED
        inputs = _common(spec, c)
        inputs.update(
            rule="rating in ratings and an aspirational objective with score ≥ min_objective_score",
            criteria={"ratings": list(ratings), "min_objective_score": text(minimum)},
            nomination_kind=kind,
            objectives=_objective_lines(s.objectives, qualifying),
        )
        return kind, inputs

    history_cycles = int(params.get("history_cycles") or DEFAULT_HISTORY_CYCLES)
    min_cycles = int(params.get("min_breakthrough_cycles") or DEFAULT_MIN_BREAKTHROUGH_CYCLES)
    raw_average = params.get("min_average_okr_score")
    min_average = None if raw_average is None else D(raw_average)
    if s.rating not in ratings:
        return NOT_NOMINATED
    own = spec.cycle or CycleInfo("", "", "", spec.period.start, spec.period.end)
    cycles: list[dict[str, Any]] = []
    grades: list[Decimal] = []
    breakthroughs = 0
    for info in (own, *spec.window):
        if info is own:
            facts = CycleOkr(own.id, s.objectives, s.record_version is not None)
        else:
            facts = c.history.get(info.id) or CycleOkr(info.id)
        good = _qualifying(facts.objectives, minimum)
        grade = okr_grade(facts.objectives)
        breakthroughs += 1 if good else 0
        if grade is not None:
            grades.append(grade)
        cycles.append(
            {
                "id": info.id,
                "name": info.name,
                "start": info.start.isoformat(),
                "end": info.end.isoformat(),
                "official": facts.official,
                "breakthrough": bool(good),
                "okr_grade": text(grade),
                "qualifying_objectives": _objective_lines(good, good),
            }
        )
    average = div(sum(grades, ZERO), Decimal(len(grades))) if grades else None
    if breakthroughs < min_cycles:
        return TOO_FEW_BREAKTHROUGH_CYCLES if breakthroughs else NOT_NOMINATED
    if min_average is not None:
        if average is None:
            return NO_OKR_SCORES
        if round_fraction(average) < min_average:
            return OKR_AVERAGE_BELOW_MINIMUM
    inputs = _common(spec, c)
    inputs.update(
        rule="rating (of the plan's cycle) in ratings, an aspirational objective with score ≥ "
        "min_objective_score in at least min_breakthrough_cycles cycles of the window, and the mean of "
        "the window's per-cycle OKR grades ≥ min_average_okr_score when set",
        criteria={
            "ratings": list(ratings),
            "min_objective_score": text(minimum),
            "history_cycles": history_cycles,
            "min_breakthrough_cycles": min_cycles,
            "min_average_okr_score": text(min_average),
        },
        nomination_kind=kind,
        objectives=_objective_lines(s.objectives, qualifying),
        window={
            "cadence": own.cadence,
            "asked": history_cycles,
            "cycles_counted": len(cycles),
            "shorter_than_asked": len(cycles) < history_cycles,
            "cycles": cycles,
            "breakthrough_cycles": breakthroughs,
            "okr_average": text(average),
            "okr_average_rounded": text(round_fraction(average)) if average is not None else None,
            "okr_average_cycles": len(grades),
            "okr_grade_rule": "a cycle's OKR grade is the weighted mean (objective weights) of the employee's "
            "scored objectives' scores; cycles without one are left out of the mean",
        },
    )
    return kind, inputs


def compute_plan(spec: PlanSpec, candidates: Sequence[Candidate], kept_total_minor: int = 0) -> PlanRun:
    """Every candidate's outcome, or the reason they have none. `kept_total_minor` is what
    results the run does not replace (approved, finalized) already hold of the pool: the
    new drafts share what is left, so the plan's total still equals the pool."""
    rules = Eligibility.of(spec.params.get("eligibility"))
    skipped: list[tuple[uuid.UUID, str]] = []
    money: list[tuple[Candidate, int, dict[str, Any]]] = []
    outcomes: list[Outcome] = []
    for c in sorted(candidates, key=lambda c: c.person.id):
        reason = ineligibility(c.person, rules, spec.period)
        if reason is not None:
            skipped.append((c.person.id, reason))
            continue
        if spec.kind == "okr_breakthrough":
            got = nomination(spec, c)
            if isinstance(got, str):
                skipped.append((c.person.id, got))
            else:
                outcomes.append(Outcome(c.person.id, None, got[0], got[1]))
            continue
        priced = short_term_bonus(spec, c) if spec.kind == "short_term_bonus" else kpi_excess_reward(spec, c)
        if isinstance(priced, str):
            skipped.append((c.person.id, priced))
        else:
            money.append((c, priced[0], priced[1]))
    pool_report = None
    pool = spec.params.get("pool_minor")
    if spec.kind != "okr_breakthrough" and pool is not None:
        available = max(0, int(pool) - kept_total_minor)
        shares, scaled = split_pool([(c.person.id, raw) for c, raw, _ in money], available)
        total_raw = sum(raw for _, raw, _ in money)
        pool_report = {
            "pool_minor": int(pool),
            "kept_minor": kept_total_minor,
            "available_minor": available,
            "total_raw_minor": total_raw,
            "scaled": scaled,
        }
        priced_list = []
        for c, _raw, inputs in money:
            share = shares[c.person.id]
            inputs["money"]["pool"] = {
                **pool_report,
                "formula": "share = raw × available / total_raw, floored; the units left "
                "go one each by largest remainder (ties: smaller employee id)",
                "share_exact": text(share.share_exact),
                "floor_minor": share.floor_minor,
                "extra_unit": share.extra_unit,
            }
            inputs["money"]["amount_minor"] = share.amount_minor
            priced_list.append((c, share.amount_minor, inputs))
        money = priced_list
    for c, amount, inputs in money:
        if amount == 0:
            skipped.append((c.person.id, ZERO_AMOUNT))
        else:
            outcomes.append(Outcome(c.person.id, amount, None, inputs))
    return PlanRun(outcomes=tuple(outcomes), skipped=tuple(skipped), pool=pool_report)
