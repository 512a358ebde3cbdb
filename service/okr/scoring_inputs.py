"""The OKR part of an employee's score inputs (SPEC section 4, OKR component): the
objectives they own in the cycle and its descendants whose status counts (published or
closed; drafts and rejected ones never do), with key results and check-ins, loaded
set-wise for any number of employees. Registered with the scores module's loader
registry, which imports no OKR code.

Three queries per chunk of cycles (objectives, key results, the deciding check-ins),
each selecting only the columns scoring reads, as plain rows, from which the engine's
inputs are built directly. A small set of employees is filtered in SQL; a large one
(the whole cycle) is read cycle-wide and filtered here, cheaper than long IN lists."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import Select, and_, func, or_, select

from service.auth.context import Ctx
from service.okr import compute
from service.okr import repository as repo
from service.okr.models import CheckIn, KeyResult, Objective
from service.scoring import okr as engine
from service.scoring.okr import COUNTED_STATUSES
from service.scoring.service import ScoringScope, input_loader

# Core statements over the tables (no ORM entities): rows come back without the ORM's
# per-row bookkeeping, which matters at a million rows.
_O, _K, _C = Objective.__table__.c, KeyResult.__table__.c, CheckIn.__table__.c
_KR_FROM = KeyResult.__table__.join(Objective.__table__, and_(_O.org_id == _K.org_id, _O.id == _K.objective_id))
_CHECK_IN_FROM = CheckIn.__table__.join(KeyResult.__table__, and_(_K.org_id == _C.org_id, _K.id == _C.key_result_id)) \
    .join(Objective.__table__, and_(_O.org_id == _K.org_id, _O.id == _K.objective_id))
_ID = itemgetter(0)


def _counted(stmt: Select[Any], org_id: uuid.UUID, cycle_ids: Sequence[uuid.UUID],
             owners: list[uuid.UUID] | None) -> Select[Any]:
    stmt = stmt.where(_O.org_id == org_id, _O.cycle_id.in_(list(cycle_ids)),
                      _O.status.in_(sorted(COUNTED_STATUSES)))
    return stmt if owners is None else stmt.where(_O.owner_id.in_(owners))


def _latest_check_ins(org_id: uuid.UUID, cycle_ids: Sequence[uuid.UUID], owners: list[uuid.UUID] | None) -> Select[Any]:
    """Per key result, the latest check-in with a value and the latest with a done flag
    (one per kind of check-in, by the engine's own order: checked_in_at, then created_at,
    then the newest id). The engine reads nothing else of the history: its current value
    is the latest check-in with a value, its done the latest with a done flag, and the
    latest of a set is the latest of the latest of each part, so it answers exactly as
    with every check-in while the database sends a fraction of them."""
    rank = func.row_number().over(
        partition_by=(_C.key_result_id, _C.value.is_(None), _C.done.is_(None)),
        order_by=(_C.checked_in_at.desc(), _C.created_at.desc(), _C.id.desc())).label("rank")
    ranked = _counted(select(
        _C.id, _C.key_result_id, _C.value, _C.done, _C.checked_in_at, _C.created_at, rank)
        .select_from(_CHECK_IN_FROM)
        .where(_C.org_id == org_id, or_(_C.value.is_not(None), _C.done.is_not(None))),
        org_id, cycle_ids, owners).subquery()
    return select(ranked.c.id, ranked.c.key_result_id, ranked.c.value, ranked.c.done, ranked.c.checked_in_at,
                  ranked.c.created_at).where(ranked.c.rank == 1)


async def objective_inputs(ctx: Ctx, cycle_ids: Collection[uuid.UUID],
                           employee_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    wanted = employee_ids if isinstance(employee_ids, (set, frozenset)) else set(employee_ids)
    owners = list(wanted) if len(wanted) <= repo.CHUNK else None
    org, session = ctx.org_id, ctx.session
    # objective id -> (row, its key result rows); key result id -> its check-in rows
    objectives: dict[uuid.UUID, tuple[Any, list[Any]]] = {}
    check_ins: dict[uuid.UUID, list[Any]] = {}
    cycles = list(dict.fromkeys(cycle_ids))
    for start in range(0, len(cycles), repo.CHUNK):
        chunk = cycles[start:start + repo.CHUNK]
        rows = (await session.execute(_counted(select(
            _O.id, _O.owner_id, _O.type, _O.weight, _O.status, _O.title), org, chunk, owners))).all()
        for r in rows:
            if r[1] in wanted:
                objectives[r[0]] = (r, [])
        rows = (await session.execute(_counted(select(
            _K.id, _K.objective_id, _K.kind, _K.weight, _K.start, _K.target, _K.milestones, _K.grade, _K.title)
            .select_from(_KR_FROM).where(_K.org_id == org), org, chunk, owners))).all()
        for r in rows:
            parent = objectives.get(r[1])
            if parent is not None:
                parent[1].append(r)
                check_ins[r[0]] = []
        rows = (await session.execute(_latest_check_ins(org, chunk, owners))).all()
        for r in rows:
            found = check_ins.get(r[1])
            if found is not None:
                found.append(r)
        del rows

    make_check_in, make_kr, make_objective = engine.CheckIn, engine.KeyResultIn, engine.ObjectiveIn
    milestones_from = compute.milestones_from

    def key_result(r: Any) -> engine.KeyResultIn:
        found = check_ins[r[0]]
        if len(found) > 1:
            # Newest id first, as compute.key_result_in orders them (the engine's tie rule).
            found.sort(key=_ID, reverse=True)
        return make_kr(id=r[0], kind=r[2], weight=r[3], start=r[4], target=r[5],
                       check_ins=tuple(make_check_in(checked_in_at=c[4], created_at=c[5], value=c[2], done=c[3])
                                       for c in found),
                       milestones=milestones_from(r[6]), grade=r[7], title=r[8])

    out: dict[uuid.UUID, dict[str, Any]] = {}
    for key in sorted(objectives):
        obj, own = objectives[key]
        if len(own) > 1:
            own.sort(key=_ID)
        out.setdefault(obj[1], {"objectives": []})["objectives"].append(make_objective(
            id=obj[0], type=obj[2], weight=obj[3], status=obj[4],
            key_results=tuple(key_result(r) for r in own), title=obj[5]))
    return out


@input_loader
async def okr_loader(ctx: Ctx, scope: ScoringScope) -> dict[uuid.UUID, dict[str, Any]]:
    return await objective_inputs(ctx, scope.cycle_ids, set(scope.employee_ids))
