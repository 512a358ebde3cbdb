"""Enforcing the decisions of service/authz/policy.py: the one place a decision becomes an
answer (HIDE: 404, so existence never leaks; FORBID: 403), and the caller's relation to
an employee, the fact most decisions need (themself, their manager, anyone else).

Every module asks here; none answers 403 or 404 for authorization on its own.
"""

from __future__ import annotations

import uuid

from service.auth.context import Ctx
from service.authz.policy import Decision, Relation, relation_to
from service.errors import Forbidden, NotFound


def require(decision: Decision, what: str = "resource") -> None:
    if decision is Decision.HIDE:
        raise NotFound(f"{what} not found")
    if decision is Decision.FORBID:
        raise Forbidden(f"not allowed to do this with {what}")


async def relation(ctx: Ctx, employee_id: uuid.UUID | None) -> Relation:
    """How the caller stands to the employee: SELF, MANAGER (the employee is in the
    caller's reporting subtree) or OTHER (clients and callers with no employee included)."""
    if ctx.principal.employee_id is not None and employee_id == ctx.principal.employee_id:
        return Relation.SELF
    if ctx.principal.is_client or ctx.principal.employee_id is None:
        return Relation.OTHER
    return relation_to(ctx.principal, employee_id, await ctx.reports())
