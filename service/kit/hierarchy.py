"""The reporting hierarchy, written once: a manager's direct and indirect reports, as one
recursive query. A manager acts over that subtree (SPEC section 10), so visibility
everywhere (the request context's `reports()`, and the visible-rows statements of OKRs,
KPIs and evaluations) builds on this one function.

It reads the employees table through a lightweight table clause (the columns it needs),
so the kit depends on no domain module. The depth is bounded: a bad row can never make it
loop.

`people` is the filter several lists share (`manager_id`, `subtree`, `department_id`):
the employees it names, as a subquery a list narrows its own visible rows with. It never
widens anything: a manager or department the caller cannot see simply names rows the
caller's list does not hold, so the answer is an empty list, never a 404 (which would
tell that the id exists).

`cycles` is the same for the cycle tree (a year, its quarters, their months): a list's
`cycle_id` with `include_child_cycles` names the cycle and every cycle nested in it, as
one recursive query the list filters its rows with.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ColumnElement, Select, Uuid, column, literal, select, table
from sqlalchemy.ext.asyncio import AsyncSession

from service.errors import ValidationFailed

EMPLOYEES = table(
    "employees", column("org_id", Uuid), column("id", Uuid), column("manager_id", Uuid), column("department_id", Uuid)
)
CYCLES = table("cycles", column("org_id", Uuid), column("id", Uuid), column("parent_id", Uuid))
MAX_DEPTH = 64


def reports_of(org_id: uuid.UUID, root: uuid.UUID, name: str = "reports") -> Select[Any]:
    """Ids of the direct and indirect reports of `root` (not `root` itself), as a subquery;
    `name` names its CTE (distinct names let one statement hold several)."""
    e = EMPLOYEES.c
    tree = (
        select(e.id.label("id"), literal(1).label("depth"))
        .where(e.org_id == org_id, e.manager_id == root)
        .cte(name, recursive=True)
    )
    tree = tree.union_all(
        select(e.id, tree.c.depth + 1).where(e.org_id == org_id, e.manager_id == tree.c.id, tree.c.depth < MAX_DEPTH)
    )
    return select(tree.c.id)


async def subtree_ids(session: AsyncSession, org_id: uuid.UUID, root: uuid.UUID) -> frozenset[uuid.UUID]:
    """The reports of `root` as a set (one query)."""
    rows = await session.execute(reports_of(org_id, root))
    return frozenset(r[0] for r in rows if r[0] != root)


def people(
    org_id: uuid.UUID,
    *,
    manager_id: uuid.UUID | None = None,
    subtree: bool = False,
    department_id: uuid.UUID | None = None,
    name: str = "filter_reports",
) -> Select[Any] | None:
    """Ids of the employees a list's people filter names (None when it names none):
    `manager_id`'s direct reports, or with `subtree` all their direct and indirect
    reports (not the manager), and/or the members of `department_id`."""
    if manager_id is None and department_id is None:
        return None
    e = EMPLOYEES.c
    stmt = select(e.id).where(e.org_id == org_id)
    if manager_id is not None:
        stmt = stmt.where(e.id.in_(reports_of(org_id, manager_id, name)) if subtree else e.manager_id == manager_id)
    if department_id is not None:
        stmt = stmt.where(e.department_id == department_id)
    return stmt


def check_people_filter(manager_id: uuid.UUID | None, subtree: bool) -> None:
    """`subtree` widens a `manager_id` filter to the whole subtree; alone it names nobody."""
    if subtree and manager_id is None:
        msg = "subtree=true needs manager_id (whose subtree)"
        raise ValidationFailed(msg, errors=[{"loc": ["query", "subtree"], "msg": msg}])


def cycle_tree(org_id: uuid.UUID, root: uuid.UUID, name: str = "cycle_tree") -> Select[Any]:
    """Ids of the cycle `root` and of every cycle nested in it, at any depth (bounded), as
    a subquery: one recursive query, whatever the depth of the tree."""
    c = CYCLES.c
    tree = (
        select(c.id.label("id"), literal(0).label("depth"))
        .where(c.org_id == org_id, c.id == root)
        .cte(name, recursive=True)
    )
    tree = tree.union_all(
        select(c.id, tree.c.depth + 1).where(c.org_id == org_id, c.parent_id == tree.c.id, tree.c.depth < MAX_DEPTH)
    )
    return select(tree.c.id)


def in_cycles(
    cycle_column: Any, org_id: uuid.UUID, cycle_id: uuid.UUID | None, include_child_cycles: bool
) -> ColumnElement[bool] | None:
    """A list's cycle filter (None when it names no cycle): `cycle_column` is `cycle_id`,
    or with `include_child_cycles` one of the cycle's tree (`cycle_tree`). A cycle the
    caller cannot see, or that does not exist, names no rows (an empty list, as `people`)."""
    if include_child_cycles and cycle_id is None:
        msg = "include_child_cycles=true needs cycle_id (whose child cycles)"
        raise ValidationFailed(msg, errors=[{"loc": ["query", "include_child_cycles"], "msg": msg}])
    if cycle_id is None:
        return None
    cond: ColumnElement[bool] = (
        cycle_column.in_(cycle_tree(org_id, cycle_id)) if include_child_cycles else cycle_column == cycle_id
    )
    return cond
