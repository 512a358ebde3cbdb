"""Stored scores: each employee's current score per cycle as a row of `score_snapshots`.

A row is written by `rescore`, the one way to store scores: a write's touched employees
(service/scoring/freshness.py) and each chunk of a recompute job go through it. It

1. locks the employees' rows first (PostgreSQL: a placeholder row for an employee
   without one, then `SELECT ... FOR UPDATE` in employee order), so two transactions
   re-scoring one employee take turns, and the second, reading after the first has
   committed (READ COMMITTED takes a new snapshot per statement), sees its inputs: the
   last row written is never computed from older inputs than an earlier one. SQLite has
   one writer at a time, which gives the same;
2. scores them as every reader does (`records.official_or_live`: the record when the
   result is official, else live), without explanations;
3. replaces their rows, stamped with the cycle's inputs version, and answers whose final
   or rating changed (for `score.updated`).

Rows hold the score as shown (`read_of` rebuilds the API's `ScoreRead` from one) and the
final and composite rounded as shown, which the lists sort by.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, false, insert, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from service.auth.context import Ctx
from service.authz import policy as authz
from service.cycles.models import Cycle
from service.kit import hierarchy
from service.kit.chunks import chunks
from service.kit.pagination import Page, PageParams, Sorting, SortKey, paginate
from service.org.models import Employee
from service.org.repository import employee_sort_key, employees_matching
from service.scoring import records
from service.scoring import service as scoring
from service.scoring.models import ScoreSnapshot
from service.scoring.numbers import round_fraction, round_points
from service.scoring.schemas import PolicyRef, ScoreRead
from service.types import utcnow

_S = ScoreSnapshot.__table__.c
CHUNK = 1000
PENDING = "pending"  # a placeholder's status: never committed (rescore replaces it)


@dataclass
class Rescored:
    employees: int = 0
    changed: list[uuid.UUID] = field(default_factory=list)


def _exact(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _shown(value: Decimal | None) -> Decimal | None:
    return None if value is None else round_points(value)


def row_of(org_id: uuid.UUID, cycle_id: uuid.UUID, s: scoring.Scored, version: int, at: Any) -> dict[str, Any]:
    r, rec = s.result, s.record
    return {
        "org_id": org_id,
        "cycle_id": cycle_id,
        "employee_id": s.employee.id,
        "status": r.status,
        "composite": r.composite,
        "final": r.final,
        "rating": r.rating,
        "components": {k: _exact(v) for k, v in r.components.items()},
        "weights": {k: _exact(v) for k, v in r.weights.items()},
        "calibration_delta": r.calibration_delta,
        "final_shown": _shown(r.final),
        "composite_shown": _shown(r.composite),
        "flags": list(r.flags),
        "policy_id": s.policy.id,
        "policy_version": s.policy.version,
        "official": rec is not None,
        "finalized_at": rec.finalized_at if rec is not None else None,
        "record_version": rec.version if rec is not None else None,
        "inputs_version": version,
        "computed_at": at,
    }


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def read_of(row: Any) -> ScoreRead:
    """The API's score from a stored row (no explanation)."""
    return ScoreRead(
        employee_id=row.employee_id,
        cycle_id=row.cycle_id,
        status=row.status,
        components={k: _shown(_dec(v)) for k, v in row.components.items()},
        weights={k: round_fraction(Decimal(v)) for k, v in (row.weights or {}).items()},
        composite=row.composite_shown,
        calibration_delta=round_points(row.calibration_delta or Decimal(0)),
        final=row.final_shown,
        rating=row.rating,
        flags=list(row.flags),
        policy=PolicyRef(id=row.policy_id, version=row.policy_version or 1),
        official=bool(row.official),
        finalized_at=row.finalized_at,
        record_version=row.record_version,
        explanation=None,
    )


async def _lock(ctx: Ctx, cycle_id: uuid.UUID, ids: list[uuid.UUID]) -> dict[uuid.UUID, tuple[Any, Any]]:
    """Lock the employees' rows (PostgreSQL) and answer their (final, rating) as stored."""
    session, org = ctx.session, ctx.org_id
    postgresql = session.get_bind().dialect.name == "postgresql"
    old: dict[uuid.UUID, tuple[Any, Any]] = {}
    for part in chunks(ids, CHUNK):
        if postgresql:
            placeholders = [
                {
                    "org_id": org,
                    "cycle_id": cycle_id,
                    "employee_id": e,
                    "status": PENDING,
                    "components": {},
                    "flags": [],
                    "inputs_version": -1,
                }
                for e in part
            ]
            await session.execute(
                pg_insert(ScoreSnapshot.__table__)
                .values(placeholders)
                .on_conflict_do_nothing(index_elements=["org_id", "cycle_id", "employee_id"])
            )
        stmt = (
            select(_S.employee_id, _S.final, _S.rating, _S.status)
            .where(_S.org_id == org, _S.cycle_id == cycle_id, _S.employee_id.in_(part))
            .order_by(_S.employee_id)
        )
        if postgresql:
            stmt = stmt.with_for_update()
        for emp, final, rating, status in (await session.execute(stmt)).all():
            if status != PENDING:
                old[emp] = (_dec(final), rating)
    return old


async def rescore(ctx: Ctx, cycle: Cycle, rows: Sequence[Any], version: int, *, whole_range: bool = False) -> Rescored:
    """Store the scores of these population rows (any number; written `CHUNK` at a time).
    `whole_range`: the rows are every population row between the first and the last id
    (a recompute chunk), so the inputs are read by id range (`ScoringScope.employee_range`)."""
    out = Rescored()
    at = utcnow()
    for part in chunks(sorted(rows, key=lambda r: r.id), CHUNK):
        ids = [r.id for r in part]
        old = await _lock(ctx, cycle.id, ids)
        span = (ids[0], ids[-1]) if whole_range else None
        scored = await records.official_or_live(ctx, cycle, part, explain=False, employee_range=span)
        await ctx.session.execute(
            delete(ScoreSnapshot.__table__).where(
                _S.org_id == ctx.org_id, _S.cycle_id == cycle.id, _S.employee_id.in_(ids)
            )
        )
        await ctx.session.execute(
            insert(ScoreSnapshot.__table__), [row_of(ctx.org_id, cycle.id, s, version, at) for s in scored]
        )
        out.employees += len(scored)
        out.changed.extend(s.employee.id for s in scored if old.get(s.employee.id) != (s.result.final, s.result.rating))
    return out


async def rescore_ids(ctx: Ctx, cycle: Cycle, employee_ids: Sequence[uuid.UUID], version: int) -> Rescored:
    """`rescore` for employees by id: those no longer in the cycle's population (gone
    before it started, hired after it ended, deleted) lose their row."""
    ids = sorted(set(employee_ids))
    rows = await scoring.population(ctx, cycle, ids)
    gone = set(ids) - {r.id for r in rows}
    for part in chunks(sorted(gone), CHUNK):
        await ctx.session.execute(
            delete(ScoreSnapshot.__table__).where(
                _S.org_id == ctx.org_id, _S.cycle_id == cycle.id, _S.employee_id.in_(part)
            )
        )
    out = await rescore(ctx, cycle, rows, version) if rows else Rescored()
    out.changed.extend(sorted(gone))
    return out


# --- reading pages ------------------------------------------------------------------------------

# The score list's keys (scores.SCORE_SORT) over the stored rows: the same names, kinds and
# order, so a cursor from either path continues on the other.
STORED_SORT = Sorting(
    SortKey("final", _S.final_shown, kind="decimal", nullable=True),
    SortKey("composite", _S.composite_shown, kind="decimal", nullable=True),
    employee_sort_key("family_name", Employee.family_name, _S.org_id, _S.employee_id),
    employee_sort_key("given_name", Employee.given_name, _S.org_id, _S.employee_id),
)


@dataclass(frozen=True)
class PageFilter:
    department_id: uuid.UUID | None = None
    manager_id: uuid.UUID | None = None
    subtree: bool = False
    rating: str | None = None
    words: list[str] = field(default_factory=list)


async def page(
    ctx: Ctx, cycle: Cycle, params: PageParams, sort: str | Sequence[str] | None, where: PageFilter
) -> Page[Any]:
    """A page of the cycle's stored rows the caller may see, filtered and sorted in SQL
    (keyset pages over the indexes of migration 0022), as `read_of` rows: the rows are
    the population (the writes keep them so), so no one is read beyond the page."""
    org = ctx.org_id
    stmt = select(ScoreSnapshot.__table__, _S.employee_id.label("id")).where(_S.org_id == org, _S.cycle_id == cycle.id)
    p = ctx.principal
    if not authz.reads_everything(p):
        me = p.employee_id
        mine = _S.employee_id.in_(hierarchy.reports_of(org, me, "visible_reports")) if me is not None else None
        stmt = stmt.where(or_(_S.employee_id == me, mine) if mine is not None else false())
    people = hierarchy.people(
        org, manager_id=where.manager_id, subtree=where.subtree, department_id=where.department_id
    )
    if people is not None:
        stmt = stmt.where(_S.employee_id.in_(people))
    if where.words:
        stmt = stmt.where(_S.employee_id.in_(employees_matching(org, where.words)))
    if where.rating is not None:
        stmt = stmt.where(_S.rating == where.rating)
    spec = STORED_SORT.parse(sort, org_id=org)
    return await paginate(ctx.session, stmt, _S.employee_id, params, core_rows=True, sort=spec)
