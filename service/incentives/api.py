"""REST routes of the incentives module: thin, they call the services."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import Enum
from typing import Annotated, Literal, get_args

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.responses import StreamingResponse

from service.auth.deps import RequestCtx
from service.authz import policy
from service.authz.access import governed_by
from service.incentives import nominations, payroll, plans, results, runs
from service.incentives.models import IncentivePlan
from service.incentives.schemas import (
    BulkActionRead,
    IncentivePlanCreate,
    IncentivePlanRead,
    IncentivePlanUpdate,
    IncentiveResultRead,
    IncentiveRunRead,
    NominationKind,
    NominationRead,
    PayrollAckCreate,
    PayrollAckRead,
    PayrollPage,
    PlanKind,
    ResultAction,
    ResultAdjustmentCreate,
    ResultKind,
    ResultStatus,
)
from service.kit.etag import IfMatchHeader, set_etag
from service.kit.pagination import PageOut, PageParams, page_params
from service.kit.schemas import Timestamp
from service.web import lists

router = APIRouter(prefix="/api/v1")
Pages = Annotated[PageParams, Depends(page_params)]
# FastAPI's `tags` parameter is a `list[str | Enum]`, and a list is invariant.
PLANS: list[str | Enum] = ["incentive-plans"]
RESULTS: list[str | Enum] = ["incentive-results"]
NOMINATIONS: list[str | Enum] = ["nominations"]
# The filter by what a nomination is for, under its one name and under the deprecated ones.
NominationKindQuery = Annotated[
    NominationKind | None, Query(description="Only nominations for this: promotion_track or training")
]
OldNominationKindQuery = Annotated[
    NominationKind | None,
    Query(description="The same as `nomination_kind`; deprecated, use `nomination_kind`", deprecated=True),
]
PAYROLL: list[str | Enum] = ["payroll"]


# --- plans ---------------------------------------------------------------------------------------

# Who may read or act on a result depends on its status.
RESULT_STATES = get_args(ResultStatus)


def _plan_read(ctx: RequestCtx, plan: IncentivePlan) -> IncentivePlanRead:
    return plans.plan_read(plan, policy.see_incentive_plan_params(ctx.principal))


@router.get("/incentive-plans", response_model=PageOut[IncentivePlanRead], tags=PLANS)
@governed_by(policy.read_incentive_plans)
async def list_incentive_plans(
    ctx: RequestCtx, pages: Pages, cycle_id: uuid.UUID | None = None, kind: PlanKind | None = None
) -> PageOut[IncentivePlanRead]:
    """Incentive plans the caller may see, optionally of one cycle or kind; parameters
    only for hr and admin."""
    page = await plans.list_plans(ctx, pages, cycle_id, kind)
    return PageOut[IncentivePlanRead](items=[_plan_read(ctx, p) for p in page.items], next_cursor=page.next_cursor)


@router.post("/incentive-plans", response_model=IncentivePlanRead, status_code=status.HTTP_201_CREATED, tags=PLANS)
@governed_by(policy.manage_incentives)
async def create_incentive_plan(ctx: RequestCtx, body: IncentivePlanCreate, response: Response) -> IncentivePlanRead:
    """`params` by kind (SPEC section 8), every default made explicit in the answer:
    short_term_bonus `basis`, `multipliers`, `multiplier_cap`, `min_score`, `pool_minor`,
    `earning_code`, `eligibility`; kpi_excess_reward `amount_per_point_minor`,
    `cap_per_employee_minor`, `earning_code`, `eligibility`; okr_breakthrough
    `min_objective_score`, `ratings`, `nomination_kind`, `eligibility`."""
    plan = await plans.create_plan(ctx, body)
    set_etag(response, plan.version)
    response.headers["Location"] = f"/api/v1/incentive-plans/{plan.id}"
    return _plan_read(ctx, plan)


@router.get("/incentive-plans/{plan_id}", response_model=IncentivePlanRead, tags=PLANS)
@governed_by(policy.read_incentive_plans)
async def get_incentive_plan(ctx: RequestCtx, plan_id: uuid.UUID, response: Response) -> IncentivePlanRead:
    """One incentive plan with its kind, cycle and (for hr and admin) parameters."""
    plan = await plans.get_plan(ctx, plan_id)
    set_etag(response, plan.version)
    return _plan_read(ctx, plan)


@router.patch("/incentive-plans/{plan_id}", response_model=IncentivePlanRead, tags=PLANS)
@governed_by(policy.manage_incentives)
async def update_incentive_plan(
    ctx: RequestCtx, plan_id: uuid.UUID, body: IncentivePlanUpdate, if_match: IfMatchHeader, response: Response
) -> IncentivePlanRead:
    """Changes an incentive plan (under `If-Match`); its parameters and period are fixed
    once a result of it is approved or finalized."""
    plan = await plans.update_plan(ctx, plan_id, body, if_match)
    set_etag(response, plan.version)
    return _plan_read(ctx, plan)


@router.post("/incentive-plans/{plan_id}/run", response_model=IncentiveRunRead, tags=PLANS)
@governed_by(policy.manage_incentives)
async def run_incentive_plan(ctx: RequestCtx, plan_id: uuid.UUID, if_match: IfMatchHeader) -> IncentiveRunRead:
    """Computes draft results from the cycle's final scores. Re-running replaces drafts
    only; the answer counts what was created, replaced, kept and skipped (with why)."""
    return await runs.run_plan(ctx, plan_id, if_match)


async def _bulk(ctx: RequestCtx, plan_id: uuid.UUID, action: str, if_match: IfMatchHeader) -> BulkActionRead:
    rows = await results.bulk_action(ctx, plan_id, action, if_match)
    return BulkActionRead(plan_id=plan_id, action=action, count=len(rows), result_ids=[r.id for r in rows])


@router.post("/incentive-plans/{plan_id}/approve", response_model=BulkActionRead, tags=PLANS)
@governed_by(policy.manage_incentives)
async def approve_plan_results(ctx: RequestCtx, plan_id: uuid.UUID, if_match: IfMatchHeader) -> BulkActionRead:
    """Approves every draft result of the plan."""
    return await _bulk(ctx, plan_id, "approve", if_match)


@router.post("/incentive-plans/{plan_id}/finalize", response_model=BulkActionRead, tags=PLANS)
@governed_by(policy.manage_incentives)
async def finalize_plan_results(ctx: RequestCtx, plan_id: uuid.UUID, if_match: IfMatchHeader) -> BulkActionRead:
    """Finalizes every approved result of the plan in one transaction (one
    `incentive.finalized` event)."""
    return await _bulk(ctx, plan_id, "finalize", if_match)


# --- results -------------------------------------------------------------------------------------


@router.get(
    "/incentive-results",
    response_model=PageOut[IncentiveResultRead],
    tags=RESULTS,
    responses=lists.csv_doc([c.name for c in results.RESULT_COLUMNS], [c.name for c in results.RESULT_PAY_COLUMNS]),
)
@governed_by(policy.list_incentive_results)
async def list_incentive_results(
    ctx: RequestCtx,
    request: Request,
    pages: Pages,
    plan_id: uuid.UUID | None = None,
    employee_id: uuid.UUID | None = None,
    cycle_id: uuid.UUID | None = None,
    status: ResultStatus | None = None,
    kind: ResultKind | None = None,
    nomination_kind: NominationKindQuery = None,
    nomination: OldNominationKindQuery = None,
    department_id: Annotated[uuid.UUID | None, Query(description="the employee's department")] = None,
    manager_id: lists.ManagerFilter = None,
    subtree: Annotated[bool, lists.SUBTREE] = False,
    q: lists.SearchQuery = None,
    sort: Annotated[
        str | None,
        lists.sort_query(
            results.RESULT_SORT, "`amount_minor` only for callers who see every amount (hr, admin, payroll)."
        ),
    ] = None,
    include_child_cycles: Annotated[bool, lists.CHILD_CYCLES] = False,
) -> PageOut[IncentiveResultRead] | StreamingResponse:
    """Every result the caller may see: hr/admin and auditors all (auditors without
    amounts), managers their reports' (without amounts), employees their own finalized
    ones, payroll clients finalized money results. `q` searches the employee's names,
    email and external id. Payroll's feed is `/payroll/incentive-results`."""
    filters = results.ResultFilters(
        plan_id=plan_id,
        employee_id=employee_id,
        status=status,
        kind=kind,
        cycle_id=cycle_id,
        nomination=nominations.one_kind(nomination_kind, nomination, "nomination"),
        department_id=department_id,
        manager_id=manager_id,
        subtree=subtree,
        q=q,
        sort=sort,
        include_child_cycles=include_child_cycles,
    )
    if lists.wants_csv(request):
        return lists.csv_response(await results.export_results(ctx, filters, cursor=pages.cursor))
    page = await results.list_results(ctx, pages, filters)
    return PageOut[IncentiveResultRead](items=await results.reads(ctx, page.items), next_cursor=page.next_cursor)


@router.get("/incentive-results/{result_id}", response_model=IncentiveResultRead, tags=RESULTS)
@governed_by(policy.read_incentive_result, status=RESULT_STATES)
async def get_incentive_result(ctx: RequestCtx, result_id: uuid.UUID, response: Response) -> IncentiveResultRead:
    """One incentive result: its plan, employee, status, kind and, for those who may see
    pay, amount and inputs."""
    r, _ = await results.get_result(ctx, result_id)
    set_etag(response, r.version)
    return (await results.reads(ctx, [r]))[0]


@router.post(
    "/incentive-results/{result_id}/adjust",
    response_model=IncentiveResultRead,
    status_code=status.HTTP_201_CREATED,
    tags=RESULTS,
)
@governed_by(policy.act_on_incentive_result, status=RESULT_STATES)
async def adjust_incentive_result(
    ctx: RequestCtx, result_id: uuid.UUID, body: ResultAdjustmentCreate, response: Response
) -> IncentiveResultRead:
    """A correction of a finalized result: a new draft result of kind adjustment that
    references the original."""
    row = await results.adjust(ctx, result_id, body)
    set_etag(response, row.version)
    response.headers["Location"] = f"/api/v1/incentive-results/{row.id}"
    return (await results.reads(ctx, [row]))[0]


@router.post("/incentive-results/{result_id}/{action}", response_model=IncentiveResultRead, tags=RESULTS)
@governed_by(policy.act_on_incentive_result, status=RESULT_STATES)
async def act_on_incentive_result(
    ctx: RequestCtx,
    result_id: uuid.UUID,
    action: Literal["approve", "finalize", "decline"],
    if_match: IfMatchHeader,
    response: Response,
    body: ResultAction | None = None,
) -> IncentiveResultRead:
    """draft → approved → finalized; draft or approved → declined. A finalized result is
    immutable: every action on it answers 409."""
    row = await results.transition(ctx, result_id, action, body.comment if body else None, if_match)
    set_etag(response, row.version)
    return (await results.reads(ctx, [row]))[0]


# --- nominations ---------------------------------------------------------------------------------


@router.get("/nominations", response_model=PageOut[NominationRead], tags=NOMINATIONS)
@governed_by(policy.list_incentive_results)
async def list_nominations(
    ctx: RequestCtx,
    pages: Pages,
    plan_id: uuid.UUID | None = None,
    employee_id: uuid.UUID | None = None,
    cycle_id: uuid.UUID | None = None,
    nomination_kind: NominationKindQuery = None,
    kind: OldNominationKindQuery = None,
    status: ResultStatus | None = None,
) -> PageOut[NominationRead]:
    """Nominations for the promotion track or training from OKR breakthrough plans,
    optionally of one plan, employee or cycle."""
    page = await nominations.list_nominations(
        ctx,
        pages,
        plan_id=plan_id,
        employee_id=employee_id,
        cycle_id=cycle_id,
        kind=nominations.one_kind(nomination_kind, kind, "kind"),
        status=status,
    )
    return PageOut[NominationRead](
        items=await nominations.nomination_reads(ctx, page.items), next_cursor=page.next_cursor
    )


@router.get("/nominations/{nomination_id}", response_model=NominationRead, tags=NOMINATIONS)
@governed_by(policy.read_incentive_result, status=RESULT_STATES)
async def get_nomination(ctx: RequestCtx, nomination_id: uuid.UUID, response: Response) -> NominationRead:
    """One nomination with the inputs that led to it."""
    r = await nominations.get_nomination(ctx, nomination_id)
    set_etag(response, r.version)
    return (await nominations.nomination_reads(ctx, [r]))[0]


@router.post("/nominations/{nomination_id}/{decision}", response_model=NominationRead, tags=NOMINATIONS)
@governed_by(policy.act_on_incentive_result, status=RESULT_STATES)
async def decide_nomination(
    ctx: RequestCtx,
    nomination_id: uuid.UUID,
    decision: Literal["approve", "decline", "finalize"],
    if_match: IfMatchHeader,
    response: Response,
    body: ResultAction | None = None,
) -> NominationRead:
    """Approves, declines or finalizes a nomination (hr and admin)."""
    r = await nominations.decide(ctx, nomination_id, decision, body.comment if body else None, if_match)
    set_etag(response, r.version)
    return (await nominations.nomination_reads(ctx, [r]))[0]


# --- payroll -------------------------------------------------------------------------------------


def _wants_csv(accept: str) -> bool:
    kinds = [part.split(";")[0].strip().lower() for part in accept.split(",")]
    if "text/csv" not in kinds:
        return False
    return "application/json" not in kinds or kinds.index("text/csv") < kinds.index("application/json")


@router.get(
    "/payroll/incentive-results",
    response_model=PayrollPage,
    tags=PAYROLL,
    responses={
        200: {
            "content": {
                "text/csv": {
                    "schema": {"type": "string"},
                    "example": "result_id,employee_external_id,plan,period_start,period_end,"
                    "earning_code,amount,currency,kind,adjusts_id,finalized_at\r\n",
                }
            },
            "description": "JSON pages, or with `Accept: text/csv` the whole feed after the cursor as a CSV "
            "stream (header `X-Resume-Cursor`)",
            "headers": {
                "X-Resume-Cursor": {
                    "description": "CSV only: the cursor to continue the feed from later (after the last row sent)",
                    "schema": {"type": "string"},
                }
            },
        }
    },
)
@governed_by(policy.pull_payroll)
async def list_payroll_results(
    ctx: RequestCtx,
    request: Request,
    plan_id: uuid.UUID | None = None,
    cursor: Annotated[
        str | None,
        Query(max_length=500, description="Where to continue: a page's `next_cursor` or a CSV's `X-Resume-Cursor`"),
    ] = None,
    limit: Annotated[
        int | None,
        Query(
            ge=1,
            le=payroll.CSV_MAX_LIMIT,
            description="At most this many results: JSON pages hold 50 by default (at most 500); "
            "CSV streams all without it",
        ),
    ] = None,
    updated_since: Timestamp | None = None,
    acknowledged: bool | None = None,
) -> PayrollPage | StreamingResponse:
    """Finalized money results in the organization's payroll sequence: a cursor never
    skips or repeats a result, even while others are being finalized. JSON pages hold
    `limit` results (default 50, at most 500); CSV streams every result after the cursor
    (or `limit` of them) with the columns result_id, employee_external_id, plan, period_start,
    period_end, earning_code, amount (major units), currency, kind, adjusts_id,
    finalized_at."""
    if updated_since is not None and updated_since.tzinfo is None:
        updated_since = updated_since.replace(tzinfo=dt.UTC)
    filters = payroll.Filters(plan_id=plan_id, updated_since=updated_since, acknowledged=acknowledged)
    if _wants_csv(request.headers.get("accept", "")):
        export = await payroll.csv_export(ctx, filters, cursor, limit)
        return StreamingResponse(
            export.body,
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": 'attachment; filename="incentive-results.csv"',
                "X-Resume-Cursor": export.resume_cursor,
                "Cache-Control": "no-store",
            },
        )
    return await payroll.page(ctx, filters, cursor, limit)


@router.post("/payroll/incentive-results/{result_id}/ack", response_model=PayrollAckRead, tags=PAYROLL)
@governed_by(policy.acknowledge_payroll)
async def acknowledge_payroll_result(ctx: RequestCtx, result_id: uuid.UUID, body: PayrollAckCreate) -> PayrollAckRead:
    """Records payroll's reference. Acknowledging again with the same reference is
    harmless (the same answer); another reference is a 409."""
    ack, _ = await payroll.acknowledge(ctx, result_id, body.payroll_reference)
    return PayrollAckRead(
        result_id=ack.result_id,
        payroll_reference=ack.payroll_reference,
        acknowledged_at=ack.acknowledged_at,
        acknowledged_by=ack.acknowledged_by,
    )
