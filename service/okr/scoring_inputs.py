"""The OKR part of an employee's score inputs (SPEC section 4, OKR component): the
objectives they own in the cycle and its descendants whose status counts (published or
closed; drafts and rejected ones never do), with key results and check-ins, loaded
set-wise for any number of employees. Registered with the scores module's loader
registry, which imports no OKR code."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from service.auth.context import Ctx
from service.okr import compute
from service.okr import repository as repo
from service.okr.models import Objective
from service.scoring.okr import COUNTED_STATUSES
from service.scoring.service import ScoringScope, input_loader


async def objective_inputs(ctx: Ctx, cycle_ids: list[uuid.UUID] | tuple[uuid.UUID, ...],
                           employee_ids: set[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    rows: list[Objective] = []
    for start in range(0, len(cycle_ids), repo.CHUNK):
        res = await ctx.session.execute(select(Objective).where(
            Objective.org_id == ctx.org_id, Objective.cycle_id.in_(list(cycle_ids)[start:start + repo.CHUNK]),
            Objective.status.in_(sorted(COUNTED_STATUSES))).order_by(Objective.id))
        rows.extend(o for o in res.scalars() if o.owner_id in employee_ids)
    krs = await repo.key_results_of(ctx.session, ctx.org_id, [o.id for o in rows])
    check_ins = await repo.check_ins_of(ctx.session, ctx.org_id, [k.id for v in krs.values() for k in v])
    out: dict[uuid.UUID, dict[str, Any]] = {}
    for obj in rows:
        out.setdefault(obj.owner_id, {"objectives": []})["objectives"].append(
            compute.objective_in(obj, krs.get(obj.id, []), check_ins))
    return out


@input_loader
async def okr_loader(ctx: Ctx, scope: ScoringScope) -> dict[uuid.UUID, dict[str, Any]]:
    return await objective_inputs(ctx, scope.cycle_ids, set(scope.employee_ids))
