"""The KPI part of an employee's score inputs (SPEC section 5, KPI component): their
assignments in the cycle and its descendants, each bounded by its own cycle's dates,
with measurements, loaded set-wise for any number of employees. Registered with the
scores module's loader registry, which imports no KPI code."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

from sqlalchemy import select

from service.auth.context import Ctx
from service.kpi import repository as repo
from service.kpi.models import KpiAssignment
from service.kpi.service import engine_input
from service.scoring.service import ScoringScope, input_loader


@input_loader
async def kpi_loader(ctx: Ctx, scope: ScoringScope) -> dict[uuid.UUID, dict[str, Any]]:
    wanted = set(scope.employee_ids)
    rows: list[KpiAssignment] = []
    for chunk in repo.chunks(list(scope.cycle_ids)):
        res = await ctx.session.execute(select(KpiAssignment).where(
            KpiAssignment.org_id == ctx.org_id, KpiAssignment.cycle_id.in_(list(chunk))).order_by(KpiAssignment.id))
        rows.extend(a for a in res.scalars() if a.employee_id in wanted)
    if not rows:
        return {}
    defs = await repo.definitions_by_id(ctx.session, ctx.org_id, (r.definition_id for r in rows))
    cycles = await repo.cycles_by_id(ctx.session, ctx.org_id, (r.cycle_id for r in rows))
    measurements = await repo.measurements_of(ctx.session, ctx.org_id, [r.id for r in rows])
    out: dict[uuid.UUID, dict[str, Any]] = {}
    for r in rows:
        cycle = cycles[r.cycle_id]
        item = dataclasses.replace(engine_input(r, defs[r.definition_id], measurements.get(r.id, [])),
                                   cycle_start=cycle.start_date, cycle_end=cycle.end_date)
        out.setdefault(r.employee_id, {"assignments": []})["assignments"].append(item)
    return out
