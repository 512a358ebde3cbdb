"""Cycle use cases: create, nest, split by cadence, transition (closing a cycle closes
its descendants in the same transaction), and the read-only guard of closed cycles.
Writes of scoring inputs use the stricter guard of service/scoring/locks.py, which also
knows official results."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from sqlalchemy import select

from service.auth.context import Ctx
from service.authz import policy
from service.authz.enforce import require
from service.cycles import rules
from service.cycles.events import CycleStatusChanged
from service.cycles.models import Cycle
from service.cycles.schemas import CycleChildren, CycleCreate, CycleRead, CycleUpdate
from service.errors import Conflict, CycleLocked, NotFound, ValidationFailed
from service.kit import audit, outbox
from service.kit.changes import audited, refuse_nulls, set_fields
from service.kit.etag import IfMatch, check_version
from service.kit.pagination import Page, PageParams, paginate
from service.types import new_id

TransitionHook = Callable[[Ctx, Cycle, str], Awaitable[None]]
_transition_hooks: list[TransitionHook] = []


def on_transition(hook: TransitionHook) -> TransitionHook:
    """Other modules react to status changes (scoring pins policies on `calibration`)."""
    _transition_hooks.append(hook)
    return hook


def snapshot(c: Cycle) -> dict:
    return CycleRead.model_validate(c).model_dump(mode="json")


async def load_cycle(ctx: Ctx, cycle_id: uuid.UUID) -> Cycle | None:
    return await ctx.session.get(Cycle, (ctx.org_id, cycle_id))


def ensure_writable(cycle: Cycle) -> None:
    """Closed cycles are read-only: any write into one is a 409 `cycle_locked`. (Their
    descendants are closed with them, so the cycle's own status says it.)"""
    if cycle.status == "closed":
        raise CycleLocked(
            f"cycle {cycle.name!r} is closed and read-only",
            extra={"cycle_id": str(cycle.id), "locked_by": {"cycle_id": str(cycle.id), "reason": "closed"}},
        )


async def writable_cycle(ctx: Ctx, cycle_id: uuid.UUID, field: str = "cycle_id") -> Cycle:
    """The cycle a write targets: 422 when it does not exist, 409 when it is closed."""
    cycle = await load_cycle(ctx, cycle_id)
    if cycle is None:
        raise ValidationFailed.field(field, "no such cycle")
    ensure_writable(cycle)
    return cycle


async def list_cycles(
    ctx: Ctx, params: PageParams, parent_id: uuid.UUID | None = None, status: str | None = None
) -> Page[Cycle]:
    require(policy.read_cycles(ctx.principal), "cycles")
    stmt = select(Cycle).where(Cycle.org_id == ctx.org_id)
    if parent_id is not None:
        stmt = stmt.where(Cycle.parent_id == parent_id)
    if status is not None:
        stmt = stmt.where(Cycle.status == status)
    return await paginate(ctx.session, stmt, Cycle.id, params)


async def get_cycle(ctx: Ctx, cycle_id: uuid.UUID) -> Cycle:
    if not policy.read_cycles(ctx.principal).allowed:
        raise NotFound("cycle not found")
    cycle = await load_cycle(ctx, cycle_id)
    if cycle is None:
        raise NotFound("cycle not found")
    return cycle


async def descendant_ids(ctx: Ctx, cycle_id: uuid.UUID) -> list[uuid.UUID]:
    """The cycle and all cycles nested in it (SPEC: components count descendants too)."""
    rows = (await ctx.session.execute(select(Cycle.id, Cycle.parent_id).where(Cycle.org_id == ctx.org_id))).all()
    children: dict[uuid.UUID, list[uuid.UUID]] = {}
    for cid, parent in rows:
        if parent is not None:
            children.setdefault(parent, []).append(cid)
    out, stack = [], [cycle_id]
    while stack:
        node = stack.pop()
        out.append(node)
        stack.extend(children.get(node, []))
    return out


def _check_inside(parent: Cycle, start, end) -> None:
    if start < parent.start_date or end > parent.end_date:
        raise ValidationFailed.field("start_date", "a nested cycle's dates must lie inside its parent's")


async def create_cycle(ctx: Ctx, data: CycleCreate) -> Cycle:
    require(policy.manage_cycles(ctx.principal), "cycles")
    if data.parent_id is not None:
        parent = await load_cycle(ctx, data.parent_id)
        if parent is None:
            raise ValidationFailed.field("parent_id", "no such cycle")
        ensure_writable(parent)
        _check_inside(parent, data.start_date, data.end_date)
    cycle = Cycle(org_id=ctx.org_id, id=new_id(), status="planning", **data.model_dump())
    ctx.session.add(cycle)
    await ctx.session.flush()
    await audit.record(ctx.session, ctx.principal, "cycle.created", "cycle", cycle.id, None, snapshot(cycle))
    return cycle


async def update_cycle(ctx: Ctx, cycle_id: uuid.UUID, data: CycleUpdate, expected: IfMatch | None = None) -> Cycle:
    cycle = await get_cycle(ctx, cycle_id)
    require(policy.manage_cycles(ctx.principal), "cycle")
    ensure_writable(cycle)
    async with audited(ctx, cycle, "cycle.updated", snapshot, expected):
        changes = data.model_dump(exclude_unset=True)
        refuse_nulls(changes, ("name", "start_date", "end_date"))
        start = changes.get("start_date", cycle.start_date)
        end = changes.get("end_date", cycle.end_date)
        if end <= start:
            raise ValidationFailed.field("end_date", "end_date must be after start_date")
        if cycle.parent_id is not None:
            parent = await load_cycle(ctx, cycle.parent_id)
            if parent is not None:
                _check_inside(parent, start, end)
        children = (
            (await ctx.session.execute(select(Cycle).where(Cycle.org_id == ctx.org_id, Cycle.parent_id == cycle.id)))
            .scalars()
            .all()
        )
        if any(c.start_date < start or c.end_date > end for c in children):
            raise ValidationFailed.field("start_date", "the new dates would leave a nested cycle outside")
        set_fields(cycle, changes)
    return cycle


async def create_children(ctx: Ctx, cycle_id: uuid.UUID, data: CycleChildren) -> list[Cycle]:
    """Split a cycle (typically a year) into children of one cadence, in one call."""
    parent = await get_cycle(ctx, cycle_id)
    require(policy.manage_cycles(ctx.principal), "cycle")
    ensure_writable(parent)
    existing = (
        await ctx.session.execute(
            select(Cycle.id).where(
                Cycle.org_id == ctx.org_id, Cycle.parent_id == parent.id, Cycle.cadence == data.cadence
            )
        )
    ).first()
    if existing is not None:
        raise Conflict(f"the cycle already has {data.cadence} children")
    created = []
    for index, (start, end) in enumerate(rules.split(parent.start_date, parent.end_date, data.cadence), 1):
        child = Cycle(
            org_id=ctx.org_id,
            id=new_id(),
            name=rules.child_name(parent.name, data.cadence, index),
            cadence=data.cadence,
            start_date=start,
            end_date=end,
            parent_id=parent.id,
            status="planning",
        )
        ctx.session.add(child)
        created.append(child)
    await ctx.session.flush()
    for child in created:
        await audit.record(ctx.session, ctx.principal, "cycle.created", "cycle", child.id, None, snapshot(child))
    return created


async def transition(ctx: Ctx, cycle_id: uuid.UUID, to: str, expected: IfMatch | None = None) -> Cycle:
    cycle = await get_cycle(ctx, cycle_id)
    require(policy.manage_cycles(ctx.principal), "cycle")
    check_version(expected, cycle.version)
    if to not in rules.TRANSITIONS[cycle.status]:
        raise Conflict(
            f"a cycle cannot go from {cycle.status} to {to}", extra={"allowed": sorted(rules.TRANSITIONS[cycle.status])}
        )
    await _move(ctx, cycle, to)
    if to == "closed":
        await _close_descendants(ctx, cycle)
    return cycle


async def _move(ctx: Ctx, cycle: Cycle, to: str, reason: str | None = None) -> None:
    before, source = snapshot(cycle), cycle.status
    cycle.status = to
    await ctx.session.flush()
    await outbox.emit(
        ctx.session,
        ctx.org_id,
        CycleStatusChanged.event_type,
        CycleStatusChanged(
            cycle_id=cycle.id,
            name=cycle.name,
            parent_id=cycle.parent_id,
            from_status=source,
            to_status=to,
            reason=reason,
            actor=ctx.principal.actor,
        ),
    )
    for hook in _transition_hooks:
        await hook(ctx, cycle, to)
    await audit.record(
        ctx.session, ctx.principal, "cycle.transitioned", "cycle", cycle.id, before, snapshot(cycle), reason=reason
    )


async def _close_descendants(ctx: Ctx, cycle: Cycle) -> None:
    """Closing a cycle closes every cycle nested in it, whatever their status, in the same
    transaction: the parent's results include their inputs, so they are final too, and a
    child left open would invite writes that can only be refused. (The alternative,
    refusing while a child is open, would make HR walk every month through review and
    calibration first, for no result of its own.) Each child goes through the same hooks
    as a closing cycle: its policies are pinned, its objectives closed and its results
    made official."""
    for child_id in (await descendant_ids(ctx, cycle.id))[1:]:
        child = await load_cycle(ctx, child_id)
        if child is not None and child.status != "closed":
            await _move(ctx, child, "closed", reason=f"closed with {cycle.name!r}")
