"""Who may call each operation, in the OpenAPI document, read from the authorization policy.

Every handler behind a token declares the rule of service/authz/policy.py that decides who
may call it (`governed_by`, service/authz/access.py); its audience becomes:

- `security`: `HTTPBearer`, and `OAuth2` once per scope that allows it when integration
  clients may call it (`[{"HTTPBearer": []}, {"OAuth2": ["kpi:write"]}]`; a requirement's
  scopes are all required, and any one of these scopes is enough; a client's token is a
  bearer JWT too, so `HTTPBearer` is always there);
- a line of the description: `**Who may call:** admin, hr; employees for their own;
  managers for their reports'. **Client scopes:** kpi:write.`;
- `x-roles` (the roles that may call it, and `employee` when plain employees may in some
  relation), `x-employee-relations` (`self`, `manager`, `other`: whose data an employee may
  call it for) and `x-scopes`, for tools.

An operation behind a token whose handler declares no rule stops the document from being
built, so a new route cannot reach the contract without saying who may call it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from service.authz.access import Audience, declared
from service.authz.policy import Relation

BEARER = "HTTPBearer"
OAUTH2 = "OAuth2"
_WHOSE = {
    Relation.SELF: "employees for their own",
    Relation.MANAGER: "managers for their reports'",
    Relation.OTHER: "employees for anyone's",
}


def who_may_call(audience: Audience) -> str:
    """The description's line for an audience."""
    persons = [", ".join(audience.roles)] if audience.roles else []
    if set(audience.relations) == set(_WHOSE):
        persons.append("every employee")
    else:
        persons += [_WHOSE[r] for r in audience.relations]
    people = "; ".join(persons) if persons else "no person"
    scopes = ", ".join(audience.scopes) if audience.scopes else "none"
    return f"**Who may call:** {people}. **Client scopes:** {scopes}."


def security(audience: Audience) -> list[dict[str, list[str]]]:
    """The requirements: any one of them suffices. A requirement's scopes are all needed,
    so each scope that allows the operation is an alternative of its own."""
    return [{BEARER: []}, *({OAUTH2: [scope]} for scope in audience.scopes)]


def _behind_token(operation: dict[str, Any]) -> bool:
    return any(BEARER in requirement for requirement in operation.get("security") or ())


def declare_access(document: dict[str, Any], routes: Iterable[Any]) -> dict[str, Any]:
    """The security, description line and extensions of every operation behind a token
    (`routes`: the document's routes, APIRoute-like, see the module's docstring)."""
    for route in routes:
        for method in sorted(route.methods or ()):
            operation = document["paths"].get(route.path_format, {}).get(method.lower())
            if operation is None or not _behind_token(operation):
                continue
            access = declared(route.endpoint)
            if access is None:
                raise RuntimeError(
                    f"{method} {route.path_format} is behind a token but {route.name} declares no rule "
                    "(service/authz/access.py governed_by)"
                )
            audience = access.audience
            operation["security"] = security(audience)
            line = who_may_call(audience)
            text = operation.get("description")
            operation["description"] = f"{text}\n\n{line}" if text else line
            operation["x-roles"] = [*audience.roles, *(["employee"] if audience.relations else [])]
            operation["x-employee-relations"] = [r.value for r in audience.relations]
            operation["x-scopes"] = list(audience.scopes)
    return document
