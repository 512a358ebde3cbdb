"""Evaluation use cases: create (one or in bulk), drafts of the self and manager reviews,
and the read model REST and GraphQL both show (with what each caller may see masked
here, once); the status machine of SPEC section 9 is in workflow.py. Services flush,
never commit.

`status` names the last completed step:

    not_started ─submit_self→ self_review ─submit_manager→ manager_review
        ─(calibration finalized)→ calibrated ─finalize→ finalized ─acknowledge→ acknowledged

The employee writes and submits the self review and acknowledges; the direct manager
(or hr/admin) writes and submits the manager review and finalizes; a calibration
session moves evaluations to calibrated (service/evaluations/calibration.py).
"""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import insert

from service.auth.context import Ctx
from service.authz import policy
from service.authz.enforce import require
from service.authz.policy import Decision, Relation
from service.cycles.models import Cycle
from service.cycles.service import load_cycle, writable_cycle
from service.errors import Conflict, Forbidden, NotFound, ValidationFailed
from service.evaluations import repository as repo
from service.evaluations.events import EvaluationAcknowledged
from service.evaluations.models import CalibrationMember, Evaluation, PeerRequest
from service.evaluations.schemas import (
    CalibrationOutcome,
    CompetencyRead,
    EvaluationBulkCreate,
    EvaluationBulkResult,
    EvaluationCreate,
    EvaluationRead,
    EvaluationUpdate,
    FeedbackSummary,
    ManagerReviewIn,
    ManagerReviewRead,
    SelfReviewIn,
    SelfReviewRead,
)
from service.kit import audit, hierarchy, outbox, search
from service.kit.etag import IfMatch, check_version
from service.kit.pagination import Page, PageParams, Sorting, SortKey, paginate
from service.org.models import Employee, Organization
from service.org.repository import employee_sort_key, employees_matching
from service.org.service import org_settings
from service.scoring import locks
from service.scoring import service as scoring
from service.scoring.numbers import div, round_points
from service.scoring.policies import policy_book
from service.types import new_id, utcnow

OPEN_FOR_FEEDBACK = ("not_started", "self_review", "manager_review")


# --- facts about the caller ----------------------------------------------------------------


async def relation(ctx: Ctx, employee_id: uuid.UUID) -> Relation:
    """How the caller stands to an evaluated employee. hr and admin act on anyone, so
    their reporting subtree is not loaded; for their own evaluation they are SELF."""
    p = ctx.principal
    if p.is_client or p.employee_id is None:
        return Relation.OTHER
    if employee_id == p.employee_id:
        return Relation.SELF
    if policy.is_staff(p):
        return Relation.OTHER
    return policy.relation_to(p, employee_id, await ctx.reports())


async def is_direct_manager(ctx: Ctx, employee_id: uuid.UUID) -> bool:
    me = ctx.principal.employee_id
    if me is None or ctx.principal.is_client:
        return False
    emp = await ctx.session.get(Employee, (ctx.org_id, employee_id))
    return emp is not None and emp.manager_id == me


async def min_reviewers(ctx: Ctx) -> int:
    return int((await org_settings(ctx))["peer_feedback_min_reviewers"])


async def today(ctx: Ctx) -> dt.date:
    """Today in the organization's time zone (deadlines are the organization's days)."""
    org = await ctx.session.get(Organization, ctx.org_id)
    try:
        tz = zoneinfo.ZoneInfo(org.timezone) if org else dt.UTC
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        tz = dt.UTC
    return utcnow().astimezone(tz).date()


async def rating_scale(ctx: Ctx, cycle: Cycle, employee_id: uuid.UUID) -> int:
    """N of the employee's scoring policy in this cycle (pinned versions included)."""
    emp = await ctx.session.get(Employee, (ctx.org_id, employee_id))
    book = await policy_book(ctx, cycle)
    return book.for_employee(
        employee_id, emp.position_id if emp else None, emp.department_id if emp else None
    ).rating_scale


async def check_rating(
    ctx: Ctx, cycle: Cycle, employee_id: uuid.UUID, rating: int | None, loc: list[str | int]
) -> None:
    if rating is None:
        return
    scale = await rating_scale(ctx, cycle, employee_id)
    if not 1 <= rating <= scale:
        raise ValidationFailed(
            f"the rating must be between 1 and {scale}",
            errors=[{"loc": ["body", *loc], "msg": f"between 1 and {scale} (the policy's rating_scale)"}],
        )


# --- read model ------------------------------------------------------------------------------


def feedback_summary(access: str | None, answers: Sequence[PeerRequest], minimum: int) -> FeedbackSummary | None:
    """Aggregates of the submitted answers; for the employee, nothing until `minimum`
    reviewers answered, and never anything that points at one reviewer."""
    if access is None:
        return None
    n = len(answers)
    if access == policy.PEER_ANONYMOUS and not policy.anonymous_feedback_visible(n, minimum):
        return FeedbackSummary(available=False, min_reviewers=minimum, answered=None, mean_rating=None, comments=[])
    ratings = [a.rating for a in answers if a.rating is not None]
    mean = round_points(div(Decimal(sum(ratings)), Decimal(len(ratings)))) if ratings else None
    comments = sorted(a.comments for a in answers if a.comments)
    return FeedbackSummary(available=True, min_reviewers=minimum, answered=n, mean_rating=mean, comments=comments)


def submitted(requests: Sequence[PeerRequest]) -> list[PeerRequest]:
    return [r for r in requests if r.status == "submitted"]


def _self_review(ev: Evaluation) -> SelfReviewRead | None:
    if ev.self_rating is None and ev.self_comments is None and ev.self_submitted_at is None:
        return None
    return SelfReviewRead(rating=ev.self_rating, comments=ev.self_comments, submitted_at=ev.self_submitted_at)


def _manager_review(ev: Evaluation) -> ManagerReviewRead | None:
    if (
        ev.manager_rating is None
        and ev.manager_comments is None
        and not ev.competencies
        and ev.manager_submitted_at is None
    ):
        return None
    return ManagerReviewRead(
        rating=ev.manager_rating,
        comments=ev.manager_comments,
        competencies=[CompetencyRead(**c) for c in ev.competencies or []],
        reviewer_id=ev.manager_reviewer_id,
        submitted_at=ev.manager_submitted_at,
    )


def _calibration(ev: Evaluation, member: CalibrationMember | None) -> CalibrationOutcome | None:
    if ev.calibration_id is None or member is None:
        return None
    return CalibrationOutcome(
        calibration_id=ev.calibration_id,
        calibrated_at=ev.calibrated_at,
        final=round_points(member.final) if member.final is not None else None,
        rating=member.enforced_rating or member.computed_rating,
        computed_rating=member.computed_rating,
        distribution_enforced=member.enforced_rating is not None,
    )


def evaluation_read(
    ev: Evaluation,
    p: Any,
    rel: Relation,
    requests: Sequence[PeerRequest],
    member: CalibrationMember | None,
    minimum: int,
) -> EvaluationRead:
    show_self = policy.see_self_review(p, rel, ev.self_submitted_at is not None)
    show_manager = policy.see_manager_review(p, rel, ev.manager_submitted_at is not None)
    return EvaluationRead(
        id=ev.id,
        employee_id=ev.employee_id,
        cycle_id=ev.cycle_id,
        status=ev.status,
        self_review=_self_review(ev) if show_self else None,
        manager_review=_manager_review(ev) if show_manager else None,
        peer_feedback=feedback_summary(policy.peer_feedback_access(p, rel), submitted(requests), minimum),
        calibration=_calibration(ev, member),
        final_score=ev.final_score,
        final_rating=ev.final_rating,
        finalized_at=ev.finalized_at,
        acknowledged_at=ev.acknowledged_at,
        acknowledged_by=ev.acknowledged_by,
        acknowledgement_comment=ev.acknowledgement_comment,
        created_at=ev.created_at,
        updated_at=ev.updated_at,
    )


async def read_many(ctx: Ctx, rows: Sequence[Evaluation]) -> list[EvaluationRead]:
    """Read models of a page of evaluations in a constant number of queries."""
    if not rows:
        return []
    requests = await repo.requests_of(ctx.session, ctx.org_id, [r.id for r in rows])
    members: dict[tuple[uuid.UUID, uuid.UUID], CalibrationMember] = {}
    sessions = [r.calibration_id for r in rows if r.calibration_id is not None]
    if sessions:
        for group in (await repo.members_of(ctx.session, ctx.org_id, sessions)).values():
            members.update({(m.session_id, m.employee_id): m for m in group})
    minimum = await min_reviewers(ctx)
    out = []
    for ev in rows:
        rel = await relation(ctx, ev.employee_id)
        member = members.get((ev.calibration_id, ev.employee_id)) if ev.calibration_id else None
        out.append(evaluation_read(ev, ctx.principal, rel, requests.get(ev.id, []), member, minimum))
    return out


async def read_one(ctx: Ctx, ev: Evaluation) -> EvaluationRead:
    return (await read_many(ctx, [ev]))[0]


def snapshot(ev: Evaluation) -> dict[str, Any]:
    """Audit snapshot (the audit log is read by admins and auditors only)."""
    return {
        "employee_id": str(ev.employee_id),
        "cycle_id": str(ev.cycle_id),
        "status": ev.status,
        "self_rating": ev.self_rating,
        "self_comments": ev.self_comments,
        "manager_rating": ev.manager_rating,
        "manager_comments": ev.manager_comments,
        "competencies": ev.competencies,
        "final_score": str(ev.final_score) if ev.final_score is not None else None,
        "final_rating": ev.final_rating,
    }


# --- queries -----------------------------------------------------------------------------------


EVALUATION_SORT = Sorting(
    employee_sort_key("family_name", Employee.family_name, Evaluation.org_id, Evaluation.employee_id),
    employee_sort_key("given_name", Employee.given_name, Evaluation.org_id, Evaluation.employee_id),
    SortKey("status", Evaluation.status),
    SortKey("final_score", Evaluation.final_score, "decimal", nullable=True),
    SortKey("final_rating", Evaluation.final_rating, nullable=True),
    SortKey("finalized_at", Evaluation.finalized_at, "datetime", nullable=True),
    SortKey("created_at", Evaluation.created_at, "datetime"),
    SortKey("updated_at", Evaluation.updated_at, "datetime"),
)


async def list_evaluations(
    ctx: Ctx,
    params: PageParams,
    *,
    cycle_id: uuid.UUID | None = None,
    employee_id: uuid.UUID | None = None,
    status: str | None = None,
    department_id: uuid.UUID | None = None,
    manager_id: uuid.UUID | None = None,
    subtree: bool = False,
    q: str | None = None,
    sort: str | Sequence[str] | None = None,
    include_child_cycles: bool = False,
) -> Page[Evaluation]:
    """The evaluations the caller may read, narrowed by the filters (`department_id`,
    `manager_id` with `subtree`: the evaluated employee's; `q`: words of their name,
    email or external id; `include_child_cycles`: the evaluations of `cycle_id` and of
    every cycle nested in it)."""
    p = ctx.principal
    require(policy.list_evaluations(p), "evaluations")
    hierarchy.check_people_filter(manager_id, subtree)
    words = search.terms(q)
    spec = EVALUATION_SORT.parse(sort, org_id=ctx.org_id)
    stmt = repo.evaluations(ctx.org_id).where(
        repo.subject_visible(Evaluation.employee_id, ctx.org_id, policy.reads_everything(p), p.employee_id)
    )
    cycles = hierarchy.in_cycles(Evaluation.cycle_id, ctx.org_id, cycle_id, include_child_cycles)
    if cycles is not None:
        stmt = stmt.where(cycles)
    if employee_id is not None:
        stmt = stmt.where(Evaluation.employee_id == employee_id)
    if status is not None:
        stmt = stmt.where(Evaluation.status == status)
    people = hierarchy.people(ctx.org_id, manager_id=manager_id, subtree=subtree, department_id=department_id)
    if people is not None:
        stmt = stmt.where(Evaluation.employee_id.in_(people))
    if words:
        stmt = stmt.where(Evaluation.employee_id.in_(employees_matching(ctx.org_id, words)))
    return await paginate(ctx.session, stmt, Evaluation.id, params, sort=spec)


async def visible(ctx: Ctx, eval_id: uuid.UUID) -> tuple[Evaluation, Relation]:
    """The evaluation and the caller's relation to its employee; 404 unless readable."""
    ev = await repo.get_evaluation(ctx.session, ctx.org_id, eval_id)
    if ev is None:
        raise NotFound("evaluation not found")
    rel = await relation(ctx, ev.employee_id)
    if not policy.read_evaluation(ctx.principal, rel).allowed:
        raise NotFound("evaluation not found")
    return ev, rel


async def referenced(ctx: Ctx, eval_id: uuid.UUID, field: str = "evaluation_id") -> tuple[Evaluation, Relation]:
    """An evaluation named in a request body: 422 when unknown or not visible."""
    try:
        return await visible(ctx, eval_id)
    except NotFound:
        raise ValidationFailed.field(field, "no such evaluation") from None


async def cycle_of(ctx: Ctx, ev: Evaluation) -> Cycle:
    cycle = await load_cycle(ctx, ev.cycle_id)
    assert cycle is not None  # a foreign key guarantees it
    return cycle


async def ensure_open(ctx: Ctx, ev: Evaluation) -> Cycle:
    """Reviews, peer feedback and calibration adjustments are inputs of the evaluated
    employee's score in the evaluation's cycle: 409 `cycle_locked` once the cycle is
    closed or that result is official (service/scoring/locks.py). Answers the cycle."""
    cycle = await cycle_of(ctx, ev)
    await locks.ensure_open(ctx, cycle, [ev.employee_id], rolls_up=False)
    return cycle


# --- creation ----------------------------------------------------------------------------------


async def create_evaluation(ctx: Ctx, data: EvaluationCreate) -> Evaluation:
    if not policy.is_person(ctx.principal):
        raise Forbidden("integration clients cannot open evaluations")
    if await ctx.session.get(Employee, (ctx.org_id, data.employee_id)) is None:
        raise ValidationFailed.field("employee_id", "no such employee")
    if policy.create_evaluation(ctx.principal, await relation(ctx, data.employee_id)) is not Decision.ALLOW:
        raise Forbidden("not allowed to open an evaluation for this employee")
    await locks.ensure_open(ctx, await writable_cycle(ctx, data.cycle_id), [data.employee_id], rolls_up=False)
    if await repo.find_evaluation(ctx.session, ctx.org_id, data.employee_id, data.cycle_id) is not None:
        raise Conflict(
            "the employee already has an evaluation in this cycle",
            extra={"errors": [{"loc": ["body", "employee_id"], "msg": "already has one"}]},
        )
    ev = Evaluation(
        org_id=ctx.org_id, id=new_id(), employee_id=data.employee_id, cycle_id=data.cycle_id, status="not_started"
    )
    ctx.session.add(ev)
    await ctx.session.flush()
    await audit.record(ctx.session, ctx.principal, "evaluation.created", "evaluation", ev.id, None, snapshot(ev))
    return ev


async def selected_population(
    ctx: Ctx, cycle: Cycle, department_id: uuid.UUID | None, employee_ids: Sequence[uuid.UUID] | None
) -> list[Any]:
    """The scored employees of a cycle, narrowed to a department (sub-departments
    included) or to a list; 422 for unknown or unscored selections."""
    if employee_ids is not None:
        wanted = list(dict.fromkeys(employee_ids))
        known = await repo.rows_by_id(ctx.session, Employee, ctx.org_id, wanted)
        unknown = [str(e) for e in wanted if e not in known]
        if unknown:
            raise ValidationFailed(
                "unknown employees",
                errors=[{"loc": ["body", "employee_ids"], "msg": f"no such employee: {', '.join(unknown[:20])}"}],
            )
        rows = await scoring.population(ctx, cycle, wanted)
        missing = sorted(str(e) for e in set(wanted) - {r.id for r in rows})
        if missing:
            raise ValidationFailed(
                "employees outside the cycle",
                errors=[
                    {
                        "loc": ["body", "employee_ids"],
                        "msg": f"not employed during the cycle: {', '.join(missing[:20])}",
                    }
                ],
            )
        return rows
    rows = await scoring.population(ctx, cycle)
    if department_id is not None:
        from service.org.models import Department

        if await ctx.session.get(Department, (ctx.org_id, department_id)) is None:
            raise ValidationFailed.field("department_id", "no such department")
        deps = await repo.descendant_departments(ctx.session, ctx.org_id, department_id)
        rows = [r for r in rows if r.department_id in deps]
    return rows


async def bulk_create(ctx: Ctx, data: EvaluationBulkCreate) -> EvaluationBulkResult:
    """One evaluation per selected employee; existing ones are kept, so calling twice
    creates nothing new. Set-based: a constant number of queries."""
    require(policy.bulk_create_evaluations(ctx.principal), "evaluations")
    cycle = await writable_cycle(ctx, data.cycle_id)
    rows = await selected_population(ctx, cycle, data.department_id, data.employee_ids)
    ids = [r.id for r in rows]
    existing = await repo.evaluations_in_cycle(ctx.session, ctx.org_id, cycle.id, ids)
    await locks.ensure_open(ctx, cycle, [e for e in ids if e not in existing], rolls_up=False)
    now = utcnow()
    new_rows = [
        {
            "org_id": ctx.org_id,
            "id": new_id(),
            "employee_id": e,
            "cycle_id": cycle.id,
            "status": "not_started",
            "version": 1,
            "created_at": now,
            "updated_at": now,
        }
        for e in ids
        if e not in existing
    ]
    for chunk in repo.chunks(new_rows, 2000):
        await ctx.session.execute(insert(Evaluation), list(chunk))
    await audit.record_many(
        ctx.session,
        ctx.principal,
        "evaluation.created",
        "evaluation",
        [
            (r["id"], None, {"employee_id": str(r["employee_id"]), "cycle_id": str(cycle.id), "status": "not_started"})
            for r in new_rows
        ],
    )
    created = {r["employee_id"]: r["id"] for r in new_rows}
    return EvaluationBulkResult(
        created=len(new_rows),
        skipped=len(existing),
        evaluation_ids=[existing[e].id if e in existing else created[e] for e in ids],
    )


# --- drafts ------------------------------------------------------------------------------------


def _apply_self(ev: Evaluation, data: SelfReviewIn | None) -> None:
    if data is None:
        ev.self_rating = ev.self_comments = None
        return
    fields = data.model_dump(exclude_unset=True)
    if "rating" in fields:
        ev.self_rating = fields["rating"]
    if "comments" in fields:
        ev.self_comments = fields["comments"]


def _apply_manager(ev: Evaluation, data: ManagerReviewIn | None) -> None:
    if data is None:
        ev.manager_rating = ev.manager_comments = None
        ev.competencies = None
        return
    fields = data.model_dump(exclude_unset=True)
    if "rating" in fields:
        ev.manager_rating = fields["rating"]
    if "comments" in fields:
        ev.manager_comments = fields["comments"]
    if "competencies" in fields:
        ev.competencies = fields["competencies"]


async def self_draft(ctx: Ctx, ev: Evaluation, rel: Relation, cycle: Cycle, data: SelfReviewIn | None) -> None:
    require(policy.write_self_review(ctx.principal, rel), "evaluation")
    if ev.status != "not_started":
        raise Conflict("the self review is submitted and can no longer change", extra={"evaluation_status": ev.status})
    if data is not None:
        await check_rating(ctx, cycle, ev.employee_id, data.rating, ["self_review", "rating"])
    _apply_self(ev, data)


async def manager_draft(ctx: Ctx, ev: Evaluation, rel: Relation, cycle: Cycle, data: ManagerReviewIn | None) -> None:
    direct = await is_direct_manager(ctx, ev.employee_id)
    require(policy.write_manager_review(ctx.principal, rel, direct), "evaluation")
    if ev.manager_submitted_at is not None or ev.status not in ("not_started", "self_review"):
        raise Conflict(
            "the manager review is submitted and can no longer change", extra={"evaluation_status": ev.status}
        )
    if data is not None:
        await check_rating(ctx, cycle, ev.employee_id, data.rating, ["manager_review", "rating"])
        for n, comp in enumerate(data.competencies or []):
            await check_rating(ctx, cycle, ev.employee_id, comp.rating, ["manager_review", "competencies", n, "rating"])
    _apply_manager(ev, data)


async def update_evaluation(
    ctx: Ctx, eval_id: uuid.UUID, data: EvaluationUpdate, expected: IfMatch | None = None
) -> Evaluation:
    ev, rel = await visible(ctx, eval_id)
    changes = data.model_dump(exclude_unset=True)
    if "self_review" in changes:
        require(policy.write_self_review(ctx.principal, rel), "evaluation")
    if "manager_review" in changes:
        require(
            policy.write_manager_review(ctx.principal, rel, await is_direct_manager(ctx, ev.employee_id)), "evaluation"
        )
    cycle = await ensure_open(ctx, ev)
    check_version(expected, ev.version)
    before = snapshot(ev)
    if "self_review" in changes:
        await self_draft(ctx, ev, rel, cycle, data.self_review)
    if "manager_review" in changes:
        await manager_draft(ctx, ev, rel, cycle, data.manager_review)
    if changes:
        await ctx.session.flush()
        await audit.record(ctx.session, ctx.principal, "evaluation.updated", "evaluation", ev.id, before, snapshot(ev))
    return ev


# --- acknowledgement (shared by the workflow and the interviews) -----------------------------


def acknowledge_fields(ev: Evaluation, actor: str, comment: str | None, at: dt.datetime) -> None:
    ev.acknowledged_at, ev.acknowledged_by, ev.acknowledgement_comment = at, actor, comment


async def emit_acknowledged(ctx: Ctx, ev: Evaluation) -> None:
    await outbox.emit(
        ctx.session,
        ctx.org_id,
        "evaluation.acknowledged",
        EvaluationAcknowledged(
            evaluation_id=ev.id,
            employee_id=ev.employee_id,
            cycle_id=ev.cycle_id,
            acknowledged_at=ev.acknowledged_at,
            actor=ev.acknowledged_by,
        ),
    )
