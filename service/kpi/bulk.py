"""`POST /kpi-measurements/bulk`: ingest up to `bulk_max_measurement_rows` measurements
in one call, set-based.

The number of statements does not grow with the rows (only with 3,000-row chunks of the
look-ups): one SELECT resolves rows addressed by `assignment_id`, one those addressed by
(`employee_external_id`, `kpi_code`, `cycle_id`), and only when some of the latter match
nothing, three more tell which part is unknown; the lock on official results holds the
cycles involved and reads them and their records (two or three statements,
service/scoring/locks.py: a locked row is a row error with `code: "cycle_locked"`); one
SELECT finds the `source_key`s already stored; then one multi-row INSERT, one executemany
UPDATE, one audit INSERT and one outbox event for the whole call.

Idempotency is on (`assignment_id`, `source_key`): re-sending a key with the same value
and date is `unchanged` and writes nothing; with another value it is `updated`. Rows
without a `source_key` are always new measurements.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pydantic import ValidationError
from sqlalchemy import bindparam, insert, select, tuple_, update

from service.auth.context import Ctx
from service.authz import policy
from service.authz.enforce import require
from service.config import get_settings
from service.cycles.models import Cycle
from service.errors import PayloadTooLarge, ValidationFailed, validation_errors
from service.kit import audit, outbox
from service.kpi.events import KpiMeasurementCreated
from service.kpi.models import KpiAssignment, KpiDefinition, KpiMeasurement
from service.kpi.repository import chunks
from service.kpi.schemas import BulkMeasurementResult, BulkMeasurementRow, plain_decimal
from service.org.models import Employee
from service.scoring import locks
from service.types import new_id, utcnow

TUPLE_CHUNK = 3000
KEY_FIELDS = ("employee_external_id", "kpi_code", "cycle_id")


@dataclass(frozen=True)
class Target:
    assignment_id: uuid.UUID
    cycle_id: uuid.UUID
    employee_id: uuid.UUID


@dataclass
class Planned:
    index: int
    row: BulkMeasurementRow | None = None
    target: Target | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)
    outcome: str = "error"
    id: uuid.UUID | None = None

    @property
    def parsed(self) -> BulkMeasurementRow:
        """The row of a plan that passed validation (only a row that failed has none)."""
        assert self.row is not None
        return self.row

    @property
    def resolved(self) -> Target:
        """The assignment of a plan without errors (a row that matches none has an error)."""
        assert self.target is not None
        return self.target

    @property
    def key(self) -> tuple[str, str, uuid.UUID]:
        """(`employee_external_id`, `kpi_code`, `cycle_id`) of a valid row not addressed by
        `assignment_id`: `_parse` gave it an error unless all three are given."""
        r = self.parsed
        assert r.employee_external_id is not None and r.kpi_code is not None and r.cycle_id is not None
        return (r.employee_external_id, r.kpi_code, r.cycle_id)

    def error(self, loc: str | None, msg: str, code: str | None = None) -> None:
        self.errors.append(
            {
                "loc": ["body", "rows", self.index, *([loc] if loc else [])],
                "msg": msg,
                **({"code": code} if code else {}),
            }
        )


def _parse(index: int, raw: Any) -> Planned:
    plan = Planned(index=index)
    try:
        plan.row = BulkMeasurementRow.model_validate(raw)
    except ValidationError as exc:
        plan.errors = [
            {"loc": ["body", "rows", index, *e["loc"]], "msg": e["msg"]} for e in validation_errors(list(exc.errors()))
        ]
        return plan
    r = plan.row
    given = [f for f in KEY_FIELDS if getattr(r, f) is not None]
    if r.assignment_id is not None and given:
        plan.error("assignment_id", "give assignment_id or (employee_external_id, kpi_code, cycle_id), not both")
    elif r.assignment_id is None:
        if not given:
            plan.error("assignment_id", "give assignment_id or (employee_external_id, kpi_code, cycle_id)")
        for name in KEY_FIELDS:
            if given and getattr(r, name) is None:
                plan.error(name, f"{name} is required when the row is not addressed by assignment_id")
    return plan


async def _targets_by_id(ctx: Ctx, ids: list[uuid.UUID]) -> dict[uuid.UUID, Target]:
    found: dict[uuid.UUID, Target] = {}
    for chunk in chunks(ids):
        res = await ctx.session.execute(
            select(KpiAssignment.id, KpiAssignment.cycle_id, KpiAssignment.employee_id).where(
                KpiAssignment.org_id == ctx.org_id, KpiAssignment.id.in_(chunk)
            )
        )
        found.update({i: Target(i, c, e) for i, c, e in res})
    return found


async def _targets_by_key(ctx: Ctx, keys: list[tuple[str, str, uuid.UUID]]) -> dict[tuple[str, str, uuid.UUID], Target]:
    found: dict[tuple[str, str, uuid.UUID], Target] = {}
    a, e, d = KpiAssignment, Employee, KpiDefinition
    for chunk in chunks(keys, TUPLE_CHUNK):
        res = await ctx.session.execute(
            select(a.id, e.external_id, d.code, a.cycle_id, a.employee_id)
            .join(e, (e.org_id == a.org_id) & (e.id == a.employee_id))
            .join(d, (d.org_id == a.org_id) & (d.id == a.definition_id))
            .where(a.org_id == ctx.org_id, tuple_(e.external_id, d.code, a.cycle_id).in_(list(chunk)))
        )
        for asg_id, ext, code, cycle_id, employee_id in res:
            found[(ext, code, cycle_id)] = Target(asg_id, cycle_id, employee_id)
    return found


async def _known(ctx: Ctx, column: Any, org_column: Any, values: set[Any]) -> set[Any]:
    known: set[Any] = set()
    for chunk in chunks(list(values)):
        res = await ctx.session.execute(select(column).where(org_column == ctx.org_id, column.in_(chunk)))
        known.update(r[0] for r in res)
    return known


async def _explain_unresolved(ctx: Ctx, plans: list[Planned]) -> None:
    """Three look-ups, only when some keyed rows match no assignment, to say which part of
    the key is unknown."""
    exts = await _known(ctx, Employee.external_id, Employee.org_id, {p.parsed.employee_external_id for p in plans})
    codes = await _known(ctx, KpiDefinition.code, KpiDefinition.org_id, {p.parsed.kpi_code for p in plans})
    cycles = await _known(ctx, Cycle.id, Cycle.org_id, {p.parsed.cycle_id for p in plans})
    for p in plans:
        r = p.parsed
        if r.employee_external_id not in exts:
            p.error("employee_external_id", "no such employee")
        if r.kpi_code not in codes:
            p.error("kpi_code", "no such KPI definition")
        if r.cycle_id not in cycles:
            p.error("cycle_id", "no such cycle")
        if not p.errors:
            p.error(None, "the employee has no assignment of this KPI in this cycle")


async def _existing(ctx: Ctx, pairs: list[tuple[uuid.UUID, str]]) -> dict[tuple[uuid.UUID, str], Any]:
    m = KpiMeasurement
    found: dict[tuple[uuid.UUID, str], Any] = {}
    for chunk in chunks(pairs, TUPLE_CHUNK):
        res = await ctx.session.execute(
            select(m.id, m.assignment_id, m.source_key, m.value, m.measured_at, m.source, m.version).where(
                m.org_id == ctx.org_id, tuple_(m.assignment_id, m.source_key).in_(list(chunk))
            )
        )
        for row in res:
            found[(row.assignment_id, row.source_key)] = row
    return found


def _snap(values: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (v if v is None or isinstance(v, str) else str(plain_decimal(v)) if isinstance(v, Decimal) else str(v))
        for k, v in values.items()
    }


async def bulk_ingest(ctx: Ctx, rows: list[Any], atomic: bool) -> list[BulkMeasurementResult]:
    require(policy.bulk_ingest_kpi_measurements(ctx.principal), "KPI measurements")
    limit = get_settings().bulk_max_measurement_rows
    if len(rows) > limit:
        raise PayloadTooLarge(
            f"at most {limit} rows per call; split the batch",
            extra={"errors": [{"loc": ["body", "rows"], "msg": f"at most {limit} rows"}], "max_rows": limit},
        )
    plans = [_parse(i, raw) for i, raw in enumerate(rows)]
    valid = [p for p in plans if not p.errors]

    by_id = await _targets_by_id(ctx, list({a for p in valid if (a := p.parsed.assignment_id)}))
    keyed = [p for p in valid if p.parsed.assignment_id is None]
    by_key = await _targets_by_key(ctx, list({p.key for p in keyed}))
    unresolved = []
    for p in valid:
        r = p.parsed
        if r.assignment_id is not None:
            p.target = by_id.get(r.assignment_id)
            if p.target is None:
                p.error("assignment_id", "no such KPI assignment")
        else:
            p.target = by_key.get(p.key)
            if p.target is None:
                unresolved.append(p)
    locked = await locks.locked_pairs(ctx, {(p.target.cycle_id, p.target.employee_id) for p in valid if p.target})
    for p in valid:
        reason = locked.get((p.target.cycle_id, p.target.employee_id)) if p.target else None
        if reason is not None:
            p.error("cycle_id", f"{reason}: the assignment's measurements are locked", code="cycle_locked")
    if unresolved:
        await _explain_unresolved(ctx, unresolved)

    ok = [p for p in plans if not p.errors]
    seen: set[tuple[uuid.UUID, str]] = set()
    for p in ok:
        if p.parsed.source_key is None:
            continue
        key = (p.resolved.assignment_id, p.parsed.source_key)
        if key in seen:
            p.error("source_key", "duplicate source_key for this assignment in this call")
        seen.add(key)
    existing = await _existing(ctx, sorted(seen, key=lambda k: (str(k[0]), k[1])))

    now, actor = utcnow(), ctx.principal.actor
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    changes: list[tuple[Any, dict[str, Any] | None, dict[str, Any] | None]] = []
    for p in plans:
        if p.errors:
            continue
        r, asg = p.parsed, p.resolved.assignment_id
        old = existing.get((asg, r.source_key)) if r.source_key is not None else None
        if old is None:
            p.id, p.outcome = new_id(), "created"
            values = {
                "assignment_id": asg,
                "value": r.value,
                "measured_at": r.measured_at,
                "source": r.source,
                "source_key": r.source_key,
            }
            inserts.append(
                {
                    "org_id": ctx.org_id,
                    "id": p.id,
                    **values,
                    "recorded_by": actor,
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            changes.append((p.id, None, _snap(values)))
            continue
        p.id = old.id
        source = r.source if r.source is not None else old.source
        if (old.value, old.measured_at, old.source) == (r.value, r.measured_at, source):
            p.outcome = "unchanged"
            continue
        p.outcome = "updated"
        updates.append(
            {
                "b_org_id": ctx.org_id,
                "b_id": old.id,
                "value": r.value,
                "measured_at": r.measured_at,
                "source": source,
                "recorded_by": actor,
                "updated_at": now,
            }
        )
        changes.append(
            (
                old.id,
                _snap({"value": old.value, "measured_at": old.measured_at, "source": old.source}),
                _snap({"value": r.value, "measured_at": r.measured_at, "source": source}),
            )
        )

    failed = [p for p in plans if p.errors]
    if atomic and failed:
        # Valid rows show what they would have been; rows that would be created have no id.
        for p in plans:
            if p.outcome == "created":
                p.id = None
        raise ValidationFailed(
            f"{len(failed)} of {len(plans)} rows are invalid; nothing was applied",
            errors=[e for p in failed for e in p.errors],
            extra={"results": [_result(p).model_dump(mode="json") for p in plans]},
        )

    table = KpiMeasurement.__table__
    if inserts:
        await ctx.session.execute(insert(table), inserts)
    if updates:
        stmt = (
            update(table)
            .where(table.c.org_id == bindparam("b_org_id"), table.c.id == bindparam("b_id"))
            .values(
                value=bindparam("value"),
                measured_at=bindparam("measured_at"),
                source=bindparam("source"),
                recorded_by=bindparam("recorded_by"),
                updated_at=bindparam("updated_at"),
                version=table.c.version + 1,
            )
        )
        await ctx.session.execute(stmt, updates)
    await audit.record_many(ctx.session, ctx.principal, "kpi_measurement.upserted", "kpi_measurement", changes)
    if changes:
        touched = {p.resolved.assignment_id for p in plans if p.outcome in ("created", "updated")}
        await outbox.emit(
            ctx.session,
            ctx.org_id,
            "kpi.measurement.created",
            KpiMeasurementCreated(
                count=len(changes),
                created=len(inserts),
                updated=len(updates),
                assignment_ids=sorted(touched, key=str),
            ),
        )
    return [_result(p) for p in plans]


def _result(p: Planned) -> BulkMeasurementResult:
    return BulkMeasurementResult(
        index=p.index,
        outcome="error" if p.errors else p.outcome,
        id=None if p.errors else p.id,
        assignment_id=p.target.assignment_id if p.target else None,
        source_key=p.row.source_key if p.row else None,
        errors=p.errors,
    )
