"""The KPI part of an employee's score inputs (SPEC section 5, KPI component): their
assignments in the cycle and its descendants, each bounded by its window (its own
cycle's dates narrowed by its effective dates), loaded set-wise for any number of
employees. Registered with the scores module's loader registry, which imports no KPI code.

One query per chunk of cycles: the assignments with their definition's direction,
aggregation and code, their cycle's dates and effective dates, and the summary of the
measurements dated within the window, filtered in SQL on both databases
(`service.scoring.kpi.MeasurementSummary`: count, sum, min, max and the last), which
is all an aggregation reads. On PostgreSQL the database computes the summaries (exact
NUMERIC arithmetic, the engine's tie rule for the last: latest
`measured_at`, then latest created, then the first id), so a cycle of 80,000
assignments with 240,000 measurements sends 80,000 rows; SQLite stores decimals as text,
which its aggregates would read as floats, so there the measurements are read and
summarized by the engine's own `summarize`. A small set of employees is filtered in
SQL; a large one (the whole cycle) is read cycle-wide and filtered here; a recompute
chunk (an id range) is read by employee range (`ScoringScope.employee_range`)."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from operator import itemgetter
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.dialects.postgresql import aggregate_order_by, array_agg

from service.auth.context import Ctx
from service.cycles.models import Cycle
from service.kpi import repository as repo
from service.kpi.models import KpiAssignment, KpiDefinition, KpiMeasurement
from service.scoring import kpi as engine
from service.scoring.service import ScoringScope, Span, input_loader, who

# Core statements over the tables (no ORM entities): rows come back without the ORM's
# per-row bookkeeping, which matters at a million rows.
_A, _M, _D, _Y = KpiAssignment.__table__.c, KpiMeasurement.__table__.c, KpiDefinition.__table__.c, Cycle.__table__.c
_ASSIGNMENT_FROM = KpiAssignment.__table__.join(
    KpiDefinition.__table__, and_(_D.org_id == _A.org_id, _D.id == _A.definition_id)
).join(Cycle.__table__, and_(_Y.org_id == _A.org_id, _Y.id == _A.cycle_id))
_ASSIGNMENT_COLUMNS = (
    _A.id,
    _A.employee_id,
    _A.method,
    _A.weight,
    _A.threshold,
    _A.target,
    _A.stretch,
    _A.range_low,
    _A.range_high,
    _A.tolerance,
    _A.veto,
    _A.rewardable,
    _D.direction,
    _D.aggregation,
    _D.code,
    _Y.start_date,
    _Y.end_date,
    _A.effective_from,
    _A.effective_to,
)
# An assignment's window: its effective dates, its cycle's where it has none (the rule of
# service.scoring.proration.window, in SQL; the dates are validated to lie within the cycle).
_WINDOW = (
    _M.measured_at >= func.coalesce(_A.effective_from, _Y.start_date),
    _M.measured_at <= func.coalesce(_A.effective_to, _Y.end_date),
)
_MEASURED_FROM = KpiMeasurement.__table__.join(
    KpiAssignment.__table__, and_(_A.org_id == _M.org_id, _A.id == _M.assignment_id)
).join(Cycle.__table__, and_(_Y.org_id == _A.org_id, _Y.id == _A.cycle_id))
_ID = itemgetter(0)
# The order of service.kpi.repository.measurements_of: (measured_at, created_at, id).
_MEASUREMENT_ORDER = itemgetter(2, 3, 4)


@input_loader
async def kpi_loader(ctx: Ctx, scope: ScoringScope) -> dict[uuid.UUID, dict[str, Any]]:
    return await assignment_inputs(ctx, scope.cycle_ids, set(scope.employee_ids), scope.employee_range)


def _summaries(org: uuid.UUID, where: list[Any]) -> Any:
    """Per assignment, the summary of its measurements within its window (PostgreSQL)."""
    last = array_agg(aggregate_order_by(_M.value, _M.measured_at.desc(), _M.created_at.desc(), _M.id))[1]
    return (
        select(
            _M.assignment_id,
            func.count().label("n"),
            func.sum(_M.value).label("total"),
            func.min(_M.value).label("minimum"),
            func.max(_M.value).label("maximum"),
            last.label("last"),
        )
        .select_from(_MEASURED_FROM)
        .where(_M.org_id == org, *_WINDOW, *where)
        .group_by(_M.assignment_id)
        .subquery()
    )


async def assignment_inputs(
    ctx: Ctx,
    cycle_ids: Collection[uuid.UUID],
    employee_ids: Collection[uuid.UUID],
    employee_range: Span | None = None,
) -> dict[uuid.UUID, dict[str, Any]]:
    """The assignments of these employees; with `employee_range` (every population row
    in it is asked for: a recompute chunk) they are read by employee range."""
    wanted = employee_ids if isinstance(employee_ids, (set, frozenset)) else set(employee_ids)
    owners = who(_A.employee_id, wanted, employee_range, repo.CHUNK)
    org, session = ctx.org_id, ctx.session
    in_database = session.get_bind().dialect.name == "postgresql"
    rows: list[Any] = []
    measurements: dict[uuid.UUID, list[Any]] = {}
    for chunk in repo.chunks(list(dict.fromkeys(cycle_ids))):
        where = [_A.org_id == org, _A.cycle_id.in_(list(chunk)), *owners]
        if in_database:
            s = _summaries(org, where)
            stmt = select(*_ASSIGNMENT_COLUMNS, s.c.n, s.c.total, s.c.minimum, s.c.maximum, s.c.last).select_from(
                _ASSIGNMENT_FROM.outerjoin(s, s.c.assignment_id == _A.id)
            )
        else:
            stmt = select(*_ASSIGNMENT_COLUMNS).select_from(_ASSIGNMENT_FROM)
        found = [r for r in (await session.execute(stmt.where(*where))).all() if r[1] in wanted]
        if not found:
            continue
        rows.extend(found)
        if in_database:
            continue
        measurements.update((r[0], []) for r in found)
        res = (
            await session.execute(
                select(_M.assignment_id, _M.value, _M.measured_at, _M.created_at, _M.id)
                .select_from(_MEASURED_FROM)
                .where(_M.org_id == org, *_WINDOW, *where)
            )
        ).all()
        for m in res:
            own = measurements.get(m[0])
            if own is not None:
                own.append(m)
        del res

    make_assignment, make_measurement = engine.AssignmentIn, engine.Measurement
    make_summary, summarize = engine.MeasurementSummary, engine.summarize
    out: dict[uuid.UUID, dict[str, Any]] = {}
    rows.sort(key=_ID)
    for r in rows:
        if in_database:
            summary = (
                make_summary(count=r[19], total=r[20], minimum=r[21], maximum=r[22], last=r[23]) if r[19] else None
            )
        else:
            ms = measurements[r[0]]
            if len(ms) > 1:
                ms.sort(key=_MEASUREMENT_ORDER)
            summary = summarize([make_measurement(value=m[1], measured_at=m[2], created_at=m[3]) for m in ms])
        out.setdefault(r[1], {"assignments": []})["assignments"].append(
            make_assignment(
                id=r[0],
                method=r[2],
                direction=r[12],
                aggregation=r[13],
                weight=r[3],
                threshold=r[4],
                target=r[5],
                stretch=r[6],
                range_low=r[7],
                range_high=r[8],
                tolerance=r[9],
                veto=r[10],
                rewardable=r[11],
                code=r[14],
                cycle_start=r[15],
                cycle_end=r[16],
                effective_from=r[17],
                effective_to=r[18],
                summary=summary,
                summarized=True,
            )
        )
    return out
