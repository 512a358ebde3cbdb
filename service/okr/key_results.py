"""Key results, their manual grade, and check-ins. A published objective's key results
may change, each change kept as a revision; once the objective is closed only a grade
may be given (SPEC section 4)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from service.auth.context import Ctx
from service.authz import policy
from service.authz.enforce import relation, require
from service.authz.policy import Relation
from service.cycles.service import descendant_ids
from service.errors import Conflict, DomainError, NotFound, ValidationFailed
from service.kit import audit, outbox
from service.kit.changes import refuse_nulls
from service.kit.etag import IfMatch, check_version
from service.kit.pagination import Page, PageParams, paginate
from service.okr import compute
from service.okr import repository as repo
from service.okr.events import CheckInCreated
from service.okr.models import CheckIn, KeyResult, Objective
from service.okr.schemas import (
    CheckInCreate,
    CheckInItem,
    KeyResultCreate,
    KeyResultRead,
    KeyResultUpdate,
    ObjectiveCreate,
    check_kind_fields,
)
from service.okr.service import (
    add_revision,
    create_objective,
    diff,
    ensure_editable,
    ensure_open,
    record_adjustment,
    referenced_objective,
    today,
    visible_objective,
)
from service.org.service import org_settings
from service.types import new_id, utcnow

CLOCK_SKEW = dt.timedelta(minutes=5)


def kr_snapshot(kr: KeyResult) -> dict[str, Any]:
    return {
        "objective_id": str(kr.objective_id),
        "title": kr.title,
        "description": kr.description,
        "kind": kr.kind,
        "start": _s(kr.start),
        "target": _s(kr.target),
        "unit": kr.unit,
        "weight": str(kr.weight),
        "milestones": kr.milestones,
        "owner_id": _s(kr.owner_id),
        "due_date": _s(kr.due_date),
        "measured_by_objective_id": _s(kr.measured_by_objective_id),
        "grade": _s(kr.grade),
        "grade_reason": kr.grade_reason,
    }


def _s(v: Any) -> str | None:
    return None if v is None else str(v)


def _milestones_json(milestones: list[Any] | None) -> list[dict[str, Any]] | None:
    if milestones is None:
        return None
    return [{"title": m.title, "weight": str(m.weight), "done": m.done} for m in milestones]


# --- reading --------------------------------------------------------------------------------


async def read_many(ctx: Ctx, krs: list[KeyResult]) -> list[KeyResultRead]:
    check_ins = await repo.check_ins_of(ctx.session, ctx.org_id, [k.id for k in krs])
    objectives = await repo.objectives_by_id(ctx.session, ctx.org_id, {k.objective_id for k in krs})
    cycles = await repo.cycles_by_id(ctx.session, ctx.org_id, {o.cycle_id for o in objectives.values()})
    day = await today(ctx)
    out = []
    for kr in krs:
        obj = objectives.get(kr.objective_id)
        view = compute.key_result_view(kr, check_ins.get(kr.id, []), cycles.get(obj.cycle_id) if obj else None, day)
        out.append(key_result_read(kr, view))
    return out


def key_result_read(kr: KeyResult, view: compute.KeyResultView) -> KeyResultRead:
    return KeyResultRead(
        id=kr.id,
        objective_id=kr.objective_id,
        title=kr.title,
        description=kr.description,
        kind=kr.kind,
        start=kr.start,
        target=kr.target,
        unit=kr.unit,
        direction=compute.direction(kr),
        weight=kr.weight,
        milestones=compute.milestones_out(kr),
        owner_id=kr.owner_id,
        due_date=kr.due_date,
        measured_by_objective_id=kr.measured_by_objective_id,
        current=view.current,
        done=view.done,
        progress=view.progress,
        score=view.score,
        pace=view.pace,
        status=view.status,
        confidence=view.confidence,
        last_checked_in_at=view.last_checked_in_at,
        grade=kr.grade,
        grade_reason=kr.grade_reason,
        graded_by=kr.graded_by,
        graded_at=kr.graded_at,
        created_at=kr.created_at,
        updated_at=kr.updated_at,
    )


async def read_one(ctx: Ctx, kr: KeyResult) -> KeyResultRead:
    return (await read_many(ctx, [kr]))[0]


async def visible_key_result(ctx: Ctx, kr_id: uuid.UUID) -> tuple[KeyResult, Objective, Relation]:
    kr = await repo.get_key_result(ctx.session, ctx.org_id, kr_id)
    if kr is None:
        raise NotFound("key result not found")
    try:
        obj, rel = await visible_objective(ctx, kr.objective_id)
    except NotFound:
        raise NotFound("key result not found") from None
    return kr, obj, rel


async def list_key_results(
    ctx: Ctx, params: PageParams, objective_id: uuid.UUID | None = None, owner_id: uuid.UUID | None = None
) -> Page[KeyResult]:
    """The key results of the objectives the caller may read; `owner_id` those a person
    owns (whatever objective they are on)."""
    require(policy.read_objectives(ctx.principal), "key results")
    stmt = repo.visible_key_results(ctx.org_id, ctx.principal)
    if objective_id is not None:
        await visible_objective(ctx, objective_id)
        stmt = stmt.where(KeyResult.objective_id == objective_id)
    if owner_id is not None:
        stmt = stmt.where(KeyResult.owner_id == owner_id)
    return await paginate(ctx.session, stmt, KeyResult.id, params)


async def get_key_result(ctx: Ctx, kr_id: uuid.UUID) -> KeyResult:
    return (await visible_key_result(ctx, kr_id))[0]


# --- writing -------------------------------------------------------------------------------


async def _check_owner(ctx: Ctx, owner_id: uuid.UUID | None) -> None:
    if owner_id is not None and not await repo.employee_exists(ctx.session, ctx.org_id, owner_id):
        raise ValidationFailed.field("owner_id", "no such employee")


async def _check_measured_by(ctx: Ctx, obj: Objective, child_id: uuid.UUID | None) -> None:
    """A key result is measured only by a child objective of its own objective (the
    child's `parent_id`), in the same cycle or a cycle nested in it: 422 otherwise, as
    for any reference the caller may not read."""
    if child_id is None:
        return
    field = "measured_by_objective_id"
    child = await referenced_objective(ctx, child_id, field)
    if child.parent_id != obj.id:
        raise ValidationFailed.field(field, "the measuring objective must be a child of this key result's objective")
    if child.cycle_id != obj.cycle_id and child.cycle_id not in await descendant_ids(ctx, obj.cycle_id):
        raise ValidationFailed.field(field, "the measuring objective must be in the same cycle or one nested in it")


async def _check_due_date(ctx: Ctx, obj: Objective, due: dt.date | None) -> None:
    """A due date falls within the objective's cycle (both ends included): a result due
    outside the period it is scored in says nothing about that period."""
    if due is None:
        return
    cycle = (await repo.cycles_by_id(ctx.session, ctx.org_id, [obj.cycle_id])).get(obj.cycle_id)
    if cycle is not None and not cycle.start_date <= due <= cycle.end_date:
        raise ValidationFailed.field(
            "due_date", f"the due date must fall within the cycle ({cycle.start_date} to {cycle.end_date})"
        )


async def create_key_result(ctx: Ctx, data: KeyResultCreate) -> KeyResult:
    require(policy.read_objectives(ctx.principal), "key results")
    obj = await referenced_objective(ctx, data.objective_id, "objective_id")
    require(policy.write_objective(ctx.principal, await relation(ctx, obj.owner_id)), "objective")
    await ensure_open(ctx, obj)
    ensure_editable(obj)
    await _check_owner(ctx, data.owner_id)
    await _check_due_date(ctx, obj, data.due_date)
    await _check_measured_by(ctx, obj, data.measured_by_objective_id)
    values = data.model_dump(exclude={"milestones"})
    kr = KeyResult(org_id=ctx.org_id, id=new_id(), milestones=_milestones_json(data.milestones), **values)
    ctx.session.add(kr)
    await ctx.session.flush()
    after = kr_snapshot(kr)
    if obj.status == "published":
        await record_adjustment(ctx, obj, "key_result.created", diff({}, after), key_result_id=kr.id)
    await audit.record(ctx.session, ctx.principal, "key_result.created", "key_result", kr.id, None, after)
    return kr


async def create_objective_with_key_results(ctx: Ctx, data: ObjectiveCreate) -> tuple[Objective, list[KeyResult]]:
    """An objective and the key results given with it, as if created one by one (the
    same checks, the same audit events), in the request's one transaction: a refusal of
    any of them refuses the whole call, and the request's rollback keeps nothing. The
    organization's `okr_max_krs` bounds the key results given at once (an objective
    created whole may not start over the limit its submit would refuse); `okr_min_krs`
    does not: a draft may gain key results later, and the submit's lint asks for them."""
    items = data.key_results or []
    obj = await create_objective(ctx, data)  # who may, first: the limit is no one else's business
    if items:
        limit = int((await org_settings(ctx))["okr_max_krs"])
        if len(items) > limit:
            raise ValidationFailed.field("key_results", f"an objective takes at most {limit} key results")
    created = []
    for i, item in enumerate(items):
        try:
            created.append(await create_key_result(ctx, KeyResultCreate(objective_id=obj.id, **item.model_dump())))
        except ValidationFailed as exc:
            raise _within(exc, ("key_results", i)) from None
    return obj, created


def _within(exc: ValidationFailed, at: tuple[str | int, ...]) -> ValidationFailed:
    """The refusal of one key result of a request, its fields located in the request's
    `key_results` list (["body", "key_results", 1, "owner_id"])."""
    errors = [{**e, "loc": ["body", *at, *list(e.get("loc", ()))[1:]]} for e in exc.extra.get("errors", [])]
    return ValidationFailed(exc.detail, errors=errors or [{"loc": ["body", *at], "msg": exc.detail}])


GRADE_FIELDS = frozenset({"grade", "grade_reason"})


async def update_key_result(
    ctx: Ctx, kr_id: uuid.UUID, data: KeyResultUpdate, expected: IfMatch | None = None
) -> KeyResult:
    kr, obj, rel = await visible_key_result(ctx, kr_id)
    changes = data.model_dump(exclude_unset=True)
    reason = changes.pop("reason", None)
    if GRADE_FIELDS & set(changes):
        return await _grade(ctx, kr, obj, rel, changes, reason, expected)
    require(policy.write_objective(ctx.principal, rel), "key result")
    check_version(expected, kr.version)
    await ensure_open(ctx, obj)
    ensure_editable(obj)
    refuse_nulls(changes, ("title", "weight"))
    merged = {"start": kr.start, "target": kr.target, **{k: changes[k] for k in ("start", "target") if k in changes}}
    milestones = data.milestones if "milestones" in changes else None
    try:
        check_kind_fields(
            kr.kind,
            merged["start"],
            merged["target"],
            milestones if "milestones" in changes else (kr.milestones or None),
        )
    except ValueError as exc:
        raise ValidationFailed.field("target" if kr.kind == "metric" else "milestones", str(exc)) from exc
    await _check_owner(ctx, changes.get("owner_id"))
    await _check_due_date(ctx, obj, changes.get("due_date"))
    await _check_measured_by(ctx, obj, changes.get("measured_by_objective_id"))
    before = kr_snapshot(kr)
    if "milestones" in changes:
        changes["milestones"] = _milestones_json(milestones)
    for key, value in changes.items():
        setattr(kr, key, value)
    await ctx.session.flush()
    after = kr_snapshot(kr)
    changed = diff(before, after)
    if changed and obj.status == "published":
        await record_adjustment(ctx, obj, "key_result.updated", changed, reason, key_result_id=kr.id)
    await audit.record(
        ctx.session, ctx.principal, "key_result.updated", "key_result", kr.id, before, after, reason=reason
    )
    return kr


async def _grade(
    ctx: Ctx,
    kr: KeyResult,
    obj: Objective,
    rel: Relation,
    changes: dict[str, Any],
    reason: str | None,
    expected: IfMatch | None,
) -> KeyResult:
    """A manual grade (0..1 with a reason) replaces the computed score; both stay visible."""
    require(policy.grade_key_result(ctx.principal, rel), "key result")
    check_version(expected, kr.version)
    await ensure_open(ctx, obj)
    if obj.status != "closed":
        raise Conflict("a key result is graded once its objective is closed", extra={"objective_status": obj.status})
    if set(changes) - GRADE_FIELDS:
        raise Conflict("a closed objective's key results take only a grade")
    if "grade" not in changes:
        raise ValidationFailed.field("grade", "give the grade along with its reason")
    grade: Decimal | None = changes["grade"]
    before = kr_snapshot(kr)
    kr.grade = grade
    kr.grade_reason = changes.get("grade_reason") if grade is not None else None
    kr.graded_by = ctx.principal.actor if grade is not None else None
    kr.graded_at = utcnow() if grade is not None else None
    await ctx.session.flush()
    after = kr_snapshot(kr)
    await add_revision(
        ctx, obj, "key_result.graded", diff(before, after), kr.grade_reason or reason, key_result_id=kr.id
    )
    await audit.record(
        ctx.session,
        ctx.principal,
        "key_result.graded",
        "key_result",
        kr.id,
        before,
        after,
        reason=kr.grade_reason or reason,
    )
    return kr


async def delete_key_result(ctx: Ctx, kr_id: uuid.UUID, expected: IfMatch | None = None) -> None:
    kr, obj, rel = await visible_key_result(ctx, kr_id)
    require(policy.write_objective(ctx.principal, rel), "key result")
    check_version(expected, kr.version)
    await ensure_open(ctx, obj)
    ensure_editable(obj)
    before = kr_snapshot(kr)
    removed = await repo.delete_key_result_rows(ctx.session, ctx.org_id, kr.id)
    await ctx.session.delete(kr)
    await ctx.session.flush()
    if obj.status == "published":
        await record_adjustment(ctx, obj, "key_result.deleted", diff(before, {}), key_result_id=kr_id)
    await audit.record(
        ctx.session,
        ctx.principal,
        "key_result.deleted",
        "key_result",
        kr_id,
        before,
        None,
        reason=f"{removed} check-ins removed with it" if removed else None,
    )


# --- check-ins ------------------------------------------------------------------------------


async def list_check_ins(ctx: Ctx, kr_id: uuid.UUID, params: PageParams) -> Page[CheckIn]:
    await visible_key_result(ctx, kr_id)
    return await paginate(ctx.session, repo.check_ins(ctx.org_id, kr_id), CheckIn.id, params)


def _check_in_fields(kr: KeyResult, data: CheckInCreate) -> None:
    if kr.kind == "metric":
        if data.value is None:
            raise ValidationFailed.field("value", "a metric key result's check-in needs a value")
        if data.done is not None or data.milestone is not None:
            raise ValidationFailed.field("done", "done applies to boolean and milestone key results")
        return
    if data.value is not None:
        raise ValidationFailed.field("value", "value applies to metric key results")
    if kr.kind == "boolean" and data.milestone is not None:
        raise ValidationFailed.field("milestone", "milestone applies to milestone key results")
    if kr.kind == "milestone":
        if (data.milestone is None) != (data.done is None):
            raise ValidationFailed.field("milestone", "give the milestone index together with done")
        if data.milestone is not None and data.milestone >= len(kr.milestones or []):
            raise ValidationFailed.field("milestone", "no such milestone")


async def create_check_in(ctx: Ctx, kr_id: uuid.UUID, data: CheckInCreate) -> CheckIn:
    kr, obj, rel = await visible_key_result(ctx, kr_id)
    kr_rel = await relation(ctx, kr.owner_id) if kr.owner_id is not None else Relation.OTHER
    require(policy.check_in(ctx.principal, rel, kr_rel), "key result")
    await ensure_open(ctx, obj)
    if obj.status == "closed":
        raise Conflict("the objective is closed and read-only")
    _check_in_fields(kr, data)
    now = utcnow()
    at = data.checked_in_at or now
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    if at > now + CLOCK_SKEW:
        raise ValidationFailed.field("checked_in_at", "a check-in cannot be in the future")
    check_in = CheckIn(
        org_id=ctx.org_id,
        id=new_id(),
        key_result_id=kr.id,
        value=data.value,
        done=data.done,
        milestone=data.milestone,
        confidence=data.confidence,
        status=data.status,
        note=data.note,
        author=ctx.principal.actor,
        author_employee_id=ctx.principal.employee_id,
        checked_in_at=at,
        created_at=now,
    )
    ctx.session.add(check_in)
    if kr.kind == "milestone" and data.milestone is not None:
        milestones = [dict(m) for m in kr.milestones or []]
        milestones[data.milestone]["done"] = bool(data.done)
        kr.milestones = milestones
    await ctx.session.flush()
    event = CheckInCreated(
        check_in_id=check_in.id,
        key_result_id=kr.id,
        objective_id=obj.id,
        owner_id=obj.owner_id,
        value=check_in.value,
        done=check_in.done,
        milestone=check_in.milestone,
        confidence=check_in.confidence,
        status=check_in.status,
        checked_in_at=at,
        author=check_in.author,
    )
    await outbox.emit(ctx.session, ctx.org_id, "checkin.created", event)
    payload = event.dump()
    await audit.record(
        ctx.session,
        ctx.principal,
        "check_in.created",
        "check_in",
        check_in.id,
        None,
        {**payload, "note": check_in.note},
    )
    return check_in


async def create_check_ins(ctx: Ctx, items: Sequence[CheckInItem]) -> list[CheckIn]:
    """Several check-ins in the request's one transaction, each made (and refused) exactly
    as `create_check_in` makes a single one: the same authorization, audit event and
    `checkin.created` outbox event apiece. The first refusal refuses them all, with its
    own status and the item's index (`item_index`; a 422 locates its fields in
    `["body", "items", i, ...]`), and the request's rollback keeps none."""
    made = []
    for i, item in enumerate(items):
        try:
            made.append(
                await create_check_in(
                    ctx, item.key_result_id, CheckInCreate(**item.model_dump(exclude={"key_result_id"}))
                )
            )
        except ValidationFailed as exc:
            refused = _within(exc, ("items", i))
            refused.extra["item_index"] = i
            raise refused from None
        except DomainError as exc:
            exc.extra["item_index"] = i
            raise
    return made
