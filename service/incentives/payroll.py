"""The payroll contract: finalized money results as a feed, pulled with a cursor
(JSON pages or a CSV stream) and acknowledged with payroll's own reference.

Why the feed never skips or repeats, even while results are being finalized
---------------------------------------------------------------------------
A cursor over ids or timestamps is not safe for a feed: both are assigned before commit,
so a transaction that started earlier but commits later makes a row appear *behind* a
position a reader already passed, and the reader never sees it. The feed therefore has
its own order, a per-organization sequence number (`incentive_results.payroll_seq`)
assigned so that later-committed rows always get higher numbers:

1. Finalizing first takes the organization's row of `incentive_payroll_sequences` with a
   write (`lock`: INSERT … ON CONFLICT DO NOTHING, then SELECT … FOR UPDATE on
   PostgreSQL; on SQLite the INSERT itself takes the database's single write lock). The
   lock is held until the transaction commits or rolls back.
2. Under that lock it reads the results again (their state may have changed while it
   waited), takes the next numbers (`allocate`: UPDATE … SET last_seq = last_seq + n
   RETURNING) and writes them with the `finalized` state, in the same transaction.
3. A second finalizer of the organization waits at step 1 until the first one has
   committed; it then reads the committed counter and continues from there. So number
   order is commit order, and when a reader sees number n committed, every number below
   n is committed too (a rolled-back transaction also rolls its numbers back, so no gap
   is ever filled later).

A reader walks `WHERE payroll_seq > cursor ORDER BY payroll_seq`; the cursor is the last
number it received. Nothing can later appear below it (no skip) and `>` never returns it
again (no repeat), across pages and across days. The lock serializes only finalizations
of one organization; reads never wait for it, and other organizations are unaffected.

`updated_since` narrows the feed to results finalized at or after a time (for a first
sync from a date; a finalized result never changes again, so its update time is its
finalization time). Use the cursor, not the time, for incremental pulls. `resume_cursor`
(JSON) and the `X-Resume-Cursor` header (CSV) tell where to continue later, also when a
pull returned nothing new.

The CSV stream reads its upper bound (the highest committed number) first and then
streams rows up to it from its own connection, 1,000 at a time (a server-side cursor on
PostgreSQL), so memory stays constant whatever the size, and the resume cursor of the
header is exact. Text fields that a spreadsheet would read as a formula (starting with
=, +, -, @, tab or CR) are prefixed with a single quote.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, Select, and_, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.context import Ctx
from service.authz import policy
from service.authz.enforce import require
from service.db import database
from service.errors import Conflict, NotFound, ValidationFailed
from service.incentives.models import IncentivePlan, IncentiveResult, PayrollAck, PayrollSequence
from service.incentives.schemas import PayrollAckInfo, PayrollPage, PayrollResultRead
from service.kit import audit
from service.kit.export import safe_cell, timestamp
from service.kit.money import format_minor
from service.kit.pagination import MAX_LIMIT
from service.org.models import Employee
from service.types import utcnow

CSV_COLUMNS = (
    "result_id",
    "employee_external_id",
    "plan",
    "period_start",
    "period_end",
    "earning_code",
    "amount",
    "currency",
    "kind",
    "adjusts_id",
    "finalized_at",
)
CSV_CHUNK = 1000
DEFAULT_LIMIT = 50
CSV_MAX_LIMIT = 100_000_000  # JSON pages stop at the API's usual 500


# --- the sequence ------------------------------------------------------------------------------


def _insert(session: AsyncSession) -> Any:
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


async def lock(session: AsyncSession, org_id: uuid.UUID) -> int:
    """Take the organization's payroll sequence lock for the rest of the transaction and
    answer the last number handed out. Call it before the transaction's other writes."""
    insert = _insert(session)
    await session.execute(
        insert(PayrollSequence).values(org_id=org_id, last_seq=0).on_conflict_do_nothing(index_elements=["org_id"])
    )
    return (
        await session.execute(
            select(PayrollSequence.last_seq).where(PayrollSequence.org_id == org_id).with_for_update()
        )
    ).scalar_one()


async def allocate(session: AsyncSession, org_id: uuid.UUID, count: int) -> int:
    """Hand out `count` consecutive numbers (under the lock); answers the first."""
    last = (
        await session.execute(
            update(PayrollSequence)
            .where(PayrollSequence.org_id == org_id)
            .values(last_seq=PayrollSequence.last_seq + count)
            .returning(PayrollSequence.last_seq)
            .execution_options(synchronize_session=False)
        )
    ).scalar_one()
    return last - count + 1


# --- cursors -------------------------------------------------------------------------------------


def encode_cursor(seq: int) -> str:
    raw = json.dumps({"payroll_seq": seq}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        data = json.loads(base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode()))
        seq = data["payroll_seq"]
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
            raise ValueError("bad sequence")
        return seq
    except Exception as exc:  # any malformed cursor is the caller's mistake
        raise ValidationFailed(
            "invalid cursor", errors=[{"loc": ["query", "cursor"], "msg": "invalid cursor"}]
        ) from exc


# --- the feed ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    plan_id: uuid.UUID | None = None
    updated_since: dt.datetime | None = None
    acknowledged: bool | None = None


def feed(org_id: uuid.UUID, filters: Filters, after: int) -> Select[*tuple[Any, ...]]:
    """Finalized money results after `after`, in sequence order, with what payroll needs
    joined in (one statement, whatever the size)."""
    R, E, P, A = IncentiveResult, Employee, IncentivePlan, PayrollAck
    # The plan's name as it was when the result was finalized (a later rename is not payroll's).
    plan_name = func.coalesce(R.plan_name, P.name).label("plan_name")
    stmt = (
        select(
            R.id,
            R.payroll_seq,
            R.employee_id,
            E.external_id,
            R.plan_id,
            plan_name,
            R.period_start,
            R.period_end,
            R.earning_code,
            R.amount_minor,
            R.currency,
            R.kind,
            R.adjusts_id,
            R.finalized_at,
            A.payroll_reference,
            A.acknowledged_at,
            A.acknowledged_by,
        )
        .select_from(R)
        .join(E, and_(E.org_id == R.org_id, E.id == R.employee_id))
        .join(P, and_(P.org_id == R.org_id, P.id == R.plan_id))
        .outerjoin(A, and_(A.org_id == R.org_id, A.result_id == R.id))
        .where(R.org_id == org_id, R.status == "finalized", R.payroll_seq.is_not(None), R.payroll_seq > after)
    )
    if filters.plan_id is not None:
        stmt = stmt.where(R.plan_id == filters.plan_id)
    if filters.updated_since is not None:
        stmt = stmt.where(R.finalized_at >= filters.updated_since)
    if filters.acknowledged is True:
        stmt = stmt.where(A.result_id.is_not(None))
    elif filters.acknowledged is False:
        stmt = stmt.where(A.result_id.is_(None))
    return stmt


def item(row: Any) -> PayrollResultRead:
    ack = (
        PayrollAckInfo(
            payroll_reference=row.payroll_reference,
            acknowledged_at=row.acknowledged_at,
            acknowledged_by=row.acknowledged_by,
        )
        if row.payroll_reference is not None
        else None
    )
    return PayrollResultRead(
        id=row.id,
        sequence=row.payroll_seq,
        employee_id=row.employee_id,
        employee_external_id=row.external_id,
        plan_id=row.plan_id,
        plan=row.plan_name,
        period_start=row.period_start,
        period_end=row.period_end,
        earning_code=row.earning_code,
        amount_minor=row.amount_minor,
        amount=format_minor(row.amount_minor, row.currency),
        currency=row.currency,
        kind=row.kind,
        adjusts_id=row.adjusts_id,
        finalized_at=row.finalized_at,
        payroll=ack,
    )


async def page(ctx: Ctx, filters: Filters, cursor: str | None, limit: int | None) -> PayrollPage:
    require(policy.pull_payroll(ctx.principal), "payroll")
    if limit is not None and limit > MAX_LIMIT:
        raise ValidationFailed(
            f"limit must be at most {MAX_LIMIT} for JSON pages (CSV takes more)",
            errors=[{"loc": ["query", "limit"], "msg": f"at most {MAX_LIMIT}"}],
        )
    after = decode_cursor(cursor)
    size = limit or DEFAULT_LIMIT
    rows = list(
        (
            await ctx.session.execute(
                feed(ctx.org_id, filters, after).order_by(IncentiveResult.payroll_seq).limit(size + 1)
            )
        ).all()
    )
    more = len(rows) > size
    rows = rows[:size]
    last = rows[-1].payroll_seq if rows else after
    return PayrollPage(
        items=[item(r) for r in rows],
        next_cursor=encode_cursor(last) if more else None,
        resume_cursor=encode_cursor(last),
    )


# The cells of text people typed are guarded against formulas as every export's are.
_cell = safe_cell
_timestamp = timestamp


def csv_row(row: Any) -> list[str]:
    return [
        str(row.id),
        _cell(row.external_id),
        _cell(row.plan_name),
        row.period_start.isoformat(),
        row.period_end.isoformat(),
        _cell(row.earning_code),
        format_minor(row.amount_minor, row.currency),
        row.currency,
        row.kind,
        str(row.adjusts_id) if row.adjusts_id else "",
        _timestamp(row.finalized_at),
    ]


@dataclass(frozen=True)
class CsvExport:
    upper: int  # the highest sequence number the stream covers
    resume_cursor: str
    body: AsyncIterator[bytes]


async def csv_export(ctx: Ctx, filters: Filters, cursor: str | None, limit: int | None) -> CsvExport:
    """Authorize and fix the stream's bounds inside the request; the rows themselves are
    read by the returned iterator from its own connection while the response is sent."""
    require(policy.pull_payroll(ctx.principal), "payroll")
    after = decode_cursor(cursor)
    bounded = feed(ctx.org_id, filters, after)
    if limit is not None:
        sub = (
            bounded.with_only_columns(IncentiveResult.payroll_seq)
            .order_by(IncentiveResult.payroll_seq)
            .limit(limit)
            .subquery()
        )
        upper = await ctx.session.scalar(select(func.max(sub.c.payroll_seq)))
    else:
        upper = await ctx.session.scalar(bounded.with_only_columns(func.max(IncentiveResult.payroll_seq)))
    upper = upper if upper is not None else after
    stmt = bounded.where(IncentiveResult.payroll_seq <= upper).order_by(IncentiveResult.payroll_seq)
    return CsvExport(upper=upper, resume_cursor=encode_cursor(upper), body=_stream(stmt, upper > after))


async def _stream(stmt: Select[*tuple[Any, ...]], any_rows: bool) -> AsyncIterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    yield buffer.getvalue().encode()
    if not any_rows:
        return
    async with database.engine.connect() as conn:
        result = await conn.stream(stmt.execution_options(yield_per=CSV_CHUNK))
        async for rows in result.partitions(CSV_CHUNK):
            buffer.seek(0)
            buffer.truncate()
            writer.writerows(csv_row(r) for r in rows)
            yield buffer.getvalue().encode()


# --- acknowledgements ------------------------------------------------------------------------------


async def acknowledge(ctx: Ctx, result_id: uuid.UUID, reference: str) -> tuple[PayrollAck, bool]:
    """Record payroll's reference for a finalized money result. The same reference again
    is harmless (the first acknowledgement is answered, nothing changes); another
    reference for an acknowledged result is a 409. Answers the acknowledgement and
    whether this call created it."""
    require(policy.acknowledge_payroll(ctx.principal), "payroll")
    r = await ctx.session.get(IncentiveResult, (ctx.org_id, result_id))
    if r is None or r.amount_minor is None:
        raise NotFound("incentive result not found")
    if r.status != "finalized":
        if ctx.principal.is_client:
            raise NotFound("incentive result not found")
        raise Conflict("only finalized results are acknowledged by payroll", extra={"result_status": r.status})
    now = utcnow()
    # an INSERT's result is a CursorResult (with a rowcount), which the stubs of `execute` do not say
    inserted = cast(
        CursorResult[Any],
        await ctx.session.execute(
            _insert(ctx.session)(PayrollAck)
            .values(
                org_id=ctx.org_id,
                result_id=r.id,
                payroll_reference=reference,
                acknowledged_at=now,
                acknowledged_by=ctx.principal.actor,
            )
            .on_conflict_do_nothing(index_elements=["org_id", "result_id"])
        ),
    )
    ack = (
        await ctx.session.execute(
            select(PayrollAck)
            .where(PayrollAck.org_id == ctx.org_id, PayrollAck.result_id == r.id)
            .execution_options(populate_existing=True)
        )
    ).scalar_one()
    created = bool(inserted.rowcount)
    if ack.payroll_reference != reference:
        raise Conflict(
            "the result is already acknowledged with another payroll reference",
            extra={"payroll_reference": ack.payroll_reference},
        )
    if created:
        await audit.record(
            ctx.session,
            ctx.principal,
            "incentive_result.acknowledged",
            "incentive_result",
            r.id,
            None,
            {"payroll_reference": reference},
        )
    return ack, created
