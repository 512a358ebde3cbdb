"""The reporting hierarchy, written once: a manager's direct and indirect reports, as one
recursive query. A manager acts over that subtree (SPEC section 10), so visibility
everywhere (the request context's `reports()`, and the visible-rows statements of OKRs,
KPIs and evaluations) builds on this one function.

It reads the employees table through a lightweight table clause (the three columns it
needs), so the kit depends on no domain module. The depth is bounded: a bad row can never
make it loop.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, Uuid, column, literal, select, table
from sqlalchemy.ext.asyncio import AsyncSession

EMPLOYEES = table("employees", column("org_id", Uuid), column("id", Uuid), column("manager_id", Uuid))
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
