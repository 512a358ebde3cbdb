"""Recompute jobs that cannot get stuck: the job lives in the database with a lease.

A runner claims a job with one conditional UPDATE (`queued`, or `running` with an
expired lease, and attempts left), keeps the lease alive while it works (a heartbeat
every third of `SCORE_JOB_LEASE_SECONDS`), and ends it `succeeded` or `failed` with the
reason. A runner that dies (the process killed, its database connections cut) stops
renewing: once the lease has expired, a sweep claims the job again, up to
`MAX_ATTEMPTS` in all, and then marks it `failed` with "the runner stopped". A job that
was never started (the process died between the 202 and the start) is swept the same
way once it has waited a lease.

Sweeps run in every API process (a background task of the app's lifespan) and in every
webhook worker, every half lease; two sweepers never run one job twice, the claim is
atomic. `GET /api/v1/score-jobs/{id}` answers truthfully in between (`settle`): a job
whose runner is gone reads `queued` again (a retry is pending) or `failed`, never
`running`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from typing import Any, cast

import structlog
from sqlalchemy import ColumnElement, CursorResult, and_, or_, select, update

from service.auth.context import Ctx
from service.config import get_settings
from service.cycles.models import Cycle
from service.db import database
from service.observability import observe_job
from service.principal import Principal
from service.scoring.models import ScoreJob
from service.types import utcnow

log = structlog.get_logger("service.scoring.jobs")

MAX_ATTEMPTS = 3
RUNNER_LOST = "the runner stopped (its lease expired); start a new recompute"
_running: set[asyncio.Task[None]] = set()


def lease() -> dt.timedelta:
    return dt.timedelta(seconds=get_settings().score_job_lease_seconds)


def _stale(now: dt.datetime) -> ColumnElement[bool]:
    """Jobs whose runner is gone: running past their lease, or queued for a lease without
    anyone starting them."""
    return or_(
        and_(ScoreJob.status == "running", ScoreJob.lease_until < now),
        and_(
            ScoreJob.status == "queued",
            ScoreJob.created_at < now - lease(),
            or_(ScoreJob.lease_until.is_(None), ScoreJob.lease_until < now),
        ),
    )


async def claim(org_id: uuid.UUID, job_id: uuid.UUID) -> bool:
    """Take the job for this runner (one statement, so two runners never both win)."""
    now = utcnow()
    async with database.sessions() as session:
        # an UPDATE's result is a CursorResult, which the stubs of `execute` do not say
        result = cast(
            CursorResult[Any],
            await session.execute(
                update(ScoreJob)
                .where(
                    ScoreJob.org_id == org_id,
                    ScoreJob.id == job_id,
                    ScoreJob.attempts < MAX_ATTEMPTS,
                    or_(ScoreJob.status == "queued", and_(ScoreJob.status == "running", ScoreJob.lease_until < now)),
                )
                .values(
                    status="running",
                    started_at=now,
                    lease_until=now + lease(),
                    error=None,
                    attempts=ScoreJob.attempts + 1,
                )
                .execution_options(synchronize_session=False)
            ),
        )
        await session.commit()
        return result.rowcount == 1


async def _heartbeat(org_id: uuid.UUID, job_id: uuid.UUID) -> None:
    every = lease().total_seconds() / 3
    while True:
        await asyncio.sleep(every)
        with contextlib.suppress(Exception):  # a missed beat only shortens the lease
            async with database.sessions() as session:
                await session.execute(
                    update(ScoreJob)
                    .where(ScoreJob.org_id == org_id, ScoreJob.id == job_id, ScoreJob.status == "running")
                    .values(lease_until=utcnow() + lease())
                    .execution_options(synchronize_session=False)
                )
                await session.commit()


async def _finish(org_id: uuid.UUID, job_id: uuid.UUID, **values: object) -> None:
    async with database.sessions() as session:
        await session.execute(
            update(ScoreJob)
            .where(ScoreJob.org_id == org_id, ScoreJob.id == job_id, ScoreJob.status == "running")
            .values(finished_at=utcnow(), lease_until=None, **values)
            .execution_options(synchronize_session=False)
        )
        await session.commit()


async def run(org_id: uuid.UUID, job_id: uuid.UUID) -> None:
    """Claim the job and run it to a terminal state (or leave it to the lease, when the
    database itself is unreachable)."""
    from service.scoring.scores import recompute_cycle

    try:
        if not await claim(org_id, job_id):
            return
    except Exception:  # the database is unreachable: the job stays claimable
        log.warning("score_job_claim_failed", job_id=str(job_id), exc_info=True)
        return
    beat = asyncio.create_task(_heartbeat(org_id, job_id))
    try:
        async with database.sessions() as session:
            job = await session.get(ScoreJob, (org_id, job_id))
            assert job is not None
            cycle = await session.get(Cycle, (org_id, job.cycle_id))
            assert cycle is not None  # the job's foreign key keeps its cycle
            ctx = Ctx(
                session=session,
                principal=Principal(sub=job.requested_by, org_id=org_id, kind="person", roles=frozenset({"hr"})),
            )
            with observe_job("score_recompute", mode="background"):
                employees, changed = await recompute_cycle(ctx, cycle)
            await session.commit()
        await _finish(org_id, job_id, status="succeeded", employees=employees, changed=changed)
    except Exception as exc:  # the job records the failure; the process stays up
        log.exception("score_job_failed", job_id=str(job_id))
        with contextlib.suppress(Exception):  # if even this fails, the lease expires
            await _finish(org_id, job_id, status="failed", error=type(exc).__name__)
    finally:
        beat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beat


def spawn(org_id: uuid.UUID, job_id: uuid.UUID) -> None:
    """Run the job as a task of this process (after the request that queued it commits)."""
    task = asyncio.get_running_loop().create_task(run(org_id, job_id), name=f"score-job-{job_id}")
    _running.add(task)
    task.add_done_callback(_running.discard)


def settle(job: ScoreJob) -> ScoreJob:
    """What a reader should see of a job between sweeps: a stale one reads `queued` (a
    retry is pending) or, with no attempt left, `failed`, never `running`. Only the
    answer changes here (a read writes nothing); the next sweep writes the same."""
    now = utcnow()
    running_lost = job.status == "running" and job.lease_until is not None and job.lease_until < now
    never_started = (
        job.status == "queued" and job.created_at < now - lease() and (job.lease_until is None or job.lease_until < now)
    )
    if not (running_lost or never_started):
        return job
    if job.attempts >= MAX_ATTEMPTS:
        job.status, job.error, job.finished_at, job.lease_until = "failed", RUNNER_LOST, now, None
    elif running_lost:
        job.status, job.lease_until = "queued", None
    return job


async def sweep(*, run_inline: bool = False) -> int:
    """Retry every stale job of every organization (claims decide who runs each), and fail
    those out of attempts. Answers how many were retried."""
    now = utcnow()
    async with database.sessions() as session:
        stale = (
            await session.execute(
                select(ScoreJob.org_id, ScoreJob.id, ScoreJob.attempts)
                .where(_stale(now))
                .order_by(ScoreJob.created_at)
                .limit(100)
            )
        ).all()
        spent = [(org, jid) for org, jid, attempts in stale if attempts >= MAX_ATTEMPTS]
        for org, jid in spent:
            await session.execute(
                update(ScoreJob)
                .where(ScoreJob.org_id == org, ScoreJob.id == jid, _stale(now))
                .values(status="failed", error=RUNNER_LOST, finished_at=now, lease_until=None)
                .execution_options(synchronize_session=False)
            )
        await session.commit()
    retry = [(org, jid) for org, jid, attempts in stale if attempts < MAX_ATTEMPTS]
    for org, jid in retry:
        log.warning("score_job_retried", job_id=str(jid))
        if run_inline:
            await run(org, jid)
        else:
            spawn(org, jid)
    return len(retry)


async def sweep_forever(stop: asyncio.Event) -> None:
    every = max(lease().total_seconds() / 2, 0.05)
    while not stop.is_set():
        with contextlib.suppress(Exception):  # a sweep that fails is tried again next time
            await sweep()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every)


@contextlib.asynccontextmanager
async def sweeper() -> AsyncIterator[None]:
    """Sweep for as long as the block lasts (the app's lifespan, the webhook worker)."""
    stop = asyncio.Event()
    task = asyncio.create_task(sweep_forever(stop), name="score-job-sweeper")
    try:
        yield
    finally:
        stop.set()
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=5)
