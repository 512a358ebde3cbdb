"""REST routes of cycles."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from service.auth.deps import RequestCtx
from service.authz import policy
from service.authz.access import governed_by
from service.cycles import service as svc
from service.cycles.schemas import (
    CycleChildren,
    CycleCreate,
    CycleRead,
    CycleStatus,
    CycleTransition,
    CycleUpdate,
)
from service.kit.etag import IfMatchHeader, set_etag
from service.kit.pagination import PageOut, PageParams, page_params

router = APIRouter(prefix="/api/v1", tags=["cycles"])
Pages = Annotated[PageParams, Depends(page_params)]


@router.get("/cycles", response_model=PageOut[CycleRead])
@governed_by(policy.read_cycles)
async def list_cycles(
    ctx: RequestCtx,
    pages: Pages,
    parent_id: uuid.UUID | None = None,
    status_: Annotated[CycleStatus | None, Query(alias="status")] = None,
) -> PageOut[CycleRead]:
    """Performance cycles (years, halves, quarters...), optionally the children of one
    or in one status."""
    page = await svc.list_cycles(ctx, pages, parent_id, status_)
    return PageOut[CycleRead](items=[CycleRead.model_validate(c) for c in page.items], next_cursor=page.next_cursor)


@router.post("/cycles", response_model=CycleRead, status_code=status.HTTP_201_CREATED)
@governed_by(policy.manage_cycles)
async def create_cycle(ctx: RequestCtx, body: CycleCreate, response: Response) -> CycleRead:
    """Creates a cycle in `planning`, optionally nested in a parent cycle whose dates
    contain it."""
    cycle = await svc.create_cycle(ctx, body)
    set_etag(response, cycle.version)
    response.headers["Location"] = f"/api/v1/cycles/{cycle.id}"
    return CycleRead.model_validate(cycle)


@router.get("/cycles/{cycle_id}", response_model=CycleRead)
@governed_by(policy.read_cycles)
async def get_cycle(ctx: RequestCtx, cycle_id: uuid.UUID, response: Response) -> CycleRead:
    """One cycle with its dates, cadence and status."""
    cycle = await svc.get_cycle(ctx, cycle_id)
    set_etag(response, cycle.version)
    return CycleRead.model_validate(cycle)


@router.patch("/cycles/{cycle_id}", response_model=CycleRead)
@governed_by(policy.manage_cycles)
async def update_cycle(
    ctx: RequestCtx, cycle_id: uuid.UUID, body: CycleUpdate, if_match: IfMatchHeader, response: Response
) -> CycleRead:
    """Changes a cycle's name or dates (under `If-Match`); its status changes only
    through `transition`."""
    cycle = await svc.update_cycle(ctx, cycle_id, body, if_match)
    set_etag(response, cycle.version)
    return CycleRead.model_validate(cycle)


@router.post("/cycles/{cycle_id}/transition", response_model=CycleRead)
@governed_by(policy.manage_cycles)
async def transition_cycle(
    ctx: RequestCtx, cycle_id: uuid.UUID, body: CycleTransition, if_match: IfMatchHeader, response: Response
) -> CycleRead:
    """Moves a cycle along its status machine (planning, active, review, calibration,
    closed); closing makes its results official."""
    cycle = await svc.transition(ctx, cycle_id, body.to, if_match)
    set_etag(response, cycle.version)
    return CycleRead.model_validate(cycle)


@router.post("/cycles/{cycle_id}/children", response_model=list[CycleRead], status_code=status.HTTP_201_CREATED)
@governed_by(policy.manage_cycles)
async def create_cycle_children(ctx: RequestCtx, cycle_id: uuid.UUID, body: CycleChildren) -> list[CycleRead]:
    """Creates the children of a cycle for one cadence (e.g. a year's quarters) in one call."""
    return [CycleRead.model_validate(c) for c in await svc.create_children(ctx, cycle_id, body)]
