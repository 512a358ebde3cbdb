"""Locked periods: the one guard every write of a scoring input calls (SPEC section 9).

A write that would change an input of an employee's score in a cycle answers 409 with
`code: "cycle_locked"` when
- the cycle, or any cycle it is nested in, is `closed` (closed cycles are read-only, and
  so are their descendants), or
- the employee's result is official (a score of record exists) in the cycle or in any
  cycle it is nested in: a check-in on a December objective changes the Q4 score, so
  once Q4's result is official for the owner, December is locked for them too.

Scoring inputs are: objectives and their key results (edits, workflow actions, grades,
check-ins), KPI assignments and measurements, evaluations up to the manager review,
peer feedback and calibration adjustments. Scoring-policy changes need no guard: the
versions in use are pinned when a cycle enters calibration or closes, so no edit reaches
a locked cycle (service/scoring/policies.py).

Concurrency: on PostgreSQL the guard holds the cycle rows it checks FOR SHARE (outermost
first) until the writer commits, and finalizing takes the cycle row FOR UPDATE first
(`records.lock_cycle_row`, or the UPDATE of the status when a cycle closes); on SQLite
both take the database's write lock before reading. So a write either commits before
the records are computed (and is in them), or waits and sees the records (and is
refused): tests/concurrency/test_races.py races check-ins against a close.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select, text

from service.auth.context import Ctx
from service.cycles.models import Cycle
from service.errors import CycleLocked
from service.kit.chunks import chunks
from service.scoring.models import ScoreRecord

CHUNK = 2000


@dataclass(frozen=True)
class Link:
    id: uuid.UUID
    parent_id: uuid.UUID | None
    status: str
    name: str


async def _chain_ids(ctx: Ctx, cycle: Cycle) -> list[uuid.UUID]:
    """The cycle and the cycles it is nested in, innermost first. A cycle's parent never
    changes, so the ORM objects (usually loaded already) are enough to walk it."""
    out, node = [cycle.id], cycle
    while node.parent_id is not None and node.parent_id not in out:
        parent = await ctx.session.get(Cycle, (ctx.org_id, node.parent_id))
        if parent is None:
            break
        out.append(parent.id)
        node = parent
    return out


async def hold(ctx: Ctx, cycle: Cycle) -> list[Link]:
    """Hold the cycle and the cycles it is nested in until the transaction ends, and read
    their status as it is now (not as the session may have cached it). PostgreSQL: each
    row FOR SHARE, outermost first (finalizing locks the outermost cycle first too, so
    the two never deadlock). SQLite: the database's write lock, taken by a write that
    changes nothing, so this transaction's reads from here on see the latest commit and
    no finalization can commit before it ends."""
    ids = await _chain_ids(ctx, cycle)
    cols = select(Cycle.id, Cycle.parent_id, Cycle.status, Cycle.name).where(Cycle.org_id == ctx.org_id)
    if ctx.session.get_bind().dialect.name == "postgresql":
        rows = {}
        for cid in reversed(ids):
            row = (await ctx.session.execute(cols.where(Cycle.id == cid).with_for_update(read=True))).one()
            rows[cid] = row
    else:
        await take_sqlite_write_lock(ctx)
        rows = {r.id: r for r in (await ctx.session.execute(cols.where(Cycle.id.in_(ids)))).all()}
    return [Link(r.id, r.parent_id, r.status, r.name) for r in (rows[i] for i in ids if i in rows)]


async def take_sqlite_write_lock(ctx: Ctx) -> None:
    """On SQLite, a write that changes nothing begins the transaction and takes the
    database's write lock at once (reads before a transaction's first write are not in
    it, so a guard's reads could otherwise be overtaken by another writer's commit)."""
    if ctx.session.get_bind().dialect.name == "sqlite":
        await ctx.session.execute(text("UPDATE cycles SET status = status WHERE 0"))


async def ensure_open(
    ctx: Ctx, cycle: Cycle, employee_ids: Iterable[uuid.UUID | None] = (), *, rolls_up: bool = True
) -> None:
    """409 `cycle_locked` when a write into `cycle` for these employees would change a
    result that is final (see the module docstring). `rolls_up=False` for inputs that
    count in their own cycle only (evaluations): the records of enclosing cycles then
    do not lock them (a closed enclosing cycle still does)."""
    links = await hold(ctx, cycle)
    closed = next((c for c in links if c.status == "closed"), None)
    if closed is not None:
        raise _locked(cycle, closed, None)
    ids = sorted({e for e in employee_ids if e is not None})
    if not ids:
        return
    if not rolls_up:
        links = links[:1]
    found = (
        await ctx.session.execute(
            select(ScoreRecord.cycle_id, ScoreRecord.employee_id)
            .where(
                ScoreRecord.org_id == ctx.org_id,
                ScoreRecord.cycle_id.in_([c.id for c in links]),
                ScoreRecord.employee_id.in_(ids),
                ScoreRecord.version == 1,
            )
            .limit(1)
        )
    ).first()
    if found is not None:
        holder = next(c for c in links if c.id == found.cycle_id)
        raise _locked(cycle, holder, found.employee_id)


def _locked(target: Cycle, holder: Link, employee_id: uuid.UUID | None) -> CycleLocked:
    where = "" if holder.id == target.id else f" (it is nested in {holder.name!r})"
    if employee_id is None:
        detail = f"cycle {target.name!r} is closed and read-only{where}"
        reason = "closed"
    else:
        detail = (
            f"the employee's result in cycle {holder.name!r} is official; its inputs in "
            f"{target.name!r} are locked. Only an amendment changes an official result"
        )
        reason = "finalized"
    extra = {"cycle_id": str(target.id), "locked_by": {"cycle_id": str(holder.id), "reason": reason}}
    if employee_id is not None:
        extra["employee_id"] = str(employee_id)
    return CycleLocked(detail, extra=extra)


async def locked_pairs(
    ctx: Ctx, pairs: Iterable[tuple[uuid.UUID, uuid.UUID]]
) -> dict[tuple[uuid.UUID, uuid.UUID], str]:
    """For bulk writes: which (cycle_id, employee_id) pairs are locked, with the reason
    as a row error would say it. The cycles involved are held as `hold` holds them;
    then two queries whatever the number of pairs."""
    wanted = set(pairs)
    if not wanted:
        return {}
    await take_sqlite_write_lock(ctx)
    stmt = select(Cycle.id, Cycle.parent_id, Cycle.status, Cycle.name).where(Cycle.org_id == ctx.org_id)
    cycles = {r.id: r for r in (await ctx.session.execute(stmt)).all()}

    def ancestry(cycle_id: uuid.UUID) -> list[uuid.UUID]:
        out: list[uuid.UUID] = []
        node: uuid.UUID | None = cycle_id
        while node is not None and node in cycles and node not in out:
            out.append(node)
            node = cycles[node].parent_id
        return out

    chains = {c: ancestry(c) for c in {c for c, _ in wanted}}
    if ctx.session.get_bind().dialect.name == "postgresql":  # outermost first, as `hold` does
        depth = {c: len(ancestry(c)) for chain_ in chains.values() for c in chain_}
        for cid in sorted(depth, key=lambda c: (depth[c], str(c))):
            row = (await ctx.session.execute(stmt.where(Cycle.id == cid).with_for_update(read=True))).one()
            cycles[cid] = row  # the status as it is now that the row is held
    out: dict[tuple[uuid.UUID, uuid.UUID], str] = {}
    for pair in wanted:
        closed = next((cycles[c] for c in chains[pair[0]] if cycles[c].status == "closed"), None)
        if closed is not None:
            out[pair] = f"cycle {closed.name!r} is closed and read-only"
    open_pairs = [p for p in wanted if p not in out]
    all_cycles = sorted({c for p in open_pairs for c in chains[p[0]]})
    employees = sorted({e for _, e in open_pairs})
    recorded: set[tuple[uuid.UUID, uuid.UUID]] = set()
    for part in chunks(employees, CHUNK):
        rows = await ctx.session.execute(
            select(ScoreRecord.cycle_id, ScoreRecord.employee_id).where(
                ScoreRecord.org_id == ctx.org_id,
                ScoreRecord.cycle_id.in_(all_cycles),
                ScoreRecord.version == 1,
                ScoreRecord.employee_id.in_(part),
            )
        )
        recorded.update((c, e) for c, e in rows)
    for cycle_id, employee_id in open_pairs:
        holder = next((c for c in chains[cycle_id] if (c, employee_id) in recorded), None)
        if holder is not None:
            out[(cycle_id, employee_id)] = f"the employee's result in cycle {cycles[holder].name!r} is official"
    return out
