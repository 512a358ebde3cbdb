"""REST routes of integration clients (admin-managed) and the OAuth 2.0 client-credentials
grant (`/oauth/token`): the HTTP adapter of the auth package (tests/test_layers.py)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, Request, Response, status
from fastapi.responses import JSONResponse
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from service.auth.deps import RequestCtx, Session
from service.auth.models import IntegrationClient
from service.auth.tokens import issue_token
from service.authz import policy
from service.authz.access import governed_by
from service.authz.enforce import require
from service.config import get_settings
from service.errors import PROBLEM_BASE, NotFound
from service.kit import audit
from service.kit.pagination import PageOut, PageParams, page_params, paginate
from service.kit.schemas import Input, Output
from service.principal import CLIENT_SCOPES
from service.types import new_id, utcnow

Scope = Literal["scim", "employees:write", "kpi:write", "payroll:read", "payroll:ack", "webhooks"]


class ClientCreate(Input):
    name: str = Field(min_length=1, max_length=200, description="What the client is, for people reading the list")
    scopes: list[Scope] = Field(min_length=1, description="The scopes its tokens may carry, at least one")


class ClientRead(Output):
    """An integration client (HRIS, payroll, KPI feed) and the scopes it may ask a token for."""

    id: uuid.UUID
    name: str = Field(description="What the client is, for people reading the list")
    client_id: str = Field(description="The id it authenticates with at `/oauth/token`")
    scopes: list[Scope] = Field(description="The scopes its tokens may carry")
    created_at: dt.datetime
    revoked_at: dt.datetime | None = Field(None, description="When it was revoked; its tokens stop working")


class ClientCreated(ClientRead):
    client_secret: str = Field(description="shown only in this answer")


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


router = APIRouter()


@router.get("/api/v1/integration-clients", response_model=PageOut[ClientRead], tags=["integration-clients"])
@governed_by(policy.manage_integration_clients)
async def list_integration_clients(
    ctx: RequestCtx, pages: Annotated[PageParams, Depends(page_params)]
) -> PageOut[ClientRead]:
    """The organization's integration clients (admin only); secrets are never shown
    again."""
    require(policy.manage_integration_clients(ctx.principal), "integration clients")
    stmt = select(IntegrationClient).where(IntegrationClient.org_id == ctx.org_id)
    page = await paginate(ctx.session, stmt, IntegrationClient.id, pages)
    return PageOut[ClientRead](items=[ClientRead.model_validate(c) for c in page.items], next_cursor=page.next_cursor)


@router.post(
    "/api/v1/integration-clients",
    response_model=ClientCreated,
    status_code=status.HTTP_201_CREATED,
    tags=["integration-clients"],
)
@governed_by(policy.manage_integration_clients)
async def create_integration_client(ctx: RequestCtx, body: ClientCreate, response: Response) -> ClientCreated:
    """The secret is in this answer only (`Cache-Control: no-store`; an idempotent repeat
    answers 409 with the `Location` instead of the secret)."""
    require(policy.manage_integration_clients(ctx.principal), "integration clients")
    secret = "pcs_" + secrets.token_urlsafe(32)
    client = IntegrationClient(
        org_id=ctx.org_id,
        id=new_id(),
        name=body.name,
        client_id="pc_" + secrets.token_hex(16),
        secret_hash=_digest(secret),
        scopes=sorted(set(body.scopes)),
        created_by=ctx.principal.actor,
        created_at=utcnow(),
    )
    ctx.session.add(client)
    await ctx.session.flush()
    await audit.record(
        ctx.session,
        ctx.principal,
        "integration_client.created",
        "integration_client",
        client.id,
        None,
        {"name": client.name, "scopes": client.scopes, "client_id": client.client_id},
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["Location"] = f"/api/v1/integration-clients/{client.id}"
    return ClientCreated(**ClientRead.model_validate(client).model_dump(), client_secret=secret)


async def _get_client(ctx: RequestCtx, client_pk: uuid.UUID) -> IntegrationClient:
    if not policy.manage_integration_clients(ctx.principal).allowed:
        raise NotFound("integration client not found")
    client = await ctx.session.get(IntegrationClient, (ctx.org_id, client_pk))
    if client is None:
        raise NotFound("integration client not found")
    return client


@router.get("/api/v1/integration-clients/{client_pk}", response_model=ClientRead, tags=["integration-clients"])
@governed_by(policy.manage_integration_clients)
async def get_integration_client(ctx: RequestCtx, client_pk: uuid.UUID) -> ClientRead:
    """One integration client with its scopes; the secret is never shown again."""
    return ClientRead.model_validate(await _get_client(ctx, client_pk))


@router.delete(
    "/api/v1/integration-clients/{client_pk}", status_code=status.HTTP_204_NO_CONTENT, tags=["integration-clients"]
)
@governed_by(policy.manage_integration_clients)
async def revoke_integration_client(ctx: RequestCtx, client_pk: uuid.UUID) -> Response:
    """Revokes the credentials; tokens already issued expire within their short TTL."""
    client = await _get_client(ctx, client_pk)
    if client.revoked_at is None:
        client.revoked_at = utcnow()
        await ctx.session.flush()
        await audit.record(
            ctx.session,
            ctx.principal,
            "integration_client.revoked",
            "integration_client",
            client.id,
            {"revoked": False},
            {"revoked": True},
        )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _oauth_error(status_code: int, error: str, description: str) -> JSONResponse:
    """RFC 6749 section 5.2 error, which is also a valid problem document."""
    headers = {"Cache-Control": "no-store"}
    if status_code == 401:
        headers["WWW-Authenticate"] = 'Basic realm="oauth"'
    return JSONResponse(
        status_code=status_code,
        headers=headers,
        content={
            "error": error,
            "error_description": description,
            "type": PROBLEM_BASE + "oauth-" + error.replace("_", "-"),
            "title": error,
            "status": status_code,
            "detail": description,
        },
    )


basic = HTTPBasic(auto_error=False)


class OAuthError(Output):
    """RFC 6749 section 5.2 error (`application/json`), which is also a problem document."""

    error: str = Field(description="RFC 6749's error code: `invalid_request`, `invalid_client`, `invalid_scope`...")
    error_description: str = Field(description="What went wrong, for a person to read")
    type: str = Field(description="The problem's type URI (`.../problems/oauth-invalid-client`)")
    title: str = Field(description="The same as `error`")
    status: int = Field(description="The HTTP status code: 400, or 401 when the client did not authenticate")
    detail: str = Field(description="The same as `error_description`")


class TokenResponse(Output):
    """RFC 6749 section 5.1: the access token of a client credentials grant."""

    access_token: str = Field(description="A JWT to send as `Authorization: Bearer <token>`")
    token_type: Literal["Bearer"] = Field(description="Always `Bearer`")
    expires_in: int = Field(description="Seconds until the token expires (`ACCESS_TOKEN_TTL_SECONDS`)")
    scope: str = Field(description="The granted scopes, space-separated")


def _token_request_doc(schema: dict[str, Any]) -> None:
    """What a well-formed request is: `grant_type` present and `client_credentials`. The
    model itself reads every field leniently, so that a missing or other grant type gets
    RFC 6749's 400 rather than a 422."""
    schema["required"] = ["grant_type"]
    schema["properties"]["grant_type"] = {
        "type": "string",
        "enum": ["client_credentials"],
        "description": schema["properties"]["grant_type"]["description"],
    }
    for name in ("client_id", "client_secret", "scope"):
        prop = schema["properties"][name]
        schema["properties"][name] = {"type": "string", "description": prop["description"]}


class TokenRequest(BaseModel):
    """RFC 6749 section 4.4.2: a client credentials grant, as an
    `application/x-www-form-urlencoded` form. The client authenticates with HTTP Basic
    (`client_id:client_secret`) or with `client_id` and `client_secret` in the form."""

    model_config = ConfigDict(json_schema_extra=_token_request_doc)

    grant_type: str | None = Field(None, description="Always `client_credentials`, the only grant supported")
    client_id: str | None = Field(None, description="The client's id (`pc_...`), unless sent with HTTP Basic")
    client_secret: str | None = Field(None, description="The client's secret (`pcs_...`), unless sent with HTTP Basic")
    scope: str | None = Field(
        None,
        description="Space-separated scopes to narrow the token to (a subset of the client's); all of the "
        "client's when absent",
    )


@router.post(
    "/oauth/token",
    tags=["oauth"],
    # Client credentials come as HTTP Basic or in the form body, so Basic is optional ({}).
    openapi_extra={"security": [{}]},
    response_model=TokenResponse,
    responses={400: {"model": OAuthError}, 401: {"model": OAuthError}},
)
async def oauth_token(
    request: Request,
    session: Session,
    form: Annotated[TokenRequest, Form()],
    credentials: Annotated[HTTPBasicCredentials | None, Depends(basic)] = None,
) -> JSONResponse:
    """Client credentials grant (RFC 6749 section 4.4): credentials in the form body or
    HTTP Basic; the token carries the granted scopes and lives `ACCESS_TOKEN_TTL_SECONDS`."""
    grant_type, client_id, client_secret, scope = form.grant_type, form.client_id, form.client_secret, form.scope
    if not grant_type:
        return _oauth_error(400, "invalid_request", "grant_type is required")
    if grant_type != "client_credentials":
        return _oauth_error(400, "unsupported_grant_type", "only client_credentials is supported")
    if credentials is not None:
        client_id, client_secret = credentials.username, credentials.password
    if not client_id or not client_secret:
        return _oauth_error(401, "invalid_client", "client authentication failed")
    client = (
        await session.execute(select(IntegrationClient).where(IntegrationClient.client_id == client_id))
    ).scalar_one_or_none()
    if (
        client is None
        or client.revoked_at is not None
        or not hmac.compare_digest(client.secret_hash, _digest(client_secret))
    ):
        return _oauth_error(401, "invalid_client", "client authentication failed")
    granted = set(client.scopes)
    if scope:
        wanted = set(scope.split())
        if not wanted <= granted or not wanted <= CLIENT_SCOPES:
            return _oauth_error(400, "invalid_scope", "a requested scope is not granted to this client")
        granted = wanted
    ttl = get_settings().access_token_ttl_seconds
    access = issue_token(org_id=client.org_id, sub=client.client_id, scopes=sorted(granted), ttl=ttl)
    return JSONResponse(
        {"access_token": access, "token_type": "Bearer", "expires_in": ttl, "scope": " ".join(sorted(granted))},
        headers={"Cache-Control": "no-store"},
    )
