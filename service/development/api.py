"""REST routes of development plans: thin, they call the services."""

from __future__ import annotations

import uuid
from enum import Enum
from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from service.auth.deps import RequestCtx
from service.authz import policy
from service.authz.access import governed_by
from service.development import service
from service.development.schemas import (
    DevelopmentItemCreate,
    DevelopmentItemRead,
    DevelopmentItemUpdate,
    DevelopmentPlanCreate,
    DevelopmentPlanRead,
    DevelopmentPlanUpdate,
    NominationPlanCreate,
    PlanStatus,
)
from service.kit.etag import IfMatchHeader, set_etag
from service.kit.pagination import PageOut, PageParams, page_params

router = APIRouter(prefix="/api/v1")
Pages = Annotated[PageParams, Depends(page_params)]
TAGS: list[str | Enum] = ["development plans"]
CREATED = status.HTTP_201_CREATED


async def _read(ctx: RequestCtx, plan: object, response: Response) -> DevelopmentPlanRead:
    set_etag(response, plan.version)  # type: ignore[attr-defined]  # a DevelopmentPlan
    return (await service.reads(ctx, [plan]))[0]  # type: ignore[list-item]


@router.get("/development-plans", response_model=PageOut[DevelopmentPlanRead], tags=TAGS)
@governed_by(policy.list_development_plans)
async def list_development_plans(
    ctx: RequestCtx,
    pages: Pages,
    employee_id: uuid.UUID | None = None,
    owner_id: uuid.UUID | None = None,
    status: PlanStatus | None = None,
    cycle_id: uuid.UUID | None = None,
    nomination_id: uuid.UUID | None = None,
) -> PageOut[DevelopmentPlanRead]:
    """Development plans the caller may read (their own, their reports', those they own;
    everyone's for hr, admin and auditors), optionally of one employee, owner, status,
    cycle or nomination."""
    page = await service.list_plans(
        ctx,
        pages,
        employee_id=employee_id,
        owner_id=owner_id,
        status=status,
        cycle_id=cycle_id,
        nomination_id=nomination_id,
    )
    return PageOut[DevelopmentPlanRead](items=await service.reads(ctx, page.items), next_cursor=page.next_cursor)


@router.post("/development-plans", response_model=DevelopmentPlanRead, status_code=CREATED, tags=TAGS)
@governed_by(policy.create_development_plan)
async def create_development_plan(
    ctx: RequestCtx, body: DevelopmentPlanCreate, response: Response
) -> DevelopmentPlanRead:
    """Makes a development plan for an employee (hr, admin, the employee's managers);
    with `review_meeting_id` and `copy_improvement_actions`, the meeting's improvement
    actions the employee owns become its first items."""
    plan = await service.create_plan(ctx, body)
    response.headers["Location"] = f"/api/v1/development-plans/{plan.id}"
    return await _read(ctx, plan, response)


@router.get("/development-plans/{development_plan_id}", response_model=DevelopmentPlanRead, tags=TAGS)
@governed_by(policy.read_development_plan)
async def get_development_plan(
    ctx: RequestCtx, development_plan_id: uuid.UUID, response: Response
) -> DevelopmentPlanRead:
    """One development plan with its items."""
    plan, _, _ = await service.get_plan(ctx, development_plan_id)
    return await _read(ctx, plan, response)


@router.patch("/development-plans/{development_plan_id}", response_model=DevelopmentPlanRead, tags=TAGS)
@governed_by(policy.write_development_plan)
async def update_development_plan(
    ctx: RequestCtx,
    development_plan_id: uuid.UUID,
    body: DevelopmentPlanUpdate,
    if_match: IfMatchHeader,
    response: Response,
) -> DevelopmentPlanRead:
    """Changes a development plan (under `If-Match`): its owner, title, goals, status,
    due date or review meeting."""
    plan = await service.update_plan(ctx, development_plan_id, body, if_match)
    return await _read(ctx, plan, response)


@router.post(
    "/development-plans/{development_plan_id}/items", response_model=DevelopmentItemRead, status_code=CREATED, tags=TAGS
)
@governed_by(policy.write_development_plan)
async def add_development_plan_item(
    ctx: RequestCtx, development_plan_id: uuid.UUID, body: DevelopmentItemCreate, response: Response
) -> DevelopmentItemRead:
    """Adds an item to a plan (at most 100 per plan)."""
    item = await service.add_item(ctx, development_plan_id, body)
    set_etag(response, item.version)
    return service.item_read(item)


@router.patch("/development-plans/{development_plan_id}/items/{item_id}", response_model=DevelopmentItemRead, tags=TAGS)
@governed_by(policy.update_development_item)
async def update_development_plan_item(
    ctx: RequestCtx,
    development_plan_id: uuid.UUID,
    item_id: uuid.UUID,
    body: DevelopmentItemUpdate,
    if_match: IfMatchHeader,
    response: Response,
) -> DevelopmentItemRead:
    """Changes an item (under `If-Match`); the employee may change its `status` alone."""
    item = await service.update_item(ctx, development_plan_id, item_id, body, if_match)
    set_etag(response, item.version)
    return service.item_read(item)


@router.post(
    "/nominations/{nomination_id}/development-plan",
    response_model=DevelopmentPlanRead,
    status_code=CREATED,
    tags=["nominations"],
)
@governed_by(policy.create_development_plan)
async def create_nomination_development_plan(
    ctx: RequestCtx, nomination_id: uuid.UUID, response: Response, body: NominationPlanCreate | None = None
) -> DevelopmentPlanRead:
    """Makes the development plan of a nomination: the nominee's, followed by their
    manager, linked to the latest review meeting about them in the nomination's cycle
    (whose improvement actions they own become items). 409 when the nomination already
    has one or was declined."""
    plan = await service.create_for_nomination(ctx, nomination_id, body)
    response.headers["Location"] = f"/api/v1/development-plans/{plan.id}"
    return await _read(ctx, plan, response)
