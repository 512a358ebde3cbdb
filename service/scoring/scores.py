"""Score use cases: read one, list a cycle's (cursor pages, filters), recompute as a job."""

from __future__ import annotations

import uuid
from typing import Any

import structlog
from sqlalchemy import delete, insert, select

from service.auth.context import Ctx
from service.authz import policy as authz
from service.authz.enforce import relation, require
from service.config import get_settings
from service.cycles.models import Cycle
from service.cycles.service import get_cycle
from service.db import bulk_read_settings
from service.errors import NotFound, ValidationFailed
from service.kit import audit, outbox
from service.kit.chunks import chunks
from service.kit.pagination import PageParams, decode_cursor, encode_cursor
from service.observability import observe_job
from service.org.models import Employee
from service.scoring import jobs, records
from service.scoring import service as scoring
from service.scoring.models import ScoreJob, ScoreSnapshot
from service.scoring.numbers import round_fraction, round_points
from service.scoring.schemas import PolicyRef, ScoreRead, ScoreVersionRead
from service.types import new_id, utcnow

log = structlog.get_logger("service.scoring")


def _pts(v: Any) -> Any:
    return round_points(v) if v is not None else None


def _fields(cycle: Cycle, scored: scoring.Scored, explain: bool) -> dict[str, Any]:
    r, rec = scored.result, scored.record
    return dict(
        employee_id=scored.employee.id,
        cycle_id=cycle.id,
        status=r.status,
        components={k: _pts(v) for k, v in r.components.items()},
        weights={k: round_fraction(v) for k, v in r.weights.items()},
        composite=_pts(r.composite),
        calibration_delta=round_points(r.calibration_delta),
        final=_pts(r.final),
        rating=r.rating,
        flags=list(r.flags),
        policy=PolicyRef(id=scored.policy.id, version=scored.policy.version),
        official=rec is not None,
        finalized_at=rec.finalized_at if rec is not None else None,
        record_version=rec.version if rec is not None else None,
        explanation=scoring.jsonable(r.explanation) if explain else None,
    )


def score_read(cycle: Cycle, scored: scoring.Scored, explain: bool = True) -> ScoreRead:
    """The score as the API shows it: the record when official, else live."""
    return ScoreRead(**_fields(cycle, scored, explain))


def version_read(cycle: Cycle, scored: scoring.Scored) -> ScoreVersionRead:
    rec = scored.record
    return ScoreVersionRead(
        **_fields(cycle, scored, True),
        source=rec.source,
        calibration_id=rec.calibration_id,
        reason=rec.reason,
        changes=rec.changes,
        created_by=rec.created_by,
        created_at=rec.created_at,
    )


async def get_score(ctx: Ctx, cycle_id: uuid.UUID, employee_id: uuid.UUID) -> tuple[Cycle, scoring.Scored]:
    cycle = await get_cycle(ctx, cycle_id)
    rel = await relation(ctx, employee_id)
    decision = authz.read_subject(ctx.principal, rel)
    if ctx.principal.is_client or not decision.allowed:
        raise NotFound("score not found")
    rows = await scoring.population(ctx, cycle, [employee_id])
    if not rows:
        raise NotFound("this employee is not scored in this cycle")
    return cycle, (await records.official_or_live(ctx, cycle, rows))[0]


async def visible_population(
    ctx: Ctx, cycle: Cycle, department_id: uuid.UUID | None, manager_id: uuid.UUID | None
) -> list[Any]:
    if ctx.principal.is_client:
        return []
    rows = await scoring.population(ctx, cycle)
    if not authz.reads_everything(ctx.principal):
        allowed = set(await ctx.reports())
        if ctx.principal.employee_id is not None:
            allowed.add(ctx.principal.employee_id)
        rows = [r for r in rows if r.id in allowed]
    if department_id is not None:
        rows = [r for r in rows if r.department_id == department_id]
    if manager_id is not None:
        rows = [r for r in rows if r.manager_id == manager_id]
    return rows


async def list_scores(
    ctx: Ctx,
    cycle_id: uuid.UUID,
    params: PageParams,
    *,
    department_id: uuid.UUID | None = None,
    manager_id: uuid.UUID | None = None,
    rating: str | None = None,
    explain: bool = False,
) -> tuple[list[ScoreRead], str | None]:
    cycle = await get_cycle(ctx, cycle_id)
    rows = await visible_population(ctx, cycle, department_id, manager_id)
    after = decode_cursor(params.cursor) if params.cursor else None
    if after is not None:
        rows = [r for r in rows if r.id > after]
    if rating is None:
        page_rows = rows[: params.limit + 1]
        scored = await records.official_or_live(ctx, cycle, page_rows[: params.limit], explain=explain)
        more = len(page_rows) > params.limit
    else:
        # A rating is known only after scoring, so the whole visible set is scored first.
        all_scored = [
            s for s in await records.official_or_live(ctx, cycle, rows, explain=explain) if s.result.rating == rating
        ]
        scored, more = all_scored[: params.limit], len(all_scored) > params.limit
    items = [score_read(cycle, s, explain) for s in scored]
    return items, (encode_cursor(scored[-1].employee.id) if more and scored else None)


# --- recompute -----------------------------------------------------------------------------------


def _snapshot_row(ctx_org: uuid.UUID, cycle: Cycle, s: scoring.Scored, at: Any) -> dict[str, Any]:
    r = s.result
    return {
        "org_id": ctx_org,
        "cycle_id": cycle.id,
        "employee_id": s.employee.id,
        "status": r.status,
        "composite": r.composite,
        "final": r.final,
        "rating": r.rating,
        "components": scoring.jsonable(r.components),
        "flags": list(r.flags),
        "policy_id": s.policy.id,
        "policy_version": s.policy.version,
        "computed_at": at,
    }


async def recompute_cycle(ctx: Ctx, cycle: Cycle) -> tuple[int, int]:
    """Scores the whole cycle with set-based loading, replaces its snapshot, and emits one
    `score.updated` event naming the employees whose final or rating changed. The cyclic
    garbage collector waits until the end (see scoring.collector_paused)."""
    with scoring.collector_paused():
        return await _recompute(ctx, cycle)


async def _recompute(ctx: Ctx, cycle: Cycle) -> tuple[int, int]:
    await bulk_read_settings(ctx.session)
    rows = await scoring.population(ctx, cycle)
    scored = await scoring.score_employees(ctx, cycle, rows, explain=False)
    old = {
        r.employee_id: (r.final, r.rating)
        for r in (
            await ctx.session.execute(
                select(ScoreSnapshot.employee_id, ScoreSnapshot.final, ScoreSnapshot.rating).where(
                    ScoreSnapshot.org_id == ctx.org_id, ScoreSnapshot.cycle_id == cycle.id
                )
            )
        ).all()
    }
    changed = [s.employee.id for s in scored if old.get(s.employee.id) != (s.result.final, s.result.rating)]
    await ctx.session.execute(
        delete(ScoreSnapshot).where(ScoreSnapshot.org_id == ctx.org_id, ScoreSnapshot.cycle_id == cycle.id)
    )
    at = utcnow()
    snapshot = [_snapshot_row(ctx.org_id, cycle, s, at) for s in scored]
    for part in chunks(snapshot, 2000):
        # A Core insert over the table: batched multi-row INSERTs without ORM bookkeeping.
        await ctx.session.execute(insert(ScoreSnapshot.__table__), part)
    if changed:
        await outbox.emit(
            ctx.session,
            ctx.org_id,
            "score.updated",
            {"cycle_id": str(cycle.id), "employee_ids": [str(e) for e in changed[:10000]], "count": len(changed)},
        )
    return len(scored), len(changed)


async def start_recompute(ctx: Ctx, cycle_id: uuid.UUID) -> ScoreJob:
    """Small cycles are recomputed inside the request; larger ones run as a background job
    whose status is polled at GET /api/v1/score-jobs/{id} (durable: service/scoring/jobs.py)."""
    cycle = await get_cycle(ctx, cycle_id)
    require(authz.recompute_scores(ctx.principal), "scores")
    job = ScoreJob(
        org_id=ctx.org_id,
        id=new_id(),
        cycle_id=cycle.id,
        status="queued",
        requested_by=ctx.principal.actor,
        created_at=utcnow(),
        attempts=0,
    )
    ctx.session.add(job)
    await audit.record(ctx.session, ctx.principal, "scores.recompute", "cycle", cycle.id, after={"job_id": str(job.id)})
    size = len(await scoring.population(ctx, cycle))
    if size <= get_settings().score_inline_max:
        job.status, job.started_at, job.attempts = "running", utcnow(), 1
        with observe_job("score_recompute", mode="inline"):
            job.employees, job.changed = await recompute_cycle(ctx, cycle)
        job.status, job.finished_at = "succeeded", utcnow()
        await ctx.session.flush()
        return job
    await ctx.session.flush()
    org_id, job_id = ctx.org_id, job.id
    ctx.after_commit(lambda: jobs.spawn(org_id, job_id))
    return job


async def get_job(ctx: Ctx, job_id: uuid.UUID) -> ScoreJob:
    if not authz.recompute_scores(ctx.principal).allowed and not ctx.principal.has_role("auditor"):
        raise NotFound("job not found")
    job = await ctx.session.get(ScoreJob, (ctx.org_id, job_id))
    if job is None:
        raise NotFound("job not found")
    return jobs.settle(job)


def check_rating(rating: str | None) -> None:
    if rating is not None and not (0 < len(rating) <= 10):
        raise ValidationFailed("invalid rating", errors=[{"loc": ["query", "rating"], "msg": "1 to 10 characters"}])


__all__ = ["Employee", "get_score", "list_scores", "start_recompute", "get_job", "recompute_cycle"]
