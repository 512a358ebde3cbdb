"""Position templates: a position's default KPIs with weights and parameters, and
applying one to employees in a cycle.

Applying is idempotent and set-based: one SELECT finds the (employee, KPI) pairs the
cycle already has, one multi-row INSERT creates the rest; pairs already there are
`skipped` and left as they are (their parameters may have been tuned since).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert

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
    KpiTemplateApply,
    KpiTemplateApplyResult,
    KpiTemplateCreate,
    KpiTemplateItemIn,
    KpiTemplateItemRead,
    KpiTemplateRead,
    KpiTemplateUpdate,
)
from service.kpi.service import relation, snapshot_values
from service.kpi.validation import PARAMETER_FIELDS, check_parameters
from service.org.models import Position
from service.scoring import locks
from service.types import new_id, utcnow


def template_read(t: KpiTemplate, items: Sequence[KpiTemplateItem]) -> KpiTemplateRead:
    return KpiTemplateRead(
        id=t.id,
        name=t.name,
        position_id=t.position_id,
        created_at=t.created_at,
        updated_at=t.updated_at,
        items=[KpiTemplateItemRead.model_validate(i) for i in items],
    )


def _snapshot(t: KpiTemplate, items: Sequence[KpiTemplateItem]) -> dict[str, Any]:
    return template_read(t, items).model_dump(mode="json", exclude={"created_at", "updated_at"})


async def list_templates(ctx: Ctx, params: PageParams, position_id: uuid.UUID | None = None) -> Page[KpiTemplate]:
    require(policy.read_kpi_templates(ctx.principal), "KPI templates")
    stmt = repo.templates(ctx.org_id)
    if position_id is not None:
        stmt = stmt.where(KpiTemplate.position_id == position_id)
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
    position = await ctx.session.get(Position, (ctx.org_id, data.position_id))
    if position is None:
        raise ValidationFailed.field("position_id", "no such position")
    await _check_items(ctx, data.items)
    t = KpiTemplate(org_id=ctx.org_id, id=new_id(), name=data.name or position.name, position_id=position.id)
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
    refuse_nulls(changes, ("name", "position_id"))
    if "position_id" in changes and await ctx.session.get(Position, (ctx.org_id, changes["position_id"])) is None:
        raise ValidationFailed.field("position_id", "no such position")
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
    await locks.ensure_open(ctx, await writable_cycle(ctx, data.cycle_id), employee_ids)
    items = (await items_of(ctx, [t]))[t.id]
    defs = await repo.definitions_by_id(ctx.session, ctx.org_id, (i.definition_id for i in items))
    for index, item in enumerate(items):  # a definition may have changed since the template was saved
        problems = check_parameters(defs[item.definition_id].direction, {f: getattr(item, f) for f in PARAMETER_FIELDS})
        if problems:
            raise ValidationFailed(
                f"template item {index} no longer fits its KPI: {problems[0].msg}",
                errors=[{"loc": ["template", "items", index, e.field], "msg": e.msg} for e in problems],
            )

    existing = await repo.existing_pairs(
        ctx.session, ctx.org_id, data.cycle_id, employee_ids, [i.definition_id for i in items]
    )
    now = utcnow()
    rows: list[dict[str, Any]] = []
    applied: list[AppliedAssignment] = []
    for emp in employee_ids:
        for item in items:
            found = existing.get((emp, item.definition_id))
            if found is not None:
                applied.append(
                    AppliedAssignment(
                        employee_id=emp, definition_id=item.definition_id, assignment_id=found, outcome="skipped"
                    )
                )
                continue
            row = {
                "org_id": ctx.org_id,
                "id": new_id(),
                "employee_id": emp,
                "cycle_id": data.cycle_id,
                "definition_id": item.definition_id,
                "template_id": t.id,
                "version": 1,
                "created_at": now,
                "updated_at": now,
                **{f: getattr(item, f) for f in PARAMETER_FIELDS},
            }
            rows.append(row)
            applied.append(
                AppliedAssignment(
                    employee_id=emp, definition_id=item.definition_id, assignment_id=row["id"], outcome="created"
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
    return KpiTemplateApplyResult(
        created=len(rows),
        skipped=len(applied) - len(rows),
        assignment_ids=[a.assignment_id for a in applied],
        assignments=applied,
    )
