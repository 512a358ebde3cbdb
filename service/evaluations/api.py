"""REST routes of the evaluation module: thin, they call the services."""

from __future__ import annotations

import uuid
from typing import Annotated, get_args

from fastapi import APIRouter, Depends, Query, Response, status

from service.auth.deps import RequestCtx
from service.authz import policy
from service.authz.access import governed_by
from service.evaluations import (
    calibration,
    interviews,
    peers,
    reviews,
    scoring_inputs,  # noqa: F401  (registers the evaluation score inputs)
    workflow,
)
from service.evaluations import service as svc
from service.evaluations.schemas import (
    AdjustmentRead,
    CalibrationAdjustmentCreate,
    CalibrationCreate,
    CalibrationRead,
    DistributionRead,
    EvaluationAction,
    EvaluationActionIn,
    EvaluationBulkCreate,
    EvaluationBulkResult,
    EvaluationCreate,
    EvaluationRead,
    EvaluationStatus,
    EvaluationUpdate,
    FeedbackCreate,
    FeedbackPage,
    FeedbackRead,
    InterviewAcknowledge,
    InterviewCreate,
    InterviewRead,
    InterviewUpdate,
    PeerDecline,
    PeerRequestCreate,
    PeerRequestRead,
    PeerStatus,
    ReviewMeetingCreate,
    ReviewMeetingRead,
    ReviewMeetingUpdate,
    SimulateIn,
    SubjectKind,
)
from service.kit.etag import IfMatchHeader, set_etag
from service.kit.pagination import PageOut, PageParams, page_params
from service.web import lists

router = APIRouter(prefix="/api/v1")
Pages = Annotated[PageParams, Depends(page_params)]
CREATED = status.HTTP_201_CREATED


# --- evaluations -------------------------------------------------------------------------------

# A review meeting is about a cycle, an objective or an evaluation (who may record it depends on which).
MEETING_KINDS = get_args(SubjectKind)


@router.get("/evaluations", response_model=PageOut[EvaluationRead], tags=["evaluations"])
@governed_by(policy.list_evaluations)
async def list_evaluations(
    ctx: RequestCtx,
    pages: Pages,
    cycle_id: uuid.UUID | None = None,
    employee_id: uuid.UUID | None = None,
    status_: Annotated[EvaluationStatus | None, Query(alias="status")] = None,
    department_id: Annotated[uuid.UUID | None, Query(description="the evaluated employee's department")] = None,
    manager_id: lists.ManagerFilter = None,
    subtree: Annotated[bool, lists.SUBTREE] = False,
    q: lists.SearchQuery = None,
    sort: Annotated[str | None, lists.sort_query(svc.EVALUATION_SORT)] = None,
    include_child_cycles: Annotated[bool, lists.CHILD_CYCLES] = False,
) -> PageOut[EvaluationRead]:
    """The evaluations the caller may read: their own, their reports' (managers), all
    (hr, admin, auditors). `q` searches the evaluated employee's names, email and
    external id; the sort keys `family_name` and `given_name` are theirs."""
    page = await svc.list_evaluations(
        ctx,
        pages,
        cycle_id=cycle_id,
        employee_id=employee_id,
        status=status_,
        department_id=department_id,
        manager_id=manager_id,
        subtree=subtree,
        q=q,
        sort=sort,
        include_child_cycles=include_child_cycles,
    )
    return PageOut[EvaluationRead](items=await svc.read_many(ctx, page.items), next_cursor=page.next_cursor)


@router.post("/evaluations", response_model=EvaluationRead, status_code=CREATED, tags=["evaluations"])
@governed_by(policy.create_evaluation)
async def create_evaluation(ctx: RequestCtx, body: EvaluationCreate, response: Response) -> EvaluationRead:
    """Opens an evaluation of one employee in a cycle (one per employee and cycle)."""
    ev = await svc.create_evaluation(ctx, body)
    set_etag(response, ev.version)
    response.headers["Location"] = f"/api/v1/evaluations/{ev.id}"
    return await svc.read_one(ctx, ev)


@router.post(
    "/evaluations/bulk",
    response_model=EvaluationBulkResult,
    tags=["evaluations"],
    responses={201: {"model": EvaluationBulkResult}},
)
@governed_by(policy.bulk_create_evaluations)
async def create_evaluations_bulk(
    ctx: RequestCtx, body: EvaluationBulkCreate, response: Response
) -> EvaluationBulkResult:
    """Opens an evaluation for every scored employee of the cycle, of a department (with
    its sub-departments) or of a list; existing ones are kept (201 when any was created)."""
    result = await svc.bulk_create(ctx, body)
    if result.created:
        response.status_code = CREATED
    return result


@router.get("/evaluations/{evaluation_id}", response_model=EvaluationRead, tags=["evaluations"])
@governed_by(policy.read_evaluation)
async def get_evaluation(ctx: RequestCtx, evaluation_id: uuid.UUID, response: Response) -> EvaluationRead:
    """One evaluation: its status, the reviews the caller may see, peer feedback as the
    anonymity rules allow, and the calibrated result."""
    ev, _ = await svc.visible(ctx, evaluation_id)
    set_etag(response, ev.version)
    return await svc.read_one(ctx, ev)


@router.patch("/evaluations/{evaluation_id}", response_model=EvaluationRead, tags=["evaluations"])
@governed_by(policy.write_self_review, policy.write_manager_review)
async def update_evaluation(
    ctx: RequestCtx, evaluation_id: uuid.UUID, body: EvaluationUpdate, if_match: IfMatchHeader, response: Response
) -> EvaluationRead:
    """Drafts: `self_review` by the employee until submitted, `manager_review` by the direct
    manager or hr/admin until submitted (ratings on the policy's 1..`rating_scale`)."""
    ev = await svc.update_evaluation(ctx, evaluation_id, body, if_match)
    set_etag(response, ev.version)
    return await svc.read_one(ctx, ev)


@router.get(
    "/evaluations/{evaluation_id}/peer-requests", response_model=PageOut[PeerRequestRead], tags=["360 feedback"]
)
@governed_by(policy.read_evaluation)
async def list_evaluation_peer_requests(
    ctx: RequestCtx,
    evaluation_id: uuid.UUID,
    pages: Pages,
    status_: Annotated[PeerStatus | None, Query(alias="status")] = None,
    reviewer_id: uuid.UUID | None = None,
) -> PageOut[PeerRequestRead]:
    """Attributed for managers and hr/admin/auditors; for the evaluated employee anonymised
    (only reviewers they asked themselves, never a status) and without filters (403)."""
    page, _ = await peers.list_for_evaluation(ctx, evaluation_id, pages, status=status_, reviewer_id=reviewer_id)
    return PageOut[PeerRequestRead](items=await peers.reads_of(ctx, page.items), next_cursor=page.next_cursor)


@router.post(
    "/evaluations/{evaluation_id}/peer-requests",
    response_model=PeerRequestRead,
    status_code=CREATED,
    tags=["360 feedback"],
)
@governed_by(policy.request_peer_feedback)
async def create_peer_request(
    ctx: RequestCtx, evaluation_id: uuid.UUID, body: PeerRequestCreate, response: Response
) -> PeerRequestRead:
    """Ask a colleague for 360 feedback (the employee, their managers or hr/admin), with an
    optional deadline `due_date`."""
    row, rel = await peers.create_request(ctx, evaluation_id, body)
    set_etag(response, row.version)
    response.headers["Location"] = f"/api/v1/peer-requests/{row.id}"
    return peers.request_read(row, ctx.principal, rel)


@router.get("/evaluations/{evaluation_id}/feedback", response_model=FeedbackPage, tags=["360 feedback"])
@governed_by(policy.read_peer_feedback)
async def list_peer_feedback(
    ctx: RequestCtx, evaluation_id: uuid.UUID, pages: Pages, reviewer_id: uuid.UUID | None = None
) -> FeedbackPage:
    """Submitted feedback: attributed `items` for managers and hr/admin/auditors; for the
    evaluated employee only the anonymous `summary`, once enough reviewers answered."""
    return await peers.feedback_page(ctx, evaluation_id, pages, reviewer_id)


@router.post(
    "/evaluations/{evaluation_id}/feedback", response_model=FeedbackRead, status_code=CREATED, tags=["360 feedback"]
)
@governed_by(policy.answer_peer_request)
async def submit_peer_feedback(ctx: RequestCtx, evaluation_id: uuid.UUID, body: FeedbackCreate) -> FeedbackRead:
    """An answer (`rating`, `comments`) by a requested reviewer, before the deadline."""
    return peers.feedback_read(await peers.submit(ctx, evaluation_id, body))


@router.post("/evaluations/{evaluation_id}/{action}", response_model=EvaluationRead, tags=["evaluations"])
@governed_by(policy.write_self_review, policy.write_manager_review)
async def evaluation_action(
    ctx: RequestCtx,
    evaluation_id: uuid.UUID,
    action: EvaluationAction,
    if_match: IfMatchHeader,
    response: Response,
    body: EvaluationActionIn | None = None,
) -> EvaluationRead:
    """The workflow: `submit_self` (the employee; may carry `self_review`),
    `submit_manager` (the direct manager or hr/admin; may carry `manager_review`),
    `finalize` (the same, once calibrated; records the final score and rating, emits
    `evaluation.finalized`), `acknowledge` (the employee, once finalized and an interview
    outcome is recorded; signs the interviews, emits `evaluation.acknowledged`)."""
    ev = await workflow.act(ctx, evaluation_id, action, body, if_match)
    set_etag(response, ev.version)
    return await svc.read_one(ctx, ev)


# --- peer requests ---------------------------------------------------------------------------


@router.get("/peer-requests", response_model=PageOut[PeerRequestRead], tags=["360 feedback"])
@governed_by(policy.list_evaluations)
async def list_peer_requests(
    ctx: RequestCtx,
    pages: Pages,
    reviewer_id: uuid.UUID | None = None,
    evaluation_id: uuid.UUID | None = None,
    cycle_id: uuid.UUID | None = None,
    status_: Annotated[PeerStatus | None, Query(alias="status")] = None,
) -> PageOut[PeerRequestRead]:
    """Requests the caller is asked to answer, and those about the people they manage (all,
    for hr/admin/auditors); never those about the caller themself."""
    page = await peers.list_requests(
        ctx, pages, reviewer_id=reviewer_id, evaluation_id=evaluation_id, cycle_id=cycle_id, status=status_
    )
    return PageOut[PeerRequestRead](items=await peers.reads_of(ctx, page.items), next_cursor=page.next_cursor)


@router.get("/peer-requests/{request_id}", response_model=PeerRequestRead, tags=["360 feedback"])
@governed_by(policy.read_peer_request)
async def get_peer_request(ctx: RequestCtx, request_id: uuid.UUID, response: Response) -> PeerRequestRead:
    """One peer feedback request: the reviewer sees it to answer; the evaluated employee
    never sees who reviews."""
    row, rel = await peers.get_request(ctx, request_id)
    set_etag(response, row.version)
    return peers.request_read(row, ctx.principal, rel)


@router.post("/peer-requests/{request_id}/decline", response_model=PeerRequestRead, tags=["360 feedback"])
@governed_by(policy.answer_peer_request)
async def decline_peer_request(
    ctx: RequestCtx, request_id: uuid.UUID, if_match: IfMatchHeader, response: Response, body: PeerDecline | None = None
) -> PeerRequestRead:
    """The requested reviewer declines, with an optional `reason`."""
    row, rel = await peers.decline(ctx, request_id, body, if_match)
    set_etag(response, row.version)
    return peers.request_read(row, ctx.principal, rel)


# --- calibration -----------------------------------------------------------------------------


@router.get("/calibrations", response_model=PageOut[CalibrationRead], tags=["calibration"])
@governed_by(policy.read_calibrations)
async def list_calibrations(
    ctx: RequestCtx,
    pages: Pages,
    cycle_id: uuid.UUID | None = None,
    status_: Annotated[str | None, Query(alias="status", pattern="^(open|finalized)$")] = None,
) -> PageOut[CalibrationRead]:
    """Calibration sessions the caller may see, optionally of one cycle or in one
    status."""
    page = await calibration.list_sessions(ctx, pages, cycle_id, status_)
    return PageOut[CalibrationRead](items=await calibration.reads_of(ctx, page.items), next_cursor=page.next_cursor)


@router.post("/calibrations", response_model=CalibrationRead, status_code=CREATED, tags=["calibration"])
@governed_by(policy.manage_calibrations)
async def create_calibration(ctx: RequestCtx, body: CalibrationCreate, response: Response) -> CalibrationRead:
    """A session over `employee_ids` or a `department_id` (sub-departments included) of a
    cycle in review or calibration; an employee is calibrated in one session per cycle."""
    s = await calibration.create_session(ctx, body)
    set_etag(response, s.version)
    response.headers["Location"] = f"/api/v1/calibrations/{s.id}"
    return (await calibration.reads_of(ctx, [s]))[0]


@router.get("/calibrations/{calibration_id}", response_model=CalibrationRead, tags=["calibration"])
@governed_by(policy.read_calibrations)
async def get_calibration(ctx: RequestCtx, calibration_id: uuid.UUID, response: Response) -> CalibrationRead:
    """One calibration session: its cycle, the employees it calibrates, its distribution
    mode and status."""
    s = await calibration.get_session(ctx, calibration_id)
    set_etag(response, s.version)
    return (await calibration.reads_of(ctx, [s]))[0]


@router.get("/calibrations/{calibration_id}/adjustments", response_model=PageOut[AdjustmentRead], tags=["calibration"])
@governed_by(policy.read_calibrations)
async def list_calibration_adjustments(
    ctx: RequestCtx, calibration_id: uuid.UUID, pages: Pages, employee_id: uuid.UUID | None = None
) -> PageOut[AdjustmentRead]:
    """The score adjustments made in a calibration session, each with its delta and
    reason."""
    page = await calibration.list_adjustments(ctx, calibration_id, pages, employee_id)
    return PageOut[AdjustmentRead](
        items=[calibration.adjustment_read(a) for a in page.items], next_cursor=page.next_cursor
    )


@router.post(
    "/calibrations/{calibration_id}/adjustments",
    response_model=AdjustmentRead,
    status_code=CREATED,
    tags=["calibration"],
)
@governed_by(policy.adjust_calibration)
async def add_calibration_adjustment(
    ctx: RequestCtx, calibration_id: uuid.UUID, body: CalibrationAdjustmentCreate
) -> AdjustmentRead:
    """A points `delta` with its mandatory `reason`; the author is the caller. It counts in
    the scores at once; the session's finalization locks it."""
    return calibration.adjustment_read(await calibration.add_adjustment(ctx, calibration_id, body))


@router.get("/calibrations/{calibration_id}/distribution", response_model=DistributionRead, tags=["calibration"])
@governed_by(policy.read_calibrations)
async def get_calibration_distribution(ctx: RequestCtx, calibration_id: uuid.UUID) -> DistributionRead:
    """Per band the allowed count (the guideline's cumulative rule) and the actual one,
    with each member's final score and rating, and what an enforced guideline gives."""
    return await calibration.distribution(ctx, calibration_id)


@router.post("/calibrations/{calibration_id}/simulate", response_model=DistributionRead, tags=["calibration"])
@governed_by(policy.manage_calibrations)
async def simulate_calibration(ctx: RequestCtx, calibration_id: uuid.UUID, body: SimulateIn) -> DistributionRead:
    """What-if: proposed adjustments in, resulting finals, ratings and distribution out;
    nothing is saved."""
    return await calibration.simulate(ctx, calibration_id, body)


@router.post("/calibrations/{calibration_id}/finalize", response_model=CalibrationRead, tags=["calibration"])
@governed_by(policy.manage_calibrations)
async def finalize_calibration(
    ctx: RequestCtx, calibration_id: uuid.UUID, if_match: IfMatchHeader, response: Response
) -> CalibrationRead:
    """Applies an enforced distribution, stores each member's result, locks the session,
    moves the evaluations to calibrated and emits `calibration.finalized`."""
    s = await calibration.finalize(ctx, calibration_id, if_match)
    set_etag(response, s.version)
    return (await calibration.reads_of(ctx, [s]))[0]


# --- interviews ------------------------------------------------------------------------------


@router.get("/interviews", response_model=PageOut[InterviewRead], tags=["interviews"])
@governed_by(policy.list_evaluations)
async def list_interviews(
    ctx: RequestCtx,
    pages: Pages,
    evaluation_id: uuid.UUID | None = None,
    employee_id: uuid.UUID | None = None,
    cycle_id: uuid.UUID | None = None,
) -> PageOut[InterviewRead]:
    """Performance interviews the caller may see, optionally of one evaluation, employee
    or cycle."""
    page = await interviews.list_interviews(
        ctx, pages, evaluation_id=evaluation_id, employee_id=employee_id, cycle_id=cycle_id
    )
    return PageOut[InterviewRead](
        items=[interviews.interview_read(i) for i in page.items], next_cursor=page.next_cursor
    )


@router.post("/interviews", response_model=InterviewRead, status_code=CREATED, tags=["interviews"])
@governed_by(policy.manage_interview)
async def create_interview(ctx: RequestCtx, body: InterviewCreate, response: Response) -> InterviewRead:
    """Schedules a performance interview for an evaluation (the employee's manager, hr
    or admin)."""
    row = await interviews.create_interview(ctx, body)
    set_etag(response, row.version)
    response.headers["Location"] = f"/api/v1/interviews/{row.id}"
    return interviews.interview_read(row)


@router.get("/interviews/{interview_id}", response_model=InterviewRead, tags=["interviews"])
@governed_by(policy.read_evaluation)
async def get_interview(ctx: RequestCtx, interview_id: uuid.UUID, response: Response) -> InterviewRead:
    """One interview: when, notes, outcome and the employee's acknowledgement."""
    row, _ = await interviews.get_interview(ctx, interview_id)
    set_etag(response, row.version)
    return interviews.interview_read(row)


@router.patch("/interviews/{interview_id}", response_model=InterviewRead, tags=["interviews"])
@governed_by(policy.manage_interview)
async def update_interview(
    ctx: RequestCtx, interview_id: uuid.UUID, body: InterviewUpdate, if_match: IfMatchHeader, response: Response
) -> InterviewRead:
    """Plan, time, notes and outcome, by the employee's managers or hr/admin, until the
    employee acknowledges."""
    row = await interviews.update_interview(ctx, interview_id, body, if_match)
    set_etag(response, row.version)
    return interviews.interview_read(row)


@router.post("/interviews/{interview_id}/acknowledge", response_model=InterviewRead, tags=["interviews"])
@governed_by(policy.acknowledge_interview)
async def acknowledge_interview(
    ctx: RequestCtx,
    interview_id: uuid.UUID,
    if_match: IfMatchHeader,
    response: Response,
    body: InterviewAcknowledge | None = None,
) -> InterviewRead:
    """The employee's signature on the recorded outcome of a finalized evaluation: time and
    principal are recorded, the interview becomes immutable and the evaluation
    acknowledged."""
    row = await interviews.acknowledge_interview(ctx, interview_id, body, if_match)
    set_etag(response, row.version)
    return interviews.interview_read(row)


# --- review meetings ---------------------------------------------------------------------------


@router.get("/review-meetings", response_model=PageOut[ReviewMeetingRead], tags=["review meetings"])
@governed_by(policy.list_evaluations)
async def list_review_meetings(
    ctx: RequestCtx,
    pages: Pages,
    subject_kind: SubjectKind | None = None,
    subject_id: uuid.UUID | None = None,
    employee_id: uuid.UUID | None = None,
) -> PageOut[ReviewMeetingRead]:
    """Quarterly review meetings the caller may see, optionally about one subject or
    employee."""
    page = await reviews.list_meetings(
        ctx, pages, subject_kind=subject_kind, subject_id=subject_id, employee_id=employee_id
    )
    return PageOut[ReviewMeetingRead](items=[reviews.meeting_read(m) for m in page.items], next_cursor=page.next_cursor)


@router.post("/review-meetings", response_model=ReviewMeetingRead, status_code=CREATED, tags=["review meetings"])
@governed_by(policy.write_review_meeting, kind=MEETING_KINDS)
async def create_review_meeting(ctx: RequestCtx, body: ReviewMeetingCreate, response: Response) -> ReviewMeetingRead:
    """Records a review meeting about an objective, a cycle or an evaluation: result
    data, gap, causes and improvement actions."""
    m = await reviews.create_meeting(ctx, body)
    set_etag(response, m.version)
    response.headers["Location"] = f"/api/v1/review-meetings/{m.id}"
    return reviews.meeting_read(m)


@router.get("/review-meetings/{meeting_id}", response_model=ReviewMeetingRead, tags=["review meetings"])
@governed_by(policy.read_review_meeting)
async def get_review_meeting(ctx: RequestCtx, meeting_id: uuid.UUID, response: Response) -> ReviewMeetingRead:
    """One review meeting with its improvement actions."""
    m, _ = await reviews.get_meeting(ctx, meeting_id)
    set_etag(response, m.version)
    return reviews.meeting_read(m)


@router.patch("/review-meetings/{meeting_id}", response_model=ReviewMeetingRead, tags=["review meetings"])
@governed_by(policy.write_review_meeting, kind=MEETING_KINDS)
async def update_review_meeting(
    ctx: RequestCtx, meeting_id: uuid.UUID, body: ReviewMeetingUpdate, if_match: IfMatchHeader, response: Response
) -> ReviewMeetingRead:
    """Changes a review meeting or its improvement actions (under `If-Match`)."""
    m = await reviews.update_meeting(ctx, meeting_id, body, if_match)
    set_etag(response, m.version)
    return reviews.meeting_read(m)
