"""What an amended score of record does to the incentives that depended on it (SPEC
section 9: "turns any difference in finalized pay into correction results").

For each incentive plan of the amended cycle, the employee's outcome is computed twice
with the plan's rules as they stand, once from the record before the amendment and once
from the amended record, with the same employment and pay facts; the difference is the
effect of the amendment alone (a raise given since, say, is not smuggled into it):
- a finalized payment (or one already corrected) gets a draft result of kind
  `adjustment` for the difference, exact to the minor unit, which walks the usual
  lifecycle (approve, finalize, payroll). Paid results are never touched;
- a result not finalized yet is left alone and reported: running the plan again
  replaces drafts (an approved result is kept until declined);
- an employee the run skipped who now earns an amount gets a new draft payment
  (plans without a pool);
- with a pool, the original run's scale (available / total raw, in the paid result's
  inputs) applies to both amounts, so a correction never re-shares what others were
  paid; an employee who was skipped in a pooled plan is reported for review;
- a nomination that the amendment would add or remove is reported for review:
  nominations are decisions, not amounts.

Each correction's inputs name the amendment (cycle, employee, record versions, before
and after) so payroll and auditors can trace it.
"""

from __future__ import annotations

import dataclasses
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select

from service.auth.context import Ctx
from service.cycles.models import Cycle
from service.incentives import calc, results, runs
from service.incentives.models import IncentivePlan, IncentiveResult
from service.incentives.schemas import ResultAdjustmentCreate
from service.kit import audit
from service.scoring import records
from service.scoring import service as scoring
from service.scoring.schemas import Correction
from service.types import utcnow


def _pool_scale(original: IncentiveResult | None) -> tuple[int, int] | None:
    """(available, total raw) of the run that produced the result, when its pool scaled."""
    pool = ((original.inputs or {}).get("money") or {}).get("pool") if original is not None else None
    if not pool or not pool.get("scaled"):
        return None
    return int(pool["available_minor"]), int(pool["total_raw_minor"])


def _amount(spec: calc.PlanSpec, person: calc.Person, scored: scoring.Scored, scale: tuple[int, int] | None) -> int:
    """The employee's amount under the plan's rules without the pool, scaled as the
    original run's pool scaled it (rounded half-up)."""
    unpooled = dataclasses.replace(spec, params={**spec.params, "pool_minor": None})
    run = calc.compute_plan(unpooled, [calc.Candidate(person=person, score=runs.score_facts(scored))])
    raw = (run.outcomes[0].amount_minor or 0) if run.outcomes else 0
    if scale is None:
        return raw
    available, total = scale
    return calc.half_up(calc.div(Decimal(raw * available), Decimal(total)))


def _nominated(spec: calc.PlanSpec, person: calc.Person, scored: scoring.Scored) -> bool:
    run = calc.compute_plan(spec, [calc.Candidate(person=person, score=runs.score_facts(scored))])
    return bool(run.outcomes)


def _note(cycle: Cycle, before: scoring.Scored, after: scoring.Scored) -> dict[str, Any]:
    def side(s: scoring.Scored) -> dict[str, Any]:
        final = s.result.final
        return {
            "record_version": s.record.version if s.record is not None else None,
            "final": calc.text(final),
            "rating": s.result.rating,
        }

    return {
        "amendment": {
            "cycle_id": str(cycle.id),
            "employee_id": str(after.employee.id),
            "before": side(before),
            "after": side(after),
        }
    }


@records.on_amended
async def correct_incentives(ctx: Ctx, cycle: Cycle, before: scoring.Scored, after: scoring.Scored) -> list[Correction]:
    plans = list(
        (
            await ctx.session.execute(
                select(IncentivePlan)
                .where(
                    IncentivePlan.org_id == ctx.org_id,
                    IncentivePlan.cycle_id == cycle.id,
                    IncentivePlan.last_run_at.is_not(None),
                )
                .order_by(IncentivePlan.id)
            )
        ).scalars()
    )
    if not plans:
        return []
    emp = after.employee.id
    person = (await runs.people(ctx, cycle, [emp])).get(emp)
    if person is None:
        return []
    mine = list(
        (
            await ctx.session.execute(
                select(IncentiveResult).where(
                    IncentiveResult.org_id == ctx.org_id,
                    IncentiveResult.employee_id == emp,
                    IncentiveResult.plan_id.in_([p.id for p in plans]),
                    IncentiveResult.adjusts_id.is_(None),
                )
            )
        ).scalars()
    )
    originals = {r.plan_id: r for r in mine}
    out = []
    for plan in plans:
        out.append(await _correct(ctx, cycle, plan, person, originals.get(plan.id), before, after))
    return out


async def _correct(
    ctx: Ctx,
    cycle: Cycle,
    plan: IncentivePlan,
    person: calc.Person,
    original: IncentiveResult | None,
    before: scoring.Scored,
    after: scoring.Scored,
) -> Correction:
    spec = runs.plan_spec(plan, cycle)

    def report(action: str, detail: str, result_id: uuid.UUID | None = None, amount: int | None = None) -> Correction:
        return Correction(
            plan_id=plan.id,
            plan_kind=plan.kind,
            action=action,
            result_id=result_id if result_id is not None else (original.id if original else None),
            amount_minor=amount,
            currency=plan.currency if amount is not None else None,
            detail=detail,
        )

    if plan.kind not in calc.MONEY_KINDS:
        was, now = _nominated(spec, person, before), _nominated(spec, person, after)
        if was == now:
            return report("unchanged", "the nomination rule gives the same answer")
        return report(
            "review",
            "the amended result "
            + ("qualifies" if now else "no longer qualifies")
            + " for this nomination; nominations are decided by people, so nothing was changed",
        )
    scale = _pool_scale(original)
    old, new = _amount(spec, person, before, scale), _amount(spec, person, after, scale)
    delta = new - old
    if delta == 0:
        return report("unchanged", "the amendment does not change this amount")
    if original is None:
        if plan.params.get("pool_minor") is not None:
            return report(
                "review",
                "the employee now earns an amount in a pooled plan they were not paid from; "
                "a share of the pool is a decision for HR",
                amount=delta,
            )
        return await _new_payment(ctx, cycle, plan, spec, person, before, after, new)
    if original.status != "finalized":
        return report(
            "not_finalized",
            f"the result is {original.status}, not paid: run the plan again "
            "(drafts are replaced; decline an approved result first)",
            amount=delta,
        )
    row = await results.adjust(
        ctx,
        original.id,
        ResultAdjustmentCreate(
            amount_minor=delta, reason=f"score of record amended: {after.record.reason if after.record else ''}"[:4000]
        ),
        note=_note(cycle, before, after),
    )
    return report(
        "adjustment_created",
        f"a draft correction of {delta} minor units for the paid result "
        f"{original.id}; approve and finalize it for payroll",
        row.id,
        delta,
    )


async def _new_payment(
    ctx: Ctx,
    cycle: Cycle,
    plan: IncentivePlan,
    spec: calc.PlanSpec,
    person: calc.Person,
    before: scoring.Scored,
    after: scoring.Scored,
    amount: int,
) -> Correction:
    run = calc.compute_plan(spec, [calc.Candidate(person=person, score=runs.score_facts(after))])
    outcome = run.outcomes[0]
    outcome.inputs.update(_note(cycle, before, after))
    now = utcnow()
    row = runs.result_row(ctx, plan, cycle, outcome, now)
    await ctx.session.execute(insert(IncentiveResult), [row])
    await audit.record(
        ctx.session,
        ctx.principal,
        "incentive_result.created",
        "incentive_result",
        row["id"],
        None,
        {
            "plan_id": str(plan.id),
            "employee_id": str(person.id),
            "kind": row["kind"],
            "status": "draft",
            "reason": "score of record amended",
        },
    )
    return Correction(
        plan_id=plan.id,
        plan_kind=plan.kind,
        action="payment_created",
        result_id=row["id"],
        amount_minor=amount,
        currency=plan.currency,
        detail="the employee had no result in this plan and now earns one: a draft payment",
    )
