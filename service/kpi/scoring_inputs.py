"""The KPI part of an employee's score inputs (SPEC section 5, KPI component): their
assignments in the cycle and its descendants, each bounded by its own cycle's dates,
with measurements, loaded set-wise for any number of employees. Registered with the
scores module's loader registry, which imports no KPI code.

Per chunk of cycles: one query for the assignments, one for their measurements, plus
the definitions and cycles they name; each selects only the columns scoring reads, as
plain rows, and the engine's inputs are built directly (the same fields as
`service.kpi.service.engine_input`). A small set of employees is filtered in SQL; a
large one (the whole cycle) is read cycle-wide and filtered here."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from operator import itemgetter
from typing import Any

from sqlalchemy import and_, select

from service.auth.context import Ctx
from service.cycles.models import Cycle
from service.kpi import repository as repo
from service.kpi.models import KpiAssignment, KpiDefinition, KpiMeasurement
from service.scoring import kpi as engine
from service.scoring.service import ScoringScope, input_loader

# Core statements over the tables (no ORM entities): rows come back without the ORM's
# per-row bookkeeping, which matters at a million rows.
_A, _M, _D, _Y = KpiAssignment.__table__.c, KpiMeasurement.__table__.c, KpiDefinition.__table__.c, Cycle.__table__.c
_MEASUREMENT_FROM = KpiMeasurement.__table__.join(KpiAssignment.__table__, and_(
    _A.org_id == _M.org_id, _A.id == _M.assignment_id))
_ID = itemgetter(0)
# The order of service.kpi.repository.measurements_of: (measured_at, created_at, id).
_MEASUREMENT_ORDER = itemgetter(2, 3, 4)


@input_loader
async def kpi_loader(ctx: Ctx, scope: ScoringScope) -> dict[uuid.UUID, dict[str, Any]]:
    return await assignment_inputs(ctx, scope.cycle_ids, set(scope.employee_ids))


async def assignment_inputs(ctx: Ctx, cycle_ids: Collection[uuid.UUID],
                            employee_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    wanted = employee_ids if isinstance(employee_ids, (set, frozenset)) else set(employee_ids)
    owners = list(wanted) if len(wanted) <= repo.CHUNK else None
    org, session = ctx.org_id, ctx.session
    rows: list[Any] = []
    measurements: dict[uuid.UUID, list[Any]] = {}
    cycles: dict[uuid.UUID, Any] = {}
    for chunk in repo.chunks(list(dict.fromkeys(cycle_ids))):
        where = [_A.org_id == org, _A.cycle_id.in_(list(chunk))]
        if owners is not None:
            where.append(_A.employee_id.in_(owners))
        found = [r for r in (await session.execute(select(
            _A.id, _A.employee_id, _A.cycle_id, _A.definition_id, _A.method, _A.weight, _A.threshold, _A.target,
            _A.stretch, _A.range_low, _A.range_high, _A.tolerance, _A.veto, _A.rewardable).where(*where))).all()
            if r[1] in wanted]
        if not found:
            continue
        rows.extend(found)
        measurements.update((r[0], []) for r in found)
        res = (await session.execute(select(
            _M.assignment_id, _M.value, _M.measured_at, _M.created_at, _M.id)
            .select_from(_MEASUREMENT_FROM).where(_M.org_id == org, *where))).all()
        for m in res:
            own = measurements.get(m[0])
            if own is not None:
                own.append(m)
        del res
        res = (await session.execute(select(_Y.id, _Y.start_date, _Y.end_date).where(
            _Y.org_id == org, _Y.id.in_(list(chunk))))).all()
        cycles.update((c[0], c) for c in res)
    if not rows:
        return {}
    definitions: dict[uuid.UUID, Any] = {}
    for chunk in repo.chunks(list({r[3] for r in rows})):
        res = (await session.execute(select(_D.id, _D.direction, _D.aggregation, _D.code).where(
            _D.org_id == org, _D.id.in_(list(chunk))))).all()
        definitions.update((d[0], d) for d in res)

    make_assignment, make_measurement = engine.AssignmentIn, engine.Measurement
    out: dict[uuid.UUID, dict[str, Any]] = {}
    rows.sort(key=_ID)
    for r in rows:
        d, cycle, ms = definitions[r[3]], cycles[r[2]], measurements[r[0]]
        if len(ms) > 1:
            ms.sort(key=_MEASUREMENT_ORDER)
        out.setdefault(r[1], {"assignments": []})["assignments"].append(make_assignment(
            id=r[0], method=r[4], direction=d[1], aggregation=d[2], weight=r[5], threshold=r[6], target=r[7],
            stretch=r[8], range_low=r[9], range_high=r[10], tolerance=r[11], veto=r[12], rewardable=r[13],
            code=d[3], measurements=tuple(make_measurement(value=m[1], measured_at=m[2], created_at=m[3])
                                          for m in ms),
            cycle_start=cycle[1], cycle_end=cycle[2]))
    return out
