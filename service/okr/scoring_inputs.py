"""The OKR part of an employee's score inputs (SPEC section 4, OKR component): the
objectives they own in the cycle and its descendants whose status counts (published or
closed; drafts and rejected ones never do), with key results and check-ins, loaded
set-wise for any number of employees. Registered with the scores module's loader
registry, which imports no OKR code.

Two queries per chunk of cycles: every counted objective (one without key results still
comes, to be flagged as not scored), then their key results, each with the one check-in
the engine decides by, selecting only the columns scoring reads, as plain rows from which
the engine's inputs are built directly. A metric key result's
current value is its latest check-in with a value and a boolean's done its latest
check-in with a done flag, by the engine's own order (checked_in_at, then created_at,
then the newest id): the database picks that check-in (DISTINCT ON on PostgreSQL, a
window elsewhere), so a cycle with 500,000 check-ins sends one row per key result, and
the engine, handed that check-in alone, answers exactly as with the whole history. A
small set of employees is filtered in SQL; a large one (the whole cycle) is read
cycle-wide and filtered here, cheaper than long IN lists; a recompute chunk (an id
range) is read by owner range (`ScoringScope.employee_range`)."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from operator import attrgetter
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.dialects.postgresql import distinct_on

from service.auth.context import Ctx
from service.kit.chunks import chunks
from service.okr import compute
from service.okr import repository as repo
from service.okr.models import CheckIn, KeyResult, Objective
from service.scoring import okr as engine
from service.scoring.okr import COUNTED_STATUSES
from service.scoring.service import ScoringScope, Span, input_loader, who

# Core statements over the tables (no ORM entities): rows come back without the ORM's
# per-row bookkeeping, which matters at a million rows.
_O, _K, _C = Objective.__table__.c, KeyResult.__table__.c, CheckIn.__table__.c
_CHECK_IN_FROM = CheckIn.__table__.join(
    KeyResult.__table__, and_(_K.org_id == _C.org_id, _K.id == _C.key_result_id)
).join(Objective.__table__, and_(_O.org_id == _K.org_id, _O.id == _K.objective_id))
_KR_ID = attrgetter("id")
_NEWEST_FIRST = (_C.checked_in_at.desc(), _C.created_at.desc(), _C.id.desc())


def _counted(
    stmt: Select[Any], org_id: uuid.UUID, cycle_ids: Sequence[uuid.UUID], owners: Sequence[Any]
) -> Select[Any]:
    stmt = stmt.where(_O.org_id == org_id, _O.cycle_id.in_(list(cycle_ids)), _O.status.in_(sorted(COUNTED_STATUSES)))
    return stmt.where(*owners)


def _deciding_check_ins(
    org_id: uuid.UUID, cycle_ids: Sequence[uuid.UUID], owners: Sequence[Any], postgresql: bool
) -> Any:
    """Per key result, the check-in the engine decides by: a metric's latest with a value,
    a boolean's latest with a done flag (a milestone key result reads none)."""
    deciding = or_(and_(_K.kind == "metric", _C.value.is_not(None)), and_(_K.kind == "boolean", _C.done.is_not(None)))
    columns = (_C.key_result_id, _C.value, _C.done, _C.checked_in_at, _C.created_at)
    if postgresql:
        return _counted(
            select(*columns)
            .select_from(_CHECK_IN_FROM)
            .where(_C.org_id == org_id, deciding)
            .ext(distinct_on(_C.key_result_id))
            .order_by(_C.key_result_id, *_NEWEST_FIRST),
            org_id,
            cycle_ids,
            owners,
        ).subquery()
    rank = func.row_number().over(partition_by=_C.key_result_id, order_by=_NEWEST_FIRST).label("rank")
    ranked = _counted(
        select(*columns, rank).select_from(_CHECK_IN_FROM).where(_C.org_id == org_id, deciding),
        org_id,
        cycle_ids,
        owners,
    ).subquery()
    return select(*(ranked.c[c.name] for c in columns)).where(ranked.c.rank == 1).subquery()


def _objectives(org_id: uuid.UUID, cycle_ids: Sequence[uuid.UUID], owners: Sequence[Any]) -> Select[Any]:
    return _counted(select(_O.id, _O.owner_id, _O.type, _O.weight, _O.status, _O.title), org_id, cycle_ids, owners)


def _key_results(
    org_id: uuid.UUID, cycle_ids: Sequence[uuid.UUID], owners: Sequence[Any], postgresql: bool
) -> Select[Any]:
    """The counted objectives' key results, each with its deciding check-in (if any), in
    a query of their own: the objective's columns come once an objective, not once a key
    result."""
    d = _deciding_check_ins(org_id, cycle_ids, owners, postgresql)
    joined = KeyResult.__table__.join(
        Objective.__table__, and_(_O.org_id == _K.org_id, _O.id == _K.objective_id)
    ).outerjoin(d, d.c.key_result_id == _K.id)
    return _counted(
        select(
            _K.objective_id,
            _K.id,
            _K.kind,
            _K.weight,
            _K.start,
            _K.target,
            _K.milestones,
            _K.grade,
            _K.title,
            d.c.value,
            d.c.done,
            d.c.checked_in_at,
            d.c.created_at,
        ).select_from(joined),
        org_id,
        cycle_ids,
        owners,
    )


async def objective_inputs(
    ctx: Ctx,
    cycle_ids: Collection[uuid.UUID],
    employee_ids: Collection[uuid.UUID],
    employee_range: Span | None = None,
) -> dict[uuid.UUID, dict[str, Any]]:
    """The objectives of these employees; with `employee_range` (every population row in
    it is asked for: a recompute chunk) they are read by owner range."""
    wanted = employee_ids if isinstance(employee_ids, (set, frozenset)) else set(employee_ids)
    owners = who(_O.owner_id, wanted, employee_range, repo.CHUNK)
    org, session = ctx.org_id, ctx.session
    postgresql = session.get_bind().dialect.name == "postgresql"
    make_check_in, make_kr = engine.CheckIn, engine.KeyResultIn
    milestones_from = compute.milestones_from
    # objective id -> (its row, its key results)
    objectives: dict[uuid.UUID, tuple[Any, list[engine.KeyResultIn]]] = {}
    cycles = list(dict.fromkeys(cycle_ids))
    for chunk in chunks(cycles):
        for o in (await session.execute(_objectives(org, chunk, owners))).all():
            if o[1] in wanted:
                objectives[o[0]] = (o, [])
        rows = (await session.execute(_key_results(org, chunk, owners, postgresql))).all()
        for r in rows:
            found = objectives.get(r[0])
            if found is None:  # an objective of someone not asked for
                continue
            decided = (
                (make_check_in(checked_in_at=r[11], created_at=r[12], value=r[9], done=r[10]),)
                if r[11] is not None
                else ()
            )
            found[1].append(
                make_kr(
                    id=r[1],
                    kind=r[2],
                    weight=r[3],
                    start=r[4],
                    target=r[5],
                    check_ins=decided,
                    milestones=milestones_from(r[6]),
                    grade=r[7],
                    title=r[8],
                )
            )
        del rows

    out: dict[uuid.UUID, dict[str, Any]] = {}
    for key in sorted(objectives):
        obj, own = objectives[key]
        if len(own) > 1:
            own.sort(key=_KR_ID)
        out.setdefault(obj[1], {"objectives": []})["objectives"].append(
            engine.ObjectiveIn(
                id=obj[0], type=obj[2], weight=obj[3], status=obj[4], key_results=tuple(own), title=obj[5]
            )
        )
    return out


@input_loader
async def okr_loader(ctx: Ctx, scope: ScoringScope) -> dict[uuid.UUID, dict[str, Any]]:
    return await objective_inputs(ctx, scope.cycle_ids, set(scope.employee_ids), scope.employee_range)
