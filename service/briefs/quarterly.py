"""The quarterly review brief: the result data and the gap to target per objective and per
KPI, as the engine computes them, and the previous review's improvement plan with where
each action stands.

- An objective's target is a score of 1: `gap` = 1 - score (the engine's objective
  score, service/okr/compute.py `objective_view`, the `score` the API shows).
- A KPI's `actual` and `points` are the engine's (service/kpi/service.py `compute_view`,
  with the employee's scoring policy); `gap` is how far the actual falls short of the
  target in the KPI's direction (target - actual; actual - target when lower is
  better; the distance outside the range for a range), and `points_gap` the policy's
  target points (`kpi_target_points`) minus the points.

A review meeting's scope decides what it covers: an evaluation's meeting, the employee's
objectives and KPIs in the evaluation's cycle; an objective's, that objective; a cycle's,
the cycle's shared objectives (company, department and team levels). The previous review
is the latest review meeting of the same scope before this one
(`repository.previous_meeting`).

`prefill` writes a meeting's `result_data` (the brief's objectives and KPIs) and `gap`
(the gap comparison in Markdown) from the brief, instead of typed input."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from service.auth.context import Ctx
from service.briefs import repository as repo
from service.briefs.common import calendar
from service.briefs.markdown import gap_markdown
from service.briefs.people import objective_states
from service.briefs.schemas import BriefScope, KpiGap, ObjectiveGap, PlanAction, PreviousReview, QuarterlyReviewBrief
from service.cycles.models import Cycle
from service.errors import NotFound, ValidationFailed
from service.evaluations import repository as eval_repo
from service.evaluations.models import ReviewMeeting
from service.kpi import repository as kpi_repo
from service.kpi import service as kpi
from service.kpi.models import KpiAssignment
from service.okr.models import Objective
from service.scoring.numbers import ONE, ZERO, round_points

SHARED_LEVELS = ("company", "department", "team")
MAX_OBJECTIVES = 500
RESULT_DATA_LIMIT = 65536


def kpi_gap(view: kpi.AssignmentView, target_points: Decimal) -> KpiGap:
    row, definition, s = view.row, view.definition, view.score
    gap: Decimal | None = None
    if s.actual is not None:
        if definition.direction == "target_range" or row.method == "range":
            low, high = row.range_low, row.range_high
            if low is not None and high is not None:
                gap = low - s.actual if s.actual < low else s.actual - high if s.actual > high else ZERO
        elif row.target is not None:
            gap = s.actual - row.target if definition.direction == "lower_is_better" else row.target - s.actual
    points = round_points(s.points)
    return KpiGap(
        assignment_id=row.id,
        employee_id=row.employee_id,
        kpi_code=definition.code,
        direction=definition.direction,
        method=row.method,
        actual=s.actual,
        target=row.target,
        gap=gap,
        points=points,
        target_points=round_points(target_points),
        points_gap=round_points(target_points) - points,
        missing_data=s.missing_data,
    )


async def kpi_gaps(ctx: Ctx, rows: Sequence[KpiAssignment]) -> list[KpiGap]:
    """The engine's view of each assignment, under its employee's policy (a fixed number
    of statements: definitions, cycles, measurements, employees, the policy book)."""
    defs = await kpi_repo.definitions_by_id(ctx.session, ctx.org_id, (r.definition_id for r in rows))
    cycles = await kpi_repo.cycles_by_id(ctx.session, ctx.org_id, (r.cycle_id for r in rows))
    ms = await kpi_repo.measurements_of(ctx.session, ctx.org_id, [r.id for r in rows])
    params = await kpi.policies_for(ctx, rows, cycles)
    return [
        kpi_gap(
            kpi.compute_view(r, defs[r.definition_id], cycles[r.cycle_id], ms.get(r.id, []), params[r.id]),
            params[r.id].kpi_target_points,
        )
        for r in rows
    ]


async def previous_review(ctx: Ctx, meeting: ReviewMeeting, today: dt.date) -> PreviousReview | None:
    before = await repo.previous_meeting(ctx.session, meeting)
    if before is None:
        return None
    return PreviousReview(
        review_meeting_id=before.id,
        title=before.title,
        held_on=before.held_on,
        improvement_plan=[
            PlanAction(
                action=a["action"],
                owner_id=a["owner_id"],
                due_date=a["due_date"],
                status=a["status"],
                overdue=a["status"] != "done" and dt.date.fromisoformat(a["due_date"]) < today,
            )
            for a in before.improvement_plan or []
        ],
    )


async def quarterly_brief(
    ctx: Ctx,
    cycle: Cycle,
    scope: BriefScope,
    meeting: ReviewMeeting | None = None,
) -> QuarterlyReviewBrief:
    """The brief of a review of `cycle` over `scope` (objectives the caller may read, and
    for employees their KPI assignments the caller may read); with `meeting`, the
    previous review of the same scope and its plan."""
    clock = await calendar(ctx)
    as_of = min(clock.today, cycle.end_date)
    in_cycle = [cycle.id]
    if scope.kind == "cycle":
        objectives = await repo.visible_objectives_of(
            ctx.session, ctx.org_id, ctx.principal, cycle_ids=in_cycle, levels=SHARED_LEVELS, drafts=False
        )
    elif scope.kind == "objective":
        objectives = await repo.visible_objectives_of(
            ctx.session,
            ctx.org_id,
            ctx.principal,
            objective_ids=[scope.objective_id],  # type: ignore[list-item]
        )
    else:
        objectives = await repo.visible_objectives_of(
            ctx.session, ctx.org_id, ctx.principal, owners=scope.employee_ids, cycle_ids=in_cycle, drafts=False
        )
    gaps = [
        ObjectiveGap(
            objective_id=o.id,
            title=o.title,
            owner_id=o.owner_id,
            level=o.level,
            score=view.score,
            progress=view.progress,
            target=ONE,
            gap=None if view.score is None else ONE - view.score,
            key_results=krs,
        )
        for o, view, krs in await objective_states(ctx, objectives[:MAX_OBJECTIVES], as_of)
    ]
    kpis: list[KpiGap] = []
    if scope.kind == "employees" and scope.employee_ids:
        rows = await repo.visible_assignments_of(ctx.session, ctx.org_id, ctx.principal, scope.employee_ids, in_cycle)
        kpis = await kpi_gaps(ctx, rows)
    return QuarterlyReviewBrief(
        cycle_id=cycle.id,
        scope=scope,
        as_of=as_of,
        objectives=gaps,
        kpis=kpis,
        previous_review=await previous_review(ctx, meeting, clock.today) if meeting is not None else None,
    )


async def meeting_scope(ctx: Ctx, meeting: ReviewMeeting) -> tuple[Cycle, BriefScope]:
    """The cycle and scope a review meeting covers (see the module's docstring)."""
    cycle_id: uuid.UUID
    if meeting.subject_kind == "cycle":
        cycle_id, scope = meeting.subject_id, BriefScope(kind="cycle")
    elif meeting.subject_kind == "objective":
        obj = await ctx.session.get(Objective, (ctx.org_id, meeting.subject_id))
        if obj is None:
            raise NotFound("the meeting's objective no longer exists")
        cycle_id, scope = obj.cycle_id, BriefScope(kind="objective", objective_id=obj.id)
    else:
        ev = await eval_repo.get_evaluation(ctx.session, ctx.org_id, meeting.subject_id)
        if ev is None:
            raise NotFound("the meeting's evaluation no longer exists")
        cycle_id, scope = ev.cycle_id, BriefScope(kind="employees", employee_ids=[ev.employee_id])
    cycle = await ctx.session.get(Cycle, (ctx.org_id, cycle_id))
    if cycle is None:
        raise NotFound("the meeting's cycle no longer exists")
    return cycle, scope


async def meeting_brief(ctx: Ctx, meeting: ReviewMeeting) -> QuarterlyReviewBrief:
    """The quarterly review brief of a review meeting the caller may read."""
    cycle, scope = await meeting_scope(ctx, meeting)
    return await quarterly_brief(ctx, cycle, scope, meeting)


def prefilled(brief: QuarterlyReviewBrief) -> tuple[dict[str, Any], str]:
    """A meeting's `result_data` and `gap` from its brief; 422 when the result data would
    pass the 64 KiB a typed one may have."""
    data = brief.model_dump(mode="json", by_alias=True, include={"cycle_id", "scope", "as_of", "objectives", "kpis"})
    if len(json.dumps(data)) > RESULT_DATA_LIMIT:
        raise ValidationFailed.field("prefill", "the result data of this scope is over 64 KiB: record it typed")
    return data, gap_markdown(brief)


async def prefill(ctx: Ctx, meeting: ReviewMeeting) -> None:
    """Fill the meeting's `result_data` and `gap` from the engine (the caller flushes)."""
    data, gap = prefilled(await meeting_brief(ctx, meeting))
    meeting.result_data, meeting.gap = data, gap
