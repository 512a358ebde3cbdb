"""Incentive plans: create, read, change. Parameters are validated per kind and stored
with every default made explicit, so a result's snapshot and the plan agree on what was
applied. Services flush, never commit."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select

from service.auth.context import Ctx
from service.authz import policy
from service.authz.enforce import require
from service.cycles.models import Cycle
from service.errors import Conflict, NotFound, ValidationFailed, validation_errors
from service.incentives.models import IncentivePlan, IncentiveResult
from service.incentives.schemas import (
    PARAMS_MODELS,
    IncentivePlanCreate,
    IncentivePlanRead,
    IncentivePlanUpdate,
)
from service.kit import audit
from service.kit.changes import audited, refuse_nulls, set_fields
from service.kit.etag import IfMatch
from service.kit.pagination import Page, PageParams, paginate
from service.org.models import Department, Organization, Position
from service.types import new_id


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: objects merge key by key, null removes, the rest replaces."""
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


async def validate_params(ctx: Ctx, kind: str, raw: dict[str, Any]) -> dict[str, Any]:
    """The kind's parameters with defaults filled in, as JSON; 422 naming the field
    (`["body", "params", ...]`), also for departments or positions of no such row."""
    model = PARAMS_MODELS[kind]
    try:
        params = model.model_validate(raw)
    except ValidationError as exc:
        errors = validation_errors(list(exc.errors()))
        for e in errors:
            e["loc"] = ["body", "params", *e["loc"][1:]] if e["loc"][:1] == ["body"] else ["body", "params", *e["loc"]]
        raise ValidationFailed("the plan's parameters are not valid", errors=errors) from exc
    data = params.model_dump(mode="json")
    eligibility = data.get("eligibility") or {}
    for key, model_cls in (
        ("include_departments", Department),
        ("exclude_departments", Department),
        ("include_positions", Position),
        ("exclude_positions", Position),
    ):
        wanted = [uuid.UUID(v) for v in eligibility.get(key) or []]
        if not wanted:
            continue
        found = set(
            (
                await ctx.session.execute(
                    select(model_cls.id).where(model_cls.org_id == ctx.org_id, model_cls.id.in_(wanted))
                )
            ).scalars()
        )
        missing = [str(w) for w in wanted if w not in found]
        if missing:
            raise ValidationFailed.field(["params", "eligibility", key], f"no such row: {', '.join(missing)}")
    return data


def plan_read(plan: IncentivePlan, show_params: bool) -> IncentivePlanRead:
    return IncentivePlanRead(
        id=plan.id,
        name=plan.name,
        kind=plan.kind,
        cycle_id=plan.cycle_id,
        currency=plan.currency,
        params=plan.params if show_params else None,
        version=plan.version,
        last_run_at=plan.last_run_at,
        created_at=plan.created_at,
        updated_at=plan.updated_at,
    )


def snapshot(plan: IncentivePlan) -> dict[str, Any]:
    """Audit snapshot: pools and rates are plan settings, not anyone's pay, so they stay."""
    return {
        "id": str(plan.id),
        "name": plan.name,
        "kind": plan.kind,
        "cycle_id": str(plan.cycle_id),
        "currency": plan.currency,
        "params": plan.params,
        "version": plan.version,
    }


async def _cycle(ctx: Ctx, cycle_id: uuid.UUID) -> Cycle:
    cycle = await ctx.session.get(Cycle, (ctx.org_id, cycle_id))
    if cycle is None:
        raise ValidationFailed.field("cycle_id", "no such cycle")
    return cycle


async def list_plans(
    ctx: Ctx, params: PageParams, cycle_id: uuid.UUID | None = None, kind: str | None = None
) -> Page[IncentivePlan]:
    require(policy.read_incentive_plans(ctx.principal), "incentive plans")
    stmt = select(IncentivePlan).where(IncentivePlan.org_id == ctx.org_id)
    if cycle_id is not None:
        stmt = stmt.where(IncentivePlan.cycle_id == cycle_id)
    if kind is not None:
        stmt = stmt.where(IncentivePlan.kind == kind)
    return await paginate(ctx.session, stmt, IncentivePlan.id, params)


async def get_plan(ctx: Ctx, plan_id: uuid.UUID) -> IncentivePlan:
    if not policy.read_incentive_plans(ctx.principal).allowed:
        raise NotFound("incentive plan not found")
    plan = await ctx.session.get(IncentivePlan, (ctx.org_id, plan_id))
    if plan is None:
        raise NotFound("incentive plan not found")
    return plan


async def create_plan(ctx: Ctx, data: IncentivePlanCreate) -> IncentivePlan:
    require(policy.manage_incentives(ctx.principal), "incentive plans")
    await _cycle(ctx, data.cycle_id)
    currency = data.currency
    if currency is None:
        org = await ctx.session.get(Organization, ctx.org_id)
        currency = org.currency if org is not None else "USD"
    params = await validate_params(ctx, data.kind, data.params)
    plan = IncentivePlan(
        org_id=ctx.org_id,
        id=new_id(),
        name=data.name,
        kind=data.kind,
        cycle_id=data.cycle_id,
        currency=currency,
        params=params,
    )
    ctx.session.add(plan)
    await ctx.session.flush()
    await audit.record(
        ctx.session, ctx.principal, "incentive_plan.created", "incentive_plan", plan.id, None, snapshot(plan)
    )
    return plan


async def has_decided_results(ctx: Ctx, plan_id: uuid.UUID) -> bool:
    """Whether any result of the plan is past draft (approved, finalized or declined)."""
    count = await ctx.session.scalar(
        select(func.count())
        .select_from(IncentiveResult)
        .where(
            IncentiveResult.org_id == ctx.org_id, IncentiveResult.plan_id == plan_id, IncentiveResult.status != "draft"
        )
    )
    return bool(count)


async def update_plan(
    ctx: Ctx, plan_id: uuid.UUID, data: IncentivePlanUpdate, expected: IfMatch | None = None
) -> IncentivePlan:
    """Name and parameters change at any time (drafts follow at the next run; results past
    draft keep the snapshot they were computed with); the cycle and the currency only
    while no result of the plan is past draft (409 otherwise)."""
    plan = await get_plan(ctx, plan_id)
    require(policy.manage_incentives(ctx.principal), "incentive plan")
    async with audited(ctx, plan, "incentive_plan.updated", snapshot, expected):
        changes = data.model_dump(exclude_unset=True)
        refuse_nulls(changes, ("name", "cycle_id", "currency"))
        moved = {k for k in ("cycle_id", "currency") if k in changes and changes[k] != getattr(plan, k)}
        if moved and await has_decided_results(ctx, plan.id):
            raise Conflict(f"{' and '.join(sorted(moved))} cannot change once results are approved or finalized")
        if "cycle_id" in changes:
            await _cycle(ctx, changes["cycle_id"])
        if "params" in changes:
            changes["params"] = await validate_params(ctx, plan.kind, merge_patch(plan.params, changes["params"] or {}))
        set_fields(plan, changes)
    return plan
