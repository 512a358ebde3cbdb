"""Who may speak SCIM: a bearer JWT verified by service.auth.tokens.verify_token whose
principal holds the `scim` scope (service.authz.policy.scim_provision), for an
organization that exists. The organization comes from the token only, and every storage
call reads the principal of its request from here, so a client can never name another
organization's resources: they are simply not found (404).

A missing or invalid token answers 401 with `WWW-Authenticate: Bearer realm="SCIM"`; a
valid token without the scope (a person's token, even an admin's, or another
integration client) answers 403 with `error="insufficient_scope"` (RFC 6750 section 3.1).
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from scim2_models import ForbiddenException, UnauthorizedException
from scim2_server.requests import ScimRequest

from service.auth.context import org_exists
from service.auth.tokens import verify_token
from service.authz import policy
from service.errors import Unauthorized
from service.principal import Principal

INSUFFICIENT_SCOPE_CHALLENGE = 'Bearer realm="SCIM", error="insufficient_scope", scope="scim"'

_principal: ContextVar[Principal | None] = ContextVar("scim_principal", default=None)
_request: ContextVar[ScimRequest | None] = ContextVar("scim_request", default=None)


class InsufficientScope(ForbiddenException):
    """A valid token without the `scim` scope."""

    _default_detail = "The token does not carry the scim scope"


async def authenticate(request: ScimRequest, sessions: Callable[[], Any]) -> Principal:
    scheme, _, token = (request.header("Authorization") or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise UnauthorizedException(detail="A bearer token is required")
    try:
        principal = await verify_token(token)
    except Unauthorized as exc:
        raise UnauthorizedException(detail=f"Invalid token: {exc.detail}") from None
    if not policy.scim_provision(principal).allowed:
        raise InsufficientScope()
    async with sessions() as session:
        if not await org_exists(session, principal.org_id):
            raise UnauthorizedException(detail="Invalid token: unknown organization")
    return principal


def bind(request: ScimRequest, principal: Principal | None) -> tuple[Any, Any]:
    """Make the request and its principal current; returns the tokens to reset them."""
    return _request.set(request), _principal.set(principal)


def unbind(tokens: tuple[Any, Any]) -> None:
    _request.reset(tokens[0])
    _principal.reset(tokens[1])


def current_principal() -> Principal:
    principal = _principal.get()
    if principal is None:  # a storage call outside an authenticated request is a bug
        raise RuntimeError("no authenticated SCIM principal")
    return principal


def current_method() -> str:
    request = _request.get()
    return request.method.upper() if request is not None else "GET"
