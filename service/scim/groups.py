"""SCIM Groups over the departments table.

A Group is a department: `displayName` is its name, and its members are the employees
whose `department_id` is the department (deprovisioned Users aside). Adding a member sets
the employee's department, so an employee belongs to one Group at a time: adding them to
another Group moves them. Removing a member clears their department. Member ids that
name no User of the organization are ignored, as identity providers send members the
service may not have been given.

A Group's parent (the extension `urn:…:perf:2.0:Group`, `parent.value`) is the
department's `parent_id`, so an HRIS syncs the department tree. A parent must be another
Group of the organization and must not make a cycle; otherwise the request is refused
with nothing changed. A PUT that neither lists the extension in `schemas` nor carries it
leaves the parent as it is, so an identity provider unaware of the tree never flattens
one built over REST. Only a parent that is a Group is shown (a department hidden from
SCIM is no Group to point at).

DELETE hides the Group from SCIM and detaches its members and its child Groups (they
become top-level); the department row stays, since objectives and history point at it
(an HR admin can delete it over REST).
Membership changes are set-based: one SELECT, one UPDATE and one audit INSERT per call,
whatever the number of members.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from typing import Any

from scim2_models import (
    InvalidValueException,
    NotFoundException,
    Resource,
    SearchRequest,
    UniquenessException,
)
from sqlalchemy import Select, and_, exists, func, literal, select
from sqlalchemy import update as sql_update
from sqlalchemy.orm import aliased

from service.auth.context import Ctx
from service.kit import audit
from service.org import repository as org_repo
from service.org.models import Department, Employee
from service.org.service import department_snapshot
from service.scim.auth import current_method
from service.scim.common import flush, publish
from service.scim.filters import (
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
    GroupRow,
    bounded_offset,
    check_version,
    group_resource,
    group_values,
    parse_id,
)
from service.scim.models import ScimGroup, ScimUser
from service.scim.schema import GROUP_EXTENSION_SCHEMA, GROUP_SCHEMA
from service.types import new_id, utcnow

NAME_LIMIT = 200


def _attributes() -> dict[str, Attribute]:
    core, tree = GROUP_SCHEMA.lower() + ":", GROUP_EXTENSION_SCHEMA.lower() + ":"
    member, member_scim = aliased(Employee), aliased(ScimUser)
    parent_scim = aliased(ScimGroup)
    has_parent = and_(
        Department.parent_id.is_not(None),
        ~exists(
            select(literal(1))
            .select_from(parent_scim)
            .where(
                parent_scim.org_id == Department.org_id,
                parent_scim.id == Department.parent_id,
                parent_scim.deleted_at.is_not(None),
            )
        ),
    )

    def some_member(condition: Any) -> Any:
        return exists(
            select(literal(1))
            .select_from(member)
            .outerjoin(member_scim, and_(member_scim.org_id == member.org_id, member_scim.id == member.id))
            .where(
                member.org_id == Department.org_id,
                member.department_id == Department.id,
                member_scim.deleted_at.is_(None),
                condition,
            )
        )

    return {
        core + "id": Attribute(UUID, literal(True), Department.id),
        core + "externalid": Attribute(STRING, has_text(ScimGroup.external_id), ScimGroup.external_id),
        core + "displayname": Attribute(STRING, has_text(Department.name), Department.name),
        core + "members": Attribute(COMPLEX, literal(True), each=some_member),
        core + "members.value": Attribute(UUID, literal(True), member.id, each=some_member),
        core + "members.type": Attribute(CONSTANT, literal(True), "User", each=some_member),
        core + "meta.created": Attribute(DATETIME, literal(True), Department.created_at),
        core + "meta.lastmodified": Attribute(DATETIME, literal(True), Department.updated_at),
        core + "meta.resourcetype": Attribute(CONSTANT, literal(True), "Group"),
        GROUP_EXTENSION_SCHEMA.lower(): Attribute(COMPLEX, has_parent),
        tree + "parent": Attribute(COMPLEX, has_parent),
        tree + "parent.value": Attribute(UUID, has_parent, Department.parent_id),
    }


ATTRIBUTES = _attributes()


def _query(org_id: uuid.UUID) -> Select[Department, ScimGroup | None]:
    return (
        select(Department, ScimGroup)
        .select_from(Department)
        .outerjoin(ScimGroup, and_(ScimGroup.org_id == Department.org_id, ScimGroup.id == Department.id))
        .where(Department.org_id == org_id, ScimGroup.deleted_at.is_(None))
    )


def _members_of(org_id: uuid.UUID, department_ids: Iterable[uuid.UUID]) -> Select[Any]:
    return (
        select(Employee.department_id)
        .select_from(Employee)
        .outerjoin(ScimUser, and_(ScimUser.org_id == Employee.org_id, ScimUser.id == Employee.id))
        .where(
            Employee.org_id == org_id, Employee.department_id.in_(list(department_ids)), ScimUser.deleted_at.is_(None)
        )
    )


async def _parents(ctx: Ctx, departments: Iterable[Department]) -> set[uuid.UUID]:
    """The ids of the parent departments of `departments` that are Groups."""
    wanted = {dep.parent_id for dep in departments if dep.parent_id is not None}
    if not wanted:
        return set()
    rows = await ctx.session.execute(
        _query(ctx.org_id).with_only_columns(Department.id).where(Department.id.in_(wanted))
    )
    return set(rows.scalars())


async def _rows(ctx: Ctx, found: list[tuple[Department, ScimGroup | None]], with_members: bool) -> list[GroupRow]:
    ids = [dep.id for dep, _ in found]
    parents = await _parents(ctx, (dep for dep, _ in found))
    digests: dict[uuid.UUID, tuple[int, dt.datetime | None]] = {}
    members: dict[uuid.UUID, list[uuid.UUID]] = {i: [] for i in ids}
    if ids:
        stmt = _members_of(ctx.org_id, ids).add_columns(func.count(Employee.id), func.max(Employee.updated_at))
        for dep_id, count, stamp in await ctx.session.execute(stmt.group_by(Employee.department_id)):
            digests[dep_id] = (count, stamp)
        if with_members:
            stmt = _members_of(ctx.org_id, ids).add_columns(Employee.id).order_by(Employee.created_at, Employee.id)
            for dep_id, emp_id in await ctx.session.execute(stmt):
                members[dep_id].append(emp_id)
    return [
        GroupRow(
            dep,
            side,
            *digests.get(dep.id, (0, None)),
            members=members[dep.id] if with_members else None,
            parent_id=dep.parent_id if dep.parent_id in parents else None,
        )
        for dep, side in found
    ]


async def load(ctx: Ctx, group_id: str, *, lock: bool = False, with_members: bool = True) -> GroupRow:
    department_id = parse_id(group_id)
    if department_id is None:
        raise NotFoundException(detail=f"Group {group_id!r} not found")
    stmt = _query(ctx.org_id).where(Department.id == department_id).execution_options(populate_existing=True)
    if lock:
        # FOR NO KEY UPDATE: a concurrent write that makes this department a parent (its
        # foreign key check takes FOR KEY SHARE) does not wait for this one, nor deadlock.
        stmt = stmt.with_for_update(of=Department, key_share=True)
    found = [(dep, side) for dep, side in await ctx.session.execute(stmt)]
    if not found:
        raise NotFoundException(detail=f"Group {group_id!r} not found")
    return (await _rows(ctx, found, with_members))[0]


async def get(
    ctx: Ctx, model: type[Resource[Any]], group_id: str, *, lock: bool = False, with_members: bool = True
) -> Resource[Any]:
    return group_resource(model, await load(ctx, group_id, lock=lock, with_members=with_members))


async def search(
    ctx: Ctx, model: type[Resource[Any]], request: SearchRequest[Any], with_members: bool
) -> tuple[int, list[Resource[Any]]]:
    dialect = ctx.session.get_bind().dialect.name
    stmt = _query(ctx.org_id)
    condition = where_clause(request, model, ATTRIBUTES, dialect)
    if condition is not None:
        stmt = stmt.where(condition)
    total = (await ctx.session.execute(stmt.with_only_columns(func.count(Department.id)).order_by(None))).scalar_one()
    if request.count == 0 or total == 0:
        return total, []
    stmt = stmt.order_by(*order_by(request, model, ATTRIBUTES, dialect, [Department.created_at, Department.id]))
    stmt = stmt.offset(bounded_offset(request))
    if request.count is not None:
        stmt = stmt.limit(request.count)
    found = [(dep, side) for dep, side in await ctx.session.execute(stmt)]
    return total, [group_resource(model, row) for row in await _rows(ctx, found, with_members)]


# --- employees' departments ----------------------------------------------------------------


async def department_for(ctx: Ctx, name: str | None) -> uuid.UUID | None:
    """The department a User's `enterprise.department` names, created when none has the
    name; refused when several do (assign through the Groups instead)."""
    if name is None:
        return None
    if len(name) > NAME_LIMIT:
        raise InvalidValueException(detail=f"department is longer than {NAME_LIMIT} characters")
    found = (
        (
            await ctx.session.execute(
                _query(ctx.org_id)
                .with_only_columns(Department.id)
                .where(func.lower(func.trim(Department.name)) == name.strip().lower())
                .limit(2)
            )
        )
        .scalars()
        .all()
    )
    if len(found) > 1:
        raise InvalidValueException(
            detail=f"several departments are named {name!r}: add the User to one of their Groups"
        )
    if found:
        return found[0]
    dep = Department(org_id=ctx.org_id, id=new_id(), name=name.strip())
    ctx.session.add(dep)
    await ctx.session.flush()
    await audit.record(
        ctx.session,
        ctx.principal,
        "department.created",
        "department",
        dep.id,
        None,
        department_snapshot(dep),
        reason="named by a SCIM User",
    )
    return dep.id


async def _users(ctx: Ctx, values: Iterable[str]) -> set[uuid.UUID]:
    """The ids among `values` that name a User of the organization."""
    wanted = {i for i in (parse_id(v) for v in values) if i is not None}
    if not wanted:
        return set()
    rows = await ctx.session.execute(
        select(Employee.id)
        .outerjoin(ScimUser, and_(ScimUser.org_id == Employee.org_id, ScimUser.id == Employee.id))
        .where(Employee.org_id == ctx.org_id, Employee.id.in_(wanted), ScimUser.deleted_at.is_(None))
    )
    return {r[0] for r in rows}


async def _set_department(ctx: Ctx, employee_ids: set[uuid.UUID], department_id: uuid.UUID | None) -> None:
    if not employee_ids:
        return
    ids = sorted(employee_ids)
    rows = await ctx.session.execute(
        select(Employee.id, Employee.department_id).where(Employee.org_id == ctx.org_id, Employee.id.in_(ids))
    )
    before = {employee_id: department_id for employee_id, department_id in rows}
    await ctx.session.execute(
        sql_update(Employee)
        .where(Employee.org_id == ctx.org_id, Employee.id.in_(ids))
        .values(department_id=department_id, version=Employee.version + 1, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )

    def dep(value: uuid.UUID | None) -> dict[str, Any]:
        return {"department_id": str(value) if value else None}

    await audit.record_many(
        ctx.session,
        ctx.principal,
        "employee.updated",
        "employee",
        [(i, dep(before.get(i)), dep(department_id)) for i in ids],
    )


async def _detach_children(ctx: Ctx, department_id: uuid.UUID) -> None:
    """Make the child departments of a deleted Group top-level: one UPDATE and one audit
    INSERT, whatever the number of children."""
    rows = await ctx.session.execute(
        select(Department.id).where(Department.org_id == ctx.org_id, Department.parent_id == department_id)
    )
    children = sorted(r[0] for r in rows)
    if not children:
        return
    await ctx.session.execute(
        sql_update(Department)
        .where(Department.org_id == ctx.org_id, Department.id.in_(children))
        .values(parent_id=None, version=Department.version + 1, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    await audit.record_many(
        ctx.session,
        ctx.principal,
        "department.updated",
        "department",
        [(i, {"parent_id": str(department_id)}, {"parent_id": None}) for i in children],
    )


# --- writes ---------------------------------------------------------------------------------


def _display_name(value: str) -> str:
    if not value:
        raise InvalidValueException(detail="displayName is required")
    if len(value) > NAME_LIMIT:
        raise InvalidValueException(detail=f"displayName is longer than {NAME_LIMIT} characters")
    return value


async def _unique_name(ctx: Ctx, name: str, group_id: uuid.UUID | None) -> None:
    """A Group's displayName names one department among the Groups (case and surrounding
    space aside): a second "Sales" would make every User naming "Sales" ambiguous."""
    stmt = (
        _query(ctx.org_id)
        .with_only_columns(Department.id)
        .where(func.lower(func.trim(Department.name)) == name.strip().lower())
    )
    if group_id is not None:
        stmt = stmt.where(Department.id != group_id)
    if (await ctx.session.execute(stmt.limit(1))).first() is not None:
        raise UniquenessException(detail=f"a Group named {name.strip()!r} already exists")


async def _parent(ctx: Ctx, value: str | None, group_id: uuid.UUID | None) -> uuid.UUID | None:
    """The department a Group's `parent.value` names: another Group of the organization,
    not the Group itself nor one of its descendants (a Group of another organization is
    as unknown as an id that names nothing)."""
    if value is None:
        return None
    parent_id = parse_id(value)
    if parent_id is not None and parent_id == group_id:
        raise InvalidValueException(detail="a Group cannot be its own parent")
    if group_id is not None:
        await org_repo.hold_department_tree(ctx.session, ctx.org_id)
    found = None
    if parent_id is not None:
        stmt = _query(ctx.org_id).with_only_columns(Department.id).where(Department.id == parent_id)
        found = (await ctx.session.execute(stmt)).first()
    if parent_id is None or found is None:
        raise InvalidValueException(detail=f"parent {value!r} names no Group")
    if group_id is not None and group_id in await org_repo.department_ancestors(ctx.session, ctx.org_id, parent_id):
        raise InvalidValueException(detail="this parent would make a department cycle")
    return parent_id


async def create(ctx: Ctx, model: type[Resource[Any]], resource: Resource[Any]) -> Resource[Any]:
    values = group_values(resource)
    await _unique_name(ctx, _display_name(values.display_name), None)
    parent_id = await _parent(ctx, values.parent, None)
    dep = Department(org_id=ctx.org_id, id=new_id(), name=_display_name(values.display_name), parent_id=parent_id)
    ctx.session.add(dep)
    await flush(ctx)
    ctx.session.add(ScimGroup(org_id=ctx.org_id, id=dep.id, external_id=values.external_id))
    await ctx.session.flush()
    await audit.record(
        ctx.session,
        ctx.principal,
        "department.created",
        "department",
        dep.id,
        None,
        department_snapshot(dep),
        reason="provisioned via SCIM",
    )
    members = await _users(ctx, values.members or [])
    await _set_department(ctx, members, dep.id)
    await publish(ctx, sorted(members), 0, len(members))
    return await get(ctx, model, str(dep.id))


async def update(
    ctx: Ctx, model: type[Resource[Any]], resource: Resource[Any], expected_version: str | None
) -> Resource[Any]:
    row = await load(ctx, str(resource.id), lock=True)
    check_version(row.version, expected_version)
    dep, values = row.department, group_values(resource)
    before = department_snapshot(dep)
    await _unique_name(ctx, _display_name(values.display_name), dep.id)
    # A PATCH's resource is the whole patched Group, the parent included; a PUT says
    # something of the parent only when it speaks the extension. The parent changes when
    # it differs from the one the Group showed (a parent hidden from SCIM stays).
    if values.speaks_tree or current_method() == "PATCH":
        shown = row.parent_id
        kept = shown is not None and parse_id(values.parent) == shown
        if not kept and not (shown is None and values.parent is None):
            dep.parent_id = await _parent(ctx, values.parent, dep.id)
    dep.name = _display_name(values.display_name)
    dep.updated_at = utcnow()  # membership changes are Group changes too: new version
    side = row.sidecar
    if side is None:
        side = ScimGroup(org_id=ctx.org_id, id=dep.id)
        ctx.session.add(side)
    side.external_id = values.external_id
    await flush(ctx)
    if dep.name != before["name"] or dep.parent_id != parse_id(before["parent_id"]):
        await audit.record(
            ctx.session,
            ctx.principal,
            "department.updated",
            "department",
            dep.id,
            before,
            department_snapshot(dep),
            reason="via SCIM",
        )
    current = set(row.members or [])
    wanted = await _users(ctx, values.members or [])
    await _set_department(ctx, current - wanted, None)
    await _set_department(ctx, wanted - current, dep.id)
    await publish(ctx, sorted(current ^ wanted), 0, len(current ^ wanted))
    return await get(ctx, model, str(dep.id))


async def delete(ctx: Ctx, group_id: str, expected_version: str | None) -> None:
    row = await load(ctx, group_id, lock=True)
    check_version(row.version, expected_version)
    dep = row.department
    members = set(row.members or [])
    await _set_department(ctx, members, None)
    await _detach_children(ctx, dep.id)
    dep.updated_at = utcnow()
    side = row.sidecar
    if side is None:
        side = ScimGroup(org_id=ctx.org_id, id=dep.id)
        ctx.session.add(side)
    side.deleted_at = utcnow()
    await flush(ctx)
    await audit.record(
        ctx.session,
        ctx.principal,
        "department.deprovisioned",
        "department",
        dep.id,
        department_snapshot(dep),
        None,
        reason="deleted via SCIM; the department is kept, its members detached",
    )
    await publish(ctx, sorted(members), 0, len(members))
