"""KPI templates: a position's default KPIs with weights and parameters, or a position
level's ("managed by level"), and applying them to employees in a cycle.

A template targets exactly one position or one level. Applying a named template gives
its KPIs to the employees listed. Applying by resolution (`apply_resolved`) picks each
employee's templates, most specific first: the templates of their position; if it has
none, the templates of their position's level (a level template stores its level
normalized, and the position's free-text level matches it normalized the same way:
service/org/levels.py); if neither, none (the employee is
reported unmatched: KPIs are position-specific, so there is no organization-wide
template). Where several templates share the winning target they all apply, oldest first,
and a KPI two of them carry comes from the oldest.

Applying is idempotent and set-based: one SELECT finds the (employee, KPI) pairs the
cycle already has, one multi-row INSERT creates the rest; pairs already there are
`skipped` and left as they are (their parameters may have been tuned since). Resolution
is two queries whatever the number of employees: their positions with levels, and the
templates of those positions and levels.

A move: applying with `effective_from` (a day after the cycle's first) dates the
assignments it creates from that day and ends, the day before, each employee's
assignments in the cycle that came from another template and whose KPI the applied
templates do not carry; a KPI both carry simply continues (skipped, parameters as they
are). Hand-made assignments are left alone. The answer lists what ended (`ended`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, or_, select, update

from service.auth.context import Ctx
from service.authz import policy
from service.authz.enforce import require
from service.authz.policy import Decision
from service.cycles.service import writable_cycle
from service.errors import Forbidden, NotFound, ValidationFailed
from service.kit import audit
from service.kit.changes import refuse_nulls
from service.kit.etag import IfMatch, check_version
from service.kit.pagination import Page, PageParams, paginate
from service.kpi import repository as repo
from service.kpi.models import KpiAssignment, KpiTemplate, KpiTemplateItem
from service.kpi.schemas import (
    AppliedAssignment,
    EndedAssignment,
    KpiTemplateApply,
    KpiTemplateApplyResult,
    KpiTemplateCreate,
    KpiTemplateItemIn,
    KpiTemplateItemRead,
    KpiTemplateRead,
    KpiTemplateResolvedApplyResult,
    KpiTemplateUpdate,
)
from service.kpi.service import SNAPSHOT_FIELDS, relation, snapshot_values
from service.kpi.validation import PARAMETER_FIELDS, check_parameters
from service.org.levels import normalize_level
from service.org.models import Employee, Position
from service.scoring import locks
from service.types import new_id, utcnow


def template_read(t: KpiTemplate, items: Sequence[KpiTemplateItem]) -> KpiTemplateRead:
    return KpiTemplateRead(
        id=t.id,
        name=t.name,
        position_id=t.position_id,
        level=t.level,
        created_at=t.created_at,
        updated_at=t.updated_at,
        items=[KpiTemplateItemRead.model_validate(i) for i in items],
    )


def _snapshot(t: KpiTemplate, items: Sequence[KpiTemplateItem]) -> dict[str, Any]:
    return template_read(t, items).model_dump(mode="json", exclude={"created_at", "updated_at"})


async def list_templates(
    ctx: Ctx, params: PageParams, position_id: uuid.UUID | None = None, level: str | None = None
) -> Page[KpiTemplate]:
    require(policy.read_kpi_templates(ctx.principal), "KPI templates")
    stmt = repo.templates(ctx.org_id)
    if position_id is not None:
        stmt = stmt.where(KpiTemplate.position_id == position_id)
    if level is not None:
        target = normalize_level(level)
        if not target:
            raise ValidationFailed("a level is needed", errors=[{"loc": ["query", "level"], "msg": "blank level"}])
        stmt = stmt.where(KpiTemplate.level == target)
    return await paginate(ctx.session, stmt, KpiTemplate.id, params)


async def items_of(ctx: Ctx, templates: Sequence[KpiTemplate]) -> dict[uuid.UUID, list[KpiTemplateItem]]:
    return await repo.template_items(ctx.session, ctx.org_id, [t.id for t in templates])


async def get_template(ctx: Ctx, tpl_id: uuid.UUID) -> KpiTemplate:
    if not policy.read_kpi_templates(ctx.principal).allowed:
        raise NotFound("KPI template not found")
    t = await repo.get_template(ctx.session, ctx.org_id, tpl_id)
    if t is None:
        raise NotFound("KPI template not found")
    return t


async def _check_items(ctx: Ctx, items: Sequence[KpiTemplateItemIn]) -> None:
    defs = await repo.definitions_by_id(ctx.session, ctx.org_id, (i.definition_id for i in items))
    errors: list[dict[str, Any]] = []
    seen: set[uuid.UUID] = set()
    for index, item in enumerate(items):
        loc = ["body", "items", index]
        definition = defs.get(item.definition_id)
        if definition is None:
            errors.append({"loc": [*loc, "definition_id"], "msg": "no such KPI definition"})
            continue
        if item.definition_id in seen:
            errors.append({"loc": [*loc, "definition_id"], "msg": "the KPI appears twice in the template"})
        seen.add(item.definition_id)
        errors.extend(
            {"loc": [*loc, e.field], "msg": e.msg} for e in check_parameters(definition.direction, item.model_dump())
        )
    if errors:
        raise ValidationFailed(errors[0]["msg"], errors=errors)


def _item_rows(ctx: Ctx, tpl_id: uuid.UUID, items: Sequence[KpiTemplateItemIn]) -> list[KpiTemplateItem]:
    return [
        KpiTemplateItem(org_id=ctx.org_id, id=new_id(), template_id=tpl_id, ordinal=n, **i.model_dump())
        for n, i in enumerate(items)
    ]


async def create_template(ctx: Ctx, data: KpiTemplateCreate) -> tuple[KpiTemplate, list[KpiTemplateItem]]:
    require(policy.manage_kpi_library(ctx.principal), "KPI templates")
    default_name: str | None = data.level
    if data.position_id is not None:
        position = await ctx.session.get(Position, (ctx.org_id, data.position_id))
        if position is None:
            raise ValidationFailed.field("position_id", "no such position")
        default_name = position.name
    await _check_items(ctx, data.items)
    t = KpiTemplate(
        org_id=ctx.org_id,
        id=new_id(),
        name=data.name or default_name,
        position_id=data.position_id,
        level=data.level,
    )
    ctx.session.add(t)
    await ctx.session.flush()
    items = _item_rows(ctx, t.id, data.items)
    ctx.session.add_all(items)
    await ctx.session.flush()
    await audit.record(
        ctx.session, ctx.principal, "kpi_template.created", "kpi_template", t.id, None, _snapshot(t, items)
    )
    return t, items


async def update_template(
    ctx: Ctx, tpl_id: uuid.UUID, data: KpiTemplateUpdate, expected: IfMatch | None = None
) -> tuple[KpiTemplate, list[KpiTemplateItem]]:
    t = await get_template(ctx, tpl_id)
    require(policy.manage_kpi_library(ctx.principal), "KPI template")
    check_version(expected, t.version)
    changes = data.model_dump(exclude_unset=True, exclude={"items"})
    refuse_nulls(changes, ("name", "position_id", "level"))
    if "position_id" in changes:
        if await ctx.session.get(Position, (ctx.org_id, changes["position_id"])) is None:
            raise ValidationFailed.field("position_id", "no such position")
        changes["level"] = None
    elif "level" in changes:
        changes["position_id"] = None
    old_items = (await items_of(ctx, [t]))[t.id]
    before = _snapshot(t, old_items)
    items = old_items
    if "items" in data.model_fields_set:
        if data.items is None:
            raise ValidationFailed.field("items", "items cannot be null; send [] to empty the template")
        await _check_items(ctx, data.items)
        await repo.delete_template_items(ctx.session, ctx.org_id, t.id)
        items = _item_rows(ctx, t.id, data.items)
        ctx.session.add_all(items)
    for key, value in changes.items():
        setattr(t, key, value)
    t.updated_at = utcnow()  # the items changing is a change of the template: new version, new ETag
    await ctx.session.flush()
    await audit.record(
        ctx.session, ctx.principal, "kpi_template.updated", "kpi_template", t.id, before, _snapshot(t, items)
    )
    return t, items


async def apply_template(ctx: Ctx, tpl_id: uuid.UUID, data: KpiTemplateApply) -> KpiTemplateApplyResult:
    t = await get_template(ctx, tpl_id)
    employee_ids = list(dict.fromkeys(data.employee_ids))
    await _check_employees(ctx, data)
    items = (await items_of(ctx, [t]))[t.id]
    return await _apply(ctx, data.cycle_id, {emp: [t] for emp in employee_ids}, {t.id: items}, data.effective_from)


async def resolve_templates(
    ctx: Ctx, employee_ids: Sequence[uuid.UUID]
) -> tuple[dict[uuid.UUID, list[KpiTemplate]], list[uuid.UUID]]:
    """Each employee's templates by the precedence above (position, else its level), in
    two queries; and the employees none applies to."""
    rows = (
        await ctx.session.execute(
            select(Employee.id, Employee.position_id, Position.level)
            .outerjoin(Position, (Position.org_id == Employee.org_id) & (Position.id == Employee.position_id))
            .where(Employee.org_id == ctx.org_id, Employee.id.in_(list(employee_ids)))
        )
    ).all()
    positions = {r.position_id for r in rows if r.position_id is not None}
    level_of = {r.id: normalize_level(r.level) for r in rows if r.level is not None}
    levels = {lvl for lvl in level_of.values() if lvl}
    by_position: dict[uuid.UUID, list[KpiTemplate]] = {}
    by_level: dict[str, list[KpiTemplate]] = {}
    if positions or levels:
        found = (
            await ctx.session.execute(
                repo.templates(ctx.org_id)
                .where(or_(KpiTemplate.position_id.in_(list(positions)), KpiTemplate.level.in_(list(levels))))
                .order_by(KpiTemplate.created_at, KpiTemplate.id)
            )
        ).scalars()
        for t in found:
            if t.position_id is not None:
                by_position.setdefault(t.position_id, []).append(t)
            elif t.level is not None:
                by_level.setdefault(t.level, []).append(t)
    plan: dict[uuid.UUID, list[KpiTemplate]] = {}
    by_employee = {r.id: r for r in rows}
    for r in (by_employee[e] for e in employee_ids if e in by_employee):  # the caller's order, not the database's
        chosen = by_position.get(r.position_id) if r.position_id is not None else None
        if not chosen and level_of.get(r.id):
            chosen = by_level.get(level_of[r.id])
        if chosen:
            plan[r.id] = chosen
    return plan, [e for e in employee_ids if e not in plan]


async def apply_resolved(ctx: Ctx, data: KpiTemplateApply) -> KpiTemplateResolvedApplyResult:
    """Gives each employee the KPIs of their own templates (see the module docstring)."""
    require(policy.read_kpi_templates(ctx.principal), "KPI templates")
    await _check_employees(ctx, data)
    employee_ids = list(dict.fromkeys(data.employee_ids))
    plan, unmatched = await resolve_templates(ctx, employee_ids)
    used = list({t.id: t for ts in plan.values() for t in ts}.values())
    result = await _apply(ctx, data.cycle_id, plan, await items_of(ctx, used), data.effective_from)
    return KpiTemplateResolvedApplyResult(**result.model_dump(), unmatched_employee_ids=unmatched)


async def _check_employees(ctx: Ctx, data: KpiTemplateApply) -> None:
    """A person (not an integration client) who may assign KPIs to every employee named,
    all of them known."""
    if not policy.is_person(ctx.principal):
        raise Forbidden("integration clients cannot assign KPIs")
    employee_ids = list(dict.fromkeys(data.employee_ids))
    known = await repo.existing_employee_ids(ctx.session, ctx.org_id, employee_ids)
    unknown = [
        {"loc": ["body", "employee_ids", index], "msg": "no such employee"}
        for index, e in enumerate(data.employee_ids)
        if e not in known
    ]
    if unknown:
        raise ValidationFailed(f"{len(unknown)} unknown employee(s)", errors=unknown)
    for emp in employee_ids:
        if policy.manage_kpi_assignment(ctx.principal, await relation(ctx, emp)) is not Decision.ALLOW:
            raise Forbidden(f"not allowed to assign KPIs to employee {emp}")


async def _apply(
    ctx: Ctx,
    cycle_id: uuid.UUID,
    plan: dict[uuid.UUID, list[KpiTemplate]],
    items_by_template: dict[uuid.UUID, list[KpiTemplateItem]],
    effective_from: dt.date | None = None,
) -> KpiTemplateApplyResult:
    """Creates the (employee, KPI) pairs of `plan` the cycle lacks, in one INSERT. A KPI
    two of an employee's templates carry comes from the first of them. With
    `effective_from` (a move) the new pairs start that day and `_end_others` ends the
    employee's assignments from other templates the day before."""
    employee_ids = list(plan)
    cycle = await writable_cycle(ctx, cycle_id)
    if effective_from is not None and not cycle.start_date < effective_from <= cycle.end_date:
        raise ValidationFailed.field(
            "effective_from",
            f"effective_from must be after the cycle's first day and within the cycle ({cycle.start_date} to "
            f"{cycle.end_date}): a move on the first day ends nothing, so leave it out",
        )
    await locks.ensure_open(ctx, cycle, employee_ids)
    all_items = [i for items in items_by_template.values() for i in items]
    defs = await repo.definitions_by_id(ctx.session, ctx.org_id, (i.definition_id for i in all_items))
    for items in items_by_template.values():
        for index, item in enumerate(items):  # a definition may have changed since the template was saved
            problems = check_parameters(
                defs[item.definition_id].direction, {f: getattr(item, f) for f in PARAMETER_FIELDS}
            )
            if problems:
                raise ValidationFailed(
                    f"template item {index} no longer fits its KPI: {problems[0].msg}",
                    errors=[{"loc": ["template", "items", index, e.field], "msg": e.msg} for e in problems],
                )

    existing = await repo.existing_pairs(
        ctx.session, ctx.org_id, cycle_id, employee_ids, list({i.definition_id for i in all_items})
    )
    now = utcnow()
    rows: list[dict[str, Any]] = []
    applied: list[AppliedAssignment] = []
    for emp, chosen in plan.items():
        seen: set[uuid.UUID] = set()
        for t in chosen:
            for item in items_by_template[t.id]:
                if item.definition_id in seen:
                    continue
                seen.add(item.definition_id)
                found = existing.get((emp, item.definition_id))
                if found is not None:
                    applied.append(
                        AppliedAssignment(
                            employee_id=emp,
                            definition_id=item.definition_id,
                            assignment_id=found,
                            outcome="skipped",
                            template_id=t.id,
                        )
                    )
                    continue
                row = {
                    "org_id": ctx.org_id,
                    "id": new_id(),
                    "employee_id": emp,
                    "cycle_id": cycle_id,
                    "definition_id": item.definition_id,
                    "template_id": t.id,
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                    **{f: getattr(item, f) for f in PARAMETER_FIELDS},
                    "effective_from": effective_from,
                    "effective_to": None,
                }
                rows.append(row)
                applied.append(
                    AppliedAssignment(
                        employee_id=emp,
                        definition_id=item.definition_id,
                        assignment_id=row["id"],
                        outcome="created",
                        template_id=t.id,
                    )
                )
    if rows:
        await ctx.session.execute(insert(KpiAssignment.__table__), rows)
        await audit.record_many(
            ctx.session,
            ctx.principal,
            "kpi_assignment.created",
            "kpi_assignment",
            [(r["id"], None, snapshot_values(r)) for r in rows],
        )
    ended: list[EndedAssignment] = []
    if effective_from is not None:
        carried = {
            emp: ({t.id for t in chosen}, {i.definition_id for t in chosen for i in items_by_template[t.id]})
            for emp, chosen in plan.items()
        }
        ended = await _end_others(ctx, cycle_id, carried, effective_from - dt.timedelta(days=1))
    return KpiTemplateApplyResult(
        created=len(rows),
        skipped=len(applied) - len(rows),
        assignment_ids=[a.assignment_id for a in applied],
        assignments=applied,
        ended=ended,
    )


async def _end_others(
    ctx: Ctx,
    cycle_id: uuid.UUID,
    carried: dict[uuid.UUID, tuple[set[uuid.UUID], set[uuid.UUID]]],
    last_day: dt.date,
) -> list[EndedAssignment]:
    """A move: each employee's assignments in the cycle that came from a template not
    applied now, whose KPI the applied templates do not carry (that one simply
    continues), and that still count on `last_day` end on `last_day`. One SELECT and
    one UPDATE per chunk of employees, one audit INSERT. Assignments made by hand
    (no template) and those starting after `last_day` are left as they are."""
    a = KpiAssignment.__table__.c
    now = utcnow()
    ended: list[EndedAssignment] = []
    changes: list[tuple[Any, dict[str, Any] | None, dict[str, Any] | None]] = []
    for chunk in repo.chunks(list(carried)):
        found = (
            await ctx.session.execute(
                select(*(a[f] for f in SNAPSHOT_FIELDS)).where(
                    a.org_id == ctx.org_id,
                    a.cycle_id == cycle_id,
                    a.employee_id.in_(chunk),
                    a.template_id.is_not(None),
                    or_(a.effective_to.is_(None), a.effective_to > last_day),
                    or_(a.effective_from.is_(None), a.effective_from <= last_day),
                )
            )
        ).all()
        ids = []
        for r in found:
            templates_now, definitions_now = carried[r.employee_id]
            if r.template_id in templates_now or r.definition_id in definitions_now:
                continue
            ids.append(r.id)
            before = dict(r._mapping)
            changes.append((r.id, snapshot_values(before), snapshot_values({**before, "effective_to": last_day})))
            kept = {k: before[k] for k in ("employee_id", "definition_id", "template_id")}
            ended.append(EndedAssignment(**kept, assignment_id=r.id, effective_to=last_day))
        if ids:
            await ctx.session.execute(
                update(KpiAssignment.__table__)
                .where(a.org_id == ctx.org_id, a.id.in_(ids))
                .values(effective_to=last_day, version=a.version + 1, updated_at=now)
            )
    await audit.record_many(ctx.session, ctx.principal, "kpi_assignment.updated", "kpi_assignment", changes)
    return ended
