"""Admin routes of the tenant lifecycle: the organization's own admin exports it (streamed
JSON Lines) and deletes it. Importing writes an organization that does not exist yet, so
no token of it can ask: it is the operator's `python -m service org-import`."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import StreamingResponse
from pydantic import Field

from service.auth.context import forget_org
from service.auth.deps import RequestCtx
from service.authz import policy
from service.authz.access import governed_by
from service.authz.enforce import require
from service.db import database
from service.errors import ValidationFailed
from service.kit.etag import IfMatchHeader, check_version
from service.kit.schemas import Input
from service.org import service as org_service
from service.tenants import lifecycle
from service.web import lists

router = APIRouter(prefix="/api/v1")
EXPORT_MEDIA_TYPE = "application/jsonl"
# The same file for a client that asks for bytes (`Accept: application/octet-stream`): JSON
# Lines has no media type client generators know, and they fall back to this one.
BYTES_MEDIA_TYPE = "application/octet-stream"


class OrganizationDeletion(Input):
    confirm: uuid.UUID = Field(description="The organization's id, repeated: the deletion cannot be undone")


@router.get(
    "/organization/export",
    tags=["tenants"],
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "The organization as JSON Lines: a header line, then one `{table, row}` line a row",
            "content": {
                EXPORT_MEDIA_TYPE: {"schema": {"type": "string"}},
                BYTES_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
            },
        }
    },
)
@governed_by(policy.export_organization)
async def export_organization(ctx: RequestCtx, request: Request) -> StreamingResponse:
    """Every row of the caller's organization, read in one consistent snapshot and streamed
    as JSON Lines (admin). `python -m service org-import` loads it into another deployment
    (docs/operations.md, "Tenant lifecycle")."""
    require(policy.export_organization(ctx.principal), "organization")
    org_id = ctx.principal.org_id
    return StreamingResponse(
        lifecycle.export_lines(database.engine, org_id),
        media_type=_export_media_type(request.headers.get("accept")),
        headers={
            "Content-Disposition": f'attachment; filename="organization-{org_id}.jsonl"',
            "Cache-Control": "no-store",
        },
    )


def _export_media_type(accept: str | None) -> str:
    """JSON Lines, or bytes for a caller that prefers them (the project's negotiation)."""
    return lists.choose(accept, [EXPORT_MEDIA_TYPE, BYTES_MEDIA_TYPE]) or EXPORT_MEDIA_TYPE


@router.delete("/organization", status_code=status.HTTP_204_NO_CONTENT, tags=["tenants"])
@governed_by(policy.delete_organization)
async def delete_organization(ctx: RequestCtx, body: OrganizationDeletion, if_match: IfMatchHeader) -> Response:
    """Deletes the caller's organization and everything it owns, its audit log included
    (admin; `confirm` repeats the organization's id). The deletion is recorded in the
    deployment's log. Tokens of the organization stop working."""
    require(policy.delete_organization(ctx.principal), "organization")
    org_id = ctx.principal.org_id
    if body.confirm != org_id:
        raise ValidationFailed.field("confirm", "must repeat the organization's id")
    org = await org_service.get_organization(ctx)
    check_version(if_match, org.version)
    session = ctx.session
    await lifecycle.delete_org(await session.connection(), org_id, actor=ctx.principal.sub)
    session.expunge_all()
    session.info.setdefault("after_commit", []).append(lambda: forget_org(org_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
