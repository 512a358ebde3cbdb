"""Stored scores kept fresh as work happens.

Each cycle has a `ScoreFreshness` row once its scores are stored: the version of its
inputs and the version its stored rows are complete for. Score lists read the stored
rows only while the two agree (service/scoring/scores.py); otherwise they compute live.

**Every write re-scores whom it affects, in its own transaction.** Nothing here is
called by the services that write: the session reports every write to a table that
feeds a score (`RULES`, by table name, so this module imports no OKR, KPI or evaluation
code), whether the ORM flushes it or a Core statement runs it, and the affected
employees are re-scored just before the transaction commits (`settle`, run by
`SerializedSession.commit`), through `stored.rescore`. So a check-in, a measurement, a
grade, an evaluation, a calibration adjustment or a new score of record is in the stored
score the moment it is visible at all, and a rollback takes both back.

Why in the transaction and not through the outbox and the worker: a reader sees their
own write in the next request (no lag to measure or to explain), the embedded SQLite
deployment needs no worker, and a failed re-score fails the write instead of leaving a
wrong score behind. The cost is the re-score in the write's latency (one employee in
the cycle and the cycles above it: a handful of indexed queries) and a row lock per
employee, which orders concurrent writes about the same person (stored.py).

Whom a write affects:
- a check-in, key result or objective: the objective's owner;
- a KPI measurement or assignment: the assignment's employee;
- an evaluation, peer review, calibration member or adjustment, a score of record: its
  employee; a calibration session: its members;
- an employee (hired, terminated, moved to another position or department): that
  employee, in every stored cycle;
- in the cycle written to and every cycle above it (a year counts its quarters'
  objectives and KPIs).

Changes that affect many employees do not re-score inline: a scoring policy or its
version, a KPI definition's direction or aggregation, a position's level, a
department's parent, a cycle's dates or parent, a Core UPDATE or DELETE over many rows
(bulk imports), or more than `SCORE_TOUCH_MAX` employees of one cycle. They move the
cycle's version forward (`bump`): lists compute live until a recompute job (queued by
the worker's refresh sweep) has stored every employee at the new version.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, event, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction
from sqlalchemy.orm.attributes import get_history
from sqlalchemy.sql.dml import Delete, Insert, Update

from service.db import Base, add_before_commit
from service.scoring.models import ScoreFreshness
from service.types import utcnow

_F = ScoreFreshness.__table__.c
PAIR, KR, OBJECTIVE, ASSIGNMENT, CALIBRATION, EMPLOYEE, CYCLE, ORG = (
    "pair",
    "kr",
    "objective",
    "assignment",
    "calibration",
    "employee",
    "cycle",
    "org",
)
Key = tuple[Any, ...]  # (kind, org_id, *ids)


@dataclass(frozen=True)
class Rule:
    """What a row of a table affects: `keys(row)` from its columns; `relevant`, the columns
    whose change matters for an UPDATE (None: any); `on_insert`: whether a new row
    matters (a new position or department affects nobody yet)."""

    keys: Callable[[Mapping[str, Any]], list[Key]]
    relevant: frozenset[str] | None = None
    on_insert: bool = True


def _pair(row: Mapping[str, Any]) -> list[Key]:
    return [(PAIR, row["org_id"], row["cycle_id"], row["employee_id"])]


def _one(kind: str, column: str) -> Callable[[Mapping[str, Any]], list[Key]]:
    return lambda row: [(kind, row["org_id"], row[column])]


def _org(row: Mapping[str, Any]) -> list[Key]:
    return [(ORG, row["org_id"])]


RULES: dict[str, Rule] = {
    "check_ins": Rule(_one(KR, "key_result_id")),
    "key_results": Rule(_one(OBJECTIVE, "objective_id")),
    "objectives": Rule(lambda r: [(PAIR, r["org_id"], r["cycle_id"], r["owner_id"])]),
    "kpi_measurements": Rule(_one(ASSIGNMENT, "assignment_id")),
    "kpi_assignments": Rule(_pair),
    "evaluations": Rule(_pair),
    "peer_requests": Rule(_pair),
    "calibration_members": Rule(_pair),
    "calibration_adjustments": Rule(_pair),
    "score_records": Rule(_pair),
    "calibration_sessions": Rule(_one(CALIBRATION, "id"), relevant=frozenset({"status"})),
    "employees": Rule(
        _one(EMPLOYEE, "id"), relevant=frozenset({"position_id", "department_id", "hire_date", "termination_date"})
    ),
    "cycles": Rule(_one(CYCLE, "id"), relevant=frozenset({"start_date", "end_date", "parent_id"}), on_insert=False),
    "scoring_policies": Rule(_org),
    "scoring_policy_versions": Rule(_org),
    "kpi_definitions": Rule(_org, relevant=frozenset({"direction", "aggregation", "code"}), on_insert=False),
    "positions": Rule(_org, relevant=frozenset({"level"}), on_insert=False),
    "departments": Rule(_org, relevant=frozenset({"parent_id"}), on_insert=False),
}
# The columns a rule reads, per table (an UPDATE of one of them moves the row's keys).
_KEY_COLUMNS = {
    "check_ins": {"key_result_id"},
    "key_results": {"objective_id"},
    "objectives": {"cycle_id", "owner_id"},
    "kpi_measurements": {"assignment_id"},
}


def touch_max() -> int:
    from service.config import get_settings

    return get_settings().score_touch_max


@dataclass
class Touches:
    """What the transaction's writes affect, gathered until it commits."""

    keys: set[Key] = field(default_factory=set)  # resolved at commit
    pairs: set[tuple[uuid.UUID, uuid.UUID, uuid.UUID]] = field(default_factory=set)  # (org, cycle, employee)

    def __bool__(self) -> bool:
        return bool(self.keys or self.pairs)


_INFO = "score_touches"


def _touches(session: Session) -> Touches:
    found = session.info.get(_INFO)
    if found is None:
        found = session.info[_INFO] = Touches()
        add_before_commit(session, settle)
    return found


# --- what the session reports --------------------------------------------------------------------


def _table_of(obj: Any) -> Table | None:
    table = getattr(type(obj), "__table__", None)
    return table if isinstance(table, Table) and table.name in RULES else None


class _Values(Mapping[str, Any]):
    """An ORM object's column values, now or before this flush (`old`)."""

    def __init__(self, obj: Any, old: bool) -> None:
        self.obj, self.old = obj, old

    def __getitem__(self, key: str) -> Any:
        if self.old:
            history = get_history(self.obj, key)
            if history.deleted:
                return history.deleted[0]
        return getattr(self.obj, key)

    def __iter__(self) -> Any:
        return iter(())

    def __len__(self) -> int:
        return 0


def _changed(obj: Any, columns: Iterable[str]) -> bool:
    return any(get_history(obj, c).has_changes() for c in columns)


def _before_flush(session: Session, _context: UOWTransaction, _instances: Any) -> None:
    """New and changed rows are resolved at commit (every row exists by then); the old
    state of deleted rows and of rows whose keys change is resolved now, while it exists."""
    now: list[Key] = []
    later: list[Key] = []
    for obj in session.new:
        table = _table_of(obj)
        if table is not None and RULES[table.name].on_insert:
            later.extend(RULES[table.name].keys(_Values(obj, False)))
    for obj in session.dirty:
        table = _table_of(obj)
        if table is None or not session.is_modified(obj):
            continue
        rule = RULES[table.name]
        if rule.relevant is not None and not _changed(obj, rule.relevant):
            continue
        later.extend(rule.keys(_Values(obj, False)))
        if _changed(obj, _KEY_COLUMNS.get(table.name, ())):
            now.extend(rule.keys(_Values(obj, True)))
    for obj in session.deleted:
        table = _table_of(obj)
        if table is not None:
            now.extend(RULES[table.name].keys(_Values(obj, False)))
    if now or later:
        touches = _touches(session)
        touches.keys.update(later)
        if now:
            _resolve_now(session, touches, now)


def _statement_table(statement: Any) -> Table | None:
    """The plain table an INSERT, UPDATE or DELETE writes (an ORM statement's is annotated)."""
    name = getattr(getattr(statement, "table", None), "name", None)
    return Base.metadata.tables[name] if name in RULES else None


def _set_columns(state: ORMExecuteState) -> set[str]:
    stmt = state.statement
    names = {getattr(k, "key", k) for k in (getattr(stmt, "_values", None) or {})}
    for params in state.parameters if isinstance(state.parameters, list) else [state.parameters or {}]:
        names.update(params)
    return {str(n) for n in names}


def _on_execute(state: ORMExecuteState) -> None:
    """Core statements over the tables of `RULES`: an INSERT's rows by their values; an
    UPDATE or DELETE by the rows it is about to change (read with its own WHERE), or,
    run over many parameter sets, as a change to many employees."""
    stmt = state.statement
    if not isinstance(stmt, (Insert, Update, Delete)):
        return
    table = _statement_table(stmt)
    if table is None:
        return
    session, rule = state.session, RULES[table.name]
    if isinstance(stmt, Insert):
        if not rule.on_insert:
            return
        given: list[Any] = state.parameters if isinstance(state.parameters, list) else [state.parameters or {}]
        values = [_named(getattr(stmt, "_values", None) or {}) | _named(r) for r in given]
        keys = [k for v in values if "org_id" in v for k in rule.keys(_named(v))]
        if keys:
            _touches(session).keys.update(keys)
        return
    set_columns = _set_columns(state) if isinstance(stmt, Update) else set()
    if isinstance(stmt, Update) and rule.relevant is not None and not (set_columns & rule.relevant):
        return
    many = state.parameters if isinstance(state.parameters, list) and len(state.parameters) > 1 else None
    if many is not None and not all("b_org_id" in p and "b_id" in p for p in many):
        org = _org_of(stmt, state)
        if org is not None:
            _touches(session).keys.add((ORG, org))
        return
    if many is not None:  # the bulk statements' convention: one row each, by b_org_id and b_id
        read = select(table).where(
            table.c.org_id == many[0]["b_org_id"], table.c.id.in_(sorted({p["b_id"] for p in many}))
        )
        params: Any = {}
    else:
        where = stmt.whereclause
        read = select(table).where(where) if where is not None else select(table)
        params = state.parameters or {}
    with session.no_autoflush:
        rows: Sequence[Any] = session.execute(read, params).mappings().all()
    keys = [k for r in rows for k in rule.keys(r)]
    if isinstance(stmt, Update) and set_columns & _KEY_COLUMNS.get(table.name, set()):
        keys.extend((ORG, r["org_id"]) for r in rows)
    if keys:
        touches = _touches(session)
        touches.keys.update(k for k in keys if k[0] in (EMPLOYEE, CYCLE, ORG))
        _resolve_now(session, touches, [k for k in keys if k[0] not in (EMPLOYEE, CYCLE, ORG)])


def _named(values: Any) -> dict[str, Any]:
    return {str(getattr(k, "key", k)): v for k, v in dict(values).items()}


def _org_of(stmt: Any, state: ORMExecuteState) -> uuid.UUID | None:
    """The organization a many-rows statement is about (its parameters, else its WHERE)."""
    params = state.parameters
    first = params[0] if isinstance(params, list) and params else params or {}
    if isinstance(first, Mapping):
        for key, value in first.items():
            if "org_id" in str(key) and isinstance(value, uuid.UUID):
                return value
    for key, value in stmt.compile().params.items():
        if key.startswith("org_id") and isinstance(value, uuid.UUID):
            return value
    return None


def _after_rollback(session: Session) -> None:
    session.info.pop(_INFO, None)


event.listen(Session, "before_flush", _before_flush)
event.listen(Session, "do_orm_execute", _on_execute)
event.listen(Session, "after_rollback", _after_rollback)


# --- resolving keys into (cycle, employee) -------------------------------------------------------


def _t(name: str) -> Table:
    return Base.metadata.tables[name]


def _resolving(kind: str, org: uuid.UUID, ids: list[Any]) -> Any:
    """(cycle_id, employee_id) of the rows these keys name."""
    if kind == KR:
        k, o = _t("key_results").c, _t("objectives").c
        return (
            select(o.cycle_id, o.owner_id)
            .select_from(_t("key_results").join(_t("objectives"), (o.org_id == k.org_id) & (o.id == k.objective_id)))
            .where(k.org_id == org, k.id.in_(ids))
        )
    if kind == OBJECTIVE:
        o = _t("objectives").c
        return select(o.cycle_id, o.owner_id).where(o.org_id == org, o.id.in_(ids))
    if kind == ASSIGNMENT:
        a = _t("kpi_assignments").c
        return select(a.cycle_id, a.employee_id).where(a.org_id == org, a.id.in_(ids))
    m = _t("calibration_members").c
    return select(m.cycle_id, m.employee_id).where(m.org_id == org, m.session_id.in_(ids))


def _grouped(keys: Iterable[Key]) -> dict[tuple[str, uuid.UUID], list[Any]]:
    out: dict[tuple[str, uuid.UUID], list[Any]] = {}
    for key in keys:
        out.setdefault((key[0], key[1]), []).append(key[2] if len(key) > 2 else None)
    return out


def _resolve_now(session: Session, touches: Touches, keys: Sequence[Key]) -> None:
    for key in keys:
        if key[0] == PAIR and key[2] is not None and key[3] is not None:
            touches.pairs.add((key[1], key[2], key[3]))
    for (kind, org), ids in _grouped(k for k in keys if k[0] in (KR, OBJECTIVE, ASSIGNMENT, CALIBRATION)).items():
        with session.no_autoflush:
            for cycle_id, emp in session.execute(_resolving(kind, org, sorted(set(ids)))).all():
                touches.pairs.add((org, cycle_id, emp))


# --- at commit -----------------------------------------------------------------------------------


async def settle(session: AsyncSession) -> None:
    """Re-score what the transaction's writes affect (see the module's docstring)."""
    from service.scoring import stored

    while True:
        touches: Touches | None = session.info.pop(_INFO, None)
        if not touches:
            return
        await session.flush()
        more: Touches | None = session.info.pop(_INFO, None)  # what the flush itself reported
        if more:
            touches.keys |= more.keys
            touches.pairs |= more.pairs
        await _settle(session, touches, stored)


async def _settle(session: AsyncSession, touches: Touches, stored: Any) -> None:
    keys = _grouped(touches.keys)
    orgs = {p[0] for p in touches.pairs} | {org for _, org in keys}
    for org in sorted(orgs):
        cycles = await _cycles(session, org)
        if not any(complete is not None for _, _, complete in cycles.values()):
            continue  # nothing of this organization is stored: nothing to keep fresh
        pairs = {p for p in touches.pairs if p[0] == org}
        employees: set[uuid.UUID] = set()
        broad: set[uuid.UUID] | None = set()  # cycles to bump (None: all)
        for (kind, key_org), ids in keys.items():
            if key_org != org:
                continue
            if kind == PAIR:
                pairs.update((org, c, e) for _, _, c, e in (k for k in touches.keys if k[0] == PAIR and k[1] == org))
            elif kind == ORG:
                broad = None
            elif kind == CYCLE:
                if broad is not None:
                    broad.update(ids)
            elif kind == EMPLOYEE:
                employees.update(ids)
            else:
                rows = await session.execute(_resolving(kind, org, sorted(set(ids))))
                pairs.update((org, c, e) for c, e in rows.all())
        pairs = {p for p in pairs if p[1] is not None and p[2] is not None}
        await _settle_org(session, org, cycles, pairs, employees, broad, stored)


async def _cycles(session: AsyncSession, org: uuid.UUID) -> dict[uuid.UUID, tuple[uuid.UUID | None, int, int | None]]:
    """Every cycle of the organization: parent, inputs version, complete version (None
    for a cycle without stored scores)."""
    c = _t("cycles").c
    rows = await session.execute(
        select(c.id, c.parent_id, _F.version, _F.complete_version)
        .select_from(_t("cycles").outerjoin(ScoreFreshness.__table__, (_F.org_id == c.org_id) & (_F.cycle_id == c.id)))
        .where(c.org_id == org)
    )
    return {r[0]: (r[1], r[2] or 0, r[3]) for r in rows.all()}


def _with_ancestors(cycles: Mapping[uuid.UUID, tuple[Any, ...]], cycle_id: uuid.UUID) -> list[uuid.UUID]:
    out: list[uuid.UUID] = []
    current: uuid.UUID | None = cycle_id
    while current is not None and current in cycles and current not in out:
        out.append(current)
        current = cycles[current][0]
    return out


async def _settle_org(
    session: AsyncSession,
    org: uuid.UUID,
    cycles: dict[uuid.UUID, tuple[uuid.UUID | None, int, int | None]],
    pairs: set[tuple[uuid.UUID, uuid.UUID, uuid.UUID]],
    employees: set[uuid.UUID],
    broad: set[uuid.UUID] | None,
    stored: Any,
) -> None:
    from service.auth.context import Ctx
    from service.cycles.models import Cycle
    from service.principal import Principal

    kept = {cid for cid, (_, _, complete) in cycles.items() if complete is not None}
    if not kept:
        return
    bumped: set[uuid.UUID] = set()
    if broad is None:
        bumped = set(kept)
    else:
        for cid in broad:
            bumped.update(_with_ancestors(cycles, cid))
    wanted: dict[uuid.UUID, set[uuid.UUID]] = {}
    for p_org, cycle_id, emp in pairs:
        if p_org == org:
            for cid in _with_ancestors(cycles, cycle_id):
                wanted.setdefault(cid, set()).add(emp)
    for cid in kept:
        if employees:
            wanted.setdefault(cid, set()).update(employees)
    limit = touch_max()
    for cid, emps in wanted.items():
        if cid in kept and len(emps) > limit:
            bumped.add(cid)
    await bump(session, org, sorted(bumped & kept))
    ctx = Ctx(session=session, principal=Principal(sub="system", org_id=org, kind="person", roles=frozenset({"admin"})))
    for cid in sorted(c for c in wanted if c in kept and c not in bumped):
        cycle = await session.get(Cycle, (org, cid))
        if cycle is None:
            continue
        await stored.rescore_ids(ctx, cycle, sorted(wanted[cid]), cycles[cid][1])


# --- the cycle's versions ------------------------------------------------------------------------


async def state(session: AsyncSession, org_id: uuid.UUID, cycle_id: uuid.UUID) -> tuple[int, int] | None:
    """(version, complete_version) of the cycle, or None when it never had stored scores."""
    row = (
        await session.execute(
            select(_F.version, _F.complete_version).where(_F.org_id == org_id, _F.cycle_id == cycle_id)
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def is_complete(session: AsyncSession, org_id: uuid.UUID, cycle_id: uuid.UUID) -> bool:
    found = await state(session, org_id, cycle_id)
    return found is not None and found[0] == found[1]


async def begin(session: AsyncSession, org_id: uuid.UUID, cycle_id: uuid.UUID) -> int:
    """The version a recompute of the cycle computes (making the cycle's row if it has none)."""
    found = await state(session, org_id, cycle_id)
    if found is not None:
        return found[0]
    session.add(ScoreFreshness(org_id=org_id, cycle_id=cycle_id, version=1, complete_version=0, updated_at=utcnow()))
    await session.flush()
    return 1


async def complete(session: AsyncSession, org_id: uuid.UUID, cycle_id: uuid.UUID, version: int) -> bool:
    """Every employee of the cycle is stored at `version`: reads may use the rows, unless
    the inputs moved on since (then a newer job completes them)."""
    result = await session.execute(
        update(ScoreFreshness)
        .where(_F.org_id == org_id, _F.cycle_id == cycle_id, _F.version == version)
        .values(complete_version=version, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


async def bump(session: AsyncSession, org_id: uuid.UUID, cycle_ids: Sequence[uuid.UUID]) -> None:
    """The inputs of many employees of these cycles changed: their stored rows are no
    longer complete until a recompute of the new version finishes."""
    if cycle_ids:
        await session.execute(
            update(ScoreFreshness)
            .where(_F.org_id == org_id, _F.cycle_id.in_(list(cycle_ids)))
            .values(version=_F.version + 1, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
