"""REST routes of the OKR module: thin, they call the services."""

from __future__ import annotations

import uuid
from typing import Annotated, get_args

from fastapi import APIRouter, Depends, Query, Response, status

from service.auth.deps import RequestCtx
from service.authz import policy
from service.authz.access import governed_by
from service.kit.etag import IfMatchHeader, set_etag
from service.kit.pagination import PageOut, PageParams, page_params
from service.okr import key_results as kr_svc
from service.okr import (
    scoring_inputs,  # noqa: F401  (registers the OKR score inputs)
    workflow,
)
from service.okr import service as svc
from service.okr import strategy_map as strategy
from service.okr.schemas import (
    AlignmentRead,
    CheckInBulk,
    CheckInBulkRead,
    CheckInCreate,
    CheckInRead,
    FindingRead,
    KeyResultCreate,
    KeyResultRead,
    KeyResultUpdate,
    Level,
    LintRequest,
    LintResponse,
    ObjectiveAction,
    ObjectiveCreate,
    ObjectiveCreated,
    ObjectiveRead,
    ObjectiveStatus,
    ObjectiveUpdate,
    Perspective,
    RevisionRead,
    StrategyMapRead,
    Visibility,
    WorkflowAction,
)
from service.web import lists

router = APIRouter(prefix="/api/v1")
Pages = Annotated[PageParams, Depends(page_params)]
NO_CONTENT = status.HTTP_204_NO_CONTENT


# --- objectives -------------------------------------------------------------------------------

# Who may read an objective depends on its visibility; who may act on it, on the step.
VISIBILITIES = get_args(Visibility)
OBJECTIVE_ACTIONS = get_args(ObjectiveAction)


@router.get("/objectives", response_model=PageOut[ObjectiveRead], tags=["objectives"])
@governed_by(policy.read_objectives)
async def list_objectives(
    ctx: RequestCtx,
    pages: Pages,
    cycle_id: uuid.UUID | None = None,
    owner_id: Annotated[
        list[uuid.UUID] | None,
        Query(max_length=svc.MAX_OWNERS, description="one or more owners (repeat the parameter): any of them"),
    ] = None,
    status_: Annotated[ObjectiveStatus | None, Query(alias="status")] = None,
    level: Level | None = None,
    department_id: uuid.UUID | None = None,
    parent_id: uuid.UUID | None = None,
    perspective: Perspective | None = None,
    manager_id: Annotated[
        uuid.UUID | None, Query(description="objectives owned by this manager's direct reports")
    ] = None,
    subtree: Annotated[bool, lists.SUBTREE] = False,
    q: lists.SearchQuery = None,
    sort: Annotated[str | None, lists.sort_query(svc.OBJECTIVE_SORT)] = None,
    include_child_cycles: Annotated[bool, lists.CHILD_CYCLES] = False,
) -> PageOut[ObjectiveRead]:
    """The objectives the caller may read. `q` searches the title."""
    page = await svc.list_objectives(
        ctx,
        pages,
        cycle_id=cycle_id,
        owner_id=owner_id,
        status=status_,
        level=level,
        department_id=department_id,
        parent_id=parent_id,
        perspective=perspective,
        manager_id=manager_id,
        subtree=subtree,
        q=q,
        sort=sort,
        include_child_cycles=include_child_cycles,
    )
    return PageOut[ObjectiveRead](items=await svc.read_many(ctx, page.items), next_cursor=page.next_cursor)


@router.post("/objectives", response_model=ObjectiveCreated, status_code=status.HTTP_201_CREATED, tags=["objectives"])
@governed_by(policy.write_objective)
async def create_objective(ctx: RequestCtx, body: ObjectiveCreate, response: Response) -> ObjectiveCreated:
    """`key_results` creates the objective's key results with it, all or nothing (a
    refused one names its index: `["body", "key_results", 1, "target"]`); the answer
    carries them."""
    obj, krs = await kr_svc.create_objective_with_key_results(ctx, body)
    set_etag(response, obj.version)
    response.headers["Location"] = f"/api/v1/objectives/{obj.id}"
    read = await svc.read_one(ctx, obj)
    return ObjectiveCreated(**read.model_dump(), key_results=await kr_svc.read_many(ctx, krs))


@router.get("/objectives/{objective_id}", response_model=ObjectiveRead, tags=["objectives"])
@governed_by(policy.read_objective, visibility=VISIBILITIES)
async def get_objective(ctx: RequestCtx, objective_id: uuid.UUID, response: Response) -> ObjectiveRead:
    """The ETag versions the objective's own fields (what PATCH, DELETE and the workflow
    guard with If-Match); the computed `score`, `progress` and `pace` move with check-ins."""
    obj = await svc.get_objective(ctx, objective_id)
    set_etag(response, obj.version)
    return await svc.read_one(ctx, obj)


@router.patch("/objectives/{objective_id}", response_model=ObjectiveRead, tags=["objectives"])
@governed_by(policy.write_objective)
async def update_objective(
    ctx: RequestCtx, objective_id: uuid.UUID, body: ObjectiveUpdate, if_match: IfMatchHeader, response: Response
) -> ObjectiveRead:
    """Changes an objective (under `If-Match`) while it is editable, keeping each change as a
    revision with its `reason`."""
    obj = await svc.update_objective(ctx, objective_id, body, if_match)
    set_etag(response, obj.version)
    return await svc.read_one(ctx, obj)


@router.delete("/objectives/{objective_id}", status_code=NO_CONTENT, tags=["objectives"])
@governed_by(policy.write_objective)
async def delete_objective(ctx: RequestCtx, objective_id: uuid.UUID, if_match: IfMatchHeader) -> Response:
    """Only drafts can be deleted; their key results and check-ins go with them."""
    await svc.delete_objective(ctx, objective_id, if_match)
    return Response(status_code=NO_CONTENT)


@router.get("/objectives/{objective_id}/alignment", response_model=AlignmentRead, tags=["objectives"])
@governed_by(policy.read_objective, visibility=VISIBILITIES)
async def get_objective_alignment(ctx: RequestCtx, objective_id: uuid.UUID) -> AlignmentRead:
    """The objective's alignment: the objectives it supports up to the top, and those
    supporting it below."""
    return await svc.alignment(ctx, objective_id)


@router.get("/cycles/{cycle_id}/strategy-map", response_model=StrategyMapRead, tags=["objectives"])
@governed_by(policy.read_objectives)
async def get_strategy_map(ctx: RequestCtx, cycle_id: uuid.UUID) -> StrategyMapRead:
    """Every top-level objective of the cycle (company level, no parent) with its tree
    (children in the cycle or the cycles nested in it), grouped by balanced-scorecard
    perspective, progress rolled up per objective and per perspective; objectives the
    caller may not read are left out. 422 past 5000 objectives."""
    return await strategy.strategy_map(ctx, cycle_id)


@router.get("/objectives/{objective_id}/revisions", response_model=PageOut[RevisionRead], tags=["objectives"])
@governed_by(policy.read_objective, visibility=VISIBILITIES)
async def list_objective_revisions(ctx: RequestCtx, objective_id: uuid.UUID, pages: Pages) -> PageOut[RevisionRead]:
    """The revisions of an objective: each change after publication, with its reason."""
    page = await svc.list_revisions(ctx, objective_id, pages)
    return PageOut[RevisionRead](
        items=[RevisionRead.model_validate(r) for r in page.items], next_cursor=page.next_cursor
    )


@router.post("/objectives/{objective_id}/{action}", response_model=ObjectiveRead, tags=["objectives"])
@governed_by(policy.objective_action, action=OBJECTIVE_ACTIONS)
async def objective_action(
    ctx: RequestCtx,
    objective_id: uuid.UUID,
    action: ObjectiveAction,
    if_match: IfMatchHeader,
    response: Response,
    body: WorkflowAction | None = None,
) -> ObjectiveRead:
    """The workflow: `submit` (the owner; refused with the lint's `findings` when it has
    errors), `approve` and `reject` (the owner's manager or hr/admin; a rejection needs a
    `comment` and returns the objective to draft), `publish` (owner, manager, hr/admin),
    `close` (manager, hr/admin)."""
    obj = await workflow.act(ctx, objective_id, action, body.comment if body else None, if_match)
    set_etag(response, obj.version)
    return await svc.read_one(ctx, obj)


@router.post("/okr-lint", response_model=LintResponse, tags=["objectives"])
@governed_by(policy.read_objectives)
async def lint_objective(ctx: RequestCtx, body: LintRequest) -> LintResponse:
    """Quality findings for an unsaved objective with its key results, or for a saved one
    (`{"objective_id": ...}`). Nothing is stored."""
    findings = await workflow.lint_request(ctx, body)
    return LintResponse(findings=[FindingRead(**f.as_dict()) for f in findings])


# --- key results ---------------------------------------------------------------------------------


@router.get("/key-results", response_model=PageOut[KeyResultRead], tags=["key-results"])
@governed_by(policy.read_objectives)
async def list_key_results(
    ctx: RequestCtx,
    pages: Pages,
    objective_id: uuid.UUID | None = None,
    owner_id: Annotated[uuid.UUID | None, Query(description="the key results this employee owns")] = None,
) -> PageOut[KeyResultRead]:
    """Key results the caller may see, optionally of one objective or owner."""
    page = await kr_svc.list_key_results(ctx, pages, objective_id, owner_id)
    return PageOut[KeyResultRead](items=await kr_svc.read_many(ctx, list(page.items)), next_cursor=page.next_cursor)


@router.post("/key-results", response_model=KeyResultRead, status_code=status.HTTP_201_CREATED, tags=["key-results"])
@governed_by(policy.write_objective)
async def create_key_result(ctx: RequestCtx, body: KeyResultCreate, response: Response) -> KeyResultRead:
    """Adds a key result (metric, boolean or milestones) to an objective."""
    kr = await kr_svc.create_key_result(ctx, body)
    set_etag(response, kr.version)
    response.headers["Location"] = f"/api/v1/key-results/{kr.id}"
    return await kr_svc.read_one(ctx, kr)


@router.get("/key-results/{key_result_id}", response_model=KeyResultRead, tags=["key-results"])
@governed_by(policy.read_objective, visibility=VISIBILITIES)
async def get_key_result(ctx: RequestCtx, key_result_id: uuid.UUID, response: Response) -> KeyResultRead:
    """One key result with its progress, pace and latest check-in."""
    kr = await kr_svc.get_key_result(ctx, key_result_id)
    set_etag(response, kr.version)
    return await kr_svc.read_one(ctx, kr)


@router.patch("/key-results/{key_result_id}", response_model=KeyResultRead, tags=["key-results"])
@governed_by(policy.write_objective, policy.grade_key_result)
async def update_key_result(
    ctx: RequestCtx, key_result_id: uuid.UUID, body: KeyResultUpdate, if_match: IfMatchHeader, response: Response
) -> KeyResultRead:
    """Edit a draft's or a published objective's key result (`reason` goes into the
    revision history), or, once the objective is closed, set `grade` with `grade_reason`
    (the owner's manager or hr)."""
    kr = await kr_svc.update_key_result(ctx, key_result_id, body, if_match)
    set_etag(response, kr.version)
    return await kr_svc.read_one(ctx, kr)


@router.delete("/key-results/{key_result_id}", status_code=NO_CONTENT, tags=["key-results"])
@governed_by(policy.write_objective)
async def delete_key_result(ctx: RequestCtx, key_result_id: uuid.UUID, if_match: IfMatchHeader) -> Response:
    """Deletes a key result of an objective that is not published yet."""
    await kr_svc.delete_key_result(ctx, key_result_id, if_match)
    return Response(status_code=NO_CONTENT)


@router.get("/key-results/{key_result_id}/check-ins", response_model=PageOut[CheckInRead], tags=["key-results"])
@governed_by(policy.read_objective, visibility=VISIBILITIES)
async def list_check_ins(ctx: RequestCtx, key_result_id: uuid.UUID, pages: Pages) -> PageOut[CheckInRead]:
    """The check-ins of a key result, oldest first."""
    page = await kr_svc.list_check_ins(ctx, key_result_id, pages)
    return PageOut[CheckInRead](items=[CheckInRead.model_validate(c) for c in page.items], next_cursor=page.next_cursor)


@router.post(
    "/key-results/{key_result_id}/check-ins",
    response_model=CheckInRead,
    status_code=status.HTTP_201_CREATED,
    tags=["key-results"],
)
@governed_by(policy.check_in)
async def create_check_in(
    ctx: RequestCtx, key_result_id: uuid.UUID, body: CheckInCreate, response: Response
) -> CheckInRead:
    """Records a check-in on a key result: its current value (or milestones), confidence
    and a note."""
    check_in = await kr_svc.create_check_in(ctx, key_result_id, body)
    response.headers["Location"] = f"/api/v1/key-results/{key_result_id}/check-ins"
    return CheckInRead.model_validate(check_in)


@router.post(
    "/check-ins/bulk",
    response_model=CheckInBulkRead,
    status_code=status.HTTP_201_CREATED,
    tags=["key-results"],
)
@governed_by(policy.check_in)
async def create_check_ins(ctx: RequestCtx, body: CheckInBulk) -> CheckInBulkRead:
    """Check in several key results at once (at most 100 items), each item allowed and
    refused exactly as `POST /key-results/{id}/check-ins`; all or nothing: the first
    refusal answers with its status and `item_index` (a 422 locates the item's fields:
    `["body", "items", 2, "value"]`), and nothing is saved."""
    made = await kr_svc.create_check_ins(ctx, body.items)
    return CheckInBulkRead(items=[CheckInRead.model_validate(c) for c in made])
