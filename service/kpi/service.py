"""Use cases of KPI definitions and assignments, and the computed view of an assignment
(actual, points, flags) that REST and GraphQL both show. Services flush, never commit.

Every number shown comes from service.scoring.kpi: this module only gathers the
assignment, its definition, its cycle's dates and its measurements.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import String, literal_column, select

from service.auth.context import Ctx
from service.authz import policy
from service.authz.enforce import require
from service.authz.policy import Decision, Relation
from service.cycles.models import Cycle
from service.cycles.service import load_cycle, writable_cycle
from service.errors import Conflict, Forbidden, NotFound, ValidationFailed
from service.kit import audit, hierarchy, search
from service.kit.changes import audited, refuse_nulls, set_fields
from service.kit.etag import IfMatch, check_version
from service.kit.pagination import Page, PageParams, Sorting, SortKey, paginate
from service.kpi import repository as repo
from service.kpi.models import KpiAssignment, KpiDefinition, KpiMeasurement
from service.kpi.schemas import (
    KpiAssignmentCreate,
    KpiAssignmentRead,
    KpiAssignmentUpdate,
    KpiDefinitionCreate,
    KpiDefinitionRead,
    KpiDefinitionUpdate,
    plain_decimal,
)
from service.kpi.validation import PARAMETER_FIELDS, FieldError, check_dates, check_parameters
from service.org.models import Employee
from service.org.repository import employee_sort_key
from service.scoring import kpi as scoring
from service.scoring import locks
from service.scoring.numbers import round_points
from service.scoring.policy import PolicyParams
from service.types import new_id

# The SPEC defaults (threshold 60, target 100, cap 120 points), for callers that have
# no employee policy at hand.
DEFAULT_POLICY = PolicyParams()


async def policies_for(
    ctx: Ctx, rows: Sequence[KpiAssignment], cycles: dict[uuid.UUID, Cycle]
) -> dict[uuid.UUID, PolicyParams]:
    """Each assignment's points use its employee's scoring policy for that cycle (the
    same one the score uses, pinned versions included): one query for the employees and
    one policy book per distinct cycle, so a page costs a constant number of queries."""
    from service.scoring.policies import policy_book

    if not rows:
        return {}
    emp_ids = list({r.employee_id for r in rows})
    emps = {
        e.id: e
        for e in (
            await ctx.session.execute(
                select(Employee.id, Employee.position_id, Employee.department_id).where(
                    Employee.org_id == ctx.org_id, Employee.id.in_(emp_ids)
                )
            )
        ).all()
    }
    books = {cid: await policy_book(ctx, cycles[cid]) for cid in {r.cycle_id for r in rows}}
    out: dict[uuid.UUID, PolicyParams] = {}
    for r in rows:
        e = emps.get(r.employee_id)
        out[r.id] = books[r.cycle_id].for_employee(
            r.employee_id, e.position_id if e else None, e.department_id if e else None
        )
    return out


def raise_field_errors(errors: Sequence[FieldError], prefix: Sequence[str | int] = ()) -> None:
    if errors:
        raise ValidationFailed(
            errors[0].msg, errors=[{"loc": ["body", *prefix, e.field], "msg": e.msg} for e in errors]
        )


async def relation(ctx: Ctx, employee_id: uuid.UUID) -> Relation:
    """How the caller stands to a KPI's subject. hr and admin may act on anyone, so their
    reporting subtree is not loaded."""
    p = ctx.principal
    if p.is_client or p.employee_id is None:
        return Relation.OTHER
    if employee_id == p.employee_id:
        return Relation.SELF
    if policy.is_staff(p):
        return Relation.OTHER
    return policy.relation_to(p, employee_id, await ctx.reports())


# --- computed view -------------------------------------------------------------------------


@dataclass(frozen=True)
class AssignmentView:
    row: KpiAssignment
    definition: KpiDefinition
    cycle: Cycle
    score: scoring.AssignmentScore
    flags: tuple[str, ...]
    measurement_count: int


def engine_input(
    row: KpiAssignment, definition: KpiDefinition, measurements: Sequence[KpiMeasurement]
) -> scoring.AssignmentIn:
    return scoring.AssignmentIn(
        id=row.id,
        method=row.method,
        direction=definition.direction,
        aggregation=definition.aggregation,
        weight=row.weight,
        threshold=row.threshold,
        target=row.target,
        stretch=row.stretch,
        range_low=row.range_low,
        range_high=row.range_high,
        tolerance=row.tolerance,
        veto=row.veto,
        rewardable=row.rewardable,
        code=definition.code,
        effective_from=row.effective_from,
        effective_to=row.effective_to,
        measurements=tuple(
            scoring.Measurement(value=m.value, measured_at=m.measured_at, created_at=m.created_at) for m in measurements
        ),
    )


def compute_view(
    row: KpiAssignment,
    definition: KpiDefinition,
    cycle: Cycle,
    measurements: Sequence[KpiMeasurement],
    params: PolicyParams = DEFAULT_POLICY,
) -> AssignmentView:
    inp = engine_input(row, definition, measurements)
    score = scoring.score_assignment(inp, params, cycle.start_date, cycle.end_date)
    # The component of this one assignment carries the flags (missing_data, veto_triggered).
    flags = scoring.kpi_component([inp], params, cycle.start_date, cycle.end_date).flags
    return AssignmentView(
        row=row, definition=definition, cycle=cycle, score=score, flags=flags, measurement_count=len(measurements)
    )


async def load_views(ctx: Ctx, rows: Sequence[KpiAssignment]) -> list[AssignmentView]:
    """Views of many assignments in a constant number of queries (definitions, cycles,
    measurements, employees, the policy book)."""
    defs = await repo.definitions_by_id(ctx.session, ctx.org_id, (r.definition_id for r in rows))
    cycles = await repo.cycles_by_id(ctx.session, ctx.org_id, (r.cycle_id for r in rows))
    ms = await repo.measurements_of(ctx.session, ctx.org_id, [r.id for r in rows])
    params = await policies_for(ctx, rows, cycles)
    return [compute_view(r, defs[r.definition_id], cycles[r.cycle_id], ms.get(r.id, []), params[r.id]) for r in rows]


async def load_view(ctx: Ctx, row: KpiAssignment) -> AssignmentView:
    return (await load_views(ctx, [row]))[0]


def assignment_read(view: AssignmentView) -> KpiAssignmentRead:
    r, s = view.row, view.score
    return KpiAssignmentRead(
        id=r.id,
        employee_id=r.employee_id,
        cycle_id=r.cycle_id,
        definition_id=r.definition_id,
        template_id=r.template_id,
        effective_from=r.effective_from,
        effective_to=r.effective_to,
        kpi_code=view.definition.code,
        **{f: getattr(r, f) for f in PARAMETER_FIELDS},
        actual=s.actual,
        points=round_points(s.points),
        points_exact=s.points,
        missing_data=s.missing_data,
        veto_triggered="veto_triggered" in view.flags,
        flags=list(view.flags),
        measurement_count=view.measurement_count,
        created_at=r.created_at,
        updated_at=r.updated_at,
    )


DATE_FIELDS = ("effective_from", "effective_to")
SNAPSHOT_FIELDS = ("id", "employee_id", "cycle_id", "definition_id", "template_id", *PARAMETER_FIELDS, *DATE_FIELDS)


def snapshot_values(values: dict[str, Any]) -> dict[str, Any]:
    """An audit snapshot of an assignment from its column values."""
    return {
        f: (
            v
            if v is None or isinstance(v, (bool, str))
            else str(plain_decimal(v))
            if isinstance(v, Decimal)
            else str(v)
        )
        for f in SNAPSHOT_FIELDS
        for v in [values.get(f)]
    }


def assignment_snapshot(row: KpiAssignment) -> dict[str, Any]:
    return snapshot_values({f: getattr(row, f) for f in SNAPSHOT_FIELDS})


# --- definitions -------------------------------------------------------------------------


def definition_snapshot(d: KpiDefinition) -> dict[str, Any]:
    return KpiDefinitionRead.model_validate(d).model_dump(mode="json", exclude={"created_at", "updated_at"})


async def list_definitions(
    ctx: Ctx, params: PageParams, code: str | None = None, perspective: str | None = None
) -> Page[KpiDefinition]:
    require(policy.read_kpi_library(ctx.principal), "KPI definitions")
    stmt = repo.definitions(ctx.org_id)
    if code is not None:
        stmt = stmt.where(KpiDefinition.code == code)
    if perspective is not None:
        stmt = stmt.where(KpiDefinition.perspective == perspective)
    return await paginate(ctx.session, stmt, KpiDefinition.id, params)


async def get_definition(ctx: Ctx, def_id: uuid.UUID) -> KpiDefinition:
    if not policy.read_kpi_library(ctx.principal).allowed:
        raise NotFound("KPI definition not found")
    d = await repo.get_definition(ctx.session, ctx.org_id, def_id)
    if d is None:
        raise NotFound("KPI definition not found")
    return d


def _duplicate_code(code: str) -> Conflict:
    return Conflict(
        f"a KPI definition with code {code!r} exists",
        extra={"errors": [{"loc": ["body", "code"], "msg": "already exists"}]},
    )


async def create_definition(ctx: Ctx, data: KpiDefinitionCreate) -> KpiDefinition:
    require(policy.manage_kpi_library(ctx.principal), "KPI definitions")
    if await repo.definition_by_code(ctx.session, ctx.org_id, data.code) is not None:
        raise _duplicate_code(data.code)
    d = KpiDefinition(org_id=ctx.org_id, id=new_id(), **data.model_dump())
    ctx.session.add(d)
    await ctx.session.flush()
    await audit.record(
        ctx.session, ctx.principal, "kpi_definition.created", "kpi_definition", d.id, None, definition_snapshot(d)
    )
    return d


async def update_definition(
    ctx: Ctx, def_id: uuid.UUID, data: KpiDefinitionUpdate, expected: IfMatch | None = None
) -> KpiDefinition:
    d = await get_definition(ctx, def_id)
    require(policy.manage_kpi_library(ctx.principal), "KPI definition")
    async with audited(ctx, d, "kpi_definition.updated", definition_snapshot, expected):
        changes = data.model_dump(exclude_unset=True)
        refuse_nulls(changes, ("code", "name", "direction", "aggregation"))
        if (
            changes.get("code") not in (None, d.code)
            and await repo.definition_by_code(ctx.session, ctx.org_id, changes["code"]) is not None
        ):
            raise _duplicate_code(changes["code"])
        if changes.get("direction") not in (None, d.direction) and await repo.definition_in_use(
            ctx.session, ctx.org_id, d.id
        ):
            raise Conflict(
                "the direction of a KPI in use by assignments or templates cannot change: "
                "their thresholds and targets were set for the old direction",
                extra={"errors": [{"loc": ["body", "direction"], "msg": "in use"}]},
            )
        if changes.get("aggregation") not in (None, d.aggregation) and await repo.definition_in_use(
            ctx.session, ctx.org_id, d.id, closed_only=True
        ):
            raise Conflict(
                "the aggregation of a KPI used in a closed cycle cannot change: it would rewrite closed results",
                extra={"errors": [{"loc": ["body", "aggregation"], "msg": "used in a closed cycle"}]},
            )
        set_fields(d, changes)
    return d


# --- assignments -------------------------------------------------------------------------


def _definition_value(column: Any, org_id: Any = KpiAssignment.org_id) -> Any:
    return (
        select(column)
        .where(KpiDefinition.org_id == org_id, KpiDefinition.id == KpiAssignment.definition_id)
        .scalar_subquery()
    )


def _definition_key(name: str, column: Any, nullable: bool = False) -> SortKey:
    """A sort key by the assignment's KPI definition's `column` (organization-bound when
    parsed with one, like the person keys: `SortKey.per_org`)."""
    per_org = lambda org: _definition_value(column, org)  # noqa: E731
    return SortKey(name, _definition_value(column), nullable=nullable, per_org=per_org)


ASSIGNMENT_SORT = Sorting(
    _definition_key("name", KpiDefinition.name),
    _definition_key("code", KpiDefinition.code),
    _definition_key("perspective", KpiDefinition.perspective, nullable=True),
    employee_sort_key("family_name", Employee.family_name, KpiAssignment.org_id, KpiAssignment.employee_id),
    employee_sort_key("given_name", Employee.given_name, KpiAssignment.org_id, KpiAssignment.employee_id),
    SortKey("weight", KpiAssignment.weight, "decimal"),
    SortKey("target", KpiAssignment.target, "decimal", nullable=True),
    SortKey("created_at", KpiAssignment.created_at, "datetime"),
    SortKey("updated_at", KpiAssignment.updated_at, "datetime"),
)


async def list_assignments(
    ctx: Ctx,
    params: PageParams,
    *,
    employee_id: uuid.UUID | None = None,
    cycle_id: uuid.UUID | None = None,
    definition_id: uuid.UUID | None = None,
    perspective: str | None = None,
    department_id: uuid.UUID | None = None,
    manager_id: uuid.UUID | None = None,
    subtree: bool = False,
    q: str | None = None,
    sort: str | Sequence[str] | None = None,
    include_child_cycles: bool = False,
) -> Page[KpiAssignment]:
    """The assignments the caller may read, narrowed by the filters: `perspective` the
    balanced-scorecard perspective of the assignment's KPI definition, `department_id`
    and `manager_id` (with `subtree`) the assigned employee's, `q` words of the KPI's
    name or code, `include_child_cycles` the assignments of `cycle_id` and of every cycle
    nested in it."""
    p = ctx.principal
    require(policy.list_kpi_assignments(p), "KPI assignments")
    hierarchy.check_people_filter(manager_id, subtree)
    words = search.terms(q)
    spec = ASSIGNMENT_SORT.parse(sort, org_id=ctx.org_id)
    everything = policy.reads_everything(p) or p.has_scope("kpi:write")
    stmt = repo.visible_assignments(ctx.org_id, everything, None if p.is_client else p.employee_id)
    if employee_id is not None:
        stmt = stmt.where(KpiAssignment.employee_id == employee_id)
    cycles = hierarchy.in_cycles(KpiAssignment.cycle_id, ctx.org_id, cycle_id, include_child_cycles)
    if cycles is not None:
        stmt = stmt.where(cycles)
    if definition_id is not None:
        stmt = stmt.where(KpiAssignment.definition_id == definition_id)
    if perspective is not None or words:
        definitions = select(KpiDefinition.id).where(KpiDefinition.org_id == ctx.org_id)
        if perspective is not None:
            definitions = definitions.where(KpiDefinition.perspective == perspective)
        if words:
            sep = literal_column("' '", String)
            definitions = definitions.where(search.matches(KpiDefinition.name + sep + KpiDefinition.code, words))
        stmt = stmt.where(KpiAssignment.definition_id.in_(definitions))
    people = hierarchy.people(ctx.org_id, manager_id=manager_id, subtree=subtree, department_id=department_id)
    if people is not None:
        stmt = stmt.where(KpiAssignment.employee_id.in_(people))
    return await paginate(ctx.session, stmt, KpiAssignment.id, params, sort=spec)


async def get_assignment(ctx: Ctx, asg_id: uuid.UUID) -> tuple[KpiAssignment, Relation]:
    """The assignment and the caller's relation to its subject; 404 unless they may read it."""
    row = await repo.get_assignment(ctx.session, ctx.org_id, asg_id)
    if row is None:
        raise NotFound("KPI assignment not found")
    rel = await relation(ctx, row.employee_id)
    if not policy.read_kpi_assignment(ctx.principal, rel).allowed:
        raise NotFound("KPI assignment not found")
    return row, rel


async def _definition_for(ctx: Ctx, def_id: uuid.UUID, field: str = "definition_id") -> KpiDefinition:
    d = await repo.get_definition(ctx.session, ctx.org_id, def_id)
    if d is None:
        raise ValidationFailed.field(field, "no such KPI definition")
    return d


async def create_assignment(ctx: Ctx, data: KpiAssignmentCreate) -> KpiAssignment:
    if not policy.is_person(ctx.principal):
        raise Forbidden("integration clients cannot create KPI assignments")
    if await ctx.session.get(Employee, (ctx.org_id, data.employee_id)) is None:
        raise ValidationFailed.field("employee_id", "no such employee")
    decision = policy.manage_kpi_assignment(ctx.principal, await relation(ctx, data.employee_id))
    if decision is not Decision.ALLOW:
        raise Forbidden("not allowed to assign KPIs to this employee")
    definition = await _definition_for(ctx, data.definition_id)
    cycle = await writable_cycle(ctx, data.cycle_id)
    await locks.ensure_open(ctx, cycle, [data.employee_id])
    values = data.model_dump()
    raise_field_errors(check_parameters(definition.direction, values))
    raise_field_errors(check_dates(data.effective_from, data.effective_to, cycle.start_date, cycle.end_date))
    if (
        await repo.find_assignment(ctx.session, ctx.org_id, data.employee_id, data.cycle_id, data.definition_id)
        is not None
    ):
        raise Conflict(
            "the employee already has this KPI in this cycle",
            extra={"errors": [{"loc": ["body", "definition_id"], "msg": "already assigned"}]},
        )
    row = KpiAssignment(org_id=ctx.org_id, id=new_id(), **values)
    ctx.session.add(row)
    await ctx.session.flush()
    await audit.record(
        ctx.session, ctx.principal, "kpi_assignment.created", "kpi_assignment", row.id, None, assignment_snapshot(row)
    )
    return row


async def _editable(ctx: Ctx, asg_id: uuid.UUID, expected: IfMatch | None) -> KpiAssignment:
    row, rel = await get_assignment(ctx, asg_id)
    require(policy.manage_kpi_assignment(ctx.principal, rel), "KPI assignment")
    await ensure_open(ctx, row)
    check_version(expected, row.version)
    return row


async def ensure_open(ctx: Ctx, row: KpiAssignment) -> None:
    """An assignment and its measurements are inputs of its employee's score: 409
    `cycle_locked` once the cycle (or one it is nested in) is closed or the employee's
    result there is official (service/scoring/locks.py)."""
    cycle = await load_cycle(ctx, row.cycle_id)
    assert cycle is not None  # a foreign key guarantees it
    await locks.ensure_open(ctx, cycle, [row.employee_id])


async def update_assignment(
    ctx: Ctx, asg_id: uuid.UUID, data: KpiAssignmentUpdate, expected: IfMatch | None = None
) -> KpiAssignment:
    row = await _editable(ctx, asg_id, expected)  # the If-Match precondition is checked there
    async with audited(ctx, row, "kpi_assignment.updated", assignment_snapshot):
        changes = data.model_dump(exclude_unset=True)
        refuse_nulls(changes, ("method", "weight", "veto", "rewardable"))
        definition = await _definition_for(ctx, row.definition_id)
        merged = {f: getattr(row, f) for f in (*PARAMETER_FIELDS, *DATE_FIELDS)} | changes
        raise_field_errors(check_parameters(definition.direction, merged))
        if any(f in changes for f in DATE_FIELDS):
            cycle = await load_cycle(ctx, row.cycle_id)
            assert cycle is not None  # a foreign key guarantees it
            raise_field_errors(
                check_dates(merged["effective_from"], merged["effective_to"], cycle.start_date, cycle.end_date)
            )
        set_fields(row, changes)
    return row


async def delete_assignment(ctx: Ctx, asg_id: uuid.UUID, expected: IfMatch | None = None) -> None:
    """Deletes the assignment with its measurements (audited as one change)."""
    row = await _editable(ctx, asg_id, expected)
    before = assignment_snapshot(row)
    before["measurements_deleted"] = await repo.delete_measurements_of(ctx.session, ctx.org_id, row.id)
    await ctx.session.delete(row)
    await ctx.session.flush()
    await audit.record(ctx.session, ctx.principal, "kpi_assignment.deleted", "kpi_assignment", asg_id, before, None)
