"""Running a plan: the cycle's final scores and the employees' facts are gathered
set-based (a constant number of queries for the whole cycle, never one per employee),
`calc.compute_plan` decides every amount or nomination, and the results are written as
drafts. Re-running replaces drafts only: approved, finalized and declined results stay
as they are (their employees get no new draft), and with a pool the new drafts share
what those kept results leave of it. An okr_breakthrough plan with a window of cycles
(`history_cycles`) reads the earlier cycles' scores too (`history`: one scoring pass per
earlier cycle, at most seven); each nomination written emits `nomination.created`.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm.attributes import set_committed_value

from service.auth.context import Ctx
from service.authz import policy
from service.authz.enforce import require
from service.cycles.models import Cycle
from service.incentives import calc, history
from service.incentives.events import NominationCreated
from service.incentives.models import IncentivePlan, IncentiveResult
from service.incentives.plans import get_plan
from service.incentives.schemas import IncentiveRunRead, RunSkip
from service.kit import audit, outbox
from service.kit.chunks import chunks
from service.kit.etag import IfMatch, check_version
from service.org.models import Department, Employee
from service.scoring import records
from service.scoring import service as scoring
from service.types import new_id, utcnow

CHUNK = 2000


def _ancestry(departments: dict[uuid.UUID, uuid.UUID | None], start: uuid.UUID | None) -> tuple[uuid.UUID, ...]:
    chain: list[uuid.UUID] = []
    node = start
    while node is not None and node not in chain and len(chain) < 10000:
        chain.append(node)
        node = departments.get(node)
    return tuple(chain)


async def people(
    ctx: Ctx, cycle: Cycle, employee_ids: Sequence[uuid.UUID] | None = None
) -> dict[uuid.UUID, calc.Person]:
    """The facts of the cycle's population (or of some of it): two queries (employees,
    departments), more only for more than 5,000 given employees."""
    deps = {
        r.id: r.parent_id
        for r in (
            await ctx.session.execute(
                select(Department.id, Department.parent_id).where(Department.org_id == ctx.org_id)
            )
        ).all()
    }
    stmt = select(
        Employee.id,
        Employee.status,
        Employee.hire_date,
        Employee.termination_date,
        Employee.department_id,
        Employee.position_id,
        Employee.base_salary_minor,
        Employee.comp_currency,
        Employee.target_bonus_pct,
        Employee.target_bonus_minor,
    ).where(Employee.org_id == ctx.org_id, scoring.population_filter(cycle))
    if employee_ids is None:
        rows = list((await ctx.session.execute(stmt)).all())
    else:
        ids, rows = list(employee_ids), []
        for part in chunks(ids):
            rows.extend((await ctx.session.execute(stmt.where(Employee.id.in_(part)))).all())
    return {
        r.id: calc.Person(
            id=r.id,
            status=r.status,
            hire_date=r.hire_date,
            termination_date=r.termination_date,
            departments=_ancestry(deps, r.department_id),
            position_id=r.position_id,
            base_salary_minor=r.base_salary_minor,
            comp_currency=r.comp_currency,
            target_bonus_pct=r.target_bonus_pct,
            target_bonus_minor=r.target_bonus_minor,
        )
        for r in rows
    }


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def score_facts(scored: scoring.Scored) -> calc.ScoreFacts:
    """What the incentive rules need of a score: final, rating, policy, and the exact KPI
    points and objective scores of its explanation."""
    r = scored.result
    components = r.explanation.get("components", {})
    kpis = tuple(
        calc.KpiPoints(
            id=a.get("id"),
            code=a.get("code") or "",
            points=_dec(a.get("points")) or calc.ZERO,
            rewardable=bool(a.get("rewardable")),
            missing_data=bool(a.get("missing_data")),
        )
        for a in components.get("kpi", {}).get("assignments", [])
    )
    objectives = tuple(
        calc.ObjectiveScore(
            id=o.get("id"),
            title=o.get("title") or "",
            type=o.get("type") or "",
            score=_dec(o.get("score")),
            weight=calc.ONE if o.get("weight") is None else Decimal(str(o["weight"])),
        )
        for o in components.get("okr", {}).get("objectives", [])
    )
    return calc.ScoreFacts(
        status=r.status,
        final=r.final,
        rating=r.rating,
        kpi_component=_dec(r.components.get("kpi")),
        flags=tuple(r.flags),
        policy_id=str(scored.policy.id) if scored.policy.id else None,
        policy_version=scored.policy.version,
        kpis=kpis,
        objectives=objectives,
        record_version=scored.record.version if scored.record is not None else None,
    )


async def _existing(ctx: Ctx, plan_id: uuid.UUID) -> list[Any]:
    return list(
        (
            await ctx.session.execute(
                select(
                    IncentiveResult.id,
                    IncentiveResult.employee_id,
                    IncentiveResult.status,
                    IncentiveResult.amount_minor,
                ).where(
                    IncentiveResult.org_id == ctx.org_id,
                    IncentiveResult.plan_id == plan_id,
                    IncentiveResult.adjusts_id.is_(None),
                )
            )
        ).all()
    )


def plan_spec(plan: IncentivePlan, cycle: Cycle, window: Sequence[Cycle] = ()) -> calc.PlanSpec:
    return calc.PlanSpec(
        kind=plan.kind,
        currency=plan.currency,
        period=calc.Period(cycle.start_date, cycle.end_date),
        params=plan.params,
        plan_id=str(plan.id),
        plan_version=plan.version,
        plan_name=plan.name,
        cycle=history.cycle_info(cycle),
        window=tuple(history.cycle_info(c) for c in window),
    )


def result_row(ctx: Ctx, plan: IncentivePlan, cycle: Cycle, o: calc.Outcome, now: Any) -> dict[str, Any]:
    return {
        "org_id": ctx.org_id,
        "id": new_id(),
        "plan_id": plan.id,
        "employee_id": o.employee_id,
        "kind": "nomination" if o.nomination else "payment",
        "status": "draft",
        "amount_minor": o.amount_minor,
        "currency": plan.currency if o.amount_minor is not None else None,
        "nomination": o.nomination,
        "earning_code": plan.params.get("earning_code") if o.amount_minor is not None else None,
        "period_start": cycle.start_date,
        "period_end": cycle.end_date,
        "inputs": o.inputs,
        "created_by": ctx.principal.actor,
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }


async def run_plan(ctx: Ctx, plan_id: uuid.UUID, expected: IfMatch | None = None) -> IncentiveRunRead:
    plan = await get_plan(ctx, plan_id)
    require(policy.manage_incentives(ctx.principal), "incentive plan")
    check_version(expected, plan.version)
    now = utcnow()
    # The first write: it serializes runs of this plan (a row lock until commit).
    await ctx.session.execute(
        update(IncentivePlan)
        .where(IncentivePlan.org_id == ctx.org_id, IncentivePlan.id == plan.id)
        .values(last_run_at=now)
        .execution_options(synchronize_session=False)
    )
    set_committed_value(plan, "last_run_at", now)  # not the row's version: the ETag stays
    cycle = await ctx.session.get(Cycle, (ctx.org_id, plan.cycle_id))
    assert cycle is not None
    population = await scoring.population(ctx, cycle)
    scored = await records.official_or_live(ctx, cycle, population)
    facts = await people(ctx, cycle)
    existing = await _existing(ctx, plan.id)
    drafts = [r.id for r in existing if r.status == "draft"]
    kept = {r.employee_id: r for r in existing if r.status != "draft"}
    kept_total = sum(r.amount_minor or 0 for r in kept.values() if r.status != "declined")
    chosen = [s for s in scored if s.employee.id in facts and s.employee.id not in kept]
    earlier: list[Cycle] = []
    past: dict[uuid.UUID, dict[str, calc.CycleOkr]] = {}
    if plan.kind == "okr_breakthrough" and calc.windowed(plan.params):
        earlier = await history.window(ctx, cycle, int(plan.params.get("history_cycles") or 1))
        past = await history.objectives_by_cycle(ctx, earlier, [s.employee.id for s in chosen], score_facts)
    candidates = [
        calc.Candidate(person=facts[s.employee.id], score=score_facts(s), history=past.get(s.employee.id, {}))
        for s in chosen
    ]
    spec = plan_spec(plan, cycle, earlier)
    outcome = calc.compute_plan(spec, candidates, kept_total_minor=kept_total)

    await _replace(ctx, drafts)
    rows = [result_row(ctx, plan, cycle, o, now) for o in outcome.outcomes]
    for part in chunks(rows, CHUNK):
        await ctx.session.execute(insert(IncentiveResult), part)
    await audit.record_many(
        ctx.session,
        ctx.principal,
        "incentive_result.created",
        "incentive_result",
        [
            (
                r["id"],
                None,
                {
                    "plan_id": str(plan.id),
                    "employee_id": str(r["employee_id"]),
                    "kind": r["kind"],
                    "status": "draft",
                    "nomination": r["nomination"],
                },
            )
            for r in rows
        ],
    )
    await emit_created(ctx, plan, cycle, rows)
    counts = Counter(reason for _, reason in outcome.skipped)
    report = IncentiveRunRead(
        plan_id=plan.id,
        cycle_id=cycle.id,
        kind=plan.kind,
        population=len(population),
        created=len(rows),
        replaced=len(drafts),
        kept=len(kept),
        skipped=dict(sorted(counts.items())),
        skipped_employees=[RunSkip(employee_id=e, reason=reason) for e, reason in outcome.skipped],
        total_minor=(sum(o.amount_minor or 0 for o in outcome.outcomes) if plan.kind in calc.MONEY_KINDS else None),
        pool=outcome.pool,
        result_ids=[r["id"] for r in rows],
    )
    await audit.record(
        ctx.session,
        ctx.principal,
        "incentive_plan.run",
        "incentive_plan",
        plan.id,
        None,
        {
            "cycle_id": str(cycle.id),
            "population": report.population,
            "created": report.created,
            "replaced": report.replaced,
            "kept": report.kept,
            "skipped": report.skipped,
        },
    )
    return report


def window_ids(inputs: dict[str, Any], cycle: Cycle) -> list[uuid.UUID]:
    """The cycles a nomination's window held, newest first (the plan's cycle alone without one)."""
    cycles = (inputs.get("window") or {}).get("cycles") or []
    return [uuid.UUID(c["id"]) for c in cycles] or [cycle.id]


async def emit_created(ctx: Ctx, plan: IncentivePlan, cycle: Cycle, rows: Sequence[dict[str, Any]]) -> None:
    """A `nomination.created` event for each nomination among the new drafts, written
    with them (one multi-row insert): who, for what, and how many cycles the window held."""
    await outbox.emit_many(
        ctx.session,
        ctx.org_id,
        NominationCreated.event_type,
        [
            NominationCreated(
                nomination_id=r["id"],
                plan_id=plan.id,
                cycle_id=cycle.id,
                employee_id=r["employee_id"],
                nomination_kind=r["nomination"],
                cycles_counted=len(window_ids(r["inputs"], cycle)),
                window_cycle_ids=window_ids(r["inputs"], cycle),
            )
            for r in rows
            if r["kind"] == "nomination"
        ],
    )


async def _replace(ctx: Ctx, draft_ids: Sequence[uuid.UUID]) -> None:
    """Delete the plan's earlier drafts (never a result past draft: the status is checked
    again in the DELETE itself)."""
    ids = list(draft_ids)
    for part in chunks(ids, CHUNK):
        await ctx.session.execute(
            delete(IncentiveResult)
            .where(
                IncentiveResult.org_id == ctx.org_id,
                IncentiveResult.id.in_(part),
                IncentiveResult.status == "draft",
            )
            .execution_options(synchronize_session=False)
        )
    if ids:
        await audit.record_many(
            ctx.session,
            ctx.principal,
            "incentive_result.replaced",
            "incentive_result",
            [(i, {"status": "draft"}, None) for i in ids],
        )
