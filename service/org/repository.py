"""Every query of the organization module, each scoped to one organization."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    String,
    bindparam,
    func,
    literal,
    literal_column,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.context import Ctx
from service.kit.chunks import chunks
from service.kit.direct_reads import DirectRead
from service.kit.pagination import SortKey
from service.kit.search import matches
from service.org.models import Department, Employee, Organization, Position


async def get_organization(session: AsyncSession, org_id: uuid.UUID) -> Organization | None:
    return await session.get(Organization, org_id)


def departments(org_id: uuid.UUID) -> Select[Any]:
    return select(Department).where(Department.org_id == org_id)


def positions(org_id: uuid.UUID) -> Select[Any]:
    return select(Position).where(Position.org_id == org_id)


def employees(org_id: uuid.UUID) -> Select[Any]:
    """Every column of the organization's employees as Core rows (a read-only list)."""
    return select(Employee.__table__).where(Employee.org_id == org_id)


def employee_search_text() -> ColumnElement[str]:
    """What `q` searches in an employee: names, email and external id, as one text. The
    same expression is the GIN trigram index `ix_employees_search` of migration 0014
    (PostgreSQL with pg_trgm), which is why it is written with `||` and a literal
    separator: an index is used only for the very expression it was built on."""
    sep: ColumnElement[str] = literal_column("' '", String)
    return Employee.given_name + sep + Employee.family_name + sep + Employee.email + sep + Employee.external_id


def employees_matching(org_id: uuid.UUID, words: list[str]) -> Select[Any]:
    """Ids of the organization's employees whose search text holds every word: how lists
    of things about employees (evaluations, scores, incentive results) search by person."""
    return select(Employee.id).where(Employee.org_id == org_id, matches(employee_search_text(), words))


def employee_value(column: Any, org_id: Any, employee_id: Any) -> Any:
    """An employee's `column` for the row of another table that names them (a correlated
    scalar subquery): what lists about employees sort by (their names)."""
    return select(column).where(Employee.org_id == org_id, Employee.id == employee_id).scalar_subquery()


def employee_sort_key(name: str, column: Any, org_id: Any, employee_id: Any) -> SortKey:
    """A list's sort key by the named employee's `column`; parsed with the caller's
    organization, the subquery reads that organization as a constant (`SortKey.per_org`)."""
    return SortKey(
        name,
        employee_value(column, org_id, employee_id),
        per_org=lambda org: employee_value(column, org, employee_id),
    )


async def names_of(session: AsyncSession, org_id: uuid.UUID, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Any]:
    """id → (id, external_id, given_name, family_name) of the given employees: the
    person columns of exports about employees."""
    out: dict[uuid.UUID, Any] = {}
    for part in chunks(list(dict.fromkeys(ids))):
        rows = await session.execute(
            select(Employee.id, Employee.external_id, Employee.given_name, Employee.family_name).where(
                Employee.org_id == org_id, Employee.id.in_(part)
            )
        )
        out.update({r.id: r for r in rows})
    return out


async def get_department(session: AsyncSession, org_id: uuid.UUID, dep_id: uuid.UUID) -> Department | None:
    return await session.get(Department, (org_id, dep_id))


async def get_position(session: AsyncSession, org_id: uuid.UUID, pos_id: uuid.UUID) -> Position | None:
    return await session.get(Position, (org_id, pos_id))


async def get_employee(session: AsyncSession, org_id: uuid.UUID, emp_id: uuid.UUID) -> Employee | None:
    return await session.get(Employee, (org_id, emp_id))


_E = Employee.__table__.c
_EMPLOYEE_BY_ID = DirectRead(
    select(Employee.__table__).where(_E.org_id == bindparam("org_id"), _E.id == bindparam("id")), "EmployeeRow"
)


async def read_employee(source: Ctx | AsyncSession, org_id: uuid.UUID, emp_id: uuid.UUID) -> Any | None:
    """The employee's row for reading only (a named tuple with the columns as attributes,
    not an ORM object): the hot `GET /employees/{id}`. Given the request's context it
    opens no session where it need not (service/kit/direct_reads.py)."""
    return await _EMPLOYEE_BY_ID.first(source, org_id=org_id, id=emp_id)


# The equality filters of the employee list that `employee_page` reads directly.
PAGE_FILTERS = ("department_id", "manager_id", "status", "external_id")


@functools.cache
def _employee_page(filters: tuple[str, ...], after: bool) -> DirectRead:
    """The statement of one shape of `employee_page` (which filters, whether after a
    cursor), compiled once: at most 2^5 of them, made when first asked for."""
    stmt = select(Employee.__table__).where(_E.org_id == bindparam("org_id"))
    for name in filters:
        stmt = stmt.where(_E[name] == bindparam(name))
    if after:
        stmt = stmt.where(_E.id > bindparam("after"))
    return DirectRead(stmt.order_by(_E.id).limit(bindparam("limit", type_=Integer)), "EmployeeRow")


async def employee_page(
    source: Ctx | AsyncSession, org_id: uuid.UUID, *, after: uuid.UUID | None, limit: int, **filters: Any
) -> list[Any]:
    """Up to `limit` of the organization's employees in id order after the id `after`,
    narrowed by equality `filters` (named in `PAGE_FILTERS`; None: not filtered): the
    same rows as `employees(org_id)` paged by `paginate` in id order, read as a
    `DirectRead` (the hot `GET /employees` without search, subtree or sort)."""
    given = {k: v for k, v in filters.items() if v is not None}
    unknown = given.keys() - set(PAGE_FILTERS)
    if unknown:
        raise TypeError(f"not a filter of employee_page: {', '.join(sorted(unknown))}")
    if after is not None:
        given["after"] = after
    read = _employee_page(tuple(k for k in PAGE_FILTERS if k in given), after is not None)
    return await read.all(source, org_id=org_id, limit=limit, **given)


async def direct_report_counts(
    session: AsyncSession, org_id: uuid.UUID, manager_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """manager id → how many employees report to them directly (absent: none), one
    grouped count per chunk of managers."""
    out: dict[uuid.UUID, int] = {}
    for part in chunks(list(dict.fromkeys(manager_ids))):
        rows = await session.execute(
            select(Employee.manager_id, func.count())
            .where(Employee.org_id == org_id, Employee.manager_id.in_(part))
            .group_by(Employee.manager_id)
        )
        out.update({r[0]: int(r[1]) for r in rows if r[0] is not None})
    return out


async def existing_ids(
    session: AsyncSession, model: Any, org_id: uuid.UUID, ids: Iterable[uuid.UUID | None]
) -> set[uuid.UUID]:
    wanted = list({i for i in ids if i is not None})
    found: set[uuid.UUID] = set()
    for part in chunks(wanted):
        chunk = part
        rows = await session.execute(select(model.id).where(model.org_id == org_id, model.id.in_(chunk)))
        found.update(r[0] for r in rows)
    return found


async def manager_ancestors(session: AsyncSession, org_id: uuid.UUID, start: uuid.UUID) -> list[uuid.UUID]:
    """`start` and its chain of managers upwards (bounded, so a bad row cannot loop)."""
    chain = (
        select(Employee.id.label("id"), Employee.manager_id.label("up"), literal(0).label("depth"))
        .where(Employee.org_id == org_id, Employee.id == start)
        .cte("chain", recursive=True)
    )
    chain = chain.union_all(
        select(Employee.id, Employee.manager_id, chain.c.depth + 1).where(
            Employee.org_id == org_id, Employee.id == chain.c.up, chain.c.depth < 10000
        )
    )
    rows = await session.execute(select(chain.c.id).order_by(chain.c.depth))
    return [r[0] for r in rows]


async def hold_department_tree(session: AsyncSession, org_id: uuid.UUID) -> None:
    """Make department moves within an organization queue (REST and SCIM alike), so that
    two concurrent moves (A under B, B under A) cannot each pass the cycle check against
    the other's old tree: on PostgreSQL the organization's row FOR NO KEY UPDATE (inserts
    that reference the organization are not held up); on SQLite the database's write
    lock, taken by a write that changes nothing (reads before a transaction's first write
    are not in it). Either way the cycle check that follows reads the latest commit."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(select(Organization.id).where(Organization.id == org_id).with_for_update(key_share=True))
    else:
        await session.execute(text("UPDATE organizations SET id = id WHERE 0"))


async def department_ancestors(session: AsyncSession, org_id: uuid.UUID, start: uuid.UUID) -> list[uuid.UUID]:
    chain = (
        select(Department.id.label("id"), Department.parent_id.label("up"), literal(0).label("depth"))
        .where(Department.org_id == org_id, Department.id == start)
        .cte("dchain", recursive=True)
    )
    chain = chain.union_all(
        select(Department.id, Department.parent_id, chain.c.depth + 1).where(
            Department.org_id == org_id, Department.id == chain.c.up, chain.c.depth < 10000
        )
    )
    rows = await session.execute(select(chain.c.id).order_by(chain.c.depth))
    return [r[0] for r in rows]


async def manager_edges(session: AsyncSession, org_id: uuid.UUID) -> dict[uuid.UUID, uuid.UUID | None]:
    """The whole reporting graph of an organization (id → manager), for bulk cycle checks."""
    rows = await session.execute(select(Employee.id, Employee.manager_id).where(Employee.org_id == org_id))
    return {r[0]: r[1] for r in rows}


async def employees_by_external_id(
    session: AsyncSession, org_id: uuid.UUID, external_ids: list[str]
) -> dict[str, Employee]:
    found: dict[str, Employee] = {}
    for part in chunks(external_ids):
        chunk = part
        rows = await session.execute(
            select(Employee)
            .where(Employee.org_id == org_id, Employee.external_id.in_(chunk))
            .execution_options(populate_existing=True)
        )
        for emp in rows.scalars():
            found[emp.external_id] = emp
    return found


async def has_children(session: AsyncSession, org_id: uuid.UUID, dep_id: uuid.UUID) -> bool:
    child = await session.execute(
        select(Department.id).where(Department.org_id == org_id, Department.parent_id == dep_id).limit(1)
    )
    member = await session.execute(
        select(Employee.id).where(Employee.org_id == org_id, Employee.department_id == dep_id).limit(1)
    )
    return child.first() is not None or member.first() is not None
