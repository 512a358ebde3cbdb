"""REST route of the task list: thin, it calls the service."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from service.auth.deps import RequestCtx
from service.authz import policy
from service.authz.access import governed_by
from service.kit.pagination import PageOut, PageParams, page_params
from service.tasks import service as svc
from service.tasks.schemas import TaskRead
from service.tasks.service import task_read

router = APIRouter(prefix="/api/v1")
Pages = Annotated[PageParams, Depends(page_params)]


@router.get("/me/tasks", response_model=PageOut[TaskRead], tags=["me"])
@governed_by(policy.read_own_view)
async def my_tasks(ctx: RequestCtx, pages: Pages) -> PageOut[TaskRead]:
    """Work waiting for the caller: objectives to approve, peer feedback to give, reviews
    due, interview outcomes to acknowledge, calibrations to run, overdue check-ins; each
    with the call that acts on it. Ordered by due date (none last), kind, subject id. A
    token that names no employee (an admin without one, an integration client) has none."""
    page = await svc.my_tasks(ctx, pages)
    return PageOut[TaskRead](items=[task_read(t) for t in page.items], next_cursor=page.next_cursor)
