"""The window of cycles an okr_breakthrough plan looks at (`history_cycles`): the plan's
cycle and the most recent earlier cycles of its cadence (`calc.history_window` picks
them), and each candidate's scored objectives in every earlier one. Set-based and
bounded: one query for the cycles (at most `calc.MAX_HISTORY_CYCLES`), then per earlier
cycle one population query and one scoring pass for all candidates at once (the score of
record where the cycle has one, else the live score: `records.official_or_live`)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence

from sqlalchemy import select

from service.auth.context import Ctx
from service.cycles.models import Cycle
from service.incentives import calc
from service.scoring import records
from service.scoring import service as scoring


def cycle_info(cycle: Cycle) -> calc.CycleInfo:
    return calc.CycleInfo(
        id=str(cycle.id), name=cycle.name, cadence=cycle.cadence, start=cycle.start_date, end=cycle.end_date
    )


async def window(ctx: Ctx, cycle: Cycle, history_cycles: int) -> list[Cycle]:
    """The earlier cycles of the window, newest first (as `calc.history_window` orders them)."""
    wanted = min(max(history_cycles, 1), calc.MAX_HISTORY_CYCLES) - 1
    if wanted == 0:
        return []
    stmt = (
        select(Cycle)
        .where(
            Cycle.org_id == ctx.org_id,
            Cycle.cadence == cycle.cadence,
            Cycle.end_date < cycle.start_date,
            Cycle.id != cycle.id,
        )
        .order_by(Cycle.end_date.desc(), Cycle.start_date.desc())
        .limit(calc.MAX_HISTORY_CYCLES * 4)
    )
    rows = list((await ctx.session.scalars(stmt)).all())
    by_id = {str(c.id): c for c in rows}
    return [by_id[i.id] for i in calc.history_window(cycle_info(cycle), [cycle_info(c) for c in rows], history_cycles)]


async def objectives_by_cycle(
    ctx: Ctx,
    cycles: Sequence[Cycle],
    employee_ids: Sequence[uuid.UUID],
    facts_of: Callable[[scoring.Scored], calc.ScoreFacts],
) -> dict[uuid.UUID, dict[str, calc.CycleOkr]]:
    """Each employee's scored objectives in each of `cycles` in whose population they
    were: {employee: {cycle id: facts}}. `facts_of` turns a score into `calc.ScoreFacts`."""
    out: dict[uuid.UUID, dict[str, calc.CycleOkr]] = {e: {} for e in employee_ids}
    if not employee_ids:
        return out
    for cycle in cycles:
        population = await scoring.population(ctx, cycle, employee_ids)
        for scored in await records.official_or_live(ctx, cycle, population):
            facts = facts_of(scored)
            out.setdefault(scored.employee.id, {})[str(cycle.id)] = calc.CycleOkr(
                cycle_id=str(cycle.id), objectives=facts.objectives, official=facts.record_version is not None
            )
    return out
