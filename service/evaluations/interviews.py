"""Performance interviews: planned and recorded by the employee's managers or hr/admin
(plan, scheduled time, notes, outcome), and acknowledged by the employee. The
acknowledgement is the signature: it records the time and the principal, needs a
recorded outcome and a finalized evaluation, and makes the interview immutable. It also
moves the evaluation to `acknowledged` (emitting `evaluation.acknowledged`);
acknowledging the evaluation itself signs its interviews the same way."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from service.auth.context import Ctx
from service.authz import policy
from service.authz.enforce import require
from service.authz.policy import Relation
from service.cycles.service import ensure_writable
from service.errors import Conflict, NotFound, ValidationFailed
from service.evaluations import repository as repo
from service.evaluations import service as evals
from service.evaluations.events import InterviewAcknowledged, InterviewScheduled, InterviewStep
from service.evaluations.models import Evaluation, Interview
from service.evaluations.schemas import (
    InterviewAcknowledge,
    InterviewCreate,
    InterviewRead,
    InterviewUpdate,
)
from service.kit import audit, outbox
from service.kit.etag import IfMatch, check_version
from service.kit.pagination import Page, PageParams, paginate
from service.org.models import Employee
from service.types import new_id, utcnow


def interview_read(i: Interview) -> InterviewRead:
    status = "acknowledged" if i.acknowledged_at else "held" if i.outcome else "planned"
    return InterviewRead(
        id=i.id,
        evaluation_id=i.evaluation_id,
        employee_id=i.employee_id,
        cycle_id=i.cycle_id,
        interviewer_id=i.interviewer_id,
        status=status,
        scheduled_at=i.scheduled_at,
        plan=i.plan,
        notes=i.notes,
        outcome=i.outcome,
        acknowledged_at=i.acknowledged_at,
        acknowledged_by=i.acknowledged_by,
        acknowledgement_comment=i.acknowledgement_comment,
        created_by=i.created_by,
        created_at=i.created_at,
        updated_at=i.updated_at,
    )


def snapshot(i: Interview) -> dict[str, Any]:
    return interview_read(i).model_dump(mode="json", exclude={"created_at", "updated_at"})


async def list_interviews(
    ctx: Ctx,
    params: PageParams,
    *,
    evaluation_id: uuid.UUID | None = None,
    employee_id: uuid.UUID | None = None,
    cycle_id: uuid.UUID | None = None,
) -> Page[Interview]:
    p = ctx.principal
    require(policy.list_evaluations(p), "interviews")
    stmt = repo.interviews(ctx.org_id).where(
        repo.subject_visible(Interview.employee_id, ctx.org_id, policy.reads_everything(p), p.employee_id)
    )
    for column, value in (
        (Interview.evaluation_id, evaluation_id),
        (Interview.employee_id, employee_id),
        (Interview.cycle_id, cycle_id),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    return await paginate(ctx.session, stmt, Interview.id, params)


async def get_interview(ctx: Ctx, interview_id: uuid.UUID) -> tuple[Interview, Relation]:
    row = await ctx.session.get(Interview, (ctx.org_id, interview_id))
    if row is None:
        raise NotFound("interview not found")
    rel = await evals.relation(ctx, row.employee_id)
    if not policy.read_evaluation(ctx.principal, rel).allowed:
        raise NotFound("interview not found")
    return row, rel


async def _interviewer(ctx: Ctx, interviewer_id: uuid.UUID | None) -> None:
    if interviewer_id is not None and await ctx.session.get(Employee, (ctx.org_id, interviewer_id)) is None:
        raise ValidationFailed.field("interviewer_id", "no such employee")


def _not_signed(i: Interview) -> None:
    if i.acknowledged_at is not None:
        raise Conflict(
            "the interview is acknowledged and can no longer change",
            extra={"acknowledged_at": i.acknowledged_at.isoformat()},
        )


async def create_interview(ctx: Ctx, data: InterviewCreate) -> Interview:
    ev, rel = await evals.referenced(ctx, data.evaluation_id)
    require(policy.manage_interview(ctx.principal, rel), "evaluation")
    ensure_writable(await evals.cycle_of(ctx, ev))
    if ev.status == "acknowledged":
        raise Conflict(
            "the evaluation is acknowledged: its interviews are done", extra={"evaluation_status": ev.status}
        )
    await _interviewer(ctx, data.interviewer_id)
    row = Interview(
        org_id=ctx.org_id,
        id=new_id(),
        evaluation_id=ev.id,
        employee_id=ev.employee_id,
        cycle_id=ev.cycle_id,
        interviewer_id=data.interviewer_id or ctx.principal.employee_id,
        scheduled_at=data.scheduled_at,
        plan=data.plan,
        notes=data.notes,
        outcome=data.outcome,
        created_by=ctx.principal.actor,
    )
    ctx.session.add(row)
    await ctx.session.flush()
    await audit.record(ctx.session, ctx.principal, "interview.created", "interview", row.id, None, snapshot(row))
    await _emit(ctx, InterviewScheduled, row)
    return row


async def update_interview(
    ctx: Ctx, interview_id: uuid.UUID, data: InterviewUpdate, expected: IfMatch | None = None
) -> Interview:
    row, rel = await get_interview(ctx, interview_id)
    require(policy.manage_interview(ctx.principal, rel), "interview")
    ev = await repo.get_evaluation(ctx.session, ctx.org_id, row.evaluation_id)
    assert ev is not None
    ensure_writable(await evals.cycle_of(ctx, ev))
    check_version(expected, row.version)
    _not_signed(row)
    changes = data.model_dump(exclude_unset=True)
    if "interviewer_id" in changes:
        await _interviewer(ctx, changes["interviewer_id"])
    before = snapshot(row)
    for key, value in changes.items():
        setattr(row, key, value)
    await ctx.session.flush()
    after = snapshot(row)
    await audit.record(ctx.session, ctx.principal, "interview.updated", "interview", row.id, before, after)
    if any(before[k] != after[k] for k in ("scheduled_at", "interviewer_id")):  # planned anew
        await _emit(ctx, InterviewScheduled, row)
    return row


async def _emit(ctx: Ctx, event: type[InterviewStep], i: Interview) -> None:
    extra = {"acknowledged_at": i.acknowledged_at} if event is InterviewAcknowledged else {}
    await outbox.emit(
        ctx.session,
        ctx.org_id,
        event.event_type,
        event(
            interview_id=i.id,
            evaluation_id=i.evaluation_id,
            employee_id=i.employee_id,
            cycle_id=i.cycle_id,
            interviewer_id=i.interviewer_id,
            scheduled_at=i.scheduled_at,
            actor=ctx.principal.actor,
            **extra,
        ),
    )


async def _sign(ctx: Ctx, i: Interview, comment: str | None, at: dt.datetime) -> None:
    """The employee's signature on the outcome, and its `interview.acknowledged` event."""
    i.acknowledged_at, i.acknowledged_by = at, ctx.principal.actor
    i.acknowledged_employee_id, i.acknowledgement_comment = ctx.principal.employee_id, comment
    await _emit(ctx, InterviewAcknowledged, i)


async def acknowledge_interview(
    ctx: Ctx, interview_id: uuid.UUID, data: InterviewAcknowledge | None, expected: IfMatch | None = None
) -> Interview:
    row, rel = await get_interview(ctx, interview_id)
    require(policy.acknowledge_interview(ctx.principal, rel), "interview")
    ev = await repo.get_evaluation(ctx.session, ctx.org_id, row.evaluation_id)
    assert ev is not None
    ensure_writable(await evals.cycle_of(ctx, ev))
    check_version(expected, row.version)
    _not_signed(row)
    if not row.outcome:
        raise Conflict("there is no outcome to acknowledge yet")
    if ev.status not in ("finalized", "acknowledged"):
        raise Conflict(
            f"the evaluation is {ev.status}: an outcome is acknowledged once it is finalized",
            extra={"evaluation_status": ev.status},
        )
    comment = data.comment if data else None
    before, now = snapshot(row), utcnow()
    await _sign(ctx, row, comment, now)
    ev_before, moves = evals.snapshot(ev), ev.status == "finalized"
    if moves:
        evals.acknowledge_fields(ev, ctx.principal.actor, comment, now)
        ev.status = "acknowledged"
    await ctx.session.flush()
    await audit.record(ctx.session, ctx.principal, "interview.acknowledged", "interview", row.id, before, snapshot(row))
    if moves:
        await audit.record(
            ctx.session, ctx.principal, "evaluation.acknowledge", "evaluation", ev.id, ev_before, evals.snapshot(ev)
        )
        await evals.emit_acknowledged(ctx, ev)
    return row


async def sign_for_evaluation(ctx: Ctx, ev: Evaluation, comment: str | None, at: dt.datetime) -> bool:
    """Acknowledging an evaluation signs its interviews that have an outcome and no
    signature yet; False when there is no interview outcome at all."""
    rows = await repo.interviews_of(ctx.session, ctx.org_id, ev.id)
    with_outcome = [i for i in rows if i.outcome]
    if not with_outcome:
        return False
    for i in with_outcome:
        if i.acknowledged_at is None:
            before = snapshot(i)
            await _sign(ctx, i, comment, at)
            await ctx.session.flush()
            await audit.record(
                ctx.session, ctx.principal, "interview.acknowledged", "interview", i.id, before, snapshot(i)
            )
    return True
