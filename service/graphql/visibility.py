"""What the GraphQL dataloaders may read: for every model loaded through
`Loaders.by_id` or `Loaders.many_by` (service/graphql/context.py), the statement of the
rows the caller may read in their organization. A loader starts from that statement and
only adds `key IN (...)`, so a resolver that forgets its own check still cannot return a
row its caller may not see; a model without a rule cannot be loaded at all (fail closed:
`NoVisibilityRule`).

The rules are registered by each module's GraphQL adapter (its gql.py or gql_types.py),
at import time, next to the types that load the model: the rule sits with the module
that owns the model's visible-rows statements (okr/repository.py `visible_objectives`,
kpi/repository.py `visible_assignments`, evaluations/repository.py `subject_visible`...)
and with the policy functions it applies (service/authz/policy.py), where a change of
either is seen. Central registration would put every module's rules in one file that
imports them all, far from the statements and resolvers it must agree with.

A rule is `(ctx) -> Select` (or an awaitable of one): a `select(Model)` or
`select(Model.__table__)` with the organization and visibility conditions; children
(key results, check-ins, measurements...) are visible when their parent is, written as
`parent_id IN (visible parent ids)`. tests/test_graphql_loader_visibility.py checks that
every model a loader reads in service/ has one.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import Select, false

from service.auth.context import Ctx
from service.authz.policy import Decision

Rule = Callable[[Ctx], Select[Any] | Awaitable[Select[Any]]]
R = TypeVar("R", bound=Rule)

_RULES: dict[type[Any], Rule] = {}


class NoVisibilityRule(LookupError):
    """A dataloader was asked for a model no module registered a visibility rule for."""


def visible_rows(model: type[Any]) -> Callable[[R], R]:
    """Registers the decorated function as the rule of `model`'s rows (one per model)."""

    def register(fn: R) -> R:
        known = _RULES.get(model)
        if known is not None and known.__qualname__ != fn.__qualname__:  # (a re-import registers anew)
            raise ValueError(f"{model.__name__} has a visibility rule already: {known.__module__}.{known.__qualname__}")
        _RULES[model] = fn
        return fn

    return register


def rule(model: type[Any]) -> Rule:
    found = _RULES.get(model)
    if found is None:
        raise NoVisibilityRule(
            f"no visibility rule for {getattr(model, '__name__', model)!r}: register one with "
            "service.graphql.visibility.visible_rows before loading it"
        )
    return found


def registered() -> frozenset[type[Any]]:
    return frozenset(_RULES)


async def statement(ctx: Ctx, model: type[Any]) -> Select[Any]:
    """The rows of `model` the caller may read, as one statement."""
    made = rule(model)(ctx)
    if inspect.isawaitable(made):
        made = await made
    return made


def only_if(stmt: Select[Any], decision: Decision) -> Select[Any]:
    """`stmt` when the decision allows, else no rows: for rules that depend only on who
    is calling (the directory, cycles, the KPI library...)."""
    return stmt if decision.allowed else stmt.where(false())
