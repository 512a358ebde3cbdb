"""FastAPI dependencies: the verified caller and the request context.

`RequestCtx` is one dependency, a generator that opens the request's session, verifies
the bearer token and yields the context, then commits (or rolls back) after the route
has run and before the answer goes out. FastAPI's per-dependency cost is several times
the work of a small dependency, so the hot read paths keep the graph small: this one,
`bearer` (which also documents the security scheme in OpenAPI) and the route's own
parameters.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.context import Ctx, org_exists
from service.auth.tokens import verify_token
from service.db import database, get_session, request_session
from service.errors import Unauthorized
from service.principal import Principal

bearer = HTTPBearer(auto_error=False, description="JWT issued by the service or the OIDC provider")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]

Session = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def authenticate(
    request: Request, session: Callable[[], AsyncSession], credentials: HTTPAuthorizationCredentials | None
) -> Principal:
    """The verified caller; `session` opens the request's session, needed only to check
    an organization this process has not confirmed within the last minute."""
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


async def get_ctx(request: Request, credentials: Credentials) -> AsyncIterator[Ctx]:
    async with request_session(request) as session:
        principal = await authenticate(request, session, credentials)
        yield Ctx(principal=principal, opener=session, direct_reads=session.direct_reads)


RequestCtx = Annotated[Ctx, Depends(get_ctx, scope="function")]


async def get_read_ctx(request: Request, credentials: Credentials) -> AsyncIterator[Ctx]:
    """A context whose session reads from the replica (`DATABASE_READ_URL`): for list
    endpoints that tolerate replication lag and never write (docs/operations.md, "Scale-out design").
    The organization is checked on the primary (a new one may not have reached the
    replica yet), and only until it is known. Nothing is committed: the replica
    transaction is rolled back at the end."""
    async with database.read_sessions() as session:
        try:
            async with request_session(request) as primary:
                principal = await authenticate(request, primary, credentials)
            yield Ctx(session=session, principal=principal)
        finally:
            await session.rollback()


ReadCtx = Annotated[Ctx, Depends(get_read_ctx, scope="function")]
