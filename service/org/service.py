"""Use cases of the organization module. Services flush, never commit; REST and GraphQL
both call them."""

from __future__ import annotations

import operator
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy import Select

from service.auth.context import Ctx
from service.authz import policy
from service.authz.enforce import require
from service.authz.policy import Relation
from service.errors import Conflict, Forbidden, NotFound, ValidationFailed
from service.kit import audit, hierarchy, search
from service.kit.changes import audited, refuse_nulls, set_fields
from service.kit.etag import IfMatch
from service.kit.export import Column, CsvExport, attr, csv_text, keyset_chunks, snapshot_session
from service.kit.pagination import (
    Page,
    PageOut,
    PageParams,
    Sorting,
    SortKey,
    decode_position,
    forward_page,
    paginate,
)
from service.org import repository as repo
from service.org.models import DEFAULT_ORG_SETTINGS, Department, Employee, Organization, Position
from service.org.schemas import (
    DepartmentCreate,
    DepartmentRead,
    DepartmentUpdate,
    EmployeeCreate,
    EmployeeRead,
    EmployeeUpdate,
    MeRead,
    OrganizationRead,
    OrganizationUpdate,
    OrgSettings,
    PersonRef,
    PositionCreate,
    PositionRead,
    PositionUpdate,
)
from service.types import new_id

COMP_FIELDS = ("base_salary_minor", "comp_currency", "target_bonus_pct", "target_bonus_minor")


# --- organization -----------------------------------------------------------------------


def org_read(org: Organization) -> OrganizationRead:
    settings = {**DEFAULT_ORG_SETTINGS, **(org.settings or {})}
    return OrganizationRead(
        id=org.id,
        name=org.name,
        currency=org.currency,
        timezone=org.timezone,
        fiscal_year_start=org.fiscal_year_start,
        settings=OrgSettings.model_validate(settings),
        created_at=org.created_at,
        updated_at=org.updated_at,
    )


async def get_organization(ctx: Ctx) -> Organization:
    require(policy.read_organization(ctx.principal), "organization")
    org = await repo.get_organization(ctx.session, ctx.org_id)
    if org is None:
        raise NotFound("organization not found")
    return org


async def org_settings(ctx: Ctx) -> dict[str, Any]:
    org = await repo.get_organization(ctx.session, ctx.org_id)
    return {**DEFAULT_ORG_SETTINGS, **((org.settings if org else None) or {})}


async def update_organization(ctx: Ctx, data: OrganizationUpdate, expected: IfMatch | None = None) -> Organization:
    org = await get_organization(ctx)
    require(policy.update_organization(ctx.principal), "organization")
    async with audited(ctx, org, "organization.updated", organization_snapshot, expected):
        changes = data.model_dump(exclude_unset=True, exclude={"settings"})
        set_fields(org, changes, not_null=changes)
        if data.settings is not None:
            merged = {
                **DEFAULT_ORG_SETTINGS,
                **(org.settings or {}),
                **data.settings.model_dump(exclude_unset=True, exclude_none=True),
            }
            try:
                org.settings = OrgSettings.model_validate(merged).model_dump()
            except ValueError as exc:
                raise ValidationFailed.field("settings", str(exc).splitlines()[-1]) from exc
    return org


def organization_snapshot(org: Organization) -> dict[str, Any]:
    return org_read(org).model_dump(mode="json")


# --- departments --------------------------------------------------------------------------


async def list_departments(ctx: Ctx, params: PageParams, parent_id: uuid.UUID | None = None) -> Page[Department]:
    require(policy.read_directory(ctx.principal), "departments")
    stmt = repo.departments(ctx.org_id)
    if parent_id is not None:
        stmt = stmt.where(Department.parent_id == parent_id)
    return await paginate(ctx.session, stmt, Department.id, params)


async def get_department(ctx: Ctx, dep_id: uuid.UUID) -> Department:
    if not policy.read_directory(ctx.principal).allowed:
        raise NotFound("department not found")
    dep = await repo.get_department(ctx.session, ctx.org_id, dep_id)
    if dep is None:
        raise NotFound("department not found")
    return dep


async def _check_department_refs(
    ctx: Ctx, dep_id: uuid.UUID | None, parent_id: uuid.UUID | None, head_id: uuid.UUID | None, fields: set[str]
) -> None:
    if "parent_id" in fields and parent_id is not None:
        if await repo.get_department(ctx.session, ctx.org_id, parent_id) is None:
            raise ValidationFailed.field("parent_id", "no such department")
        if dep_id is not None:
            await repo.hold_department_tree(ctx.session, ctx.org_id)  # a concurrent move cannot pass the check
        if dep_id is not None and dep_id in await repo.department_ancestors(ctx.session, ctx.org_id, parent_id):
            raise ValidationFailed.field("parent_id", "this parent would make a department cycle")
    if "head_id" in fields and head_id is not None:
        if await repo.get_employee(ctx.session, ctx.org_id, head_id) is None:
            raise ValidationFailed.field("head_id", "no such employee")


def department_snapshot(dep: Department) -> dict[str, Any]:
    return DepartmentRead.model_validate(dep).model_dump(mode="json")


async def create_department(ctx: Ctx, data: DepartmentCreate) -> Department:
    require(policy.write_directory(ctx.principal), "departments")
    await _check_department_refs(ctx, None, data.parent_id, data.head_id, {"parent_id", "head_id"})
    dep = Department(org_id=ctx.org_id, id=new_id(), **data.model_dump())
    ctx.session.add(dep)
    await ctx.session.flush()
    await audit.record(
        ctx.session, ctx.principal, "department.created", "department", dep.id, None, department_snapshot(dep)
    )
    return dep


async def update_department(
    ctx: Ctx, dep_id: uuid.UUID, data: DepartmentUpdate, expected: IfMatch | None = None
) -> Department:
    dep = await get_department(ctx, dep_id)
    require(policy.write_directory(ctx.principal), "department")
    async with audited(ctx, dep, "department.updated", department_snapshot, expected):
        changes = data.model_dump(exclude_unset=True)
        refuse_nulls(changes, ("name",))
        await _check_department_refs(ctx, dep.id, changes.get("parent_id"), changes.get("head_id"), set(changes))
        set_fields(dep, changes)
    return dep


async def delete_department(ctx: Ctx, dep_id: uuid.UUID, expected: IfMatch | None = None) -> None:
    dep = await get_department(ctx, dep_id)
    require(policy.write_directory(ctx.principal), "department")
    async with audited(ctx, dep, "department.deleted", department_snapshot, expected):
        if await repo.has_children(ctx.session, ctx.org_id, dep.id):
            raise Conflict("the department still has sub-departments or employees")
        await ctx.session.delete(dep)


# --- positions ------------------------------------------------------------------------------


async def list_positions(ctx: Ctx, params: PageParams) -> Page[Position]:
    require(policy.read_directory(ctx.principal), "positions")
    return await paginate(ctx.session, repo.positions(ctx.org_id), Position.id, params)


async def get_position(ctx: Ctx, pos_id: uuid.UUID) -> Position:
    if not policy.read_directory(ctx.principal).allowed:
        raise NotFound("position not found")
    pos = await repo.get_position(ctx.session, ctx.org_id, pos_id)
    if pos is None:
        raise NotFound("position not found")
    return pos


async def create_position(ctx: Ctx, data: PositionCreate) -> Position:
    require(policy.write_directory(ctx.principal), "positions")
    pos = Position(org_id=ctx.org_id, id=new_id(), **data.model_dump())
    ctx.session.add(pos)
    await ctx.session.flush()
    await audit.record(ctx.session, ctx.principal, "position.created", "position", pos.id, None, position_snapshot(pos))
    return pos


async def update_position(
    ctx: Ctx, pos_id: uuid.UUID, data: PositionUpdate, expected: IfMatch | None = None
) -> Position:
    pos = await get_position(ctx, pos_id)
    require(policy.write_directory(ctx.principal), "position")
    async with audited(ctx, pos, "position.updated", position_snapshot, expected):
        set_fields(pos, data.model_dump(exclude_unset=True), not_null=("name",))
    return pos


def position_snapshot(pos: Position) -> dict[str, Any]:
    return PositionRead.model_validate(pos).model_dump(mode="json")


# --- employees ------------------------------------------------------------------------------


# The fields of `EmployeeRead` read from a row of its own name, and the pay beside them.
_DIRECTORY_FIELDS = tuple(name for name in EmployeeRead.model_fields if name != "compensation")
_directory_values = operator.attrgetter(*_DIRECTORY_FIELDS)
EMPLOYEE_PAGE = PageOut[EmployeeRead]


def _employee_fields(emp: Any, show_compensation: bool) -> dict[str, Any]:
    """What `EmployeeRead` is validated from: an employee (ORM object or row), its pay
    only when shown (so `compensation` stays unset, and out of the answer, otherwise)."""
    fields = dict(zip(_DIRECTORY_FIELDS, _directory_values(emp), strict=True))
    if show_compensation:
        fields["compensation"] = {
            "base_salary_minor": emp.base_salary_minor,
            "currency": emp.comp_currency,
            "target_bonus_pct": emp.target_bonus_pct,
            "target_bonus_minor": emp.target_bonus_minor,
        }
    return fields


def employee_read(emp: Any, show_compensation: bool) -> EmployeeRead:
    return EmployeeRead.model_validate(_employee_fields(emp, show_compensation))


def employee_page_read(ctx: Ctx, page: Page[Any]) -> PageOut[EmployeeRead]:
    """A page of employees as REST answers it, validated in one pass: one call into
    pydantic-core for the page and its items, instead of a model built (and its pay
    decided) one row at a time, which was most of a list request's time
    (bench/README.md). The same models, so the same answer as `employee_read` item by
    item."""
    shown = compensation_shown(ctx)
    items = [_employee_fields(row, shown(row.id)) for row in page.items]
    return EMPLOYEE_PAGE.model_validate({"items": items, "next_cursor": page.next_cursor})


def employee_snapshot(emp: Employee) -> dict[str, Any]:
    """Audit snapshot: never the pay itself (auditors read the log), only that it is set."""
    snap = employee_read(emp, False).model_dump(mode="json", exclude={"compensation", "created_at", "updated_at"})
    snap["compensation"] = "redacted" if any(getattr(emp, f) is not None for f in COMP_FIELDS) else None
    return snap


def compensation_shown(ctx: Ctx) -> Callable[[uuid.UUID], bool]:
    """Whose pay the caller sees, decided once for a whole page: everyone's, their own
    (a person, not a client, seeing themself) or nobody's."""
    p = ctx.principal
    if policy.see_compensation(p, Relation.OTHER):
        return lambda _emp_id: True
    own = p.employee_id if not p.is_client and policy.see_compensation(p, Relation.SELF) else None
    return lambda emp_id: own is not None and emp_id == own


async def show_compensation(ctx: Ctx, emp_id: uuid.UUID) -> bool:
    return compensation_shown(ctx)(emp_id)


EMPLOYEE_SORT = Sorting(
    SortKey("family_name", Employee.family_name),
    SortKey("given_name", Employee.given_name),
    SortKey("email", Employee.email),
    SortKey("external_id", Employee.external_id),
    SortKey("status", Employee.status),
    SortKey("hire_date", Employee.hire_date, "date", nullable=True),
    SortKey("termination_date", Employee.termination_date, "date", nullable=True),
    SortKey("created_at", Employee.created_at, "datetime"),
    SortKey("updated_at", Employee.updated_at, "datetime"),
)


def _may_list(ctx: Ctx, manager_id: uuid.UUID | None, subtree: bool) -> None:
    require(policy.read_directory(ctx.principal), "employees")
    hierarchy.check_people_filter(manager_id, subtree)


def _employees_query(
    ctx: Ctx,
    *,
    department_id: uuid.UUID | None,
    manager_id: uuid.UUID | None,
    subtree: bool,
    status: str | None,
    external_id: str | None,
    q: str | None,
) -> Select[Any]:
    words = search.terms(q)
    stmt = repo.employees(ctx.org_id)
    if department_id is not None:
        stmt = stmt.where(Employee.department_id == department_id)
    if manager_id is not None:
        if subtree:
            stmt = stmt.where(Employee.id.in_(hierarchy.reports_of(ctx.org_id, manager_id, "filter_reports")))
        else:
            stmt = stmt.where(Employee.manager_id == manager_id)
    if status is not None:
        stmt = stmt.where(Employee.status == status)
    if external_id is not None:
        stmt = stmt.where(Employee.external_id == external_id)
    if words:
        stmt = stmt.where(search.matches(repo.employee_search_text(), words))
    return stmt


async def list_employees(
    ctx: Ctx,
    params: PageParams,
    *,
    department_id: uuid.UUID | None = None,
    manager_id: uuid.UUID | None = None,
    subtree: bool = False,
    status: str | None = None,
    external_id: str | None = None,
    q: str | None = None,
    sort: str | Sequence[str] | None = None,
) -> Page[Any]:
    """A page of employee rows (read only: Core rows, or the named tuples of a direct
    read). The directory is the whole organization for every caller who may read it, so
    the filters only narrow it.

    A forward page in id order with no more than equality filters (the directory as
    clients walk it) is one statement compiled once and read on the driver in a GET
    (`repo.employee_page`); search, a subtree, a sort or a backward page build their
    query each time (`paginate`). Both give the same rows and cursors."""
    _may_list(ctx, manager_id, subtree)
    spec = EMPLOYEE_SORT.parse(sort)
    if not spec and not subtree and not params.backward and not search.terms(q):
        after = decode_position(spec, params.cursor).id if params.cursor else None
        rows = await repo.employee_page(
            ctx,
            ctx.org_id,
            after=after,
            limit=params.limit + 1,
            department_id=department_id,
            manager_id=manager_id,
            status=status,
            external_id=external_id,
        )
        return forward_page(rows, params.limit, started=after is not None)
    stmt = _employees_query(
        ctx,
        department_id=department_id,
        manager_id=manager_id,
        subtree=subtree,
        status=status,
        external_id=external_id,
        q=q,
    )
    return await paginate(ctx.session, stmt, Employee.id, params, core_rows=True, sort=spec)


EMPLOYEE_COLUMNS: list[Column[Any]] = [
    attr("id"),
    attr("external_id", typed=True),
    attr("email", typed=True),
    attr("given_name", typed=True),
    attr("family_name", typed=True),
    attr("department_id"),
    attr("position_id"),
    attr("manager_id"),
    attr("status"),
    attr("hire_date"),
    attr("termination_date"),
    attr("created_at"),
    attr("updated_at"),
]
PAY_COLUMNS: list[Column[Any]] = [
    attr("base_salary_minor"),
    attr("comp_currency", header="compensation_currency"),
    attr("target_bonus_pct"),
    attr("target_bonus_minor"),
]


async def export_employees(
    ctx: Ctx,
    *,
    cursor: str | None = None,
    department_id: uuid.UUID | None = None,
    manager_id: uuid.UUID | None = None,
    subtree: bool = False,
    status: str | None = None,
    external_id: str | None = None,
    q: str | None = None,
    sort: str | Sequence[str] | None = None,
) -> CsvExport:
    """The list as CSV, read in chunks while it is sent (service/kit/export.py). The pay
    columns are there only for callers who may see everyone's pay (hr, admin, payroll
    and HRIS clients); an employee's own pay is in their JSON, not in an export."""
    _may_list(ctx, manager_id, subtree)
    stmt = _employees_query(
        ctx,
        department_id=department_id,
        manager_id=manager_id,
        subtree=subtree,
        status=status,
        external_id=external_id,
        q=q,
    )
    spec = EMPLOYEE_SORT.parse(sort)
    if cursor:
        decode_position(spec, cursor)  # a bad cursor is a 422 now, not a broken stream later
    columns = EMPLOYEE_COLUMNS + (PAY_COLUMNS if policy.see_compensation(ctx.principal, Relation.OTHER) else [])

    async def chunks() -> AsyncIterator[list[Any]]:
        async with snapshot_session() as session:
            async for rows in keyset_chunks(session, stmt, Employee.id, sort=spec, cursor=cursor, core_rows=True):
                yield rows

    return CsvExport("employees.csv", csv_text(columns, chunks()))


async def _directory_entry(ctx: Ctx, load: Callable[[], Awaitable[Any]]) -> Any:
    """What `load` finds, for a caller who may read the directory; 404 otherwise."""
    if not policy.read_directory(ctx.principal).allowed:
        raise NotFound("employee not found")
    emp = await load()
    if emp is None:
        raise NotFound("employee not found")
    return emp


async def get_employee(ctx: Ctx, emp_id: uuid.UUID) -> Employee:
    return await _directory_entry(ctx, lambda: repo.get_employee(ctx.session, ctx.org_id, emp_id))


async def read_employee(ctx: Ctx, emp_id: uuid.UUID) -> Any:
    """`get_employee` for reading only: the row, not an ORM object to change."""
    return await _directory_entry(ctx, lambda: repo.read_employee(ctx, ctx.org_id, emp_id))


async def _check_employee_refs(ctx: Ctx, emp_id: uuid.UUID | None, values: dict[str, Any]) -> None:
    if (
        values.get("department_id") is not None
        and await repo.get_department(ctx.session, ctx.org_id, values["department_id"]) is None
    ):
        raise ValidationFailed.field("department_id", "no such department")
    if (
        values.get("position_id") is not None
        and await repo.get_position(ctx.session, ctx.org_id, values["position_id"]) is None
    ):
        raise ValidationFailed.field("position_id", "no such position")
    manager_id = values.get("manager_id")
    if manager_id is not None:
        if manager_id == emp_id:
            raise ValidationFailed.field("manager_id", "an employee cannot manage themself")
        chain = await repo.manager_ancestors(ctx.session, ctx.org_id, manager_id)
        if not chain:
            raise ValidationFailed.field("manager_id", "no such employee")
        if emp_id is not None and emp_id in chain:
            raise ValidationFailed.field("manager_id", "this manager would make a reporting cycle")


def _apply_compensation(emp: Employee, comp: dict[str, Any] | None) -> None:
    if comp is None:
        return
    mapping = {
        "base_salary_minor": "base_salary_minor",
        "currency": "comp_currency",
        "target_bonus_pct": "target_bonus_pct",
        "target_bonus_minor": "target_bonus_minor",
    }
    for key, column in mapping.items():
        if key in comp:
            setattr(emp, column, comp[key])


async def create_employee(ctx: Ctx, data: EmployeeCreate) -> Employee:
    require(policy.write_directory(ctx.principal), "employees")
    if data.compensation is not None and not policy.write_compensation(ctx.principal):
        raise Forbidden("not allowed to set compensation")
    values = data.model_dump(exclude={"compensation"})
    await _check_employee_refs(ctx, None, values)
    if await repo.employees_by_external_id(ctx.session, ctx.org_id, [data.external_id]):
        raise Conflict(
            f"an employee with external_id {data.external_id!r} exists",
            extra={"errors": [{"loc": ["body", "external_id"], "msg": "already exists"}]},
        )
    emp = Employee(org_id=ctx.org_id, id=new_id(), **values)
    _apply_compensation(emp, data.compensation.model_dump(exclude_unset=True) if data.compensation else None)
    ctx.session.add(emp)
    await ctx.session.flush()
    await audit.record(ctx.session, ctx.principal, "employee.created", "employee", emp.id, None, employee_snapshot(emp))
    return emp


async def update_employee(
    ctx: Ctx, emp_id: uuid.UUID, data: EmployeeUpdate, expected: IfMatch | None = None
) -> Employee:
    emp = await get_employee(ctx, emp_id)
    require(policy.write_directory(ctx.principal), "employee")
    reason = "compensation changed" if data.compensation is not None else None
    async with audited(ctx, emp, "employee.updated", employee_snapshot, expected, reason=reason):
        changes = data.model_dump(exclude_unset=True, exclude={"compensation"})
        refuse_nulls(changes, ("external_id", "email", "given_name", "family_name", "status"))
        if data.compensation is not None and not policy.write_compensation(ctx.principal):
            raise Forbidden("not allowed to set compensation")
        hire = changes.get("hire_date", emp.hire_date)
        term = changes.get("termination_date", emp.termination_date)
        if hire and term and term < hire:
            raise ValidationFailed.field("termination_date", "termination_date is before hire_date")
        await _check_employee_refs(ctx, emp.id, changes)
        if (
            "external_id" in changes
            and changes["external_id"] != emp.external_id
            and await repo.employees_by_external_id(ctx.session, ctx.org_id, [changes["external_id"]])
        ):
            raise Conflict("external_id already in use")
        set_fields(emp, changes)
        _apply_compensation(emp, data.compensation.model_dump(exclude_unset=True) if data.compensation else None)
    return emp


# --- the caller ------------------------------------------------------------------------------


async def who_am_i(ctx: Ctx) -> MeRead:
    """The caller as the API knows them (`GET /api/v1/me`): their employee as
    `GET /employees/{id}` shows it to them (their own pay included), their manager and how
    many report to them; a token that names no employee (an admin without one, an
    integration client) still learns its roles or scopes, with `employee` null."""
    p = ctx.principal
    emp_id = None if p.is_client else p.employee_id
    emp = await repo.read_employee(ctx, ctx.org_id, emp_id) if emp_id is not None else None
    manager = None
    count = 0
    if emp is not None:
        if emp.manager_id is not None:
            boss = await repo.read_employee(ctx, ctx.org_id, emp.manager_id)
            if boss is not None:
                manager = PersonRef(id=boss.id, given_name=boss.given_name, family_name=boss.family_name)
        count = (await repo.direct_report_counts(ctx.session, ctx.org_id, [emp.id])).get(emp.id, 0)
    return MeRead(
        kind="client" if p.is_client else "person",
        organization_id=ctx.org_id,
        employee=employee_read(emp, await show_compensation(ctx, emp.id)) if emp is not None else None,
        roles=[] if p.is_client else sorted(p.roles),
        scopes=sorted(p.scopes) if p.is_client else [],
        manager=manager,
        reports_count=count,
    )
