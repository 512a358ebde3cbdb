"""The briefs about one person: a one-on-one (their objectives with the latest check-ins,
the feedback they received, their open tasks) and a performance interview (the documents
both sides prepare: the score with its explanation, the evaluation, the self review).

Visibility is the rest of the service's: the caller must be able to read the person's
subject data (themself, their managers, hr/admin/auditors: else 404); objectives come
from `visible_objectives`, feedback through the evaluation read model (anonymous
aggregates for the employee themself), reviews under `see_self_review` and
`see_manager_review`.

The open tasks of a one-on-one are the employee's own work as the task list computes it
for a plain employee (their approvals, reviews, acknowledgements, overdue check-ins,
development items). Peer feedback they owe others is left out unless the caller is the
employee: who reviews whom is the reviewer's to tell."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from service.auth.context import Ctx
from service.authz import policy
from service.authz.enforce import require
from service.briefs import repository as repo
from service.briefs.common import calendar, period_of, period_or_default
from service.briefs.schemas import (
    CheckInSummary,
    FeedbackReceived,
    InterviewBrief,
    KeyResultState,
    ObjectiveState,
    OneOnOneBrief,
)
from service.errors import NotFound
from service.evaluations import interviews
from service.evaluations import repository as eval_repo
from service.evaluations import service as evals
from service.okr import compute
from service.okr import repository as okr_repo
from service.okr.models import CheckIn, KeyResult, Objective
from service.org.models import Employee
from service.principal import Principal
from service.scoring import scores
from service.tasks.service import task_read, tasks_of


def key_result_state(kr: KeyResult, check_ins: Sequence[CheckIn], cycle: object, as_of: dt.date) -> KeyResultState:
    view = compute.key_result_view(kr, check_ins, cycle, as_of)  # type: ignore[arg-type]
    latest = max(check_ins, key=lambda c: (c.checked_in_at, c.created_at, c.id), default=None)
    return KeyResultState(
        key_result_id=kr.id,
        title=kr.title,
        kind=kr.kind,
        start=kr.start,
        target=kr.target,
        current=view.current,
        progress=view.progress,
        score=view.score,
        pace=view.pace,
        last_check_in=None
        if latest is None
        else CheckInSummary(
            checked_in_at=latest.checked_in_at,
            value=latest.value,
            done=latest.done,
            confidence=latest.confidence,
            status=latest.status,
            note=latest.note,
        ),
    )


async def objective_states(
    ctx: Ctx, objectives: Sequence[Objective], as_of: dt.date
) -> list[tuple[Objective, compute.ObjectiveView, list[KeyResultState]]]:
    """The engine's figures of these objectives and their key results (a fixed number of
    statements)."""
    krs = await okr_repo.key_results_of(ctx.session, ctx.org_id, [o.id for o in objectives])
    check_ins = await okr_repo.check_ins_of(ctx.session, ctx.org_id, [k.id for ks in krs.values() for k in ks])
    cycles = await okr_repo.cycles_by_id(ctx.session, ctx.org_id, {o.cycle_id for o in objectives})
    out = []
    for o in objectives:
        mine = krs.get(o.id, [])
        cycle = cycles.get(o.cycle_id)
        view = compute.objective_view(o, mine, check_ins, cycle, as_of)
        states = [key_result_state(k, check_ins.get(k.id, []), cycle, as_of) for k in mine]
        out.append((o, view, states))
    return out


async def _readable_person(ctx: Ctx, employee_id: uuid.UUID) -> policy.Relation:
    rel = await evals.relation(ctx, employee_id)
    if await ctx.session.get(Employee, (ctx.org_id, employee_id)) is None:
        raise NotFound("employee not found")
    require(policy.read_person_brief(ctx.principal, rel), "employee")
    return rel


async def one_on_one_brief(
    ctx: Ctx, employee_id: uuid.UUID, start: dt.date | None = None, end: dt.date | None = None
) -> OneOnOneBrief:
    """404 unless the caller may read the employee's subject data; the period defaults to
    the last seven days."""
    rel = await _readable_person(ctx, employee_id)
    clock = await calendar(ctx)
    start, end = period_or_default(clock, start, end)
    period = period_of(start, end)
    as_of = min(clock.today, end - dt.timedelta(days=1))
    objectives = await repo.visible_objectives_of(
        ctx.session,
        ctx.org_id,
        ctx.principal,
        owners=[employee_id],
        cycle_ids=repo.overlapping_cycles(ctx.org_id, start, end),
    )
    states = [
        ObjectiveState(
            objective_id=o.id,
            title=o.title,
            owner_id=o.owner_id,
            cycle_id=o.cycle_id,
            status=o.status,
            score=view.score,
            progress=view.progress,
            pace=view.pace,
            key_results=krs,
        )
        for o, view, krs in await objective_states(ctx, objectives, as_of)
    ]
    feedback = [
        FeedbackReceived(evaluation_id=e.id, cycle_id=e.cycle_id, summary=e.peer_feedback)
        for e in await evals.read_many(ctx, await repo.evaluations_of(ctx.session, ctx.org_id, employee_id, start, end))
        if e.peer_feedback is not None
    ]
    person = Principal(
        sub=f"employee:{employee_id}",
        org_id=ctx.org_id,
        kind="person",
        roles=frozenset({"employee"}),
        employee_id=employee_id,
    )
    tasks = [
        task_read(t)
        for t in sorted(await tasks_of(ctx, person), key=lambda t: (t.due or dt.date.max, t.kind, t.subject_id))
        if rel is policy.Relation.SELF or t.kind != "peer_feedback"
    ]
    return OneOnOneBrief(
        employee_id=employee_id, period=period, as_of=as_of, objectives=states, feedback=feedback, tasks=tasks
    )


async def interview_brief(ctx: Ctx, interview_id: uuid.UUID) -> InterviewBrief:
    """404 unless the caller may read the interview's evaluation."""
    row, _ = await interviews.get_interview(ctx, interview_id)
    ev = await eval_repo.get_evaluation(ctx.session, ctx.org_id, row.evaluation_id)
    assert ev is not None  # a foreign key guarantees it
    evaluation = await evals.read_one(ctx, ev)
    try:
        cycle, scored = await scores.get_score(ctx, row.cycle_id, row.employee_id)
        score = scores.score_read(cycle, scored)
    except NotFound:  # not in the cycle's scored population
        score = None
    return InterviewBrief(
        interview=interviews.interview_read(row),
        evaluation=evaluation,
        self_review=evaluation.self_review,
        manager_review=evaluation.manager_review,
        score=score,
    )
