"""The score of record (SPEC section 9): one official result per employee and cycle that
nothing changes silently.

When results become official:
- finalizing a calibration session stores the record of each of its members
  (`finalize`, called by service/evaluations/calibration.py);
- closing a cycle stores the record of everyone in its population who has none yet, for
  the cycle and for each descendant closed with it (the `closed` transition hook here).

A record holds what the scores API shows (components, weights, composite, calibration
delta, final, rating, flags, policy id and version, the explanation), exact, computed by
the same engine call as a live score but for no particular viewer (the explanation a
record keeps does not depend on who finalized it; an employee reading their own record
sees their peer ratings in the anonymous form, as with a live score).

From then on the scores API, evaluations, calibration reports, incentive runs and
nominations read the record (`official_or_live`), and every write that would change an
input of it answers 409 `cycle_locked` (service/scoring/locks.py). The only way to change
an official result is an amendment (`amend`): HR, with a reason, writes the next
version; older versions stay readable; the change is audited, emits `score.amended`,
and the modules that paid on the record correct it (`on_amended` hooks: the incentives
module creates correction results, service/incentives/corrections.py).

Rows never change (a database trigger refuses UPDATE and DELETE); the current record is
the highest version.
"""

from __future__ import annotations

import copy
import dataclasses
import uuid
from collections.abc import Awaitable, Callable, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, insert, select
from sqlalchemy.orm import aliased

from service.auth.context import Ctx
from service.authz import policy as authz
from service.authz.enforce import relation, require
from service.cycles.models import Cycle
from service.cycles.service import get_cycle, on_transition
from service.errors import Conflict, Forbidden, NotFound, ValidationFailed
from service.kit import audit, outbox
from service.kit.chunks import chunks
from service.org.service import org_settings
from service.principal import Principal
from service.scoring import locks, policies
from service.scoring import service as scoring
from service.scoring.composite import ScoreResult, rating_for
from service.scoring.events import ScoreAmended, ScoreAmendedPrevious
from service.scoring.models import ScoreRecord
from service.scoring.numbers import round_points
from service.scoring.schemas import AmendmentCreate, Correction
from service.types import new_id, utcnow

CHUNK = 2000

# (ctx, cycle, before, after) -> what was done about results that depended on the record
AmendHook = Callable[[Ctx, Cycle, scoring.Scored, scoring.Scored], Awaitable[list[Correction]]]
_amend_hooks: list[AmendHook] = []


def on_amended(hook: AmendHook) -> AmendHook:
    """Modules that paid or decided on a record correct it when it is amended."""
    _amend_hooks.append(hook)
    return hook


# --- reading -----------------------------------------------------------------------------------


def _current(org_id: uuid.UUID, cycle_id: uuid.UUID) -> Select[ScoreRecord]:
    """The current version of each employee's record in a cycle: the highest one. The
    subquery names the organization itself (not the outer row's): with it correlated,
    Citus plans the statement for every shard instead of routing it to one."""
    newer = aliased(ScoreRecord)
    latest = (
        select(func.max(newer.version))
        .where(
            newer.org_id == org_id,
            newer.cycle_id == ScoreRecord.cycle_id,
            newer.employee_id == ScoreRecord.employee_id,
        )
        .scalar_subquery()
    )
    return select(ScoreRecord).where(
        ScoreRecord.org_id == org_id, ScoreRecord.cycle_id == cycle_id, ScoreRecord.version == latest
    )


async def current(
    ctx: Ctx, cycle_id: uuid.UUID, employee_ids: Sequence[uuid.UUID] | None = None
) -> dict[uuid.UUID, ScoreRecord]:
    """The current records of the given employees (all of the cycle's when None)."""
    stmt = _current(ctx.org_id, cycle_id)
    if employee_ids is None:
        return {r.employee_id: r for r in (await ctx.session.execute(stmt)).scalars()}
    ids = list(dict.fromkeys(employee_ids))
    out: dict[uuid.UUID, ScoreRecord] = {}
    for part in chunks(ids, CHUNK):
        rows = await ctx.session.execute(stmt.where(ScoreRecord.employee_id.in_(part)))
        out.update({r.employee_id: r for r in rows.scalars()})
    return out


async def recorded_ids(ctx: Ctx, cycle_id: uuid.UUID) -> set[uuid.UUID]:
    """Employees of the cycle whose result is official (one light query)."""
    rows = await ctx.session.execute(
        select(ScoreRecord.employee_id).where(
            ScoreRecord.org_id == ctx.org_id, ScoreRecord.cycle_id == cycle_id, ScoreRecord.version == 1
        )
    )
    return {r[0] for r in rows}


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _exact(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def result_of(record: ScoreRecord, explanation: dict[str, Any] | None = None) -> ScoreResult:
    return ScoreResult(
        employee_id=record.employee_id,
        status=record.status,
        components={k: _dec(v) for k, v in record.components.items()},
        weights={k: Decimal(str(v)) for k, v in record.weights.items()},
        composite=record.composite,
        calibration_delta=record.calibration_delta,
        final=record.final,
        rating=record.rating,
        flags=tuple(record.flags),
        explanation=record.explanation if explanation is None else explanation,
    )


async def _self_view(ctx: Ctx, records: dict[uuid.UUID, ScoreRecord]) -> dict[uuid.UUID, dict[str, Any]]:
    """The explanation the evaluated employee reads of their own record: peer ratings
    only as count and mean, once enough reviewers answered (SPEC section 10)."""
    me = ctx.principal.employee_id
    if me is None or ctx.principal.is_client or me not in records:
        return {}
    explanation = copy.deepcopy(records[me].explanation)
    ev = explanation.get("components", {}).get("eval")
    if ev is not None and isinstance(ev.get("peer_ratings"), list):
        minimum = int((await org_settings(ctx))["peer_feedback_min_reviewers"])
        ev["peer_ratings"] = scoring.jsonable(
            scoring.anonymous_peer_ratings([Decimal(str(r)) for r in ev["peer_ratings"]], minimum)
        )
    return {me: explanation}


async def official_or_live(
    ctx: Ctx,
    cycle: Cycle,
    rows: Sequence[Any],
    *,
    explain: bool = True,
    extra_adjustments: dict[uuid.UUID, list[Any]] | None = None,
    employee_range: scoring.Span | None = None,
) -> list[scoring.Scored]:
    """Each population row's score: its record when the result is official, else the live
    computation. Every reader of scores (the scores API, evaluations, calibration,
    incentives) goes through here, so no two places can disagree. What-if adjustments
    apply only to live scores (an official result moves only by amendment)."""
    records = await current(ctx, cycle.id, [r.id for r in rows]) if rows else {}
    live_rows = [r for r in rows if r.id not in records]
    live: dict[uuid.UUID, scoring.Scored] = {}
    if live_rows:
        live = {
            s.employee.id: s
            for s in await scoring.score_employees(
                ctx,
                cycle,
                live_rows,
                extra_adjustments=extra_adjustments,
                explain=explain,
                employee_range=employee_range,
            )
        }
    if not records:
        return [live[r.id] for r in rows]
    params = await policies.params_of(ctx, {(r.policy_id, r.policy_version) for r in records.values()})
    views = await _self_view(ctx, records)
    out = []
    for row in rows:
        rec = records.get(row.id)
        if rec is None:
            out.append(live[row.id])
            continue
        out.append(
            scoring.Scored(
                employee=row,
                policy=params[(rec.policy_id, rec.policy_version)],
                result=result_of(rec, views.get(row.id)),
                record=rec,
            )
        )
    return out


# --- finalizing --------------------------------------------------------------------------------


def _neutral(ctx: Ctx) -> Ctx:
    """A context over the same session that sees everything and is nobody's own view, so
    a record's explanation does not depend on who finalized it."""
    return Ctx(
        session=ctx.session,
        principal=Principal(sub=ctx.principal.actor, org_id=ctx.org_id, kind="person", roles=frozenset({"admin"})),
    )


def _row(
    ctx: Ctx,
    cycle: Cycle,
    s: scoring.Scored,
    *,
    version: int,
    source: str,
    at: Any,
    finalized_at: Any,
    calibration_id: uuid.UUID | None = None,
    reason: str | None = None,
    changes: dict[str, Any] | None = None,
) -> dict[str, Any]:
    r = s.result
    return {
        "org_id": ctx.org_id,
        "id": new_id(),
        "cycle_id": cycle.id,
        "employee_id": s.employee.id,
        "version": version,
        "status": r.status,
        "components": {k: _exact(v) for k, v in r.components.items()},
        "weights": {k: _exact(v) for k, v in r.weights.items()},
        "composite": r.composite,
        "calibration_delta": r.calibration_delta,
        "final": r.final,
        "rating": r.rating,
        "flags": list(r.flags),
        "policy_id": s.policy.id,
        "policy_version": s.policy.version,
        "explanation": scoring.jsonable(r.explanation),
        "source": source,
        "calibration_id": calibration_id,
        "reason": reason,
        "changes": changes,
        "created_by": ctx.principal.actor,
        "created_at": at,
        "finalized_at": finalized_at,
    }


async def finalize(
    ctx: Ctx, cycle: Cycle, rows: Sequence[Any], *, source: str, calibration_id: uuid.UUID | None = None
) -> int:
    """Store version 1 of the record of each given population row that has none in this
    cycle; answers how many were stored."""
    have = await recorded_ids(ctx, cycle.id)
    todo = [r for r in rows if r.id not in have]
    if not todo:
        return 0
    with scoring.collector_paused(len(todo) >= scoring.BULK_EMPLOYEES):
        scored = await scoring.score_employees(_neutral(ctx), cycle, todo)
        now = utcnow()
        values = [
            _row(ctx, cycle, s, version=1, source=source, at=now, finalized_at=now, calibration_id=calibration_id)
            for s in scored
        ]
        for part in chunks(values, CHUNK):
            await ctx.session.execute(insert(ScoreRecord.__table__), part)
    return len(values)


@on_transition
async def record_on_close(ctx: Ctx, cycle: Cycle, to: str) -> None:
    """Closing a cycle makes everyone's result in it official (those a calibration session
    already finalized keep their record)."""
    if to != "closed":
        return
    await finalize(ctx, cycle, await scoring.population(ctx, cycle), source="cycle_closed")


async def finalize_closed(ctx: Ctx) -> int:
    """Records for every closed cycle of the organization that lacks them: cycles closed
    before the score of record existed (`python -m service finalize-closed-cycles`
    after the upgrade), and the demo's past quarters. Their policies are pinned first, as
    closing pins them. Answers how many records were stored."""
    closed = (
        (
            await ctx.session.execute(
                select(Cycle)
                .where(Cycle.org_id == ctx.org_id, Cycle.status == "closed")
                .order_by(Cycle.start_date, Cycle.id)
            )
        )
        .scalars()
        .all()
    )
    stored = 0
    for cycle in closed:
        await policies.pin(ctx, cycle)
        stored += await finalize(ctx, cycle, await scoring.population(ctx, cycle), source="cycle_closed")
    return stored


# --- versions and amendments ---------------------------------------------------------------------


async def _subject(ctx: Ctx, cycle_id: uuid.UUID, employee_id: uuid.UUID) -> tuple[Cycle, Any]:
    """The cycle and the employee's population row, under the score's read rule (404)."""
    cycle = await get_cycle(ctx, cycle_id)
    rel = await relation(ctx, employee_id)
    if ctx.principal.is_client or not authz.read_subject(ctx.principal, rel).allowed:
        raise NotFound("score not found")
    rows = await scoring.population(ctx, cycle, [employee_id])
    if not rows:
        raise NotFound("this employee is not scored in this cycle")
    return cycle, rows[0]


async def versions(ctx: Ctx, cycle_id: uuid.UUID, employee_id: uuid.UUID) -> tuple[Cycle, list[scoring.Scored]]:
    """Every version of the employee's record, oldest first (empty while the result is live)."""
    cycle, row = await _subject(ctx, cycle_id, employee_id)
    recs = list(
        (
            await ctx.session.execute(
                select(ScoreRecord)
                .where(
                    ScoreRecord.org_id == ctx.org_id,
                    ScoreRecord.cycle_id == cycle.id,
                    ScoreRecord.employee_id == employee_id,
                )
                .order_by(ScoreRecord.version)
            )
        ).scalars()
    )
    if not recs:
        return cycle, []
    params = await policies.params_of(ctx, {(r.policy_id, r.policy_version) for r in recs})
    out = []
    for rec in recs:
        view = (await _self_view(ctx, {employee_id: rec})).get(employee_id)
        out.append(
            scoring.Scored(
                employee=row,
                policy=params[(rec.policy_id, rec.policy_version)],
                result=result_of(rec, view),
                record=rec,
            )
        )
    return cycle, out


async def lock_cycle_row(ctx: Ctx, cycle: Cycle) -> None:
    """Serialize against writers checking the lock (they hold the row FOR SHARE) and
    against other finalizations and amendments of the cycle: the row FOR UPDATE on
    PostgreSQL, the database's write lock on SQLite (service/scoring/locks.py)."""
    if ctx.session.get_bind().dialect.name == "postgresql":
        await ctx.session.execute(
            select(Cycle.id).where(Cycle.org_id == ctx.org_id, Cycle.id == cycle.id).with_for_update()
        )
    else:
        await locks.take_sqlite_write_lock(ctx)


def _amended_explanation(
    rec: ScoreRecord, entry: dict[str, Any], final: Decimal | None, rating: str | None
) -> dict[str, Any]:
    explanation = copy.deepcopy(rec.explanation)
    explanation["amendments"] = [*explanation.get("amendments", []), entry]
    explanation["final"] = _exact(final)
    explanation["rating"] = rating
    return explanation


async def amend(
    ctx: Ctx, cycle_id: uuid.UUID, data: AmendmentCreate
) -> tuple[Cycle, scoring.Scored, int, list[Correction]]:
    """Write the next version of one employee's official result. HR and admins only (not
    managers), never on their own score; the result must be official already."""
    cycle, row = await _subject(ctx, cycle_id, data.employee_id)
    require(authz.amend_scores(ctx.principal), "score")
    if not authz.amend_score(ctx.principal, await relation(ctx, data.employee_id)).allowed:
        raise Forbidden("nobody amends their own score")
    await lock_cycle_row(ctx, cycle)
    before = (await official_or_live(_neutral(ctx), cycle, [row]))[0]
    rec = before.record
    if rec is None:
        raise Conflict(
            "the result is not official yet: it changes with its inputs until its calibration is "
            "finalized or the cycle closes",
            extra={"cycle_status": cycle.status},
        )
    final = data.final if data.final is not None else rec.final
    bands = [name for name, _ in before.policy.bands]
    if data.rating is not None and data.rating not in bands:
        raise ValidationFailed.field("rating", f"not a band of the record's policy: {', '.join(bands)}")
    rating = (
        data.rating
        if data.rating is not None
        else (rating_for(final, before.policy.bands) if final is not None else rec.rating)
    )
    changes = {
        k: {"before": b, "after": a}
        for k, b, a in (("final", _exact(rec.final), _exact(final)), ("rating", rec.rating, rating))
        if b != a
    }
    if not changes:
        raise Conflict(
            "the amendment changes nothing: the record already has this final and rating",
            extra={"final": _exact(rec.final), "rating": rec.rating},
        )
    now, reason = utcnow(), data.reason.strip()
    entry = {
        "version": rec.version + 1,
        "reason": reason,
        "by": ctx.principal.actor,
        "at": now.isoformat(),
        **{k: v for k, v in changes.items()},
    }
    result = dataclasses.replace(
        before.result,
        final=final,
        rating=rating,
        status="scored" if final is not None else before.result.status,
        flags=tuple(sorted({*before.result.flags, "amended"})),
        explanation=_amended_explanation(rec, entry, final, rating),
    )
    after = scoring.Scored(employee=row, policy=before.policy, result=result)
    values = _row(
        ctx,
        cycle,
        after,
        version=rec.version + 1,
        source="amendment",
        at=now,
        finalized_at=rec.finalized_at,
        calibration_id=rec.calibration_id,
        reason=reason,
        changes=changes,
    )
    await ctx.session.execute(insert(ScoreRecord.__table__), [values])
    new = await ctx.session.get(ScoreRecord, (ctx.org_id, values["id"]))
    assert new is not None
    after = dataclasses.replace(after, record=new)
    shown = {
        k: {"before": _shown(v["before"]), "after": _shown(v["after"])} if k == "final" else v
        for k, v in changes.items()
    }
    await audit.record(
        ctx.session,
        ctx.principal,
        "score.amended",
        "score_record",
        new.id,
        {"version": rec.version, "final": _shown(_exact(rec.final)), "rating": rec.rating},
        {
            "version": new.version,
            "final": _shown(_exact(final)),
            "rating": rating,
            "cycle_id": str(cycle.id),
            "employee_id": str(row.id),
            "changes": shown,
        },
        reason=reason,
    )
    corrections: list[Correction] = []
    for hook in _amend_hooks:
        corrections.extend(await hook(ctx, cycle, before, after))
    await outbox.emit(
        ctx.session,
        ctx.org_id,
        "score.amended",
        ScoreAmended(
            cycle_id=cycle.id,
            employee_id=row.id,
            version=new.version,
            previous=ScoreAmendedPrevious(version=rec.version, final=_shown(_exact(rec.final)), rating=rec.rating),
            final=_shown(_exact(final)),
            rating=rating,
            amended_by=ctx.principal.actor,
            correction_ids=[c.result_id for c in corrections if c.action in ("adjustment_created", "payment_created")],
        ),
    )
    return cycle, after, rec.version, corrections


def _shown(exact: str | None) -> str | None:
    return None if exact is None else str(round_points(Decimal(exact)))
