"""The audit log, read-only, for admins and auditors.

Peer anonymity holds here too (SPEC section 10): an admin or auditor who is also an
employee never reads the audit events of the 360 requests about themself (who was asked,
who answered with what, who declined and why), whatever their roles. Those events are
left out of their pages, by filter or not."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import Field
from sqlalchemy import and_, select

from service.auth.deps import ReadCtx
from service.authz import policy
from service.authz.access import governed_by
from service.authz.enforce import require
from service.evaluations.models import PeerRequest
from service.kit.models import AuditEvent
from service.kit.pagination import PageOut, PageParams, page_params, paginate
from service.kit.schemas import Output, Timestamp

router = APIRouter(prefix="/api/v1")


class AuditEventRead(Output):
    """One change, as it was recorded in the same transaction: who made it, to what, and
    the fields before and after."""

    id: uuid.UUID
    actor: str = Field(
        description="Who made the change: a person's user id (the token's `sub`) or a client's `client_id`"
    )
    actor_kind: str = Field(description="`person` or `client` (an integration client)")
    action: str = Field(description="What was done, as `entity.verb` (`employee.created`, `interview.acknowledged`)")
    entity_type: str = Field(description="The kind of object changed (`employee`, `objective`...)")
    entity_id: str = Field(description="The changed object's id (as text: most are UUIDs)")
    before: dict[str, Any] | None = Field(description="The changed fields before the change; null on a creation")
    after: dict[str, Any] | None = Field(description="The changed fields after the change; null on a deletion")
    reason: str | None
    request_id: str | None = Field(description="The `X-Request-ID` of the request that made the change (null for jobs)")
    at: dt.datetime = Field(description="When the change was made (RFC 3339, UTC)")


async def own_peer_requests(ctx: Any) -> list[str]:
    """The ids (as the audit log writes them) of the 360 requests about the caller."""
    me = ctx.principal.employee_id
    if me is None or ctx.principal.is_client:
        return []
    rows = await ctx.session.execute(
        select(PeerRequest.id).where(PeerRequest.org_id == ctx.org_id, PeerRequest.employee_id == me)
    )
    return [str(r[0]) for r in rows]


@router.get("/audit-events", response_model=PageOut[AuditEventRead], tags=["audit"])
@governed_by(policy.read_audit_log)
async def list_audit_events(
    ctx: ReadCtx,
    pages: Annotated[PageParams, Depends(page_params)],
    entity_type: Annotated[str | None, Query(max_length=60)] = None,
    entity_id: Annotated[str | None, Query(max_length=64)] = None,
    actor: Annotated[str | None, Query(max_length=200)] = None,
    since: Timestamp | None = None,
    until: Timestamp | None = None,
) -> PageOut[AuditEventRead]:
    """The audit log, newest last: every change with its actor, request id and the
    object's state before and after. Filters narrow it by object, actor and time."""
    require(policy.read_audit_log(ctx.principal), "audit log")
    stmt = select(AuditEvent).where(AuditEvent.org_id == ctx.org_id)
    if entity_type:
        stmt = stmt.where(AuditEvent.entity_type == entity_type)
    if entity_id:
        stmt = stmt.where(AuditEvent.entity_id == entity_id)
    if actor:
        stmt = stmt.where(AuditEvent.actor == actor)
    if since:
        stmt = stmt.where(AuditEvent.at >= since)
    if until:
        stmt = stmt.where(AuditEvent.at < until)
    hidden = await own_peer_requests(ctx)
    if hidden:
        stmt = stmt.where(~and_(AuditEvent.entity_type == "peer_request", AuditEvent.entity_id.in_(hidden)))
    page = await paginate(ctx.session, stmt, AuditEvent.id, pages)
    return PageOut[AuditEventRead](
        items=[AuditEventRead.model_validate(e) for e in page.items], next_cursor=page.next_cursor
    )
