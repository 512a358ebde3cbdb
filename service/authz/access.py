"""Which rule of service/authz/policy.py decides who may call a route, and who that is.

A handler says which policy function governs it, under its router decorator:

    @router.get("/audit-events", ...)
    @governed_by(policy.read_audit_log)
    async def list_audit_events(...): ...

The services still ask the policy themselves, with the facts they look up (the caller's
relation to an employee, a result's status); the declaration only names the rule, so the
contract can say who may call without the role model being written a second time.

`audience` reads a rule by evaluating it over synthetic callers: each role (a person with
that role, relation OTHER to the subject), a plain employee per relation (SELF: their own,
MANAGER: their reports', OTHER: anyone's), and an integration client per scope of
`SCOPE_MEANINGS`. The rule's other parameters are enumerated: every `Relation` parameter
takes the caller's relation (and `None` too for a role or a client, where the parameter
allows it: no person is concerned), a `bool` both values, and a `str` the values bound at
the declaration (`governed_by(policy.objective_action, action=("approve", "reject"))`). A
caller counts when some combination allows it: `Decision.ALLOW`, or `True`. Several rules
on one route (one per kind of action it takes) add up.
"""

from __future__ import annotations

import inspect
import itertools
import types
import typing
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from service.authz.policy import Decision, Relation
from service.principal import SCOPE_MEANINGS, Principal

ROLES = ("admin", "hr", "auditor")
RELATIONS = (Relation.SELF, Relation.MANAGER, Relation.OTHER)
_ORG = uuid.UUID(int=1)
_ME = uuid.UUID(int=2)
_ATTRIBUTE = "__governed_by__"

Rule = Callable[..., Any]
Handler = TypeVar("Handler", bound=Callable[..., Any])


@dataclass(frozen=True)
class Audience:
    """Who a route's rules allow: roles (as relation OTHER), the relations under which a
    plain employee is allowed, and the client scopes; each in the policy's order."""

    roles: tuple[str, ...]
    relations: tuple[Relation, ...]
    scopes: tuple[str, ...]

    @property
    def persons(self) -> bool:
        return bool(self.roles or self.relations)

    def allows_role(self, role: str) -> bool:
        return role in self.roles

    def allows_scope(self, scope: str) -> bool:
        return scope in self.scopes


@dataclass(frozen=True)
class Access:
    """A route's declaration: its rules, the string values bound to them, and the
    audience they make."""

    rules: tuple[Rule, ...]
    bound: tuple[tuple[str, tuple[str, ...]], ...]
    audience: Audience


def _principals() -> Iterator[tuple[str, Principal, tuple[Relation | None, ...]]]:
    """(who, principal, the relations it is tried under) for every synthetic caller."""
    for role in ROLES:
        yield (
            role,
            Principal(sub=role, org_id=_ORG, kind="person", roles=frozenset({role}), employee_id=_ME),
            (
                Relation.OTHER,
                None,
            ),
        )
    for rel in RELATIONS:
        employee = Principal(sub="employee", org_id=_ORG, kind="person", roles=frozenset({"employee"}), employee_id=_ME)
        yield rel.value, employee, (rel,)
    for scope in SCOPE_MEANINGS:
        yield scope, Principal(sub=scope, org_id=_ORG, kind="client", scopes=frozenset({scope})), (Relation.OTHER, None)


def _kind(rule: Rule, name: str, annotation: Any) -> str:
    """`relation`, `optional-relation`, `bool` or `str`: the parameter kinds a rule may take."""
    members = set(typing.get_args(annotation)) if isinstance(annotation, types.UnionType) else {annotation}
    if members == {Relation}:
        return "relation"
    if members == {Relation, type(None)}:
        return "optional-relation"
    if members == {bool}:
        return "bool"
    if members == {str}:
        return "str"
    raise TypeError(f"{rule.__qualname__}'s parameter {name} ({annotation}) cannot be enumerated")


def parameters(rule: Rule) -> dict[str, str]:
    """The rule's parameters after the principal, by name -> kind (see `_kind`)."""
    hints = typing.get_type_hints(rule)
    names = list(inspect.signature(rule).parameters)
    if not names or hints.get(names[0]) is not Principal:
        raise TypeError(f"{rule.__qualname__} does not take a Principal first")
    return {name: _kind(rule, name, hints.get(name)) for name in names[1:]}


def _allows(answer: Any) -> bool:
    if isinstance(answer, Decision):
        return answer is Decision.ALLOW
    if isinstance(answer, bool):
        return answer
    raise TypeError(f"a rule answers a Decision or a bool, not {answer!r}")


def _choices(kind: str, name: str, relation: Relation | None, bound: dict[str, tuple[str, ...]]) -> Sequence[Any]:
    if kind == "relation":
        return (relation if relation is not None else Relation.OTHER,)
    if kind == "optional-relation":
        return (relation,)
    if kind == "bool":
        return (False, True)
    return bound[name]


def allows(rule: Rule, principal: Principal, relations: Sequence[Relation | None], bound: dict[str, Any]) -> bool:
    """Whether some combination of the rule's parameters allows the principal."""
    kinds = parameters(rule)
    for relation in relations:
        options = [_choices(kind, name, relation, bound) for name, kind in kinds.items()]
        for values in itertools.product(*options):
            if _allows(rule(principal, **dict(zip(kinds, values, strict=True)))):
                return True
    return False


def audience(rules: Sequence[Rule], bound: dict[str, tuple[str, ...]] | None = None) -> Audience:
    """Who the rules allow (see the module's docstring)."""
    bound = bound or {}
    allowed = {
        who
        for who, principal, relations in _principals()
        if any(allows(rule, principal, relations, bound) for rule in rules)
    }
    return Audience(
        roles=tuple(r for r in ROLES if r in allowed),
        relations=tuple(r for r in RELATIONS if r.value in allowed),
        scopes=tuple(s for s in SCOPE_MEANINGS if s in allowed),
    )


def governed_by(*rules: Rule, **bound: str | tuple[str, ...]) -> Callable[[Handler], Handler]:
    """Declares the rules deciding who may call the handler (see the module's docstring);
    a `str` parameter of a rule needs its candidate values here."""
    if not rules:
        raise TypeError("governed_by needs at least one rule")
    values = {name: (v,) if isinstance(v, str) else tuple(v) for name, v in bound.items()}
    kinds = {name: kind for rule in rules for name, kind in parameters(rule).items()}
    unknown = set(values) - set(kinds)
    if unknown:
        raise TypeError(f"no rule of {[r.__qualname__ for r in rules]} takes {sorted(unknown)}")
    unbound = sorted(name for name, kind in kinds.items() if kind == "str" and not values.get(name))
    if unbound:
        raise TypeError(f"bind the candidate values of {unbound} for {[r.__qualname__ for r in rules]}")
    access = Access(rules=rules, bound=tuple(sorted(values.items())), audience=audience(rules, values))

    def declare(handler: Handler) -> Handler:
        setattr(handler, _ATTRIBUTE, access)
        return handler

    return declare


def declared(handler: Callable[..., Any]) -> Access | None:
    """The handler's declaration, if it has one."""
    found = getattr(handler, _ATTRIBUTE, None)
    return found if isinstance(found, Access) else None
