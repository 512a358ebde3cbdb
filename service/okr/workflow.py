"""The objective workflow of SPEC section 9 (draft → submitted → approved, or rejected
back to draft with a comment → published → closed) and the lint that guards submit."""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy import select

from service.auth.context import Ctx
from service.authz import policy
from service.authz.enforce import relation, require
from service.cycles.models import Cycle
from service.cycles.service import on_transition
from service.errors import Conflict, ValidationFailed
from service.kit import audit, outbox
from service.kit.etag import IfMatch, check_version
from service.okr import lint as rules
from service.okr import repository as repo
from service.okr.events import (
    ObjectiveApproved,
    ObjectiveChange,
    ObjectiveClosed,
    ObjectivePublished,
    ObjectiveRejected,
    ObjectiveSubmitted,
)
from service.okr.models import KeyResult, Objective
from service.okr.schemas import LintRequest
from service.okr.service import (
    add_revision,
    ensure_open,
    objective_fields,
    objective_snapshot,
    visible_objective,
)
from service.org.service import org_settings

# action → (from, to, past tense for history and audit)
TRANSITIONS: dict[str, tuple[str, str, str]] = {
    "submit": ("draft", "submitted", "submitted"),
    "approve": ("submitted", "approved", "approved"),
    "reject": ("submitted", "draft", "rejected"),
    "publish": ("approved", "published", "published"),
    "close": ("published", "closed", "closed"),
}
# action → the event every step emits, in the transaction that takes it
EVENTS: dict[str, type[ObjectiveChange]] = {
    "submit": ObjectiveSubmitted,
    "approve": ObjectiveApproved,
    "reject": ObjectiveRejected,
    "publish": ObjectivePublished,
    "close": ObjectiveClosed,
}


async def act(
    ctx: Ctx, objective_id: uuid.UUID, action: str, comment: str | None = None, expected: IfMatch | None = None
) -> Objective:
    obj, rel = await visible_objective(ctx, objective_id)
    require(policy.objective_action(ctx.principal, rel, action), "objective")
    check_version(expected, obj.version)
    source, target, past = TRANSITIONS[action]
    await ensure_open(ctx, obj)
    if obj.status != source:
        raise Conflict(
            f"cannot {action} an objective that is {obj.status}",
            extra={"objective_status": obj.status, "requires": source},
        )
    comment = (comment or "").strip() or None
    if action == "reject" and comment is None:
        raise ValidationFailed.field("comment", "a rejection needs a comment")
    if action == "submit":
        findings = await lint_saved(ctx, obj)
        if rules.has_errors(findings):
            problems = [f.as_dict() for f in findings]
            raise ValidationFailed(
                "the objective has lint errors",
                errors=[
                    {"loc": ["objective", *f.path], "msg": f.message} for f in findings if f.severity == rules.ERROR
                ],
                extra={"findings": problems},
            )
    supports = (await repo.supports_of(ctx.session, ctx.org_id, [obj.id])).get(obj.id, [])
    before = objective_snapshot(obj, supports)
    obj.status = target
    if action == "reject":
        obj.rejection_comment = comment
    elif action == "approve":
        obj.rejection_comment = None
    await ctx.session.flush()
    await add_revision(ctx, obj, past, {"status": {"before": source, "after": target}}, comment)
    await _emit(ctx, action, obj)
    await audit.record(
        ctx.session,
        ctx.principal,
        f"objective.{past}",
        "objective",
        obj.id,
        before,
        objective_snapshot(obj, supports),
        reason=comment,
    )
    return obj


async def _emit(ctx: Ctx, action: str, obj: Objective) -> None:
    event = EVENTS[action]
    extra = {"comment": obj.rejection_comment} if action == "reject" else {}
    await outbox.emit(ctx.session, ctx.org_id, event.event_type, event(**objective_fields(ctx, obj), **extra))


@on_transition
async def close_with_cycle(ctx: Ctx, cycle: Cycle, to: str) -> None:
    """When a cycle enters calibration its OKRs are final: objectives still published are
    closed (so they can be graded, and none is left open in a cycle that will close). A
    cycle closed with its parent, which never went through calibration, closes them then."""
    if to not in ("calibration", "closed"):
        return
    rows = (
        (
            await ctx.session.execute(
                select(Objective)
                .where(Objective.org_id == ctx.org_id, Objective.cycle_id == cycle.id, Objective.status == "published")
                .order_by(Objective.id)
            )
        )
        .scalars()
        .all()
    )
    changes = []
    for obj in rows:
        obj.status = "closed"
        changes.append((obj.id, {"status": "published"}, {"status": "closed"}))
    await ctx.session.flush()
    reason = f"cycle {cycle.name} entered calibration" if to == "calibration" else f"cycle {cycle.name} closed"
    for obj in rows:
        await add_revision(ctx, obj, "closed", {"status": {"before": "published", "after": "closed"}}, reason)
        await _emit(ctx, "close", obj)
    await audit.record_many(ctx.session, ctx.principal, "objective.closed", "objective", changes)


# --- lint -------------------------------------------------------------------------------------


async def _limits(ctx: Ctx) -> rules.LintLimits:
    s = await org_settings(ctx)
    return rules.LintLimits(
        min_krs=int(s["okr_min_krs"]),
        max_krs=int(s["okr_max_krs"]),
        max_objectives=int(s["okr_max_objectives"]),
        check_in_cadence_days=int(s["check_in_cadence_days"]),
    )


async def _cycle_days(ctx: Ctx, cycle_id: uuid.UUID | None) -> int | None:
    """The cycle's length in days, both ends included (None: no such cycle)."""
    if cycle_id is None:
        return None
    cycle = (await repo.cycles_by_id(ctx.session, ctx.org_id, [cycle_id])).get(cycle_id)
    return None if cycle is None else (cycle.end_date - cycle.start_date).days + 1


def _kr_facts(kr: KeyResult) -> rules.LintKeyResult:
    return rules.LintKeyResult(
        title=kr.title,
        kind=kr.kind,
        start=kr.start,
        target=kr.target,
        weight=kr.weight,
        milestone_weights=tuple(Decimal(str(m["weight"])) for m in (kr.milestones or [])),
        due_date=kr.due_date,
    )


async def lint_saved(ctx: Ctx, obj: Objective) -> list[rules.Finding]:
    krs = (await repo.key_results_of(ctx.session, ctx.org_id, [obj.id])).get(obj.id, [])
    supports = (await repo.supports_of(ctx.session, ctx.org_id, [obj.id])).get(obj.id, [])
    facts = rules.LintObjective(
        level=obj.level,
        weight=obj.weight,
        has_parent=obj.parent_id is not None,
        supports_count=len(supports),
        key_results=tuple(_kr_facts(k) for k in krs),
        cycle_days=await _cycle_days(ctx, obj.cycle_id),
    )
    count = await repo.count_owner_objectives(ctx.session, ctx.org_id, obj.owner_id, obj.cycle_id)
    return rules.lint(facts, await _limits(ctx), count)


async def lint_request(ctx: Ctx, body: LintRequest) -> list[rules.Finding]:
    require(policy.read_objectives(ctx.principal), "objectives")
    if body.objective_id is not None:
        obj, _ = await visible_objective(ctx, body.objective_id)
        return await lint_saved(ctx, obj)
    facts = rules.LintObjective(
        level=body.level or "individual",
        weight=body.weight,
        has_parent=body.parent_id is not None,
        supports_count=len(set(body.supports)),
        key_results=tuple(
            rules.LintKeyResult(
                title=kr.title,
                kind=kr.kind,
                start=kr.start,
                target=kr.target,
                weight=kr.weight,
                milestone_weights=tuple(m.weight for m in (kr.milestones or [])),
                due_date=kr.due_date,
            )
            for kr in body.key_results
        ),
        cycle_days=await _cycle_days(ctx, body.cycle_id),
    )
    count = None
    # The owner's count is shown only to someone who may plan for that owner: a number
    # of someone else's (possibly private) objectives is not theirs to learn.
    if (
        body.owner_id is not None
        and body.cycle_id is not None
        and policy.write_objective(ctx.principal, await relation(ctx, body.owner_id)).allowed
    ):
        count = await repo.count_owner_objectives(ctx.session, ctx.org_id, body.owner_id, body.cycle_id) + 1
    return rules.lint(facts, await _limits(ctx), count)
