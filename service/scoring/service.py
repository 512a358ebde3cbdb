"""Scores of a cycle: gather inputs set-based, pick each employee's policy, run the pure
engine. Scores are computed on read, so they are always consistent with the data; the
recompute job additionally stores a snapshot and emits `score.updated` for changes.

Modules contribute inputs through registered loaders (`@input_loader`), each answering
for a whole set of employees in a constant number of queries, so this module imports no
OKR, KPI or evaluation code and a cycle costs a handful of queries, not one per employee.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import gc
import uuid
from collections.abc import Awaitable, Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, or_, select

from service.auth.context import Ctx
from service.authz import policy as authz
from service.cycles.models import Cycle
from service.cycles.service import descendant_ids
from service.kit.chunks import chunks
from service.org.models import Employee
from service.scoring.composite import Adjustment, EmployeeInputs, ScoreResult, score_employee
from service.scoring.numbers import div
from service.scoring.policies import PolicyBook, policy_book
from service.scoring.policy import PolicyParams
from service.scoring.proration import Presence

# An inclusive range of employee ids (a recompute chunk's: service/scoring/jobs.py).
Span = tuple[uuid.UUID, uuid.UUID]


@dataclass(frozen=True)
class ScoringScope:
    """What a loader is asked for: the cycle, its descendants, and the employees.

    `employee_range`, when set, says the employees are every population row between its
    two ids (a recompute job's chunk): loaders then read by that range
    (`owner_id`/`employee_id BETWEEN first AND last`, served by the indexes that lead
    with the organization and the employee) instead of either an id list or the whole
    cycle, so a chunk's memory is bounded by the chunk. Rows in the range that are not
    asked for (someone outside the population) are still dropped by the id set."""

    cycle: Cycle
    cycle_ids: tuple[uuid.UUID, ...]
    employee_ids: tuple[uuid.UUID, ...]
    employee_range: Span | None = None


# A loader returns {employee_id: {"objectives": [...], "assignments": [...],
# "manager_rating": Decimal, "peer_ratings": [...], "adjustments": [...]}} (any subset).
def who(column: Any, wanted: Collection[uuid.UUID], span: Span | None, most: int) -> list[Any]:
    """The loaders' filter on their employee column: the range when the employees are a
    whole id range (a recompute chunk), the ids themselves for a set of at most `most`,
    else none (the whole cycle is read and filtered in Python, cheaper than long IN
    lists). The loaders drop rows of anyone not wanted either way."""
    if span is not None:
        return [column.between(*span)]
    if len(wanted) <= most:
        return [column.in_(list(wanted))]
    return []


InputLoader = Callable[[Ctx, ScoringScope], Awaitable[dict[uuid.UUID, dict[str, Any]]]]
_loaders: list[InputLoader] = []
LIST_KEYS = ("objectives", "assignments", "peer_ratings", "adjustments")


def input_loader(fn: InputLoader) -> InputLoader:
    _loaders.append(fn)
    return fn


# --- bulk work: the cyclic garbage collector waits ------------------------------------------------

BULK_EMPLOYEES = 500
_pauses = 0


@contextmanager
def collector_paused(active: bool = True) -> Iterator[None]:
    """Pauses Python's cyclic garbage collector around bulk scoring. Loading a cycle's
    inputs allocates millions of small objects, and the collector's passes over that
    growing heap cost about as much as the work itself. Reference counting still frees
    everything as usual; the collector resumes when the outermost pause ends. Nested
    and concurrent pauses are counted; a collector someone else disabled stays so."""
    global _pauses
    if not active or (_pauses == 0 and not gc.isenabled()):
        yield
        return
    _pauses += 1
    gc.disable()
    try:
        yield
    finally:
        _pauses -= 1
        if _pauses == 0:
            gc.enable()


def _bulk(fn: Callable[..., Awaitable[list[Scored]]]) -> Callable[..., Awaitable[list[Scored]]]:
    """Scoring `BULK_EMPLOYEES` or more at once runs with the collector paused."""

    @functools.wraps(fn)
    async def scored(ctx: Ctx, cycle: Cycle, employees: Sequence[Any], *args: Any, **kwargs: Any) -> list[Scored]:
        with collector_paused(len(employees) >= BULK_EMPLOYEES):
            return await fn(ctx, cycle, employees, *args, **kwargs)

    return scored


@dataclass(frozen=True)
class Scored:
    employee: Any  # a row with id, position_id, department_id, manager_id
    policy: PolicyParams
    result: ScoreResult
    # The score of record this result was read from (service/scoring/records.py), or
    # None for a live computation.
    record: Any = None

    @property
    def official(self) -> bool:
        return self.record is not None


def population_filter(cycle: Cycle) -> Any:
    """Who is scored in a cycle: hired by its end and not gone before its start."""
    return and_(
        or_(Employee.hire_date.is_(None), Employee.hire_date <= cycle.end_date),
        or_(Employee.termination_date.is_(None), Employee.termination_date >= cycle.start_date),
    )


async def population(
    ctx: Ctx, cycle: Cycle, employee_ids: Sequence[uuid.UUID] | None = None, *, span: Span | None = None
) -> list[Any]:
    """The cycle's population rows in id order: all, those of `employee_ids`, or those
    whose id lies in `span` (inclusive)."""
    stmt = (
        select(Employee.id, Employee.position_id, Employee.department_id, Employee.manager_id)
        .where(Employee.org_id == ctx.org_id, population_filter(cycle))
        .order_by(Employee.id)
    )
    if span is not None:
        stmt = stmt.where(Employee.id.between(*span))
    if employee_ids is not None:
        ids = list(employee_ids)
        rows: list[Any] = []
        for part in chunks(ids):
            rows.extend((await ctx.session.execute(stmt.where(Employee.id.in_(part)))).all())
        return sorted(rows, key=lambda r: r.id)
    return list((await ctx.session.execute(stmt)).all())


async def gather_inputs(
    ctx: Ctx, cycle: Cycle, employee_ids: Sequence[uuid.UUID], employee_range: Span | None = None
) -> dict[uuid.UUID, dict[str, Any]]:
    scope = ScoringScope(
        cycle=cycle,
        cycle_ids=tuple(await descendant_ids(ctx, cycle.id)),
        employee_ids=tuple(employee_ids),
        employee_range=employee_range,
    )
    merged: dict[uuid.UUID, dict[str, Any]] = {e: {} for e in employee_ids}
    for loader in _loaders:
        for emp, part in (await loader(ctx, scope)).items():
            target = merged.setdefault(emp, {})
            for key, value in part.items():
                if key in LIST_KEYS:
                    target.setdefault(key, []).extend(value)
                else:
                    target[key] = value
    return merged


@_bulk
async def score_employees(
    ctx: Ctx,
    cycle: Cycle,
    employees: Sequence[Any],
    extra_adjustments: dict[uuid.UUID, list[Adjustment]] | None = None,
    book: PolicyBook | None = None,
    explain: bool = True,
    employee_range: Span | None = None,
) -> list[Scored]:
    """Scores for the given population rows; `extra_adjustments` are what-if deltas
    (calibration simulation) added to the recorded ones and never saved. Without
    `explain` (the recompute) the results carry no explanation. `employee_range`: the
    rows are the whole population in that id range (`ScoringScope.employee_range`)."""
    book = book or await policy_book(ctx, cycle)
    inputs = await gather_inputs(ctx, cycle, [e.id for e in employees], employee_range)
    presences = await presence_of(ctx, [e.id for e in employees]) if book.prorates_kpis() else {}
    out = []
    for emp in employees:
        part = inputs.get(emp.id, {})
        adjustments = list(part.get("adjustments", []))
        if extra_adjustments and emp.id in extra_adjustments:
            adjustments.extend(extra_adjustments[emp.id])
        policy = book.for_employee(emp.id, emp.position_id, emp.department_id)
        result = score_employee(
            EmployeeInputs(
                employee_id=emp.id,
                objectives=tuple(part.get("objectives", ())),
                assignments=tuple(part.get("assignments", ())),
                manager_rating=part.get("manager_rating"),
                peer_ratings=tuple(part.get("peer_ratings", ())),
                adjustments=tuple(adjustments),
                cycle_start=cycle.start_date,
                cycle_end=cycle.end_date,
                presence=presences.get(emp.id),
            ),
            policy,
            explain=explain,
        )
        out.append(Scored(employee=emp, policy=policy, result=apply_overrides(result, part)))
    return out


async def presence_of(ctx: Ctx, employee_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Presence]:
    """Hire and termination dates of the employees, a query per chunk of ids: read only
    when a policy of the cycle prorates KPI targets (`kpi_proration`)."""
    out: dict[uuid.UUID, Presence] = {}
    stmt = select(Employee.id, Employee.hire_date, Employee.termination_date).where(Employee.org_id == ctx.org_id)
    for part in chunks(list(employee_ids)):
        for r in (await ctx.session.execute(stmt.where(Employee.id.in_(part)))).all():
            out[r[0]] = Presence(first=r[1], last=r[2])
    return out


def apply_overrides(result: ScoreResult, part: dict[str, Any]) -> ScoreResult:
    """Two inputs a loader may add after the pure engine has run (the engine stays
    untouched): `rating_override`, the rating an enforced forced distribution fixed when
    a calibration was finalized (SPEC section 7), which replaces the band's rating and
    flags the score `distribution_enforced` (the band's rating stays in the explanation
    as `computed_rating`); and `peer_ratings_shown`, the anonymous form of the peer
    ratings for a viewer who may not see them one by one (SPEC section 10), which
    replaces the list in the explanation. Neither changes any number."""
    override, shown = part.get("rating_override"), part.get("peer_ratings_shown")
    if override is None and shown is None:
        return result
    explanation = dict(result.explanation)
    if not explanation:  # scored without an explanation: only the rating changes
        if override is None or result.final is None:
            return result
        return dataclasses.replace(
            result, rating=override, flags=tuple(sorted({*result.flags, "distribution_enforced"}))
        )
    if shown is not None:
        components = dict(explanation["components"])
        components["eval"] = {**components["eval"], "peer_ratings": shown}
        explanation["components"] = components
    if override is not None and result.final is not None:
        explanation.update(rating=override, computed_rating=result.rating, distribution_enforced=True)
        return dataclasses.replace(
            result,
            rating=override,
            explanation=explanation,
            flags=tuple(sorted({*result.flags, "distribution_enforced"})),
        )
    return dataclasses.replace(result, explanation=explanation)


def anonymous_peer_ratings(ratings: Sequence[Decimal], minimum: int) -> dict[str, Any]:
    """What the evaluated employee sees of their peer ratings (SPEC section 10): the count
    and the mean, and only once enough reviewers answered."""
    n = len(ratings)
    if not authz.anonymous_feedback_visible(n, minimum):
        return {"available": False, "min_reviewers": minimum}
    return {"available": True, "min_reviewers": minimum, "count": n, "mean": div(sum(ratings, Decimal(0)), Decimal(n))}


def jsonable(value: Any) -> Any:
    """Exact decimal strings, so a person can recompute any number by hand."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (dt.date, uuid.UUID)):
        return str(value)
    return value
