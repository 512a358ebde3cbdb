"""Every query of the OKR module, each scoped to one organization. `visible_objectives`
is the SQL form of `policy.read_objective`: lists start from it, so a private objective
never reaches a caller who may not read it."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any, cast

from sqlalchemy import CursorResult, Select, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from service.authz import policy
from service.cycles.models import Cycle
from service.kit import hierarchy
from service.kit.chunks import chunks
from service.okr.models import CheckIn, KeyResult, Objective, ObjectiveRevision, ObjectiveSupport
from service.org.models import Employee
from service.principal import Principal

CHUNK = 5000


def _chunks(ids: Iterable[Any]) -> list[Sequence[Any]]:
    """The distinct ids, in pieces (`kit.chunks`)."""
    return list(chunks(list(dict.fromkeys(i for i in ids if i is not None))))


def objectives(org_id: uuid.UUID) -> Select[Any]:
    return select(Objective).where(Objective.org_id == org_id)


def visible_objectives(org_id: uuid.UUID, principal: Principal) -> Select[Any]:
    stmt = objectives(org_id)
    if policy.reads_everything(principal):
        return stmt
    emp = principal.employee_id
    if emp is None:
        return stmt.where(Objective.visibility == "public")
    return stmt.where(
        or_(
            Objective.visibility == "public",
            Objective.owner_id == emp,
            Objective.owner_id.in_(hierarchy.reports_of(org_id, emp, "okr_reports")),
        )
    )


async def get_objective(session: AsyncSession, org_id: uuid.UUID, objective_id: uuid.UUID) -> Objective | None:
    return await session.get(Objective, (org_id, objective_id))


async def objectives_by_id(
    session: AsyncSession, org_id: uuid.UUID, ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, Objective]:
    out: dict[uuid.UUID, Objective] = {}
    for chunk in _chunks(ids):
        rows = await session.execute(objectives(org_id).where(Objective.id.in_(chunk)))
        out.update((o.id, o) for o in rows.scalars())
    return out


async def children_of(session: AsyncSession, org_id: uuid.UUID, ids: Iterable[uuid.UUID]) -> list[Objective]:
    out: list[Objective] = []
    for chunk in _chunks(ids):
        rows = await session.execute(objectives(org_id).where(Objective.parent_id.in_(chunk)))
        out.extend(rows.scalars())
    return out


async def supports_of(
    session: AsyncSession, org_id: uuid.UUID, ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    """objective id → the ids it supports."""
    out: dict[uuid.UUID, list[uuid.UUID]] = {}
    for chunk in _chunks(ids):
        rows = await session.execute(
            select(ObjectiveSupport.objective_id, ObjectiveSupport.supported_id)
            .where(ObjectiveSupport.org_id == org_id, ObjectiveSupport.objective_id.in_(chunk))
            .order_by(ObjectiveSupport.supported_id)
        )
        for src, dst in rows:
            out.setdefault(src, []).append(dst)
    return out


async def supporters_of(
    session: AsyncSession, org_id: uuid.UUID, ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    """objective id → the ids of the objectives that support it."""
    out: dict[uuid.UUID, list[uuid.UUID]] = {}
    for chunk in _chunks(ids):
        rows = await session.execute(
            select(ObjectiveSupport.supported_id, ObjectiveSupport.objective_id)
            .where(ObjectiveSupport.org_id == org_id, ObjectiveSupport.supported_id.in_(chunk))
            .order_by(ObjectiveSupport.objective_id)
        )
        for dst, src in rows:
            out.setdefault(dst, []).append(src)
    return out


async def contributes_to(
    session: AsyncSession, org_id: uuid.UUID, start: Iterable[uuid.UUID], max_depth: int = 100
) -> set[uuid.UUID]:
    """Every objective reachable upwards from `start` through parents and supports
    (`start` included): the set an alignment link must not point back into."""
    seen: set[uuid.UUID] = set()
    frontier = {i for i in start if i is not None}
    depth = 0
    while frontier and depth < max_depth:
        seen |= frontier
        nxt: set[uuid.UUID] = set()
        for chunk in _chunks(frontier):
            parents = await session.execute(
                select(Objective.parent_id).where(
                    Objective.org_id == org_id, Objective.id.in_(chunk), Objective.parent_id.is_not(None)
                )
            )
            nxt.update(r[0] for r in parents if r[0] is not None)  # the query leaves out nulls
            supported = await session.execute(
                select(ObjectiveSupport.supported_id).where(
                    ObjectiveSupport.org_id == org_id, ObjectiveSupport.objective_id.in_(chunk)
                )
            )
            nxt.update(r[0] for r in supported)
        frontier = nxt - seen
        depth += 1
    return seen


async def replace_supports(
    session: AsyncSession, org_id: uuid.UUID, objective_id: uuid.UUID, supported: list[uuid.UUID]
) -> None:
    await session.execute(
        delete(ObjectiveSupport).where(ObjectiveSupport.org_id == org_id, ObjectiveSupport.objective_id == objective_id)
    )
    for dst in dict.fromkeys(supported):
        session.add(ObjectiveSupport(org_id=org_id, objective_id=objective_id, supported_id=dst))
    await session.flush()


async def is_aligned_to(session: AsyncSession, org_id: uuid.UUID, objective_id: uuid.UUID) -> bool:
    """Does any objective name this one as its parent or as supported?"""
    child = await session.execute(
        select(Objective.id).where(Objective.org_id == org_id, Objective.parent_id == objective_id).limit(1)
    )
    supporter = await session.execute(
        select(ObjectiveSupport.objective_id)
        .where(ObjectiveSupport.org_id == org_id, ObjectiveSupport.supported_id == objective_id)
        .limit(1)
    )
    return child.first() is not None or supporter.first() is not None


async def count_owner_objectives(
    session: AsyncSession, org_id: uuid.UUID, owner_id: uuid.UUID, cycle_id: uuid.UUID
) -> int:
    rows = await session.execute(
        select(func.count())
        .select_from(Objective)
        .where(Objective.org_id == org_id, Objective.owner_id == owner_id, Objective.cycle_id == cycle_id)
    )
    return int(rows.scalar_one())


async def delete_objective_rows(session: AsyncSession, org_id: uuid.UUID, objective_id: uuid.UUID) -> None:
    """A draft's key results, check-ins, links and history, then the objective itself."""
    kr_ids = select(KeyResult.id).where(KeyResult.org_id == org_id, KeyResult.objective_id == objective_id)
    await session.execute(delete(CheckIn).where(CheckIn.org_id == org_id, CheckIn.key_result_id.in_(kr_ids)))
    await session.execute(delete(KeyResult).where(KeyResult.org_id == org_id, KeyResult.objective_id == objective_id))
    await session.execute(
        delete(ObjectiveSupport).where(ObjectiveSupport.org_id == org_id, ObjectiveSupport.objective_id == objective_id)
    )
    await session.execute(
        delete(ObjectiveRevision).where(
            ObjectiveRevision.org_id == org_id, ObjectiveRevision.objective_id == objective_id
        )
    )


async def unlink_measured_by(session: AsyncSession, org_id: uuid.UUID, objective_id: uuid.UUID) -> None:
    """Key results measured by a deleted objective fall back to their own progress."""
    await session.execute(
        update(KeyResult)
        .where(KeyResult.org_id == org_id, KeyResult.measured_by_objective_id == objective_id)
        .values(measured_by_objective_id=None)
        .execution_options(synchronize_session=False)
    )


async def visible_cycle_objectives(
    session: AsyncSession, org_id: uuid.UUID, principal: Principal, cycle_ids: Sequence[uuid.UUID], limit: int
) -> list[Objective]:
    """The objectives of the cycles the caller may read, at most `limit` (one query)."""
    stmt = visible_objectives(org_id, principal).where(Objective.cycle_id.in_(cycle_ids)).order_by(Objective.id)
    return list((await session.scalars(stmt.limit(limit))).all())


# --- key results and check-ins ---------------------------------------------------------------


def key_results(org_id: uuid.UUID) -> Select[Any]:
    return select(KeyResult).where(KeyResult.org_id == org_id)


def visible_key_results(org_id: uuid.UUID, principal: Principal) -> Select[Any]:
    visible = visible_objectives(org_id, principal).with_only_columns(Objective.id)
    return key_results(org_id).where(KeyResult.objective_id.in_(visible))


async def get_key_result(session: AsyncSession, org_id: uuid.UUID, kr_id: uuid.UUID) -> KeyResult | None:
    return await session.get(KeyResult, (org_id, kr_id))


async def key_results_of(
    session: AsyncSession, org_id: uuid.UUID, objective_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, list[KeyResult]]:
    out: dict[uuid.UUID, list[KeyResult]] = {}
    for chunk in _chunks(objective_ids):
        rows = await session.execute(
            key_results(org_id).where(KeyResult.objective_id.in_(chunk)).order_by(KeyResult.id)
        )
        for kr in rows.scalars():
            out.setdefault(kr.objective_id, []).append(kr)
    return out


def check_ins(org_id: uuid.UUID, kr_id: uuid.UUID) -> Select[Any]:
    return select(CheckIn).where(CheckIn.org_id == org_id, CheckIn.key_result_id == kr_id)


async def check_ins_of(
    session: AsyncSession, org_id: uuid.UUID, kr_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, list[CheckIn]]:
    out: dict[uuid.UUID, list[CheckIn]] = {}
    for chunk in _chunks(kr_ids):
        rows = await session.execute(select(CheckIn).where(CheckIn.org_id == org_id, CheckIn.key_result_id.in_(chunk)))
        for c in rows.scalars():
            out.setdefault(c.key_result_id, []).append(c)
    return out


async def delete_key_result_rows(session: AsyncSession, org_id: uuid.UUID, kr_id: uuid.UUID) -> int:
    """Deletes the key result's check-ins; answers how many there were."""
    # a DELETE's result is a CursorResult, which the stubs of `execute` do not say
    res = cast(
        CursorResult[Any],
        await session.execute(delete(CheckIn).where(CheckIn.org_id == org_id, CheckIn.key_result_id == kr_id)),
    )
    return int(res.rowcount or 0)


async def cycles_by_id(session: AsyncSession, org_id: uuid.UUID, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Cycle]:
    out: dict[uuid.UUID, Cycle] = {}
    for chunk in _chunks(ids):
        rows = await session.execute(select(Cycle).where(Cycle.org_id == org_id, Cycle.id.in_(chunk)))
        out.update((c.id, c) for c in rows.scalars())
    return out


def revisions(org_id: uuid.UUID, objective_id: uuid.UUID) -> Select[Any]:
    return select(ObjectiveRevision).where(
        ObjectiveRevision.org_id == org_id, ObjectiveRevision.objective_id == objective_id
    )


async def employee_exists(session: AsyncSession, org_id: uuid.UUID, emp_id: uuid.UUID) -> bool:
    return await session.get(Employee, (org_id, emp_id)) is not None
