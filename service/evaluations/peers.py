"""360 feedback: peer requests (by the employee, their managers or hr/admin), answers by
the requested reviewers only (before the deadline), declines, and what each caller sees.

Anonymity (SPEC section 10) is decided here once for REST and GraphQL alike: the
evaluated employee never receives a reviewer's identity, an answer's status, or an
answer on its own. They see the reviewers they asked themselves (never whether those
answered), and the aggregate (count, mean rating, comments sorted by text) once at least
`peer_feedback_min_reviewers` answered. They cannot filter peer requests or feedback (a
filter would tell who answered). The list of everyone's requests
(`GET /api/v1/peer-requests`) never contains a caller's own evaluation. Managers and
hr/admin/auditors see everything attributed."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, false, or_

from service.auth.context import Ctx
from service.authz import policy
from service.authz.enforce import require
from service.authz.policy import Relation
from service.errors import Conflict, Forbidden, NotFound, ValidationFailed
from service.evaluations import repository as repo
from service.evaluations import service as evals
from service.evaluations.events import (
    PeerFeedbackDeclined,
    PeerFeedbackRequested,
    PeerFeedbackStep,
    PeerFeedbackSubmitted,
)
from service.evaluations.models import Evaluation, PeerRequest
from service.evaluations.schemas import (
    FeedbackCreate,
    FeedbackPage,
    FeedbackRead,
    PeerDecline,
    PeerRequestCreate,
    PeerRequestRead,
)
from service.kit import audit, hierarchy, outbox
from service.kit.etag import IfMatch, check_version
from service.kit.pagination import Page, PageParams, paginate
from service.org.models import Employee
from service.types import new_id, utcnow


def request_read(r: PeerRequest, p: Any, rel: Relation) -> PeerRequestRead:
    """A request as the caller may see it: whole for its reviewer and for attributed
    readers; anonymised for the evaluated employee."""
    full = (
        p.employee_id is not None and r.reviewer_id == p.employee_id and not p.is_client
    ) or policy.peer_feedback_access(p, rel) == policy.PEER_ATTRIBUTED
    if full:
        return PeerRequestRead(
            id=r.id,
            evaluation_id=r.evaluation_id,
            employee_id=r.employee_id,
            cycle_id=r.cycle_id,
            reviewer_id=r.reviewer_id,
            requested_by=r.requested_by,
            due_date=r.due_date,
            status=r.status,
            rating=r.rating,
            comments=r.comments,
            submitted_at=r.submitted_at,
            declined_at=r.declined_at,
            decline_reason=r.decline_reason,
            created_at=r.created_at,
        )
    asked_myself = p.employee_id is not None and r.requested_by_employee_id == p.employee_id
    return PeerRequestRead(
        id=r.id,
        evaluation_id=r.evaluation_id,
        employee_id=r.employee_id,
        cycle_id=r.cycle_id,
        reviewer_id=r.reviewer_id if asked_myself else None,
        requested_by=r.requested_by if asked_myself else None,
        due_date=r.due_date,
        status=None,
        rating=None,
        comments=None,
        submitted_at=None,
        declined_at=None,
        decline_reason=None,
        created_at=r.created_at,
    )


def feedback_read(r: PeerRequest) -> FeedbackRead:
    return FeedbackRead(
        id=r.id,
        evaluation_id=r.evaluation_id,
        reviewer_id=r.reviewer_id,
        rating=r.rating,
        comments=r.comments,
        submitted_at=r.submitted_at,
    )


def snapshot(r: PeerRequest) -> dict[str, Any]:
    return {
        "evaluation_id": str(r.evaluation_id),
        "employee_id": str(r.employee_id),
        "reviewer_id": str(r.reviewer_id),
        "status": r.status,
        "rating": r.rating,
        "comments": r.comments,
        "due_date": r.due_date.isoformat() if r.due_date else None,
        "decline_reason": r.decline_reason,
    }


EVENTS: dict[str, type[PeerFeedbackStep]] = {
    "requested": PeerFeedbackRequested,
    "submitted": PeerFeedbackSubmitted,
    "declined": PeerFeedbackDeclined,
}


async def _emit(ctx: Ctx, row: PeerRequest) -> None:
    """The request's step as an event, without the reviewer, the requester, the rating or
    the comments: receivers may notify the evaluated person."""
    event = EVENTS[row.status]
    request = {"request_id": row.id} if event is PeerFeedbackRequested else {}  # an answer names no request
    await outbox.emit(
        ctx.session,
        ctx.org_id,
        event.event_type,
        event(
            **request,
            evaluation_id=row.evaluation_id,
            employee_id=row.employee_id,
            cycle_id=row.cycle_id,
            status=row.status,
            due_date=row.due_date,
        ),
    )


def _no_filters_for_subject(rel: Relation, **filters: Any) -> None:
    if rel is Relation.SELF and any(v is not None for v in filters.values()):
        raise Forbidden("your own 360 feedback is anonymous: it cannot be filtered by reviewer or status")


# --- requests ----------------------------------------------------------------------------------


async def create_request(ctx: Ctx, eval_id: uuid.UUID, data: PeerRequestCreate) -> tuple[PeerRequest, Relation]:
    ev, rel = await evals.visible(ctx, eval_id)
    require(policy.request_peer_feedback(ctx.principal, rel), "evaluation")
    await evals.ensure_open(ctx, ev)
    if ev.status not in evals.OPEN_FOR_FEEDBACK:
        raise Conflict(
            f"360 feedback closes at calibration; this evaluation is {ev.status}",
            extra={"evaluation_status": ev.status},
        )
    reviewer = await ctx.session.get(Employee, (ctx.org_id, data.reviewer_id))
    if reviewer is None or reviewer.status == "terminated":
        raise ValidationFailed.field("reviewer_id", "no such active employee")
    if reviewer.id == ev.employee_id:
        raise ValidationFailed.field("reviewer_id", "an employee does not review themself")
    if data.due_date is not None and data.due_date < await evals.today(ctx):
        raise ValidationFailed.field("due_date", "the deadline is in the past")
    if await repo.request_of_reviewer(ctx.session, ctx.org_id, ev.id, reviewer.id) is not None:
        raise Conflict(
            "this reviewer was already asked",
            extra={"errors": [{"loc": ["body", "reviewer_id"], "msg": "already asked"}]},
        )
    p = ctx.principal
    row = PeerRequest(
        org_id=ctx.org_id,
        id=new_id(),
        evaluation_id=ev.id,
        employee_id=ev.employee_id,
        cycle_id=ev.cycle_id,
        reviewer_id=reviewer.id,
        requested_by=p.actor,
        requested_by_employee_id=p.employee_id,
        due_date=data.due_date,
        status="requested",
    )
    ctx.session.add(row)
    await ctx.session.flush()
    await audit.record(ctx.session, p, "peer_request.created", "peer_request", row.id, None, snapshot(row))
    await _emit(ctx, row)
    return row, rel


async def list_for_evaluation(
    ctx: Ctx, eval_id: uuid.UUID, params: PageParams, *, status: str | None = None, reviewer_id: uuid.UUID | None = None
) -> tuple[Page[PeerRequest], Relation]:
    ev, rel = await evals.visible(ctx, eval_id)
    _no_filters_for_subject(rel, status=status, reviewer_id=reviewer_id)
    stmt = repo.peer_requests(ctx.org_id).where(PeerRequest.evaluation_id == ev.id)
    if status is not None:
        stmt = stmt.where(PeerRequest.status == status)
    if reviewer_id is not None:
        stmt = stmt.where(PeerRequest.reviewer_id == reviewer_id)
    return await paginate(ctx.session, stmt, PeerRequest.id, params), rel


async def list_requests(
    ctx: Ctx,
    params: PageParams,
    *,
    reviewer_id: uuid.UUID | None = None,
    evaluation_id: uuid.UUID | None = None,
    cycle_id: uuid.UUID | None = None,
    status: str | None = None,
) -> Page[PeerRequest]:
    """Requests the caller answers (their inbox) and, attributed, those about the people
    they manage (everyone, for hr/admin/auditors); never those about the caller."""
    p = ctx.principal
    require(policy.list_evaluations(p), "peer requests")
    me = p.employee_id
    if policy.reads_everything(p):
        stmt = repo.peer_requests(ctx.org_id)
    elif me is None:
        stmt = repo.peer_requests(ctx.org_id).where(false())
    else:
        stmt = repo.peer_requests(ctx.org_id).where(
            or_(
                PeerRequest.reviewer_id == me,
                PeerRequest.employee_id.in_(hierarchy.reports_of(ctx.org_id, me, "peer_reports")),
            )
        )
    if me is not None:
        stmt = stmt.where(PeerRequest.employee_id != me)
    for column, value in (
        (PeerRequest.reviewer_id, reviewer_id),
        (PeerRequest.evaluation_id, evaluation_id),
        (PeerRequest.cycle_id, cycle_id),
        (PeerRequest.status, status),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    return await paginate(ctx.session, stmt, PeerRequest.id, params)


async def reads_of(ctx: Ctx, rows: Sequence[PeerRequest]) -> list[PeerRequestRead]:
    return [request_read(r, ctx.principal, await evals.relation(ctx, r.employee_id)) for r in rows]


async def requests_by_evaluation(ctx: Ctx, rows: Sequence[Evaluation]) -> dict[uuid.UUID, list[PeerRequestRead]]:
    """The requests of many (readable) evaluations, as each caller may see them; one query."""
    grouped = await repo.requests_of(ctx.session, ctx.org_id, [e.id for e in rows])
    out: dict[uuid.UUID, list[PeerRequestRead]] = {}
    for ev in rows:
        rel = await evals.relation(ctx, ev.employee_id)
        out[ev.id] = [request_read(r, ctx.principal, rel) for r in grouped.get(ev.id, [])]
    return out


async def _request(ctx: Ctx, request_id: uuid.UUID) -> tuple[PeerRequest, Relation, bool]:
    row = await ctx.session.get(PeerRequest, (ctx.org_id, request_id))
    if row is None:
        raise NotFound("peer request not found")
    rel = await evals.relation(ctx, row.employee_id)
    is_reviewer = ctx.principal.employee_id is not None and ctx.principal.employee_id == row.reviewer_id
    if not policy.read_peer_request(ctx.principal, rel, is_reviewer).allowed:
        raise NotFound("peer request not found")
    return row, rel, is_reviewer


async def get_request(ctx: Ctx, request_id: uuid.UUID) -> tuple[PeerRequest, Relation]:
    row, rel, _ = await _request(ctx, request_id)
    return row, rel


async def _open(ctx: Ctx, row: PeerRequest, ev: Evaluation) -> None:
    await evals.ensure_open(ctx, ev)
    if row.status != "requested":
        raise Conflict(f"this request is already {row.status}", extra={"request_status": row.status})
    if ev.status not in evals.OPEN_FOR_FEEDBACK:
        raise Conflict(
            f"360 feedback closes at calibration; the evaluation is {ev.status}", extra={"evaluation_status": ev.status}
        )
    if row.due_date is not None and await evals.today(ctx) > row.due_date:
        raise Conflict(
            f"the deadline ({row.due_date.isoformat()}) has passed", extra={"due_date": row.due_date.isoformat()}
        )


async def decline(
    ctx: Ctx, request_id: uuid.UUID, data: PeerDecline | None, expected: IfMatch | None = None
) -> tuple[PeerRequest, Relation]:
    row, rel, is_reviewer = await _request(ctx, request_id)
    require(policy.answer_peer_request(ctx.principal, rel, is_reviewer), "peer request")
    check_version(expected, row.version)
    ev = await repo.get_evaluation(ctx.session, ctx.org_id, row.evaluation_id)
    assert ev is not None
    await _open(ctx, row, ev)
    before = snapshot(row)
    row.status, row.declined_at = "declined", utcnow()
    row.decline_reason = data.reason if data else None
    await ctx.session.flush()
    await audit.record(
        ctx.session,
        ctx.principal,
        "peer_request.declined",
        "peer_request",
        row.id,
        before,
        snapshot(row),
        reason=row.decline_reason,
    )
    await _emit(ctx, row)
    return row, rel


# --- feedback ----------------------------------------------------------------------------------


async def submit(ctx: Ctx, eval_id: uuid.UUID, data: FeedbackCreate) -> PeerRequest:
    """An answer by the requested reviewer; anyone else who may see the evaluation gets
    403, anyone who may not (and is not asked) 404."""
    ev = await repo.get_evaluation(ctx.session, ctx.org_id, eval_id)
    if ev is None:
        raise NotFound("evaluation not found")
    p = ctx.principal
    rel = await evals.relation(ctx, ev.employee_id)
    row = await repo.request_of_reviewer(ctx.session, ctx.org_id, ev.id, None if p.is_client else p.employee_id)
    require(policy.answer_peer_request(p, rel, row is not None), "evaluation")
    assert row is not None
    if data.reviewer_id is not None and data.reviewer_id != p.employee_id:
        raise Forbidden("feedback is submitted by the requested reviewer only")
    await _open(ctx, row, ev)
    await evals.check_rating(ctx, await evals.cycle_of(ctx, ev), ev.employee_id, data.rating, ["rating"])
    before = snapshot(row)
    row.status, row.rating, row.comments, row.submitted_at = "submitted", data.rating, data.comments, utcnow()
    await ctx.session.flush()
    await audit.record(ctx.session, p, "peer_feedback.submitted", "peer_request", row.id, before, snapshot(row))
    await _emit(ctx, row)
    return row


async def feedback_page(
    ctx: Ctx, eval_id: uuid.UUID, params: PageParams, reviewer_id: uuid.UUID | None = None
) -> FeedbackPage:
    ev, rel = await evals.visible(ctx, eval_id)
    access = policy.peer_feedback_access(ctx.principal, rel)
    if access is None:
        raise NotFound("evaluation not found")
    _no_filters_for_subject(rel, reviewer_id=reviewer_id)
    answers = evals.submitted((await repo.requests_of(ctx.session, ctx.org_id, [ev.id]))[ev.id])
    summary = evals.feedback_summary(access, answers, await evals.min_reviewers(ctx))
    assert summary is not None
    if access != policy.PEER_ATTRIBUTED:
        return FeedbackPage(items=[], next_cursor=None, attributed=False, summary=summary)
    stmt = repo.peer_requests(ctx.org_id).where(
        and_(PeerRequest.evaluation_id == ev.id, PeerRequest.status == "submitted")
    )
    if reviewer_id is not None:
        stmt = stmt.where(PeerRequest.reviewer_id == reviewer_id)
    page = await paginate(ctx.session, stmt, PeerRequest.id, params)
    return FeedbackPage(
        items=[feedback_read(r) for r in page.items], next_cursor=page.next_cursor, attributed=True, summary=summary
    )
