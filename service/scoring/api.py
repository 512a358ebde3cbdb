"""REST routes: scoring policies and scores."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.responses import JSONResponse, StreamingResponse

from service.auth.deps import ReadCtx, RequestCtx
from service.authz import policy
from service.authz.access import governed_by
from service.kit.etag import IfMatchHeader
from service.kit.pagination import PageOut, PageParams, page_params
from service.scoring import policies as svc
from service.scoring import records, scores
from service.scoring.schemas import (
    AmendmentCreate,
    AmendmentRead,
    PolicyCreate,
    PolicyRead,
    PolicyUpdate,
    RecomputeJobRead,
    ScoreRead,
    ScoreVersionRead,
)
from service.web import lists

router = APIRouter(prefix="/api/v1")
Pages = Annotated[PageParams, Depends(page_params)]


def _etag(response: Response, version: int) -> None:
    response.headers["ETag"] = f'"{version}"'


@router.get("/scoring-policies", response_model=PageOut[PolicyRead], tags=["scoring"])
@governed_by(policy.read_scoring_policies)
async def list_scoring_policies(ctx: RequestCtx, pages: Pages) -> PageOut[PolicyRead]:
    """Scoring policies in force and their scopes (organization, department, position,
    employee)."""
    page, versions = await svc.list_policies(ctx, pages)
    return PageOut[PolicyRead](
        items=[svc.read_model(p, versions[p.id]) for p in page.items], next_cursor=page.next_cursor
    )


@router.post("/scoring-policies", response_model=PolicyRead, status_code=status.HTTP_201_CREATED, tags=["scoring"])
@governed_by(policy.manage_scoring_policies)
async def create_scoring_policy(ctx: RequestCtx, body: PolicyCreate, response: Response) -> PolicyRead:
    """Creates a scoring policy (version 1) for a scope: weights, KPI and OKR rules,
    evaluation, bands and distribution."""
    p, v = await svc.create_policy(ctx, body)
    _etag(response, v.version)
    response.headers["Location"] = f"/api/v1/scoring-policies/{p.id}"
    return svc.read_model(p, v)


@router.get("/scoring-policies/{policy_id}", response_model=PolicyRead, tags=["scoring"])
@governed_by(policy.read_scoring_policies)
async def get_scoring_policy(
    ctx: RequestCtx, policy_id: uuid.UUID, response: Response, version: Annotated[int | None, Query(ge=1)] = None
) -> PolicyRead:
    """The current version, or any earlier one with `?version=`."""
    p, v = await svc.get_policy(ctx, policy_id, version)
    _etag(response, p.current_version)
    return svc.read_model(p, v)


@router.patch("/scoring-policies/{policy_id}", response_model=PolicyRead, tags=["scoring"])
@governed_by(policy.manage_scoring_policies)
async def update_scoring_policy(
    ctx: RequestCtx, policy_id: uuid.UUID, body: PolicyUpdate, if_match: IfMatchHeader, response: Response
) -> PolicyRead:
    """Every edit makes a new immutable version."""
    p, v = await svc.update_policy(ctx, policy_id, body, if_match)
    _etag(response, p.current_version)
    return svc.read_model(p, v)


@router.get(
    "/cycles/{cycle_id}/scores",
    response_model=PageOut[ScoreRead],
    tags=["scores"],
    responses=lists.csv_doc([c.name for c in scores.SCORE_COLUMNS]),
)
@governed_by(policy.read_cycles)
async def list_scores(
    ctx: ReadCtx,
    request: Request,
    cycle_id: uuid.UUID,
    pages: Pages,
    department_id: uuid.UUID | None = None,
    manager_id: lists.ManagerFilter = None,
    subtree: Annotated[bool, lists.SUBTREE] = False,
    rating: Annotated[str | None, Query(min_length=1, max_length=10)] = None,
    q: lists.SearchQuery = None,
    sort: Annotated[str | None, lists.sort_query(scores.SCORE_SORT)] = None,
    explain: bool = False,
) -> PageOut[ScoreRead] | StreamingResponse:
    """Every visible employee's score in the cycle. `q` searches the employee's names,
    email and external id; the sort keys `final` and `composite` are the points shown
    (sorting by them, or filtering by `rating`, scores the whole visible population
    first). The CSV export has no explanations (`explain` applies to JSON). Whoever reads
    the cycle may ask; the rows are the scores they may read (a client's list is empty)."""
    filters: dict[str, Any] = dict(
        department_id=department_id, manager_id=manager_id, subtree=subtree, rating=rating, q=q, sort=sort
    )
    if lists.wants_csv(request):
        return lists.csv_response(await scores.export_scores(ctx, cycle_id, cursor=pages.cursor, **filters))
    items, cursor = await scores.list_scores(ctx, cycle_id, pages, explain=explain, **filters)
    return PageOut[ScoreRead](items=items, next_cursor=cursor)


@router.post(
    "/cycles/{cycle_id}/scores/recompute",
    response_model=RecomputeJobRead,
    tags=["scores"],
    responses={202: {"model": RecomputeJobRead}},
)
@governed_by(policy.recompute_scores)
async def recompute_scores(ctx: RequestCtx, cycle_id: uuid.UUID) -> JSONResponse:
    """Recomputes every score of the cycle (after a policy change): small cycles answer
    200 at once, larger ones 202 with a score job to follow."""
    job = await scores.start_recompute(ctx, cycle_id)
    body = RecomputeJobRead.model_validate(job).model_dump(mode="json")
    code = status.HTTP_200_OK if job.status == "succeeded" else status.HTTP_202_ACCEPTED
    return JSONResponse(body, status_code=code, headers={"Location": f"/api/v1/score-jobs/{job.id}"})


@router.get("/cycles/{cycle_id}/scores/{employee_id}", response_model=ScoreRead, tags=["scores"])
@governed_by(policy.read_subject)
async def get_score(ctx: RequestCtx, cycle_id: uuid.UUID, employee_id: uuid.UUID) -> ScoreRead:
    """The score of record once the result is official (`official: true`), else the live
    computation."""
    cycle, scored = await scores.get_score(ctx, cycle_id, employee_id)
    return scores.score_read(cycle, scored)


@router.get("/cycles/{cycle_id}/scores/{employee_id}/versions", response_model=list[ScoreVersionRead], tags=["scores"])
@governed_by(policy.read_subject)
async def list_score_versions(ctx: RequestCtx, cycle_id: uuid.UUID, employee_id: uuid.UUID) -> list[ScoreVersionRead]:
    """Every version of the employee's score of record, oldest first: version 1 written at
    finalization, one more per amendment. Empty while the result is live."""
    cycle, found = await records.versions(ctx, cycle_id, employee_id)
    return [scores.version_read(cycle, s) for s in found]


@router.post(
    "/cycles/{cycle_id}/amendments", response_model=AmendmentRead, status_code=status.HTTP_201_CREATED, tags=["scores"]
)
@governed_by(policy.amend_scores)
async def amend_score(ctx: RequestCtx, cycle_id: uuid.UUID, body: AmendmentCreate, response: Response) -> AmendmentRead:
    """Amend one employee's official result (hr/admin, with a reason): writes the next
    version of the record, emits `score.amended`, and creates correction results for
    finalized incentive results that depended on it."""
    cycle, scored, previous, corrections = await records.amend(ctx, cycle_id, body)
    response.headers["Location"] = f"/api/v1/cycles/{cycle_id}/scores/{body.employee_id}/versions"
    return AmendmentRead(score=scores.version_read(cycle, scored), previous_version=previous, corrections=corrections)


@router.get("/score-jobs/{job_id}", response_model=RecomputeJobRead, tags=["scores"])
@governed_by(policy.read_score_jobs)
async def get_score_job(ctx: RequestCtx, job_id: uuid.UUID) -> RecomputeJobRead:
    """A recompute job: its status and how many employees it has done; a terminal state
    always comes."""
    return RecomputeJobRead.model_validate(await scores.get_job(ctx, job_id))
