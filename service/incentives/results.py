"""Incentive results: reading them (scoped to what the caller may see) and their
lifecycle, draft → approved → finalized, with draft or approved → declined.

A finalized result is immutable: every write to it is refused (409) here, and the
database refuses UPDATE and DELETE of a finalized row as well. A correction is a new
result of kind `adjustment` that references the original (`adjusts_id`) and walks the
same lifecycle. Every transition is audited without amounts (auditors read the audit
log and never see pay); finalizing emits `incentive.finalized` and hands each money
result its payroll sequence number (`payroll.allocate`).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, false, func, or_, select

from service.auth.context import Ctx
from service.authz import policy
from service.authz.enforce import require
from service.authz.policy import Relation
from service.errors import Conflict, NotFound
from service.incentives import payroll
from service.incentives.events import Decided, Decision, IncentiveFinalized, NominationDecided
from service.incentives.models import IncentivePlan, IncentiveResult, PayrollAck
from service.incentives.plans import get_plan
from service.incentives.schemas import (
    IncentiveResultRead,
    PayrollAckInfo,
    ResultAdjustmentCreate,
)
from service.kit import audit, hierarchy, outbox, search
from service.kit.chunks import chunks
from service.kit.etag import IfMatch, check_version
from service.kit.export import Column, CsvExport, csv_text, keyset_chunks, snapshot_session
from service.kit.money import format_minor
from service.kit.pagination import Page, PageParams, Sorting, SortKey, SortSpec, decode_position, paginate
from service.org.models import Employee
from service.org.repository import employee_sort_key, employees_matching, names_of
from service.types import new_id, utcnow

ACTIONS = ("approve", "finalize", "decline")
# The state each action leaves from, and where it goes.
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "approve": (frozenset({"draft"}), "approved"),
    "finalize": (frozenset({"approved"}), "finalized"),
    "decline": (frozenset({"draft", "approved"}), "declined"),
}


# --- visibility --------------------------------------------------------------------------------


async def relation(ctx: Ctx, employee_id: uuid.UUID) -> Relation:
    p = ctx.principal
    if p.is_client or p.employee_id is None:
        return Relation.OTHER
    if employee_id == p.employee_id:
        return Relation.SELF
    if policy.reads_everything(p):
        return Relation.OTHER
    return policy.relation_to(p, employee_id, await ctx.reports())


async def visible(ctx: Ctx) -> Select[Any]:
    """Results the caller may read, as one statement (the rule of
    `policy.read_incentive_result`, in SQL)."""
    p = ctx.principal
    stmt = select(IncentiveResult).where(IncentiveResult.org_id == ctx.org_id)
    if policy.reads_everything(p):
        return stmt
    if p.has_scope("payroll:read"):
        return stmt.where(IncentiveResult.status == "finalized", IncentiveResult.amount_minor.is_not(None))
    if p.is_client or p.employee_id is None:
        return stmt.where(false())
    reports = sorted(await ctx.reports())
    mine = and_(IncentiveResult.employee_id == p.employee_id, IncentiveResult.status == "finalized")
    if not reports:
        return stmt.where(mine)
    return stmt.where(or_(mine, IncentiveResult.employee_id.in_(reports)))


def shows_amount(ctx: Ctx, rel: Relation) -> bool:
    return policy.see_incentive_amount(ctx.principal, rel)


async def amount_visibility(ctx: Ctx, rows: Sequence[IncentiveResult]) -> dict[uuid.UUID, bool]:
    out = {}
    for r in rows:
        out[r.id] = shows_amount(ctx, await relation(ctx, r.employee_id))
    return out


async def acks_of(ctx: Ctx, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, PayrollAck]:
    out: dict[uuid.UUID, PayrollAck] = {}
    ids = list(ids)
    for part in chunks(ids):
        rows = await ctx.session.execute(
            select(PayrollAck).where(PayrollAck.org_id == ctx.org_id, PayrollAck.result_id.in_(part))
        )
        out.update({a.result_id: a for a in rows.scalars()})
    return out


def redact(inputs: dict[str, Any]) -> dict[str, Any]:
    """The snapshot without its pay part (everything under `money`)."""
    return {k: v for k, v in (inputs or {}).items() if k != "money"}


def result_read(r: IncentiveResult, show_amount: bool, ack: PayrollAck | None = None) -> IncentiveResultRead:
    amount = r.amount_minor if show_amount else None
    return IncentiveResultRead(
        id=r.id,
        plan_id=r.plan_id,
        employee_id=r.employee_id,
        kind=r.kind,
        status=r.status,
        amount_minor=amount,
        amount=format_minor(amount, r.currency) if amount is not None and r.currency else None,
        currency=r.currency,
        amount_visible=show_amount,
        nomination=r.nomination,
        nomination_kind=r.nomination,
        earning_code=r.earning_code,
        period_start=r.period_start,
        period_end=r.period_end,
        inputs=r.inputs if show_amount else redact(r.inputs),
        version=r.version,
        adjusts_id=r.adjusts_id,
        reason=r.reason,
        decision_comment=r.decision_comment,
        approved_at=r.approved_at,
        approved_by=r.approved_by,
        finalized_at=r.finalized_at,
        finalized_by=r.finalized_by,
        declined_at=r.declined_at,
        declined_by=r.declined_by,
        payroll=PayrollAckInfo(
            payroll_reference=ack.payroll_reference,
            acknowledged_at=ack.acknowledged_at,
            acknowledged_by=ack.acknowledged_by,
        )
        if ack is not None and show_amount
        else None,
        created_by=r.created_by,
        created_at=r.created_at,
        updated_at=r.updated_at,
    )


async def reads(ctx: Ctx, rows: Sequence[IncentiveResult]) -> list[IncentiveResultRead]:
    """Read models of many results: one query for their acknowledgements."""
    shown = await amount_visibility(ctx, rows)
    acks = await acks_of(ctx, [r.id for r in rows if r.status == "finalized"])
    return [result_read(r, shown[r.id], acks.get(r.id)) for r in rows]


def snapshot(r: IncentiveResult) -> dict[str, Any]:
    """Audit snapshot: state, never the amount."""
    return {
        "id": str(r.id),
        "plan_id": str(r.plan_id),
        "employee_id": str(r.employee_id),
        "kind": r.kind,
        "status": r.status,
        "nomination": r.nomination,
        "adjusts_id": str(r.adjusts_id) if r.adjusts_id else None,
        "version": r.version,
    }


RESULT_SORT = Sorting(
    employee_sort_key("family_name", Employee.family_name, IncentiveResult.org_id, IncentiveResult.employee_id),
    employee_sort_key("given_name", Employee.given_name, IncentiveResult.org_id, IncentiveResult.employee_id),
    SortKey("status", IncentiveResult.status),
    SortKey("kind", IncentiveResult.kind),
    SortKey("amount_minor", IncentiveResult.amount_minor, "int", nullable=True),
    SortKey("period_start", IncentiveResult.period_start, "date"),
    SortKey("finalized_at", IncentiveResult.finalized_at, "datetime", nullable=True),
    SortKey("created_at", IncentiveResult.created_at, "datetime"),
    SortKey("updated_at", IncentiveResult.updated_at, "datetime"),
)
# Keys over pay: only for callers who see every amount (an order by amount would tell a
# manager or an auditor whose bonus is larger).
PAY_SORT_KEYS = ("amount_minor",)


def sees_all_pay(ctx: Ctx) -> bool:
    return policy.see_incentive_amount(ctx.principal, Relation.OTHER)


@dataclass(frozen=True)
class ResultFilters:
    """What a list of results is narrowed and ordered by: REST's query parameters and
    GraphQL's arguments, the same for a page and for the CSV export."""

    plan_id: uuid.UUID | None = None
    employee_id: uuid.UUID | None = None
    status: str | None = None
    kind: str | None = None
    cycle_id: uuid.UUID | None = None
    nomination: str | None = None
    department_id: uuid.UUID | None = None
    manager_id: uuid.UUID | None = None
    subtree: bool = False
    q: str | None = None
    sort: str | Sequence[str] | None = None
    include_child_cycles: bool = False


async def _results_query(ctx: Ctx, f: ResultFilters) -> tuple[Select[Any], SortSpec]:
    require(policy.list_incentive_results(ctx.principal), "incentive results")
    hierarchy.check_people_filter(f.manager_id, f.subtree)
    words = search.terms(f.q)
    spec = RESULT_SORT.parse(f.sort, refused=() if sees_all_pay(ctx) else PAY_SORT_KEYS, org_id=ctx.org_id)
    stmt = await visible(ctx)
    if f.plan_id is not None:
        stmt = stmt.where(IncentiveResult.plan_id == f.plan_id)
    if f.employee_id is not None:
        stmt = stmt.where(IncentiveResult.employee_id == f.employee_id)
    if f.status is not None:
        stmt = stmt.where(IncentiveResult.status == f.status)
    if f.kind is not None:
        stmt = stmt.where(IncentiveResult.kind == f.kind)
    if f.nomination is not None:
        stmt = stmt.where(IncentiveResult.nomination == f.nomination)
    cycles = hierarchy.in_cycles(IncentivePlan.cycle_id, ctx.org_id, f.cycle_id, f.include_child_cycles)
    if cycles is not None:
        plans = select(IncentivePlan.id).where(IncentivePlan.org_id == ctx.org_id, cycles)
        stmt = stmt.where(IncentiveResult.plan_id.in_(plans))
    people = hierarchy.people(ctx.org_id, manager_id=f.manager_id, subtree=f.subtree, department_id=f.department_id)
    if people is not None:
        stmt = stmt.where(IncentiveResult.employee_id.in_(people))
    if words:
        stmt = stmt.where(IncentiveResult.employee_id.in_(employees_matching(ctx.org_id, words)))
    return stmt, spec


async def list_results(ctx: Ctx, params: PageParams, f: ResultFilters = ResultFilters()) -> Page[IncentiveResult]:
    """The results the caller may see (`visible`), narrowed by the filters
    (`department_id`, `manager_id` with `subtree`: the employee's; `q`: words of their
    name, email or external id; `include_child_cycles`: the results of the plans of
    `cycle_id` and of every cycle nested in it). Sorting by `amount_minor` is for callers who see every
    amount; for others it is an unknown key."""
    stmt, spec = await _results_query(ctx, f)
    return await paginate(ctx.session, stmt, IncentiveResult.id, params, sort=spec)


@dataclass(frozen=True)
class ExportRow:
    result: IncentiveResult
    person: Any  # the employee's external_id and names


RESULT_COLUMNS: list[Column[ExportRow]] = [
    Column("id", lambda r: r.result.id),
    Column("plan_id", lambda r: r.result.plan_id),
    Column("employee_id", lambda r: r.result.employee_id),
    Column("employee_external_id", lambda r: r.person.external_id, typed=True),
    Column("given_name", lambda r: r.person.given_name, typed=True),
    Column("family_name", lambda r: r.person.family_name, typed=True),
    Column("kind", lambda r: r.result.kind),
    Column("status", lambda r: r.result.status),
    Column("currency", lambda r: r.result.currency),
    Column("nomination", lambda r: r.result.nomination),
    Column("nomination_kind", lambda r: r.result.nomination),
    Column("earning_code", lambda r: r.result.earning_code, typed=True),
    Column("period_start", lambda r: r.result.period_start),
    Column("period_end", lambda r: r.result.period_end),
    Column("version", lambda r: r.result.version),
    Column("adjusts_id", lambda r: r.result.adjusts_id),
    Column("approved_at", lambda r: r.result.approved_at),
    Column("finalized_at", lambda r: r.result.finalized_at),
    Column("declined_at", lambda r: r.result.declined_at),
    Column("created_at", lambda r: r.result.created_at),
    Column("updated_at", lambda r: r.result.updated_at),
]
RESULT_PAY_COLUMNS: list[Column[ExportRow]] = [
    Column("amount_minor", lambda r: r.result.amount_minor),
    Column(
        "amount",
        lambda r: (
            format_minor(r.result.amount_minor, r.result.currency)
            if r.result.amount_minor is not None and r.result.currency
            else None
        ),
    ),
]


async def export_results(ctx: Ctx, f: ResultFilters, cursor: str | None = None) -> CsvExport:
    """The list as CSV, read in chunks while it is sent, each chunk with one query for
    its employees' names. The amount columns are there only for callers who see every
    amount (hr, admin, payroll clients); for everyone else they are left out (not blank).
    Payroll's own feed (`payroll.csv_export`) is a separate contract."""
    stmt, spec = await _results_query(ctx, f)
    if cursor:
        decode_position(spec, cursor)  # a bad cursor is a 422 now, not a broken stream later
    columns = RESULT_COLUMNS + (RESULT_PAY_COLUMNS if sees_all_pay(ctx) else [])
    org_id = ctx.org_id

    async def pieces() -> AsyncIterator[list[ExportRow]]:
        async with snapshot_session() as session:
            async for rows in keyset_chunks(session, stmt, IncentiveResult.id, sort=spec, cursor=cursor):
                people = await names_of(session, org_id, [r.employee_id for r in rows])
                yield [ExportRow(r, people[r.employee_id]) for r in rows]

    return CsvExport("incentive-results.csv", csv_text(columns, pieces()))


async def get_result(ctx: Ctx, result_id: uuid.UUID, *, fresh: bool = False) -> tuple[IncentiveResult, Relation]:
    """The result and the caller's relation to its employee; 404 when not visible."""
    r = await ctx.session.get(IncentiveResult, (ctx.org_id, result_id), populate_existing=fresh)
    if r is None:
        raise NotFound("incentive result not found")
    rel = await relation(ctx, r.employee_id)
    if not policy.read_incentive_result(ctx.principal, rel, r.status, r.amount_minor is not None).allowed:
        raise NotFound("incentive result not found")
    return r, rel


# --- transitions ---------------------------------------------------------------------------------


def _refuse_state(r: IncentiveResult, action: str) -> None:
    allowed_from, _ = TRANSITIONS[action]
    if r.status in allowed_from:
        return
    if r.status == "finalized":
        raise Conflict(
            "the result is finalized and immutable; correct it with an adjustment", extra={"result_status": r.status}
        )
    raise Conflict(f"a result cannot {action} from {r.status}", extra={"result_status": r.status})


async def _actionable(ctx: Ctx, result_id: uuid.UUID) -> IncentiveResult:
    r, rel = await get_result(ctx, result_id)
    decision = policy.act_on_incentive_result(ctx.principal, rel, r.status, r.amount_minor is not None)
    require(decision, "incentive result")
    return r


# a nomination's status after a decision → (the decision, the status), as the event names them
DECIDED: dict[str, tuple[Decision, Decided]] = {
    "approved": ("approve", "approved"),
    "declined": ("decline", "declined"),
    "finalized": ("finalize", "finalized"),
}


async def emit_nominations(ctx: Ctx, rows: Sequence[IncentiveResult], cycle_id: uuid.UUID | None) -> None:
    """A `nomination.decided` event for each nomination among `rows` (already decided),
    built from the rows and their plan's cycle alone, without reading anything else."""
    for r in rows:
        if r.kind != "nomination":
            continue
        await outbox.emit(
            ctx.session,
            ctx.org_id,
            NominationDecided.event_type,
            NominationDecided(
                nomination_id=r.id,
                plan_id=r.plan_id,
                cycle_id=cycle_id,
                employee_id=r.employee_id,
                nomination_kind=r.nomination,
                kind=r.nomination,
                decision=DECIDED[r.status][0],
                status=DECIDED[r.status][1],
                actor=ctx.principal.actor,
            ),
        )


async def transition(
    ctx: Ctx, result_id: uuid.UUID, action: str, comment: str | None = None, expected: IfMatch | None = None
) -> IncentiveResult:
    """One result's approve, finalize or decline."""
    if action not in ACTIONS:
        raise NotFound(f"no action {action!r}")
    r = await _actionable(ctx, result_id)
    check_version(expected, r.version)
    _refuse_state(r, action)
    if action == "finalize":
        return (await finalize_many(ctx, [r.id], plan_id=r.plan_id))[0]
    before = snapshot(r)
    now, actor = utcnow(), ctx.principal.actor
    if action == "approve":
        r.status, r.approved_at, r.approved_by = "approved", now, actor
    else:
        r.status, r.declined_at, r.declined_by = "declined", now, actor
    if comment is not None:
        r.decision_comment = comment
    await ctx.session.flush()
    await audit.record(
        ctx.session,
        ctx.principal,
        f"incentive_result.{TRANSITIONS[action][1]}",
        "incentive_result",
        r.id,
        before,
        snapshot(r),
        reason=comment,
    )
    if r.kind == "nomination":
        plan = await ctx.session.get(IncentivePlan, (ctx.org_id, r.plan_id))
        await emit_nominations(ctx, [r], plan.cycle_id if plan else None)
    return r


async def finalize_many(ctx: Ctx, ids: Sequence[uuid.UUID], plan_id: uuid.UUID) -> list[IncentiveResult]:
    """Finalize approved results, set-based. The payroll sequence lock is taken first
    (the transaction's first write), then the rows are read again under it, so two
    finalizations never interleave and numbers follow commit order (`payroll.py`)."""
    if not ids:
        return []
    await payroll.lock(ctx.session, ctx.org_id)
    rows: list[IncentiveResult] = []
    for part in chunks(ids):
        res = await ctx.session.execute(
            select(IncentiveResult)
            .where(IncentiveResult.org_id == ctx.org_id, IncentiveResult.id.in_(list(part)))
            .execution_options(populate_existing=True)
            .order_by(IncentiveResult.id)
        )
        rows.extend(res.scalars())
    if len(rows) != len(set(ids)):
        raise NotFound("incentive result not found")
    for r in rows:
        _refuse_state(r, "finalize")
    money = [r for r in rows if r.amount_minor is not None]
    first = await payroll.allocate(ctx.session, ctx.org_id, len(money)) if money else 0
    seqs = {r.id: first + i for i, r in enumerate(money)}
    now, actor = utcnow(), ctx.principal.actor
    befores = {r.id: snapshot(r) for r in rows}
    plan = await ctx.session.get(IncentivePlan, (ctx.org_id, plan_id))
    for r in rows:
        r.status, r.finalized_at, r.finalized_by, r.payroll_seq = "finalized", now, actor, seqs.get(r.id)
        r.plan_name = plan.name if plan is not None else None
    await ctx.session.flush()
    await audit.record_many(
        ctx.session,
        ctx.principal,
        "incentive_result.finalized",
        "incentive_result",
        [(r.id, befores[r.id], snapshot(r)) for r in rows],
    )
    await outbox.emit(
        ctx.session,
        ctx.org_id,
        "incentive.finalized",
        IncentiveFinalized(
            plan_id=plan_id,
            cycle_id=plan.cycle_id if plan else None,
            result_ids=[r.id for r in rows[:10000]],
            count=len(rows),
            payroll_sequences=[seqs[r.id] for r in money][:10000],
        ),
    )
    await emit_nominations(ctx, rows, plan.cycle_id if plan else None)
    return rows


async def bulk_action(
    ctx: Ctx, plan_id: uuid.UUID, action: str, expected: IfMatch | None = None
) -> list[IncentiveResult]:
    """Approve every draft, or finalize every approved result, of a plan at once."""
    plan = await get_plan(ctx, plan_id)
    require(policy.manage_incentives(ctx.principal), "incentive plan")
    check_version(expected, plan.version)
    source = "draft" if action == "approve" else "approved"
    if action == "finalize":  # choose the rows under the lock, so a concurrent finalization is not a 409
        await payroll.lock(ctx.session, ctx.org_id)
    ids = list(
        (
            await ctx.session.execute(
                select(IncentiveResult.id)
                .where(
                    IncentiveResult.org_id == ctx.org_id,
                    IncentiveResult.plan_id == plan.id,
                    IncentiveResult.status == source,
                )
                .order_by(IncentiveResult.id)
            )
        ).scalars()
    )
    if action == "finalize":
        return await finalize_many(ctx, ids, plan.id)
    rows: list[IncentiveResult] = []
    for part in chunks(ids):
        res = await ctx.session.execute(
            select(IncentiveResult).where(IncentiveResult.org_id == ctx.org_id, IncentiveResult.id.in_(part))
        )
        rows.extend(res.scalars())
    now, actor = utcnow(), ctx.principal.actor
    befores = {r.id: snapshot(r) for r in rows}
    for r in rows:
        r.status, r.approved_at, r.approved_by = "approved", now, actor
    await ctx.session.flush()
    await audit.record_many(
        ctx.session,
        ctx.principal,
        "incentive_result.approved",
        "incentive_result",
        [(r.id, befores[r.id], snapshot(r)) for r in rows],
    )
    ordered = sorted(rows, key=lambda r: r.id)
    await emit_nominations(ctx, ordered, plan.cycle_id)
    return ordered


# --- adjustments -----------------------------------------------------------------------------------


async def adjust(
    ctx: Ctx, result_id: uuid.UUID, data: ResultAdjustmentCreate, note: dict[str, Any] | None = None
) -> IncentiveResult:
    """A correction of a finalized money result: a new draft of kind adjustment that
    references the original (an adjustment of an adjustment references the same original).
    `note` adds to its inputs what caused it (an amended score of record)."""
    target = await _actionable(ctx, result_id)
    original = target
    if target.adjusts_id is not None:
        adjusted = await ctx.session.get(IncentiveResult, (ctx.org_id, target.adjusts_id))
        assert adjusted is not None
        original = adjusted
    if original.amount_minor is None or original.currency is None:
        raise Conflict("a nomination has no amount to adjust")
    if target.status != "finalized" or original.status != "finalized":
        raise Conflict(
            "only finalized results are corrected by adjustment; a draft is replaced by running the plan again",
            extra={"result_status": target.status},
        )
    previous = original.amount_minor + int(
        await ctx.session.scalar(
            select(func.coalesce(func.sum(IncentiveResult.amount_minor), 0)).where(
                IncentiveResult.org_id == ctx.org_id,
                IncentiveResult.adjusts_id == original.id,
                IncentiveResult.status != "declined",
            )
        )
        or 0
    )  # PostgreSQL sums BIGINT as NUMERIC
    if data.amount_minor is not None:
        delta = data.amount_minor
    else:
        assert data.corrected_amount_minor is not None
        delta = data.corrected_amount_minor - previous
        if delta == 0:
            raise Conflict(
                "the corrected amount equals the current total; nothing to adjust",
                extra={"current_total_minor": previous},
            )
    inputs = {
        "formula": "adjustment = the signed change to the original's total",
        "adjusts_id": str(original.id),
        "reason": data.reason,
        "plan": original.inputs.get("plan"),
        "period": original.inputs.get("period"),
        "money": {
            "currency": original.currency,
            "original_amount_minor": original.amount_minor,
            "previous_total_minor": previous,
            "delta_minor": delta,
            "new_total_minor": previous + delta,
            "amount_minor": delta,
        },
        **(note or {}),
    }
    row = IncentiveResult(
        org_id=ctx.org_id,
        id=new_id(),
        plan_id=original.plan_id,
        employee_id=original.employee_id,
        kind="adjustment",
        status="draft",
        amount_minor=delta,
        currency=original.currency,
        earning_code=original.earning_code,
        period_start=original.period_start,
        period_end=original.period_end,
        inputs=inputs,
        adjusts_id=original.id,
        reason=data.reason,
        created_by=ctx.principal.actor,
    )
    ctx.session.add(row)
    await ctx.session.flush()
    await audit.record(
        ctx.session,
        ctx.principal,
        "incentive_result.adjustment_created",
        "incentive_result",
        row.id,
        None,
        snapshot(row),
        reason=data.reason,
    )
    return row
