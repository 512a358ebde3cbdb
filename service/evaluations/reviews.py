"""Review meetings (SPEC sections 1 and 2): the record of a meeting on an objective, a
cycle or an evaluation, with its summary, result data, gap, cause analysis and an
improvement plan of actions, each with an owner and a due date.

A meeting about a person (the evaluated employee, the objective's owner at the time of
the meeting) is their subject data: they, their managers and hr/admin/auditors read it,
whatever the objective's visibility. A cycle's meeting is for hr/admin/auditors. A
review looks back, so meetings may be recorded on closed cycles too."""

from __future__ import annotations

import uuid
from typing import Any

from service.auth.context import Ctx
from service.authz import policy
from service.authz.enforce import require
from service.authz.policy import Relation
from service.cycles.models import Cycle
from service.errors import Forbidden, NotFound, ValidationFailed
from service.evaluations import plan_actions
from service.evaluations import repository as repo
from service.evaluations import service as evals
from service.evaluations.models import ReviewMeeting
from service.evaluations.schemas import (
    ImprovementAction,
    ImprovementActionRead,
    ReviewMeetingCreate,
    ReviewMeetingRead,
    ReviewMeetingUpdate,
    SubjectRead,
)
from service.kit import audit
from service.kit.etag import IfMatch, check_version
from service.kit.pagination import Page, PageParams, paginate
from service.okr.models import Objective
from service.org.models import Employee
from service.types import new_id

FIELDS = ("title", "held_on", "summary", "result_data", "gap", "cause_analysis")


def meeting_read(m: ReviewMeeting) -> ReviewMeetingRead:
    return ReviewMeetingRead(
        id=m.id,
        subject=SubjectRead(kind=m.subject_kind, id=m.subject_id),
        employee_id=m.employee_id,
        title=m.title,
        held_on=m.held_on,
        summary=m.summary,
        result_data=m.result_data,
        gap=m.gap,
        cause_analysis=m.cause_analysis,
        improvement_plan=[ImprovementActionRead(**a) for a in m.improvement_plan or []],
        created_by=m.created_by,
        created_at=m.created_at,
        updated_at=m.updated_at,
    )


def snapshot(m: ReviewMeeting) -> dict[str, Any]:
    return meeting_read(m).model_dump(mode="json", exclude={"created_at", "updated_at"})


async def _relation(ctx: Ctx, employee_id: uuid.UUID | None) -> Relation | None:
    return None if employee_id is None else await evals.relation(ctx, employee_id)


async def _subject(ctx: Ctx, kind: str, subject_id: uuid.UUID) -> uuid.UUID | None:
    """The person a new meeting is about; 422 when the subject is unknown or invisible."""
    missing = ValidationFailed.field(["subject", "id"], f"no such {kind}")
    if kind == "cycle":
        if await ctx.session.get(Cycle, (ctx.org_id, subject_id)) is None:
            raise missing
        return None
    if kind == "evaluation":
        ev, _ = await evals.referenced(ctx, subject_id, "subject")
        return ev.employee_id
    obj = await ctx.session.get(Objective, (ctx.org_id, subject_id))
    if (
        obj is None
        or not policy.read_objective(ctx.principal, await evals.relation(ctx, obj.owner_id), obj.visibility).allowed
    ):
        raise missing
    return obj.owner_id


async def _plan(ctx: Ctx, plan: list[ImprovementAction]) -> list[dict[str, Any]]:
    owners = await repo.rows_by_id(ctx.session, Employee, ctx.org_id, [a.owner_id for a in plan])
    for n, a in enumerate(plan):
        if a.owner_id not in owners:
            raise ValidationFailed(
                "unknown owner",
                errors=[{"loc": ["body", "improvement_plan", n, "owner_id"], "msg": "no such employee"}],
            )
    return [a.model_dump(mode="json") for a in plan]


async def list_meetings(
    ctx: Ctx,
    params: PageParams,
    *,
    subject_kind: str | None = None,
    subject_id: uuid.UUID | None = None,
    employee_id: uuid.UUID | None = None,
) -> Page[ReviewMeeting]:
    p = ctx.principal
    require(policy.list_evaluations(p), "review meetings")
    stmt = repo.review_meetings(ctx.org_id)
    if not policy.reads_everything(p):
        stmt = stmt.where(
            ReviewMeeting.employee_id.is_not(None),
            repo.subject_visible(ReviewMeeting.employee_id, ctx.org_id, False, p.employee_id),
        )
    for column, value in (
        (ReviewMeeting.subject_kind, subject_kind),
        (ReviewMeeting.subject_id, subject_id),
        (ReviewMeeting.employee_id, employee_id),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    return await paginate(ctx.session, stmt, ReviewMeeting.id, params)


async def get_meeting(ctx: Ctx, meeting_id: uuid.UUID) -> tuple[ReviewMeeting, Relation | None]:
    m = await ctx.session.get(ReviewMeeting, (ctx.org_id, meeting_id))
    if m is None:
        raise NotFound("review meeting not found")
    rel = await _relation(ctx, m.employee_id)
    if not policy.read_review_meeting(ctx.principal, rel).allowed:
        raise NotFound("review meeting not found")
    return m, rel


async def create_meeting(ctx: Ctx, data: ReviewMeetingCreate) -> ReviewMeeting:
    kind = data.subject.kind
    employee_id = await _subject(ctx, kind, data.subject.id)
    # The subject is visible to the caller here (else 422 above), so a refusal is a 403.
    if not policy.write_review_meeting(ctx.principal, kind, await _relation(ctx, employee_id)).allowed:
        raise Forbidden(f"not allowed to record a review meeting on this {kind}")
    if data.prefill and (data.result_data is not None or data.gap is not None):
        raise ValidationFailed.field("prefill", "either prefill or typed result_data and gap, not both")
    m = ReviewMeeting(
        org_id=ctx.org_id,
        id=new_id(),
        subject_kind=kind,
        subject_id=data.subject.id,
        employee_id=employee_id,
        improvement_plan=await _plan(ctx, data.improvement_plan),
        created_by=ctx.principal.actor,
        **data.model_dump(include=set(FIELDS)),
    )
    ctx.session.add(m)
    await ctx.session.flush()
    await plan_actions.sync(ctx.session, m)
    if data.prefill:
        await _prefill(ctx, m)
    await audit.record(ctx.session, ctx.principal, "review_meeting.created", "review_meeting", m.id, None, snapshot(m))
    return m


async def update_meeting(
    ctx: Ctx, meeting_id: uuid.UUID, data: ReviewMeetingUpdate, expected: IfMatch | None = None
) -> ReviewMeeting:
    m, rel = await get_meeting(ctx, meeting_id)
    require(policy.write_review_meeting(ctx.principal, m.subject_kind, rel), "review meeting")
    check_version(expected, m.version)
    changes = data.model_dump(exclude_unset=True)
    before = snapshot(m)
    new_plan = "improvement_plan" in changes
    if new_plan:
        m.improvement_plan = await _plan(ctx, data.improvement_plan or [])
        changes.pop("improvement_plan")
    for key, value in changes.items():
        setattr(m, key, value)
    await ctx.session.flush()
    if new_plan:
        await plan_actions.sync(ctx.session, m)
    await audit.record(
        ctx.session, ctx.principal, "review_meeting.updated", "review_meeting", m.id, before, snapshot(m)
    )
    return m


async def _prefill(ctx: Ctx, m: ReviewMeeting) -> None:
    # The briefs read this module's records: imported here, where they are needed.
    from service.briefs.quarterly import prefill

    await prefill(ctx, m)
    await ctx.session.flush()


async def prefill_meeting(ctx: Ctx, meeting_id: uuid.UUID, expected: IfMatch | None = None) -> ReviewMeeting:
    """Replace the meeting's `result_data` and `gap` with the engine's figures (its
    quarterly review brief, docs/briefs.md): whoever may edit the meeting."""
    m, rel = await get_meeting(ctx, meeting_id)
    require(policy.write_review_meeting(ctx.principal, m.subject_kind, rel), "review meeting")
    check_version(expected, m.version)
    before = snapshot(m)
    await _prefill(ctx, m)
    await audit.record(
        ctx.session, ctx.principal, "review_meeting.prefilled", "review_meeting", m.id, before, snapshot(m)
    )
    return m
