"""Objective use cases: create, read, list, edit, delete, alignment and history, plus
the helpers the key-result and workflow use cases share. Services flush, never commit;
REST and GraphQL both call them."""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from service.auth.context import Ctx
from service.authz import policy
from service.authz.enforce import relation, require
from service.authz.policy import Relation
from service.cycles.models import Cycle
from service.cycles.service import load_cycle, writable_cycle
from service.errors import Conflict, NotFound, ValidationFailed
from service.kit import audit, hierarchy, outbox, search
from service.kit.changes import audited, refuse_nulls
from service.kit.etag import IfMatch, check_version
from service.kit.pagination import Page, PageParams, Sorting, SortKey, paginate
from service.okr import compute, rollup
from service.okr import repository as repo
from service.okr.events import ObjectiveAdjusted
from service.okr.models import CheckIn, KeyResult, Objective, ObjectiveRevision
from service.okr.schemas import (
    AlignmentNode,
    AlignmentRead,
    ObjectiveCreate,
    ObjectiveRead,
    ObjectiveUpdate,
)
from service.org.models import Department, Organization
from service.scoring import locks
from service.types import new_id, utcnow

EDITABLE = frozenset({"draft", "published"})
MAX_ALIGNMENT_DEPTH = 20


# --- shared helpers ----------------------------------------------------------------------


async def today(ctx: Ctx) -> dt.date:
    """Today in the organization's time zone (pace is measured in the org's days)."""
    org = await ctx.session.get(Organization, ctx.org_id)
    try:
        tz = zoneinfo.ZoneInfo(org.timezone) if org else dt.UTC
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        tz = dt.UTC
    return utcnow().astimezone(tz).date()


async def reader(ctx: Ctx) -> Callable[[Objective], bool]:
    """A predicate for `policy.read_objective`, with the caller's reports loaded once."""
    reports = await ctx.reports() if ctx.principal.employee_id and not ctx.principal.is_client else frozenset()

    def can_read(obj: Objective) -> bool:
        rel = policy.relation_to(ctx.principal, obj.owner_id, reports)
        return policy.read_objective(ctx.principal, rel, obj.visibility).allowed

    return can_read


async def visible_objective(ctx: Ctx, objective_id: uuid.UUID) -> tuple[Objective, Relation]:
    """The objective and how the caller stands to its owner; 404 when they may not see it."""
    obj = await repo.get_objective(ctx.session, ctx.org_id, objective_id)
    if obj is None:
        raise NotFound("objective not found")
    rel = await relation(ctx, obj.owner_id)
    require(policy.read_objective(ctx.principal, rel, obj.visibility), "objective")
    return obj, rel


async def referenced_objective(ctx: Ctx, objective_id: uuid.UUID, field: str | list[str | int]) -> Objective:
    """An objective named in a request body: 422 when unknown or not visible (never 403,
    so a private objective's existence does not leak)."""
    obj = await repo.get_objective(ctx.session, ctx.org_id, objective_id)
    if obj is None or not (await reader(ctx))(obj):
        raise ValidationFailed.field(field, "no such objective")
    return obj


def ensure_editable(obj: Objective) -> None:
    if obj.status == "closed":
        raise Conflict("the objective is closed and read-only")
    if obj.status not in EDITABLE:
        raise Conflict(
            f"the objective is {obj.status}: reject it back to draft to change it",
            extra={"objective_status": obj.status},
        )


async def objective_cycle(ctx: Ctx, obj: Objective) -> Cycle:
    cycle = await load_cycle(ctx, obj.cycle_id)
    assert cycle is not None  # a foreign key guarantees it
    return cycle


async def ensure_open(ctx: Ctx, obj: Objective) -> None:
    """An objective and its key results are inputs of the owner's score: 409
    `cycle_locked` once the cycle (or one it is nested in) is closed or the owner's
    result there is official (service/scoring/locks.py)."""
    await locks.ensure_open(ctx, await objective_cycle(ctx, obj), [obj.owner_id])


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    return {
        k: {"before": before.get(k), "after": after.get(k)}
        for k in sorted(set(before) | set(after))
        if before.get(k) != after.get(k)
    }


async def add_revision(
    ctx: Ctx,
    obj: Objective,
    action: str,
    changes: dict[str, Any],
    reason: str | None = None,
    key_result_id: uuid.UUID | None = None,
) -> None:
    ctx.session.add(
        ObjectiveRevision(
            org_id=ctx.org_id,
            id=new_id(),
            objective_id=obj.id,
            key_result_id=key_result_id,
            action=action,
            changes=changes,
            reason=reason,
            actor=ctx.principal.actor,
            actor_employee_id=None if ctx.principal.is_client else ctx.principal.employee_id,
            at=utcnow(),
        )
    )
    await ctx.session.flush()


def objective_fields(ctx: Ctx, obj: Objective) -> dict[str, Any]:
    """The fields every objective event shares: the objective as it is now, and the actor."""
    return {
        "objective_id": obj.id,
        "owner_id": obj.owner_id,
        "cycle_id": obj.cycle_id,
        "level": obj.level,
        "type": obj.type,
        "title": obj.title,
        "status": obj.status,
        "actor": ctx.principal.actor,
    }


async def record_adjustment(
    ctx: Ctx,
    obj: Objective,
    change: str,
    changed: dict[str, Any],
    reason: str | None = None,
    key_result_id: uuid.UUID | None = None,
) -> None:
    """A published objective changed: the revision in its history and the
    `objective.adjusted` event, so followers of a commitment learn that it moved."""
    await add_revision(ctx, obj, change, changed, reason, key_result_id=key_result_id)
    extra = {"key_result_id": key_result_id} if key_result_id is not None else {}
    await outbox.emit(
        ctx.session,
        ctx.org_id,
        ObjectiveAdjusted.event_type,
        ObjectiveAdjusted(
            **objective_fields(ctx, obj), change=change, changed_fields=sorted(changed), reason=reason, **extra
        ),
    )


def objective_snapshot(obj: Objective, supports: Sequence[uuid.UUID]) -> dict[str, Any]:
    """The objective's own fields, JSON-ready (audit and revisions)."""
    return {
        "title": obj.title,
        "description": obj.description,
        "level": obj.level,
        "owner_id": str(obj.owner_id),
        "department_id": _s(obj.department_id),
        "cycle_id": str(obj.cycle_id),
        "type": obj.type,
        "parent_id": _s(obj.parent_id),
        "supports": sorted(str(s) for s in supports),
        "weight": str(obj.weight),
        "perspective": obj.perspective,
        "visibility": obj.visibility,
        "progress_source": obj.progress_source,
        "status": obj.status,
    }


def _s(v: Any) -> str | None:
    return None if v is None else str(v)


# --- reading with computed fields -----------------------------------------------------------


@dataclass
class Loaded:
    """What computing a set of objectives needs, fetched set-wise (a constant number of
    queries whatever the number of objectives)."""

    key_results: dict[uuid.UUID, list[KeyResult]]
    check_ins: dict[uuid.UUID, list[CheckIn]]
    cycles: dict[uuid.UUID, Cycle]
    supports: dict[uuid.UUID, list[uuid.UUID]]
    today: dt.date


async def load_for(ctx: Ctx, objectives: Iterable[Objective]) -> Loaded:
    objs = list(objectives)
    ids = [o.id for o in objs]
    krs = await repo.key_results_of(ctx.session, ctx.org_id, ids)
    check_ins = await repo.check_ins_of(ctx.session, ctx.org_id, [kr.id for v in krs.values() for kr in v])
    cycles = await repo.cycles_by_id(ctx.session, ctx.org_id, {o.cycle_id for o in objs})
    supports = await repo.supports_of(ctx.session, ctx.org_id, ids)
    return Loaded(krs, check_ins, cycles, supports, await today(ctx))


def view_of(obj: Objective, loaded: Loaded) -> compute.ObjectiveView:
    return compute.objective_view(
        obj, loaded.key_results.get(obj.id, []), loaded.check_ins, loaded.cycles.get(obj.cycle_id), loaded.today
    )


def rollup_of(
    objectives: Iterable[Objective], loaded: Loaded, children: Mapping[uuid.UUID, Sequence[uuid.UUID]]
) -> dict[uuid.UUID, Decimal | None]:
    """Rolled-up progress (4 places) of `objectives`, over the `children` edges given
    (the tree being shown); a key result measured by an objective outside the set keeps
    its own progress."""
    nodes = {
        o.id: rollup.Node(
            weight=o.weight,
            source=o.progress_source,
            key_results=tuple(
                rollup.KrPart(
                    weight=kr.weight,
                    progress=compute.kr_progress(kr, loaded.check_ins.get(kr.id, [])),
                    measured_by=kr.measured_by_objective_id,
                )
                for kr in loaded.key_results.get(o.id, [])
            ),
            children=tuple(children.get(o.id, ())),
        )
        for o in objectives
    }
    return rollup.rounded(rollup.rolled_up(nodes))


def objective_read(obj: Objective, loaded: Loaded) -> ObjectiveRead:
    view = view_of(obj, loaded)
    return ObjectiveRead(
        id=obj.id,
        title=obj.title,
        description=obj.description,
        level=obj.level,
        owner_id=obj.owner_id,
        department_id=obj.department_id,
        cycle_id=obj.cycle_id,
        type=obj.type,
        parent_id=obj.parent_id,
        supports=loaded.supports.get(obj.id, []),
        weight=obj.weight,
        perspective=obj.perspective,
        visibility=obj.visibility,
        progress_source=obj.progress_source,
        status=obj.status,
        rejection_comment=obj.rejection_comment,
        score=view.score,
        progress=view.progress,
        pace=view.pace,
        flags=list(view.flags),
        created_at=obj.created_at,
        updated_at=obj.updated_at,
    )


async def read_many(ctx: Ctx, objectives: Sequence[Objective]) -> list[ObjectiveRead]:
    loaded = await load_for(ctx, objectives)
    return [objective_read(o, loaded) for o in objectives]


async def read_one(ctx: Ctx, obj: Objective) -> ObjectiveRead:
    return (await read_many(ctx, [obj]))[0]


# --- objectives -----------------------------------------------------------------------------


OBJECTIVE_SORT = Sorting(
    SortKey("title", Objective.title),
    SortKey("status", Objective.status),
    SortKey("level", Objective.level),
    SortKey("type", Objective.type),
    SortKey("perspective", Objective.perspective, nullable=True),
    SortKey("weight", Objective.weight, "decimal"),
    SortKey("created_at", Objective.created_at, "datetime"),
    SortKey("updated_at", Objective.updated_at, "datetime"),
)
MAX_OWNERS = 50


async def list_objectives(
    ctx: Ctx,
    params: PageParams,
    *,
    cycle_id: uuid.UUID | None = None,
    owner_id: uuid.UUID | Sequence[uuid.UUID] | None = None,
    status: str | None = None,
    level: str | None = None,
    department_id: uuid.UUID | None = None,
    parent_id: uuid.UUID | None = None,
    perspective: str | None = None,
    manager_id: uuid.UUID | None = None,
    subtree: bool = False,
    q: str | None = None,
    sort: str | Sequence[str] | None = None,
    include_child_cycles: bool = False,
) -> Page[Objective]:
    """The objectives the caller may read (`repo.visible_objectives`), narrowed by the
    filters: `owner_id` one or several owners (any of them; none given, no filter),
    `manager_id` (with `subtree`) objectives owned by that manager's reports, `q` words
    of the title, `include_child_cycles` the objectives of `cycle_id` and of every cycle
    nested in it. A filter never shows what the caller could not list without it."""
    require(policy.read_objectives(ctx.principal), "objectives")
    hierarchy.check_people_filter(manager_id, subtree)
    words = search.terms(q)
    spec = OBJECTIVE_SORT.parse(sort)
    stmt = repo.visible_objectives(ctx.org_id, ctx.principal)
    cycles = hierarchy.in_cycles(Objective.cycle_id, ctx.org_id, cycle_id, include_child_cycles)
    if cycles is not None:
        stmt = stmt.where(cycles)
    for column, value in (
        (Objective.status, status),
        (Objective.level, level),
        (Objective.department_id, department_id),
        (Objective.parent_id, parent_id),
        (Objective.perspective, perspective),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if isinstance(owner_id, uuid.UUID):
        stmt = stmt.where(Objective.owner_id == owner_id)
    elif owner_id:
        owners = list(dict.fromkeys(owner_id))
        if len(owners) > MAX_OWNERS:
            msg = f"at most {MAX_OWNERS} owners"
            raise ValidationFailed(msg, errors=[{"loc": ["query", "owner_id"], "msg": msg}])
        stmt = stmt.where(Objective.owner_id.in_(owners))
    people = hierarchy.people(ctx.org_id, manager_id=manager_id, subtree=subtree)
    if people is not None:
        stmt = stmt.where(Objective.owner_id.in_(people))
    if words:
        stmt = stmt.where(search.matches(Objective.title, words))
    return await paginate(ctx.session, stmt, Objective.id, params, sort=spec)


async def get_objective(ctx: Ctx, objective_id: uuid.UUID) -> Objective:
    return (await visible_objective(ctx, objective_id))[0]


async def _check_refs(ctx: Ctx, obj_id: uuid.UUID | None, values: dict[str, Any]) -> None:
    """References of a create or an update: 422 for unknown ones, and no alignment link
    may lead back to the objective itself (directly or through parents and supports)."""
    if (
        values.get("department_id") is not None
        and await ctx.session.get(Department, (ctx.org_id, values["department_id"])) is None
    ):
        raise ValidationFailed.field("department_id", "no such department")
    if "owner_id" in values and not await repo.employee_exists(ctx.session, ctx.org_id, values["owner_id"]):
        raise ValidationFailed.field("owner_id", "no such employee")
    parent_id = values.get("parent_id")
    supports = list(values.get("supports") or [])
    if parent_id is not None:
        await referenced_objective(ctx, parent_id, "parent_id")
    for i, sid in enumerate(supports):
        await referenced_objective(ctx, sid, ["supports", i])
    if obj_id is None:
        return  # a new objective has nothing aligned to it yet, so it cannot close a loop
    for field, targets in (("parent_id", [parent_id] if parent_id else []), ("supports", supports)):
        if obj_id in targets:
            raise ValidationFailed.field(field, "an objective cannot align to itself")
        if targets and obj_id in await repo.contributes_to(ctx.session, ctx.org_id, targets):
            raise ValidationFailed.field(field, "this link would make an alignment cycle")


async def create_objective(ctx: Ctx, data: ObjectiveCreate) -> Objective:
    require(policy.read_objectives(ctx.principal), "objectives")
    require(policy.write_objective(ctx.principal, await relation(ctx, data.owner_id)), "objectives")
    values = data.model_dump(exclude={"key_results"})
    supports = list(dict.fromkeys(values.pop("supports")))
    await locks.ensure_open(ctx, await writable_cycle(ctx, data.cycle_id), [data.owner_id])
    await _check_refs(ctx, None, {**values, "supports": supports})
    obj = Objective(org_id=ctx.org_id, id=new_id(), status="draft", **values)
    ctx.session.add(obj)
    await ctx.session.flush()
    if supports:
        await repo.replace_supports(ctx.session, ctx.org_id, obj.id, supports)
    await audit.record(
        ctx.session, ctx.principal, "objective.created", "objective", obj.id, None, objective_snapshot(obj, supports)
    )
    return obj


REQUIRED = ("title", "level", "owner_id", "cycle_id", "type", "weight", "visibility", "progress_source")


async def _due_dates_fit(ctx: Ctx, obj: Objective, cycle: Cycle) -> None:
    """An objective moves to another cycle only if its key results' due dates fall
    within it (a due date is always within its objective's cycle)."""
    krs = (await repo.key_results_of(ctx.session, ctx.org_id, [obj.id])).get(obj.id, [])
    outside = [k for k in krs if k.due_date is not None and not cycle.start_date <= k.due_date <= cycle.end_date]
    if outside:
        raise ValidationFailed.field(
            "cycle_id",
            f"{len(outside)} key result(s) are due outside the cycle ({cycle.start_date} to {cycle.end_date}); "
            "change or clear their due dates first",
        )


async def update_objective(
    ctx: Ctx, objective_id: uuid.UUID, data: ObjectiveUpdate, expected: IfMatch | None = None
) -> Objective:
    obj, rel = await visible_objective(ctx, objective_id)
    require(policy.write_objective(ctx.principal, rel), "objective")
    check_version(expected, obj.version)
    await ensure_open(ctx, obj)
    ensure_editable(obj)
    changes = data.model_dump(exclude_unset=True)
    reason = changes.pop("reason", None)
    refuse_nulls(changes, REQUIRED)
    if "owner_id" in changes and changes["owner_id"] != obj.owner_id:
        require(policy.write_objective(ctx.principal, await relation(ctx, changes["owner_id"])), "objective")
    moved_to = changes.get("cycle_id") or obj.cycle_id
    if moved_to != obj.cycle_id or changes.get("owner_id") not in (None, obj.owner_id):
        target = await writable_cycle(ctx, moved_to)
        await locks.ensure_open(ctx, target, [changes.get("owner_id") or obj.owner_id])
        if moved_to != obj.cycle_id:
            await _due_dates_fit(ctx, obj, target)
    if "supports" in changes:
        changes["supports"] = list(dict.fromkeys(changes["supports"] or []))
    await _check_refs(ctx, obj.id, changes)
    old_supports = (await repo.supports_of(ctx.session, ctx.org_id, [obj.id])).get(obj.id, [])
    before = objective_snapshot(obj, old_supports)
    new_supports = changes.pop("supports", None)
    for key, value in changes.items():
        setattr(obj, key, value)
    if new_supports is not None and set(new_supports) != set(old_supports):
        await repo.replace_supports(ctx.session, ctx.org_id, obj.id, new_supports)
        obj.updated_at = utcnow()  # a links-only change still makes a new version (ETag)
    await ctx.session.flush()
    after = objective_snapshot(obj, new_supports if new_supports is not None else old_supports)
    changed = diff(before, after)
    if changed and obj.status == "published":
        await record_adjustment(ctx, obj, "updated", changed, reason)
    await audit.record(
        ctx.session, ctx.principal, "objective.updated", "objective", obj.id, before, after, reason=reason
    )
    return obj


async def delete_objective(ctx: Ctx, objective_id: uuid.UUID, expected: IfMatch | None = None) -> None:
    obj, rel = await visible_objective(ctx, objective_id)
    require(policy.write_objective(ctx.principal, rel), "objective")
    supports = (await repo.supports_of(ctx.session, ctx.org_id, [obj.id])).get(obj.id, [])
    async with audited(ctx, obj, "objective.deleted", lambda o: objective_snapshot(o, supports), expected):
        await ensure_open(ctx, obj)
        if obj.status != "draft":
            raise Conflict(
                f"only drafts can be deleted; this objective is {obj.status}", extra={"objective_status": obj.status}
            )
        if await repo.is_aligned_to(ctx.session, ctx.org_id, obj.id):
            raise Conflict("other objectives align to this one; move them first")
        await repo.unlink_measured_by(ctx.session, ctx.org_id, obj.id)
        await repo.delete_objective_rows(ctx.session, ctx.org_id, obj.id)
        await ctx.session.delete(obj)


# --- alignment and history ------------------------------------------------------------------


async def alignment(ctx: Ctx, objective_id: uuid.UUID) -> AlignmentRead:
    """Up through parents, down through children and supporters (breadth first, each
    objective once, bounded depth), with what the caller may not see left out."""
    root, _ = await visible_objective(ctx, objective_id)
    can_read = await reader(ctx)
    seen: dict[uuid.UUID, Objective] = {root.id: root}

    parents: list[Objective] = []
    node = root
    while node.parent_id is not None and len(parents) < MAX_ALIGNMENT_DEPTH:
        parent = await repo.get_objective(ctx.session, ctx.org_id, node.parent_id)
        if parent is None or parent.id in seen or not can_read(parent):
            break
        parents.append(parent)
        seen[parent.id] = parent
        node = parent

    supported_ids = (await repo.supports_of(ctx.session, ctx.org_id, [root.id])).get(root.id, [])
    supported = [
        o for o in (await repo.objectives_by_id(ctx.session, ctx.org_id, supported_ids)).values() if can_read(o)
    ]

    below: dict[uuid.UUID, tuple[list[uuid.UUID], list[uuid.UUID]]] = {}  # id → (children, supporters)
    placed: set[uuid.UUID] = {root.id}
    frontier = [root.id]
    for _ in range(MAX_ALIGNMENT_DEPTH):
        if not frontier:
            break
        children = await repo.children_of(ctx.session, ctx.org_id, frontier)
        supporters = await repo.supporters_of(ctx.session, ctx.org_id, frontier)
        rows = {c.id: c for c in children}
        rows.update(
            await repo.objectives_by_id(
                ctx.session, ctx.org_id, {s for v in supporters.values() for s in v} - set(rows)
            )
        )
        nxt: list[uuid.UUID] = []
        for fid in frontier:
            kids: list[uuid.UUID] = []
            backers: list[uuid.UUID] = []
            candidates = [(c.id, kids) for c in sorted(children, key=lambda c: c.id) if c.parent_id == fid]
            candidates += [(s, backers) for s in supporters.get(fid, [])]
            for cid, bucket in candidates:
                row = rows.get(cid)
                if row is None or cid in placed or not can_read(row):
                    continue
                placed.add(cid)
                seen[cid] = row
                bucket.append(cid)
                nxt.append(cid)
            below[fid] = (kids, backers)
        frontier = nxt

    for o in supported:
        seen.setdefault(o.id, o)
    loaded = await load_for(ctx, seen.values())
    rolled = rollup_of((seen[i] for i in placed), loaded, {k: v[0] for k, v in below.items()})

    def make(o: Objective, nested: bool) -> AlignmentNode:
        view = view_of(o, loaded)
        kids, backers = below.get(o.id, ([], [])) if nested else ([], [])
        return AlignmentNode(
            id=o.id,
            title=o.title,
            level=o.level,
            owner_id=o.owner_id,
            cycle_id=o.cycle_id,
            status=o.status,
            progress=view.progress,
            score=view.score,
            progress_source=o.progress_source,
            own_progress=view.progress,
            rolled_up_progress=rolled.get(o.id) if nested else None,
            children=[make(seen[k], True) for k in kids],
            supporters=[make(seen[b], True) for b in backers],
        )

    return AlignmentRead(
        objective=make(root, True),
        parents=[make(p, False) for p in parents],
        supports=[make(o, False) for o in sorted(supported, key=lambda o: o.id)],
    )


async def list_revisions(ctx: Ctx, objective_id: uuid.UUID, params: PageParams) -> Page[ObjectiveRevision]:
    await visible_objective(ctx, objective_id)
    return await paginate(ctx.session, repo.revisions(ctx.org_id, objective_id), ObjectiveRevision.id, params)
