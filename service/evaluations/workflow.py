"""The evaluation status machine of SPEC section 9 (see service/evaluations/service.py
for the states): each action, who may take it, the state it needs, and what it records
and emits (`evaluation.finalized`, `evaluation.acknowledged`)."""

from __future__ import annotations

import uuid

from service.auth.context import Ctx
from service.authz import policy
from service.authz.enforce import require
from service.authz.policy import Relation
from service.cycles.models import Cycle
from service.cycles.service import ensure_writable
from service.errors import Conflict, ValidationFailed
from service.evaluations.events import EvaluationFinalized, ManagerReviewSubmitted, SelfReviewSubmitted
from service.evaluations.interviews import sign_for_evaluation
from service.evaluations.models import Evaluation
from service.evaluations.schemas import EvaluationActionIn
from service.evaluations.service import (
    acknowledge_fields,
    check_rating,
    cycle_of,
    emit_acknowledged,
    ensure_open,
    is_direct_manager,
    manager_draft,
    self_draft,
    snapshot,
    visible,
)
from service.kit import audit, outbox
from service.kit.etag import IfMatch, check_version
from service.scoring import records
from service.scoring import service as scoring
from service.scoring.numbers import round_points
from service.types import utcnow

REQUIRES = {
    "submit_self": "not_started",
    "submit_manager": "self_review",
    "finalize": "calibrated",
    "acknowledge": "finalized",
}
TARGET = {
    "submit_self": "self_review",
    "submit_manager": "manager_review",
    "finalize": "finalized",
    "acknowledge": "acknowledged",
}


async def _authorize(ctx: Ctx, ev: Evaluation, rel: Relation, action: str) -> None:
    p = ctx.principal
    if action in ("submit_self", "acknowledge"):
        require(policy.write_self_review(p, rel), "evaluation")
    else:
        require(policy.write_manager_review(p, rel, await is_direct_manager(ctx, ev.employee_id)), "evaluation")


def _unexpected(body: EvaluationActionIn | None, allowed: str | None) -> None:
    if body is None:
        return
    for name in ("self_review", "manager_review", "comment"):
        if name != allowed and getattr(body, name) is not None:
            raise ValidationFailed.field(name, "not part of this action")


async def act(
    ctx: Ctx, eval_id: uuid.UUID, action: str, body: EvaluationActionIn | None = None, expected: IfMatch | None = None
) -> Evaluation:
    ev, rel = await visible(ctx, eval_id)
    await _authorize(ctx, ev, rel, action)
    if action in ("submit_self", "submit_manager"):  # the reviews are scoring inputs
        cycle = await ensure_open(ctx, ev)
    else:  # finalizing and acknowledging read the official result; a closed cycle is read-only
        cycle = await cycle_of(ctx, ev)
        ensure_writable(cycle)
    check_version(expected, ev.version)
    if ev.status != REQUIRES[action]:
        raise Conflict(
            f"cannot {action} an evaluation that is {ev.status}",
            extra={"evaluation_status": ev.status, "requires": REQUIRES[action]},
        )
    before = snapshot(ev)
    now = utcnow()
    if action == "submit_self":
        _unexpected(body, "self_review")
        if body is not None and body.self_review is not None:
            await self_draft(ctx, ev, rel, cycle, body.self_review)
        if ev.self_rating is None:
            raise ValidationFailed.field(["self_review", "rating"], "a self review needs a rating")
        await check_rating(ctx, cycle, ev.employee_id, ev.self_rating, ["self_review", "rating"])
        ev.self_submitted_at = now
    elif action == "submit_manager":
        _unexpected(body, "manager_review")
        if body is not None and body.manager_review is not None:
            await manager_draft(ctx, ev, rel, cycle, body.manager_review)
        if ev.manager_rating is None:
            raise ValidationFailed.field(["manager_review", "rating"], "a manager review needs a rating")
        await check_rating(ctx, cycle, ev.employee_id, ev.manager_rating, ["manager_review", "rating"])
        ev.manager_submitted_at, ev.manager_submitted_by = now, ctx.principal.actor
        ev.manager_reviewer_id = ctx.principal.employee_id
    elif action == "finalize":
        _unexpected(body, None)
        await _record_result(ctx, ev, cycle)
        ev.finalized_at, ev.finalized_by = now, ctx.principal.actor
    else:
        _unexpected(body, "comment")
        if not await sign_for_evaluation(ctx, ev, body.comment if body else None, now):
            raise Conflict(
                "there is no interview outcome to acknowledge yet",
                extra={"errors": [{"loc": ["evaluation"], "msg": "record an interview outcome first"}]},
            )
        acknowledge_fields(ev, ctx.principal.actor, body.comment if body else None, now)
    ev.status = TARGET[action]
    await ctx.session.flush()
    await audit.record(ctx.session, ctx.principal, f"evaluation.{action}", "evaluation", ev.id, before, snapshot(ev))
    if action == "finalize":
        await outbox.emit(
            ctx.session,
            ctx.org_id,
            "evaluation.finalized",
            EvaluationFinalized(
                evaluation_id=ev.id,
                employee_id=ev.employee_id,
                cycle_id=ev.cycle_id,
                final_score=ev.final_score,
                rating=ev.final_rating,
                actor=ctx.principal.actor,
            ),
        )
    elif action == "acknowledge":
        await emit_acknowledged(ctx, ev)
    else:
        review = SelfReviewSubmitted if action == "submit_self" else ManagerReviewSubmitted
        await outbox.emit(
            ctx.session,
            ctx.org_id,
            review.event_type,
            review(
                evaluation_id=ev.id,
                employee_id=ev.employee_id,
                cycle_id=ev.cycle_id,
                status=ev.status,
                submitted_at=now,
                actor=ctx.principal.actor,
            ),
        )
    return ev


async def _record_result(ctx: Ctx, ev: Evaluation, cycle: Cycle) -> None:
    """The score and rating at finalization (the calibrated result the interview
    discusses): the score of record, the same one the scores API and incentives read."""
    rows = await scoring.population(ctx, cycle, [ev.employee_id])
    if not rows:
        ev.final_score, ev.final_rating = None, None
        return
    result = (await records.official_or_live(ctx, cycle, rows))[0].result
    ev.final_score = round_points(result.final) if result.final is not None else None
    ev.final_rating = result.rating
