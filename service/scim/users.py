"""SCIM Users over the employees table: reads, searches and the writes of POST, PUT,
PATCH and DELETE (scim2-server applies PUT and PATCH to the stored User first; this
module receives the whole new state).

Write rules, in the organization model's terms:
- `active: false` terminates the employee (status `terminated`, `termination_date` today
  in the organization's time zone if unset); `active: true` makes a terminated employee
  active again (clearing `termination_date`) and leaves an employee on leave on leave;
  removing `active` leaves the status alone.
- DELETE deprovisions: the employee is terminated as above and hidden from SCIM (404);
  the row, its history and its HR key stay. The userName is freed. A POST with the same
  `employeeNumber` later is a rehire: the same employee comes back, active from that day.
- `employeeNumber` is the HR key `external_id`; without one the service generates
  `scim:<id>`, which SCIM shows as unassigned.
- `enterprise.department` names a department (case-insensitive); an unknown name creates
  a top-level department, an ambiguous one is refused.
Every change writes an audit event with the client as actor and an `employee.upserted`
outbox event.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any
from zoneinfo import ZoneInfo

from scim2_models import (
    InvalidValueException,
    NotFoundException,
    Resource,
    SearchRequest,
    UniquenessException,
)
from sqlalchemy import Select, and_, case, func, literal, or_, select

from service.auth.context import Ctx
from service.kit import audit
from service.kit.schemas import EMAIL_RE
from service.org import repository as org_repo
from service.org.models import Department, Employee
from service.org.service import employee_snapshot
from service.scim import groups
from service.scim.common import flush, publish
from service.scim.filters import (
    BOOLEAN,
    COMPLEX,
    CONSTANT,
    DATETIME,
    STRING,
    UUID,
    Attribute,
    has_text,
    order_by,
    where_clause,
)
from service.scim.mapping import (
    GENERATED_KEY_PREFIX,
    TERMINATED,
    UserRow,
    UserValues,
    bounded_offset,
    check_lengths,
    check_version,
    comparison_key,
    generated_key,
    parse_id,
    user_resource,
    user_values,
)
from service.scim.models import ScimUser
from service.scim.schema import ENTERPRISE_SCHEMA, USER_SCHEMA
from service.types import new_id, utcnow

ATTRIBUTE_NAMES = {
    "user_name": "userName",
    "given_name": "name.givenName",
    "family_name": "name.familyName",
    "email": "emails.value",
    "email_type": "emails.type",
    "display_name": "displayName",
    "external_id": "externalId",
    "employee_number": "employeeNumber",
    "department": "department",
}


def _attributes() -> dict[str, Attribute]:
    core, ext = USER_SCHEMA.lower() + ":", ENTERPRISE_SCHEMA.lower() + ":"
    email_type = case((ScimUser.id.is_(None), literal("work")), else_=ScimUser.email_type)
    email_primary = case((ScimUser.id.is_(None), literal(True)), else_=ScimUser.email_primary)
    has_email = has_text(Employee.email)
    given, family = has_text(Employee.given_name), has_text(Employee.family_name)
    number = and_(
        Employee.external_id.is_not(None),
        func.substr(Employee.external_id, 1, len(GENERATED_KEY_PREFIX)) != GENERATED_KEY_PREFIX,
    )
    department, manager = has_text(Department.name), Employee.manager_id.is_not(None)
    return {
        core + "id": Attribute(UUID, literal(True), Employee.id),
        core + "externalid": Attribute(STRING, has_text(ScimUser.external_id), ScimUser.external_id),
        core + "username": Attribute(STRING, literal(True), func.coalesce(ScimUser.user_name, Employee.email)),
        core + "name": Attribute(COMPLEX, or_(given, family)),
        core + "name.givenname": Attribute(STRING, given, Employee.given_name),
        core + "name.familyname": Attribute(STRING, family, Employee.family_name),
        core + "displayname": Attribute(STRING, has_text(ScimUser.display_name), ScimUser.display_name),
        core + "active": Attribute(
            BOOLEAN, or_(ScimUser.id.is_(None), ScimUser.active_unassigned.is_(False)), Employee.status != TERMINATED
        ),
        core + "emails": Attribute(COMPLEX, has_email),
        core + "emails.value": Attribute(STRING, has_email, Employee.email),
        core + "emails.type": Attribute(STRING, and_(has_email, email_type.is_not(None)), email_type),
        core + "emails.primary": Attribute(BOOLEAN, and_(has_email, email_primary.is_not(None)), email_primary),
        core + "meta.created": Attribute(DATETIME, literal(True), Employee.created_at),
        core + "meta.lastmodified": Attribute(DATETIME, literal(True), Employee.updated_at),
        core + "meta.resourcetype": Attribute(CONSTANT, literal(True), "User"),
        ENTERPRISE_SCHEMA.lower(): Attribute(COMPLEX, or_(number, department, manager)),
        ext + "employeenumber": Attribute(STRING, number, Employee.external_id),
        ext + "department": Attribute(STRING, department, Department.name),
        ext + "manager": Attribute(COMPLEX, manager),
        ext + "manager.value": Attribute(UUID, manager, Employee.manager_id),
    }


ATTRIBUTES = _attributes()


def _query(org_id: uuid.UUID) -> Select[Employee, ScimUser | None, str | None, int | None]:
    """Employees of the organization not deprovisioned, with their sidecar and department."""
    return (
        select(Employee, ScimUser, Department.name, Department.version)
        .select_from(Employee)
        .outerjoin(ScimUser, and_(ScimUser.org_id == Employee.org_id, ScimUser.id == Employee.id))
        .outerjoin(Department, and_(Department.org_id == Employee.org_id, Department.id == Employee.department_id))
        .where(Employee.org_id == org_id, ScimUser.deleted_at.is_(None))
    )


def _rows(result: Any) -> list[UserRow]:
    return [UserRow(emp, side, name, version) for emp, side, name, version in result]


async def load(ctx: Ctx, user_id: str, *, lock: bool = False) -> UserRow:
    employee_id = parse_id(user_id)
    if employee_id is None:
        raise NotFoundException(detail=f"User {user_id!r} not found")
    stmt = _query(ctx.org_id).where(Employee.id == employee_id).execution_options(populate_existing=True)
    if lock:
        stmt = stmt.with_for_update(of=Employee)
    rows = _rows(await ctx.session.execute(stmt))
    if not rows:
        raise NotFoundException(detail=f"User {user_id!r} not found")
    return rows[0]


async def get(ctx: Ctx, model: type[Resource[Any]], user_id: str, *, lock: bool = False) -> Resource[Any]:
    return user_resource(model, await load(ctx, user_id, lock=lock))


async def search(ctx: Ctx, model: type[Resource[Any]], request: SearchRequest[Any]) -> tuple[int, list[Resource[Any]]]:
    dialect = ctx.session.get_bind().dialect.name
    stmt = _query(ctx.org_id)
    condition = where_clause(request, model, ATTRIBUTES, dialect)
    if condition is not None:
        stmt = stmt.where(condition)
    total = (await ctx.session.execute(stmt.with_only_columns(func.count(Employee.id)).order_by(None))).scalar_one()
    if request.count == 0 or total == 0:
        return total, []
    stmt = stmt.order_by(*order_by(request, model, ATTRIBUTES, dialect, [Employee.created_at, Employee.id]))
    stmt = stmt.offset(bounded_offset(request))
    if request.count is not None:
        stmt = stmt.limit(request.count)
    return total, [user_resource(model, row) for row in _rows(await ctx.session.execute(stmt))]


# --- writes ---------------------------------------------------------------------------------


async def _org_today(ctx: Ctx) -> dt.date:
    org = await org_repo.get_organization(ctx.session, ctx.org_id)
    try:
        zone = ZoneInfo(org.timezone if org is not None else "UTC")
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    return dt.datetime.now(zone).date()


async def _validate(ctx: Ctx, values: UserValues, employee_id: uuid.UUID | None) -> None:
    check_lengths(values, ATTRIBUTE_NAMES)
    if not values.user_name:
        raise InvalidValueException(detail="userName is required")
    if values.email and not EMAIL_RE.match(values.email):
        raise InvalidValueException(detail=f"{values.email!r} is not an e-mail address")
    if values.employee_number and values.employee_number.startswith(GENERATED_KEY_PREFIX):
        raise InvalidValueException(detail=f"employeeNumber cannot start with {GENERATED_KEY_PREFIX!r}")
    key = comparison_key(values.user_name)
    others = Employee.id != employee_id if employee_id is not None else literal(True)
    other_sidecars = ScimUser.id != employee_id if employee_id is not None else literal(True)
    taken = await ctx.session.execute(
        select(ScimUser.id).where(ScimUser.org_id == ctx.org_id, ScimUser.user_name_key == key, other_sidecars).limit(1)
    )
    # An employee SCIM never touched answers to its e-mail address as userName.
    taken_by_email = await ctx.session.execute(
        select(Employee.id)
        .outerjoin(ScimUser, and_(ScimUser.org_id == Employee.org_id, ScimUser.id == Employee.id))
        .where(Employee.org_id == ctx.org_id, ScimUser.id.is_(None), func.lower(Employee.email) == key, others)
        .limit(1)
    )
    if taken.first() is not None or taken_by_email.first() is not None:
        raise UniquenessException(detail=f"userName {values.user_name!r} is already taken")
    if values.employee_number:
        number = await ctx.session.execute(
            select(Employee.id)
            .where(Employee.org_id == ctx.org_id, Employee.external_id == values.employee_number, others)
            .limit(1)
        )
        if number.first() is not None:
            raise UniquenessException(detail=f"employeeNumber {values.employee_number!r} belongs to another employee")


async def _manager(ctx: Ctx, value: str | None, employee_id: uuid.UUID | None) -> uuid.UUID | None:
    if value is None:
        return None
    manager_id = parse_id(value)
    if manager_id is None or manager_id == employee_id:
        raise InvalidValueException(detail=f"manager {value!r} is not another User")
    found = await ctx.session.execute(
        _query(ctx.org_id).with_only_columns(Employee.id).where(Employee.id == manager_id)
    )
    if found.first() is None:
        raise InvalidValueException(detail=f"manager {value!r} names no User")
    if employee_id is not None and employee_id in await org_repo.manager_ancestors(ctx.session, ctx.org_id, manager_id):
        raise InvalidValueException(detail="this manager would make a reporting cycle")
    return manager_id


def _set_active(emp: Employee, active: bool | None, today: dt.date) -> None:
    if active is False and emp.status != TERMINATED:
        emp.status = TERMINATED
        if emp.termination_date is None:
            emp.termination_date = max(today, emp.hire_date) if emp.hire_date else today
    elif active is True and emp.status == TERMINATED:
        emp.status = "active"
        emp.termination_date = None


def _fill_sidecar(side: ScimUser, values: UserValues) -> None:
    side.user_name = values.user_name
    side.user_name_key = comparison_key(values.user_name)
    side.external_id = values.external_id
    side.display_name = values.display_name
    side.email_type = values.email_type if values.email else None
    side.email_primary = values.email_primary if values.email else None
    side.active_unassigned = values.active is None


async def _deprovisioned(ctx: Ctx, employee_number: str) -> tuple[Employee, ScimUser] | None:
    """The employee a SCIM DELETE deprovisioned under this HR key, if any."""
    row = (
        await ctx.session.execute(
            select(Employee, ScimUser)
            .join(ScimUser, and_(ScimUser.org_id == Employee.org_id, ScimUser.id == Employee.id))
            .where(
                Employee.org_id == ctx.org_id, Employee.external_id == employee_number, ScimUser.deleted_at.is_not(None)
            )
            .execution_options(populate_existing=True)
            .with_for_update(of=Employee)
        )
    ).first()
    return (row[0], row[1]) if row is not None else None


async def _rehire(
    ctx: Ctx, model: type[Resource[Any]], emp: Employee, side: ScimUser, values: UserValues
) -> Resource[Any]:
    """A User created again with the `employeeNumber` of one a DELETE deprovisioned is that
    employee coming back (a rehire): the same employee, with their history, active again
    from today (the organization's date; the new employment starts then, so proration
    and the scored population see the gap), their SCIM identity restored."""
    await _validate(ctx, values, emp.id)
    before = employee_snapshot(emp)
    today = await _org_today(ctx)
    emp.email, emp.given_name, emp.family_name = values.email, values.given_name, values.family_name
    emp.department_id = await groups.department_for(ctx, values.department)
    emp.manager_id = await _manager(ctx, values.manager, emp.id)
    emp.status, emp.hire_date, emp.termination_date = "active", today, None
    _set_active(emp, values.active, today)
    emp.updated_at = utcnow()
    side.deleted_at = None
    _fill_sidecar(side, values)
    side.active_unassigned = False
    await flush(ctx)
    await audit.record(
        ctx.session,
        ctx.principal,
        "employee.rehired",
        "employee",
        emp.id,
        before,
        employee_snapshot(emp),
        reason="provisioned again via SCIM after a DELETE: the same employee",
    )
    await publish(ctx, [emp.id], 0, 1)
    return await get(ctx, model, str(emp.id))


async def create(ctx: Ctx, model: type[Resource[Any]], resource: Resource[Any]) -> Resource[Any]:
    values = user_values(resource)
    if values.employee_number:
        gone = await _deprovisioned(ctx, values.employee_number)
        if gone is not None:
            return await _rehire(ctx, model, *gone, values)
    await _validate(ctx, values, None)
    employee_id = new_id()
    today = await _org_today(ctx)
    emp = Employee(
        org_id=ctx.org_id,
        id=employee_id,
        external_id=values.employee_number or generated_key(employee_id),
        email=values.email,
        given_name=values.given_name,
        family_name=values.family_name,
        department_id=await groups.department_for(ctx, values.department),
        manager_id=await _manager(ctx, values.manager, None),
        status="active",
    )
    _set_active(emp, values.active, today)
    ctx.session.add(emp)
    await flush(ctx)
    side = ScimUser(org_id=ctx.org_id, id=employee_id)
    _fill_sidecar(side, values)
    side.active_unassigned = False  # a User provisioned without `active` is active
    ctx.session.add(side)
    await flush(ctx)
    await audit.record(
        ctx.session,
        ctx.principal,
        "employee.created",
        "employee",
        employee_id,
        None,
        employee_snapshot(emp),
        reason="provisioned via SCIM",
    )
    await publish(ctx, [employee_id], 1, 0)
    return await get(ctx, model, str(employee_id))


async def update(
    ctx: Ctx, model: type[Resource[Any]], resource: Resource[Any], expected_version: str | None
) -> Resource[Any]:
    row = await load(ctx, str(resource.id), lock=True)
    check_version(row.version, expected_version)
    emp = row.employee
    values = user_values(resource)
    await _validate(ctx, values, emp.id)
    before = employee_snapshot(emp)
    emp.email, emp.given_name, emp.family_name = values.email, values.given_name, values.family_name
    if values.employee_number:
        emp.external_id = values.employee_number
    elif not emp.external_id.startswith(GENERATED_KEY_PREFIX):
        emp.external_id = generated_key(emp.id)
    if values.department is None:
        emp.department_id = None
    elif (row.department_name or "").strip().lower() != values.department.lower():
        emp.department_id = await groups.department_for(ctx, values.department)
    emp.manager_id = await _manager(ctx, values.manager, emp.id)
    _set_active(emp, values.active, await _org_today(ctx))
    emp.updated_at = utcnow()  # the User changes even when only its sidecar does: new version
    side = row.sidecar
    if side is None:
        side = ScimUser(org_id=ctx.org_id, id=emp.id)
        ctx.session.add(side)
    _fill_sidecar(side, values)
    await flush(ctx)
    after = employee_snapshot(emp)
    if after != before:
        reason = "deactivated via SCIM" if before["status"] != TERMINATED == after["status"] else "via SCIM"
        await audit.record(
            ctx.session, ctx.principal, "employee.updated", "employee", emp.id, before, after, reason=reason
        )
        await publish(ctx, [emp.id], 0, 1)
    return await get(ctx, model, str(emp.id))


async def delete(ctx: Ctx, user_id: str, expected_version: str | None) -> None:
    row = await load(ctx, user_id, lock=True)
    check_version(row.version, expected_version)
    emp = row.employee
    before = employee_snapshot(emp)
    _set_active(emp, False, await _org_today(ctx))
    emp.updated_at = utcnow()
    side = row.sidecar
    if side is None:
        side = ScimUser(org_id=ctx.org_id, id=emp.id, user_name=emp.email, active_unassigned=False)
        ctx.session.add(side)
    side.deleted_at = utcnow()
    side.user_name_key = None
    await flush(ctx)
    await audit.record(
        ctx.session,
        ctx.principal,
        "employee.deprovisioned",
        "employee",
        emp.id,
        before,
        employee_snapshot(emp),
        reason="deleted via SCIM; the employee is kept",
    )
    await publish(ctx, [emp.id], 0, 1)
