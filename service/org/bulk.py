"""`POST /employees/bulk`: upsert up to 10,000 employees by `external_id`, set-based.

A handful of queries whatever the row count: one SELECT of the existing rows by
external id, one each to resolve departments, positions and managers, one of the
reporting graph for the cycle check, then one multi-row INSERT, one executemany UPDATE,
one audit INSERT and one outbox event. Rows whose stored values already equal the
request are `unchanged` and write nothing, so a no-op re-sync is free.

Managers may be given as `manager_id` or, handier for an HRIS, `manager_external_id`,
which may name another row of the same call. A row that updates an employee needs only
`external_id` and the fields it changes (a termination is `{"external_id", "status",
"termination_date"}`); a row that creates one needs what a single create needs.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from service.auth.context import Ctx
from service.authz import policy
from service.authz.enforce import require
from service.config import get_settings
from service.errors import Forbidden, ValidationFailed, validation_errors
from service.kit import audit, outbox
from service.kit.chunks import chunks
from service.kit.retry import ConcurrentChange
from service.org import repository as repo
from service.org.events import EmployeeUpserted
from service.org.models import Department, Employee, Position
from service.org.schemas import BulkEmployeeRow, BulkRowResult, EmployeeCreate
from service.org.service import COMP_FIELDS
from service.types import new_id, utcnow

COLUMNS = (
    "external_id",
    "email",
    "given_name",
    "family_name",
    "department_id",
    "position_id",
    "manager_id",
    "status",
    "hire_date",
    "termination_date",
)


REQUIRED_TO_CREATE = tuple(name for name, f in EmployeeCreate.model_fields.items() if f.is_required())
NOT_NULL = ("email", "given_name", "family_name", "status")


@dataclass
class Planned:
    index: int
    row: BulkEmployeeRow | None = None  # None when the row failed validation
    values: dict[str, Any] = field(default_factory=dict)
    existing: Employee | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)
    outcome: str = "error"
    id: uuid.UUID | None = None
    raw_external_id: str | None = None

    @property
    def parsed(self) -> BulkEmployeeRow:
        """The row of a plan that passed validation (only a row that failed has none)."""
        assert self.row is not None
        return self.row


def _err(index: int, loc: str, msg: str) -> dict[str, Any]:
    return {"loc": ["body", "rows", index, loc], "msg": msg}


async def bulk_upsert(ctx: Ctx, rows: list[dict[str, Any]], atomic: bool) -> list[BulkRowResult]:
    require(policy.write_directory(ctx.principal), "employees")
    limit = get_settings().bulk_max_employee_rows
    if len(rows) > limit:
        raise ValidationFailed(
            f"at most {limit} rows per call", errors=[{"loc": ["body", "rows"], "msg": f"at most {limit} rows"}]
        )
    can_pay = policy.write_compensation(ctx.principal)
    plans: list[Planned] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(rows):
        plan = Planned(index=index)
        if isinstance(raw, dict) and isinstance(raw.get("external_id"), str):
            plan.raw_external_id = raw["external_id"]  # named in the result even when invalid
        try:
            plan.row = BulkEmployeeRow.model_validate(raw)
        except ValidationError as exc:
            plan.errors = [
                {"loc": ["body", "rows", index, *e["loc"]], "msg": e["msg"]}
                for e in validation_errors(list(exc.errors()))
            ]
            plans.append(plan)
            continue
        if plan.row.external_id in seen:
            plan.errors.append(_err(index, "external_id", "duplicate external_id in this call"))
        seen.setdefault(plan.row.external_id, index)
        if plan.row.compensation is not None and not can_pay:
            raise Forbidden("not allowed to set compensation")
        plans.append(plan)

    valid = [p for p in plans if not p.errors]
    existing = await repo.employees_by_external_id(ctx.session, ctx.org_id, [p.parsed.external_id for p in valid])
    manager_ext = [p.parsed.manager_external_id for p in valid if p.parsed.manager_external_id]
    ext_managers = await repo.employees_by_external_id(ctx.session, ctx.org_id, manager_ext)
    deps = await repo.existing_ids(ctx.session, Department, ctx.org_id, (p.parsed.department_id for p in valid))
    poss = await repo.existing_ids(ctx.session, Position, ctx.org_id, (p.parsed.position_id for p in valid))
    mgrs = await repo.existing_ids(ctx.session, Employee, ctx.org_id, (p.parsed.manager_id for p in valid))

    batch_ids: dict[str, uuid.UUID] = {}
    for p in valid:
        p.existing = existing.get(p.parsed.external_id)
        p.id = p.existing.id if p.existing else new_id()
        batch_ids[p.parsed.external_id] = p.id

    batch_id_set = set(batch_ids.values())
    for p in valid:
        r = p.parsed
        # An upsert changes what the row names: fields left out keep their stored values.
        values = r.model_dump(include=set(COLUMNS), exclude_unset=True)
        values["external_id"] = r.external_id
        for name in NOT_NULL:
            if name in values and values[name] is None:
                p.errors.append(_err(p.index, name, f"{name} cannot be null"))
        if p.existing is None:
            for name in REQUIRED_TO_CREATE:
                if name not in r.model_fields_set:
                    p.errors.append(
                        _err(
                            p.index,
                            name,
                            f"{name} is required to create an employee (no employee has external_id {r.external_id!r})",
                        )
                    )
            values = {**{c: None for c in COLUMNS + COMP_FIELDS}, "status": "active", **values}
        else:
            hire = values.get("hire_date", p.existing.hire_date)
            end = values.get("termination_date", p.existing.termination_date)
            if hire and end and end < hire:
                p.errors.append(_err(p.index, "termination_date", "termination_date is before hire_date"))
        if r.department_id is not None and r.department_id not in deps:
            p.errors.append(_err(p.index, "department_id", "no such department"))
        if r.position_id is not None and r.position_id not in poss:
            p.errors.append(_err(p.index, "position_id", "no such position"))
        if r.manager_external_id is not None:
            if r.manager_id is not None:
                p.errors.append(
                    _err(p.index, "manager_external_id", "give manager_id or manager_external_id, not both")
                )
            target = batch_ids.get(r.manager_external_id) or (
                ext_managers[r.manager_external_id].id if r.manager_external_id in ext_managers else None
            )
            if target is None:
                p.errors.append(_err(p.index, "manager_external_id", "no such employee"))
            values["manager_id"] = target
        elif r.manager_id is not None and r.manager_id not in mgrs and r.manager_id not in batch_id_set:
            p.errors.append(_err(p.index, "manager_id", "no such employee"))
        if values.get("manager_id") is not None and values["manager_id"] == p.id:
            p.errors.append(_err(p.index, "manager_id", "an employee cannot manage themself"))
        if r.compensation is not None:
            comp = r.compensation.model_dump(exclude_unset=True)
            for key, column in zip(
                ("base_salary_minor", "currency", "target_bonus_pct", "target_bonus_minor"), COMP_FIELDS, strict=True
            ):
                if key in comp:
                    values[column] = comp[key]
        p.values = values

    # Reporting cycles, judged on the graph as it would be after this call.
    graph = await repo.manager_edges(ctx.session, ctx.org_id)
    ok = [p for p in valid if not p.errors]
    for p in ok:
        assert p.id is not None  # every valid row got its id above
        graph[p.id] = p.values.get("manager_id")
    for p in ok:
        node, steps = p.values.get("manager_id"), 0
        while node is not None and steps <= len(graph):
            if node == p.id:
                p.errors.append(_err(p.index, "manager_id", "this manager would make a reporting cycle"))
                break
            node, steps = graph.get(node), steps + 1

    depth = _settle_batch_managers(valid)

    failed = [p for p in plans if p.errors]
    if atomic and failed:
        raise ValidationFailed(
            f"{len(failed)} of {len(plans)} rows are invalid; nothing was applied",
            errors=[e for p in failed for e in p.errors],
            extra={"results": [_result(p).model_dump(mode="json") for p in plans]},
        )

    now = utcnow()
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    changes: list[tuple[Any, dict[str, Any] | None, dict[str, Any] | None]] = []
    for p in plans:
        if p.errors:
            continue
        if p.existing is None:
            p.outcome = "created"
            inserts.append(
                {"org_id": ctx.org_id, "id": p.id, "version": 1, "created_at": now, "updated_at": now, **p.values}
            )
            changes.append((p.id, None, _public(p.values)))
            continue
        before = {k: getattr(p.existing, k) for k in p.values}
        if before == p.values:
            p.outcome = "unchanged"
            continue
        p.outcome = "updated"
        updates.append(
            {
                "b_org_id": ctx.org_id,
                "b_id": p.id,
                "b_version": p.existing.version,
                **p.values,
                "version": p.existing.version + 1,
                "updated_at": now,
            }
        )
        changes.append((p.id, _public(before), _public(p.values)))

    if inserts:
        # The manager foreign key is checked row by row: managers of this call go first.
        inserts.sort(key=lambda values: depth.get(values["id"]) or 0)
        try:
            await ctx.session.execute(insert(Employee), inserts)
        except IntegrityError as exc:  # a concurrent call created one of these external ids
            raise ConcurrentChange("another request created some of these employees; retry") from exc
    if updates:
        await _update_many(ctx, updates, now)
    await audit.record_many(ctx.session, ctx.principal, "employee.upserted", "employee", changes)
    if changes:
        await outbox.emit(
            ctx.session,
            ctx.org_id,
            "employee.upserted",
            EmployeeUpserted(employee_ids=[c[0] for c in changes], created=len(inserts), updated=len(updates)),
        )
    return [_result(p) for p in plans]


def _settle_batch_managers(valid: list[Planned]) -> dict[uuid.UUID | None, int | None]:
    """A row whose manager is a new row of this call that will not be created cannot be
    applied either (its foreign key would dangle): it fails too, transitively. Returns,
    for each row, how many new rows of the call stand above it in the reporting chain, so
    that inserts can put managers before their reports. One pass, iterative (a chain may
    be thousands deep); the cycle check has already run, so chains of valid rows end."""
    new_rows = {p.id: p for p in valid if p.existing is None}
    depth: dict[uuid.UUID | None, int | None] = {}
    for start in valid:
        path: list[Planned] = []
        on_path: set[uuid.UUID | None] = set()
        cur: Planned | None = start
        while cur is not None and cur.id not in depth and cur.id not in on_path:
            path.append(cur)
            on_path.add(cur.id)
            cur = None if cur.errors else new_rows.get(cur.values.get("manager_id"))
        above: int | None
        if cur is None:
            above = -1
        elif cur.id in depth:
            above = depth[cur.id]
        else:  # a loop among rows the cycle check passed: refuse rather than guess
            above = None
        for p in reversed(path):
            if p.errors:
                above = None
            elif above is None:
                loc = "manager_external_id" if p.parsed.manager_external_id else "manager_id"
                p.errors.append(_err(p.index, loc, "the manager's row in this call has errors"))
            else:
                above += 1
            depth[p.id] = above
    return depth


async def _update_many(ctx: Ctx, updates: list[dict[str, Any]], now: Any) -> None:
    """One executemany UPDATE per distinct column set, guarded by the version read.

    A row another transaction changed after it was read matches no row here (asyncpg
    reports no per-row counts for executemany), so the rows are read back: each must now
    carry this call's version and timestamp, else the call raises `ConcurrentChange` and
    the request runs again from the start (service/kit/retry.py) on the fresh rows."""
    from sqlalchemy import bindparam

    by_cols: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in updates:
        by_cols.setdefault(tuple(sorted(k for k in row if not k.startswith("b_"))), []).append(row)
    table = Employee.__table__
    for cols, rows in by_cols.items():
        stmt = (
            update(table)
            .where(
                table.c.org_id == bindparam("b_org_id"),
                table.c.id == bindparam("b_id"),
                table.c.version == bindparam("b_version"),
            )
            .values({c: bindparam(c) for c in cols})
        )
        await ctx.session.execute(stmt, rows)
    expected = {row["b_id"]: row["version"] for row in updates}
    written = set()
    ids = list(expected)
    for part in chunks(ids):
        res = await ctx.session.execute(
            select(table.c.id, table.c.version, table.c.updated_at).where(
                table.c.org_id == ctx.org_id, table.c.id.in_(part)
            )
        )
        written |= {r.id for r in res if r.version == expected[r.id] and _same_instant(r.updated_at, now)}
    if len(written) != len(expected):
        raise ConcurrentChange("another request changed some of these employees; retry")


def _same_instant(stored: Any, now: Any) -> bool:
    """SQLite hands timestamps back without a zone; both are UTC."""
    if stored is None:
        return False
    if stored.tzinfo is None and now.tzinfo is not None:
        stored = stored.replace(tzinfo=now.tzinfo)
    return stored == now


def _public(values: dict[str, Any]) -> dict[str, Any]:
    out = {
        k: (str(v) if v is not None and not isinstance(v, (str, int, bool)) else v)
        for k, v in values.items()
        if k not in COMP_FIELDS
    }
    if any(k in values for k in COMP_FIELDS):
        out["compensation"] = "redacted"
    return out


def _result(p: Planned) -> BulkRowResult:
    return BulkRowResult(
        index=p.index,
        external_id=p.row.external_id if p.row else p.raw_external_id,
        id=p.id if not p.errors else (p.existing.id if p.existing else None),
        outcome="error" if p.errors else p.outcome,
        errors=p.errors,
    )
