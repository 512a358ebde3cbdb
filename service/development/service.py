"""Development plans: what an employee works on next (goals, training,
actions, mentoring), followed by an owner, linked to the nomination and the review
meeting it came from.

Who: the employee, their managers, the owner, hr/admin and auditors read a plan; hr/admin,
the employee's managers and the owner change it; the employee moves their own items'
`status` along and nothing else (service/authz/policy.py, development section). A plan
the caller may not read is a 404, as if it did not exist.

Choices where SPEC is silent:
- the owner defaults to the employee's manager, else to the caller's own employee record
  (a manager-less employee's plan is followed by whoever made it); a caller without one
  (an admin token) names the owner;
- a review meeting linked to a plan must be readable by the caller and about the plan's
  employee, or give them an improvement action (a meeting on a manager's objective often
  hands actions to the team); copying its improvement actions copies the ones the
  employee owns (their own actions; a manager's action stays in the meeting) with the
  status mapped as is (open, in_progress, done). Without a meeting named, a nomination's
  plan links the latest meeting about the nominee (their evaluation or objectives of the
  cycle), by the day it was held;
- a nomination's plan is `active` when the nomination is approved or finalized, `draft`
  while it is a draft; a declined nomination gets none (409).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from service.auth.context import Ctx
from service.authz import policy
from service.authz.enforce import relation, require
from service.authz.policy import Relation
from service.cycles.models import Cycle
from service.development import repository as repo
from service.development.events import (
    DevelopmentPlanCreated,
    DevelopmentPlanItemStatusChanged,
    DevelopmentPlanStatusChanged,
)
from service.development.models import DevelopmentPlan, DevelopmentPlanItem
from service.development.schemas import (
    MAX_ITEMS,
    DevelopmentItemCreate,
    DevelopmentItemRead,
    DevelopmentItemUpdate,
    DevelopmentPlanCreate,
    DevelopmentPlanRead,
    DevelopmentPlanUpdate,
    ItemSourceRead,
    NominationPlanCreate,
)
from service.errors import Conflict, NotFound, ValidationFailed
from service.evaluations import reviews
from service.evaluations.models import ReviewMeeting
from service.incentives import nominations
from service.incentives.models import IncentivePlan
from service.kit import audit, outbox
from service.kit.changes import audited, set_fields
from service.kit.chunks import chunks
from service.kit.etag import IfMatch
from service.kit.pagination import Page, PageParams, paginate
from service.org.models import Employee
from service.types import new_id, utcnow

PLAN = "development plan"
NOMINATION_TITLES = {"promotion_track": "Promotion track development", "training": "Training development"}


# --- reads ---------------------------------------------------------------------------------------


def item_read(i: DevelopmentPlanItem) -> DevelopmentItemRead:
    source = None
    if i.source_review_meeting_id is not None and i.source_action_index is not None:
        source = ItemSourceRead(review_meeting_id=i.source_review_meeting_id, action_index=i.source_action_index)
    return DevelopmentItemRead(
        id=i.id,
        plan_id=i.plan_id,
        kind=i.kind,
        title=i.title,
        details=i.details,
        due_date=i.due_date,
        status=i.status,
        completed_at=i.completed_at,
        source=source,
        version=i.version,
        created_at=i.created_at,
        updated_at=i.updated_at,
    )


def plan_read(p: DevelopmentPlan, items: Sequence[DevelopmentPlanItem]) -> DevelopmentPlanRead:
    return DevelopmentPlanRead(
        id=p.id,
        employee_id=p.employee_id,
        owner_id=p.owner_id,
        cycle_id=p.cycle_id,
        nomination_id=p.nomination_id,
        review_meeting_id=p.review_meeting_id,
        title=p.title,
        goals=list(p.goals or []),
        status=p.status,
        due_date=p.due_date,
        items=[item_read(i) for i in items],
        created_by=p.created_by,
        version=p.version,
        created_at=p.created_at,
        updated_at=p.updated_at,
    )


async def reads(ctx: Ctx, plans: Sequence[DevelopmentPlan]) -> list[DevelopmentPlanRead]:
    """The read models of many plans, their items loaded in one query."""
    items = await repo.items_of(ctx.session, ctx.org_id, [p.id for p in plans])
    return [plan_read(p, items.get(p.id, [])) for p in plans]


def _snapshot(p: DevelopmentPlan) -> dict[str, Any]:
    return plan_read(p, []).model_dump(mode="json", exclude={"items", "created_at", "updated_at", "version"})


def _item_snapshot(i: DevelopmentPlanItem) -> dict[str, Any]:
    return item_read(i).model_dump(mode="json", exclude={"created_at", "updated_at", "version"})


async def _facts(ctx: Ctx, plan: DevelopmentPlan) -> tuple[Relation, bool]:
    me = ctx.principal.employee_id
    is_owner = me is not None and not ctx.principal.is_client and plan.owner_id == me
    return await relation(ctx, plan.employee_id), is_owner


async def list_plans(
    ctx: Ctx,
    params: PageParams,
    *,
    employee_id: uuid.UUID | None = None,
    owner_id: uuid.UUID | None = None,
    status: str | None = None,
    cycle_id: uuid.UUID | None = None,
    nomination_id: uuid.UUID | None = None,
) -> Page[DevelopmentPlan]:
    p = ctx.principal
    require(policy.list_development_plans(p), "development plans")
    stmt = repo.visible_plans(ctx.org_id, policy.reads_everything(p), p.employee_id)
    for column, value in (
        (DevelopmentPlan.employee_id, employee_id),
        (DevelopmentPlan.owner_id, owner_id),
        (DevelopmentPlan.status, status),
        (DevelopmentPlan.cycle_id, cycle_id),
        (DevelopmentPlan.nomination_id, nomination_id),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    return await paginate(ctx.session, stmt, DevelopmentPlan.id, params)


async def get_plan(ctx: Ctx, plan_id: uuid.UUID) -> tuple[DevelopmentPlan, Relation, bool]:
    """The plan, the caller's relation to its employee and whether they own it; 404 when
    it does not exist or the caller may not read it."""
    plan = await ctx.session.get(DevelopmentPlan, (ctx.org_id, plan_id))
    if plan is None:
        raise NotFound("development plan not found")
    rel, is_owner = await _facts(ctx, plan)
    require(policy.read_development_plan(ctx.principal, rel, is_owner), PLAN)
    return plan, rel, is_owner


# --- references ----------------------------------------------------------------------------------


async def _employee(ctx: Ctx, employee_id: uuid.UUID, field: str) -> Employee:
    emp = await ctx.session.get(Employee, (ctx.org_id, employee_id))
    if emp is None:
        raise ValidationFailed.field(field, "no such employee")
    return emp


async def _owner(ctx: Ctx, employee: Employee, owner_id: uuid.UUID | None, field: str = "owner_id") -> uuid.UUID:
    """The owner asked for, else the employee's manager, else the caller's employee."""
    if owner_id is not None:
        return (await _employee(ctx, owner_id, field)).id
    if employee.manager_id is not None:
        return employee.manager_id
    me = ctx.principal.employee_id
    if me is not None and not ctx.principal.is_client:
        return me
    raise ValidationFailed.field(field, "the employee has no manager: name the plan's owner")


async def _meeting(ctx: Ctx, meeting_id: uuid.UUID, employee_id: uuid.UUID, field: str) -> ReviewMeeting:
    """A review meeting named in a body: 422 unless it exists, the caller may read it and
    it is about the plan's employee or gives them an improvement action."""
    try:
        meeting, _ = await reviews.get_meeting(ctx, meeting_id)
    except NotFound:
        raise ValidationFailed.field(field, "no such review meeting") from None
    owners = {str(a.get("owner_id")) for a in meeting.improvement_plan or []}
    if meeting.employee_id != employee_id and str(employee_id) not in owners:
        raise ValidationFailed.field(
            field, "the review meeting is not about the plan's employee nor gives them an action"
        )
    return meeting


def _copied_actions(meeting: ReviewMeeting, employee_id: uuid.UUID) -> list[DevelopmentPlanItem]:
    """The meeting's improvement actions the employee owns, as unsaved items."""
    out = []
    for index, action in enumerate(meeting.improvement_plan or []):
        if str(action.get("owner_id")) != str(employee_id):
            continue
        due = action.get("due_date")
        out.append(
            DevelopmentPlanItem(
                kind="action",
                title=str(action.get("action", ""))[:300],
                details=None,
                due_date=_date(due),
                status=action.get("status") or "open",
                source_review_meeting_id=meeting.id,
                source_action_index=index,
            )
        )
    return out


def _date(value: Any) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def _new_item(data: DevelopmentItemCreate) -> DevelopmentPlanItem:
    return DevelopmentPlanItem(**data.model_dump())


# --- writes --------------------------------------------------------------------------------------


async def _insert(ctx: Ctx, plan: DevelopmentPlan, items: Sequence[DevelopmentPlanItem]) -> DevelopmentPlan:
    if len(items) > MAX_ITEMS:
        raise ValidationFailed.field("items", f"a plan holds at most {MAX_ITEMS} items")
    ctx.session.add(plan)
    await ctx.session.flush()
    now = utcnow()
    for item in items:
        item.org_id, item.id, item.plan_id, item.employee_id = ctx.org_id, new_id(), plan.id, plan.employee_id
        item.completed_at = now if item.status == "done" else None
        ctx.session.add(item)
    await ctx.session.flush()
    await audit.record(
        ctx.session, ctx.principal, "development_plan.created", "development_plan", plan.id, None, _snapshot(plan)
    )
    await outbox.emit(
        ctx.session,
        ctx.org_id,
        "development_plan.created",
        DevelopmentPlanCreated(
            plan_id=plan.id,
            employee_id=plan.employee_id,
            owner_id=plan.owner_id,
            cycle_id=plan.cycle_id,
            nomination_id=plan.nomination_id,
            review_meeting_id=plan.review_meeting_id,
            status=plan.status,
            actor=ctx.principal.actor,
        ),
    )
    return plan


async def create_plan(ctx: Ctx, data: DevelopmentPlanCreate) -> DevelopmentPlan:
    employee = await _employee(ctx, data.employee_id, "employee_id")
    require(policy.create_development_plan(ctx.principal, await relation(ctx, employee.id)), PLAN)
    owner = await _owner(ctx, employee, data.owner_id)
    if data.cycle_id is not None and await ctx.session.get(Cycle, (ctx.org_id, data.cycle_id)) is None:
        raise ValidationFailed.field("cycle_id", "no such cycle")
    items = [_new_item(i) for i in data.items]
    if data.copy_improvement_actions and data.review_meeting_id is None:
        raise ValidationFailed.field("copy_improvement_actions", "copying improvement actions needs review_meeting_id")
    if data.review_meeting_id is not None:
        meeting = await _meeting(ctx, data.review_meeting_id, employee.id, "review_meeting_id")
        if data.copy_improvement_actions:
            items = _copied_actions(meeting, employee.id) + items
    plan = DevelopmentPlan(
        org_id=ctx.org_id,
        id=new_id(),
        employee_id=employee.id,
        owner_id=owner,
        cycle_id=data.cycle_id,
        review_meeting_id=data.review_meeting_id,
        title=data.title,
        goals=list(data.goals),
        status=data.status,
        due_date=data.due_date,
        created_by=ctx.principal.actor,
    )
    return await _insert(ctx, plan, items)


async def create_for_nomination(
    ctx: Ctx, nomination_id: uuid.UUID, data: NominationPlanCreate | None = None
) -> DevelopmentPlan:
    """The plan of a nomination: the nominee's, followed by their manager, in the
    nomination plan's cycle, titled after the nomination's kind (with a training item for
    a training nomination), linked to the latest review meeting about the nominee in that
    cycle unless one is named, whose improvement actions the nominee owns become items."""
    data = data or NominationPlanCreate()
    nomination = await nominations.get_nomination(ctx, nomination_id)  # 404 when invisible
    employee = await _employee(ctx, nomination.employee_id, "employee_id")
    require(policy.create_development_plan(ctx.principal, await relation(ctx, employee.id)), "nomination")
    if nomination.status == "declined":
        raise Conflict("a declined nomination gets no development plan")
    if await repo.plan_of_nomination(ctx.session, ctx.org_id, nomination.id) is not None:
        raise Conflict("the nomination already has a development plan")
    incentive_plan = await ctx.session.get(IncentivePlan, (ctx.org_id, nomination.plan_id))
    cycle_id = incentive_plan.cycle_id if incentive_plan is not None else None
    owner = await _owner(ctx, employee, data.owner_id)
    if data.review_meeting_id is not None:
        meeting: ReviewMeeting | None = await _meeting(ctx, data.review_meeting_id, employee.id, "review_meeting_id")
    elif cycle_id is not None:
        meeting = await repo.latest_meeting(ctx.session, ctx.org_id, employee.id, cycle_id)
    else:
        meeting = None
    kind = nomination.nomination or "promotion_track"
    items = _copied_actions(meeting, employee.id) if meeting is not None else []
    if kind == "training":
        items.insert(
            0,
            DevelopmentPlanItem(
                kind="training", title="Training of the nomination", status="open", due_date=data.due_date
            ),
        )
    plan = DevelopmentPlan(
        org_id=ctx.org_id,
        id=new_id(),
        employee_id=employee.id,
        owner_id=owner,
        cycle_id=cycle_id,
        nomination_id=nomination.id,
        review_meeting_id=meeting.id if meeting is not None else None,
        title=NOMINATION_TITLES.get(kind, "Development"),
        goals=list(data.goals),
        status="draft" if nomination.status == "draft" else "active",
        due_date=data.due_date,
        created_by=ctx.principal.actor,
    )
    return await _insert(ctx, plan, items)


async def update_plan(
    ctx: Ctx, plan_id: uuid.UUID, data: DevelopmentPlanUpdate, expected: IfMatch | None = None
) -> DevelopmentPlan:
    plan, rel, is_owner = await get_plan(ctx, plan_id)
    require(policy.write_development_plan(ctx.principal, rel, is_owner), PLAN)
    changes = data.model_dump(exclude_unset=True)
    old_status = plan.status
    async with audited(ctx, plan, "development_plan.updated", _snapshot, expected):
        if changes.get("owner_id") is not None:
            await _employee(ctx, changes["owner_id"], "owner_id")
        if changes.get("review_meeting_id") is not None:
            await _meeting(ctx, changes["review_meeting_id"], plan.employee_id, "review_meeting_id")
        set_fields(plan, changes, not_null=("owner_id", "title", "goals", "status"))
    if plan.status != old_status:
        await outbox.emit(
            ctx.session,
            ctx.org_id,
            "development_plan.status_changed",
            DevelopmentPlanStatusChanged(
                plan_id=plan.id,
                employee_id=plan.employee_id,
                old_status=old_status,
                new_status=plan.status,
                actor=ctx.principal.actor,
            ),
        )
    return plan


async def add_item(ctx: Ctx, plan_id: uuid.UUID, data: DevelopmentItemCreate) -> DevelopmentPlanItem:
    plan, rel, is_owner = await get_plan(ctx, plan_id)
    require(policy.write_development_plan(ctx.principal, rel, is_owner), PLAN)
    if await repo.item_count(ctx.session, ctx.org_id, plan.id) >= MAX_ITEMS:
        raise Conflict(f"the plan already holds {MAX_ITEMS} items, the most a plan holds")
    item = _new_item(data)
    item.org_id, item.id, item.plan_id, item.employee_id = ctx.org_id, new_id(), plan.id, plan.employee_id
    item.completed_at = utcnow() if item.status == "done" else None
    ctx.session.add(item)
    await ctx.session.flush()
    await audit.record(
        ctx.session,
        ctx.principal,
        "development_plan_item.created",
        "development_plan_item",
        item.id,
        None,
        _item_snapshot(item),
    )
    return item


async def find_item(ctx: Ctx, item_id: uuid.UUID) -> DevelopmentPlanItem:
    """An item by its id alone (GraphQL names items so); 404 unless its plan is visible."""
    item = await ctx.session.get(DevelopmentPlanItem, (ctx.org_id, item_id))
    if item is None:
        raise NotFound("development plan item not found")
    await get_plan(ctx, item.plan_id)
    return item


async def visible_by_id(ctx: Ctx, plan_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, DevelopmentPlan]:
    """The plans of these ids the caller may read, in one query per chunk (what a
    nomination's `developmentPlan` field loads for a whole page)."""
    p = ctx.principal
    out: dict[uuid.UUID, DevelopmentPlan] = {}
    for chunk in chunks(list(set(plan_ids))):
        stmt = repo.visible_plans(ctx.org_id, policy.reads_everything(p), p.employee_id)
        rows = await ctx.session.execute(stmt.where(DevelopmentPlan.id.in_(chunk)))
        out.update({row.id: row for row in rows.scalars()})
    return out


async def update_item(
    ctx: Ctx, plan_id: uuid.UUID, item_id: uuid.UUID, data: DevelopmentItemUpdate, expected: IfMatch | None = None
) -> DevelopmentPlanItem:
    """Change an item; the employee may change its `status` alone. Done stamps
    `completed_at`; any other status clears it."""
    plan, rel, is_owner = await get_plan(ctx, plan_id)
    item = await ctx.session.get(DevelopmentPlanItem, (ctx.org_id, item_id))
    if item is None or item.plan_id != plan.id:
        raise NotFound("development plan item not found")
    changes = data.model_dump(exclude_unset=True)
    status_only = set(changes) <= {"status"}
    require(policy.update_development_item(ctx.principal, rel, is_owner, status_only), PLAN)
    old_status = item.status
    async with audited(ctx, item, "development_plan_item.updated", _item_snapshot, expected):
        set_fields(item, changes, not_null=("kind", "title", "status"))
        if item.status != old_status:
            item.completed_at = utcnow() if item.status == "done" else None
    if item.status != old_status:
        await outbox.emit(
            ctx.session,
            ctx.org_id,
            "development_plan.item_status_changed",
            DevelopmentPlanItemStatusChanged(
                plan_id=plan.id,
                item_id=item.id,
                employee_id=plan.employee_id,
                old_status=old_status,
                new_status=item.status,
                actor=ctx.principal.actor,
            ),
        )
    return item
