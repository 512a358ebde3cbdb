"""FastAPI dependencies: the verified principal and the request context."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.context import Ctx, org_exists
from service.auth.principal import Principal
from service.auth.tokens import verify_token
from service.db import get_read_session, get_session
from service.errors import Unauthorized

bearer = HTTPBearer(auto_error=False, description="JWT issued by the service or the OIDC provider")

Session = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def get_principal(
    request: Request,
    session: Session,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("missing bearer token", headers={"WWW-Authenticate": "Bearer"})
    try:
        principal = await verify_token(credentials.credentials)
    except Unauthorized as exc:  # RFC 6750 section 3: every 401 names the scheme
        exc.headers.setdefault("WWW-Authenticate", 'Bearer error="invalid_token"')
        raise
    if not await org_exists(session, principal.org_id):
        raise Unauthorized("unknown organization", headers={"WWW-Authenticate": "Bearer"})
    request.state.org_id = str(principal.org_id)
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


async def get_ctx(session: Session, principal: CurrentPrincipal) -> Ctx:
    return Ctx(session=session, principal=principal)


RequestCtx = Annotated[Ctx, Depends(get_ctx)]


ReadSession = Annotated[AsyncSession, Depends(get_read_session, scope="function")]


async def get_read_ctx(session: ReadSession, principal: CurrentPrincipal) -> Ctx:
    """A context whose session reads from the replica (`DATABASE_READ_URL`): for list
    endpoints that tolerate replication lag and never write (README: Scale-out design)."""
    return Ctx(session=session, principal=principal)


ReadCtx = Annotated[Ctx, Depends(get_read_ctx)]
