"""Whole-cycle recomputes as durable jobs of leased chunks (docs/scoring.md, "Recompute jobs").

A job (`ScoreJob`) is planned in the transaction that queues it: the cycle's population
ids are streamed once in id order and cut into chunks of `SCORE_JOB_CHUNK` employees
(`ScoreJobChunk`, an inclusive id range). The chunks partition the whole id space (the
first starts at the lowest id, the last ends at the highest), so an employee hired
while the job runs falls in exactly one chunk and a row of someone who left is
dropped by the chunk that covers it.

A runner claims ONE chunk at a time: on PostgreSQL it picks one per organization with
`SELECT ... FOR UPDATE SKIP LOCKED` (two runners never wait on, nor take, the same
chunk), on SQLite it tries a candidate with a conditional UPDATE; either way the claim
is the UPDATE that only a claimable chunk passes. It keeps the chunk's lease alive (a
heartbeat every third of `SCORE_JOB_LEASE_SECONDS`) and, in ONE transaction, stores the
chunk's scores (`stored.rescore`, inputs read by id range), marks the chunk done, adds
its size to the job's `done`, emits `score.updated` for the chunk's changed employees
and, when `done` reaches `total`, ends the job `succeeded` and marks the cycle's stored
scores complete at the job's inputs version (`freshness.complete`). A runner that died
stops renewing its lease: once it expires, any runner claims the chunk again, up to
`MAX_ATTEMPTS` in all; then the job fails with `RUNNER_LOST`. A chunk whose scoring
raises fails the job at once with the error's name (a deterministic error would fail
every retry; a lost database connection cannot even record that, so the lease runs out
and the chunk is retried).

Why not a queue library (pgqueuer, procrastinate): both are PostgreSQL-only (the embedded
default is SQLite), pgqueuer relies on LISTEN/NOTIFY, which PgBouncer's transaction mode
does not carry, and neither writes its job row in the caller's SQLAlchemy transaction
(the job and its chunks are planned atomically with the request that asks for them, as
the outbox's events are). The table, a claim and a lease are a few statements here.

Runners: `work` is the loop (claim, run, repeat; sweep and refresh every half lease),
run by `python -m service worker` and, with `SCORE_JOBS_IN_API`, by each API process
(`running`). Parallelism is more processes: one process runs one chunk at a time
(scoring is CPU-bound Python; a second chunk in the same process would only share its
core).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import secrets
import socket
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, cast

import structlog
from sqlalchemy import CursorResult, and_, case, delete, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.context import Ctx
from service.config import get_settings
from service.cycles.models import Cycle
from service.db import bulk_read_settings, database
from service.kit import outbox
from service.kit.chunks import chunks
from service.observability import observe_job
from service.org.models import Employee
from service.principal import Principal
from service.scoring import freshness, stored
from service.scoring import service as scoring
from service.scoring.events import ScoreUpdated
from service.scoring.models import ScoreFreshness, ScoreJob, ScoreJobChunk, ScoreSnapshot
from service.types import new_id, utcnow

log = structlog.get_logger("service.scoring.jobs")

MAX_ATTEMPTS = 3
RUNNER_LOST = "the runner stopped (its lease expired); start a new recompute"
ACTIVE = ("queued", "running")
LOWEST, HIGHEST = uuid.UUID(int=0), uuid.UUID(int=(1 << 128) - 1)
EVENT_IDS = 10000  # employee ids an event names at most (ScoreUpdated)
ORGS_PER_CLAIM = 50

_C, _J, _F, _S = ScoreJobChunk.__table__.c, ScoreJob.__table__.c, ScoreFreshness.__table__.c, ScoreSnapshot.__table__.c
_wake: asyncio.Event | None = None  # the running loop's (`work`): set to look at once


def lease() -> dt.timedelta:
    return dt.timedelta(seconds=get_settings().score_job_lease_seconds)


def runner_name() -> str:
    """Who holds a lease: host, process and a random tag (two loops of one process differ)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def wake() -> None:
    """A job was queued: this process's runner looks now instead of at its next poll."""
    if _wake is not None:
        _wake.set()


def _rowcount(result: Any) -> int:
    # an UPDATE's result is a CursorResult, which the stubs of `execute` do not say
    return cast(CursorResult[Any], result).rowcount


# --- storing a range of the population ------------------------------------------------------------


async def store_span(ctx: Ctx, cycle: Cycle, version: int, first: uuid.UUID, last: uuid.UUID) -> stored.Rescored:
    """Store the scores of the cycle's population with ids from `first` to `last` and drop
    the rows of anyone in that range no longer in it: the whole cycle (LOWEST..HIGHEST,
    the inline recompute) or one chunk. Gone employees count as changed."""
    rows = await scoring.population(ctx, cycle, span=(first, last))
    present = {r.id for r in rows}
    held = await ctx.session.execute(
        select(_S.employee_id).where(
            _S.org_id == ctx.org_id, _S.cycle_id == cycle.id, _S.employee_id.between(first, last)
        )
    )
    gone = sorted(e for (e,) in held if e not in present)
    for part in chunks(gone, stored.CHUNK):
        await ctx.session.execute(
            delete(ScoreSnapshot.__table__).where(
                _S.org_id == ctx.org_id, _S.cycle_id == cycle.id, _S.employee_id.in_(part)
            )
        )
    out = await stored.rescore(ctx, cycle, rows, version, whole_range=True) if rows else stored.Rescored()
    out.changed.extend(gone)
    return out


async def emit_changed(session: AsyncSession, org_id: uuid.UUID, cycle_id: uuid.UUID, changed: list[uuid.UUID]) -> None:
    """`score.updated` naming the employees whose final or rating changed (in the
    transaction that stored them: the event is sent exactly when the rows are visible)."""
    if changed:
        await outbox.emit(
            session,
            org_id,
            "score.updated",
            ScoreUpdated(cycle_id=cycle_id, employee_ids=changed[:EVENT_IDS], count=len(changed)),
        )


# --- queueing -------------------------------------------------------------------------------------


async def population_size(session: AsyncSession, org_id: uuid.UUID, cycle: Cycle) -> int:
    stmt = select(func.count()).select_from(Employee).where(Employee.org_id == org_id, scoring.population_filter(cycle))
    return int((await session.execute(stmt)).scalar_one())


async def _plan(session: AsyncSession, org_id: uuid.UUID, cycle: Cycle, job_id: uuid.UUID) -> int:
    """Cut the population into chunks from one streaming query over its ids (memory: one
    chunk of ids); answers the population's size. An empty population still gets one
    chunk, which clears the cycle's stale rows and ends the job."""
    size = get_settings().score_job_chunk
    stmt = (
        select(Employee.id)
        .where(Employee.org_id == org_id, scoring.population_filter(cycle))
        .order_by(Employee.id)
        .execution_options(yield_per=size)
    )
    planned: list[dict[str, Any]] = []
    total = 0
    result = await session.stream(stmt)
    async for part in result.partitions(size):
        planned.append(
            {
                "org_id": org_id,
                "job_id": job_id,
                "seq": len(planned),
                "first_employee_id": part[0][0] if planned else LOWEST,
                "last_employee_id": part[-1][0],
                "size": len(part),
                "status": "queued",
                "attempts": 0,
            }
        )
        total += len(part)
    if not planned:
        planned.append(
            {
                "org_id": org_id,
                "job_id": job_id,
                "seq": 0,
                "first_employee_id": LOWEST,
                "size": 0,
                "status": "queued",
                "attempts": 0,
            }
        )
    for this, following in zip(planned, planned[1:], strict=False):  # ranges meet: no id falls between two chunks
        this["last_employee_id"] = uuid.UUID(int=following["first_employee_id"].int - 1)
    planned[-1]["last_employee_id"] = HIGHEST
    for rows in chunks(planned, 1000):
        await session.execute(ScoreJobChunk.__table__.insert(), list(rows))
    return total


async def _lock_freshness(session: AsyncSession, org_id: uuid.UUID, cycle_id: uuid.UUID) -> None:
    """PostgreSQL: two transactions queueing a job for one cycle take turns, so the second
    finds the first's job (SQLite has one writer at a time)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(select(_F.version).where(_F.org_id == org_id, _F.cycle_id == cycle_id).with_for_update())


async def queue(
    session: AsyncSession, org_id: uuid.UUID, cycle_id: uuid.UUID, *, requested_by: str, reason: str
) -> ScoreJob:
    """Queue a recompute of the cycle's current inputs version, planned into chunks in the
    caller's transaction (nothing runs here). A job already queued or running for the
    same cycle and version is answered instead of a second one."""
    cycle = await session.get(Cycle, (org_id, cycle_id))
    assert cycle is not None, "the caller checked the cycle"
    version = await freshness.begin(session, org_id, cycle_id)
    await _lock_freshness(session, org_id, cycle_id)
    found = (
        await session.execute(
            select(ScoreJob)
            .where(
                ScoreJob.org_id == org_id,
                ScoreJob.cycle_id == cycle_id,
                ScoreJob.status.in_(ACTIVE),
                ScoreJob.inputs_version == version,
            )
            .order_by(ScoreJob.created_at)
            .limit(1)
        )
    ).scalar_one_or_none()
    if found is not None:
        return found
    job = ScoreJob(
        org_id=org_id,
        id=new_id(),
        cycle_id=cycle_id,
        status="queued",
        requested_by=requested_by,
        created_at=utcnow(),
        attempts=0,
        total=0,
        done=0,
        inputs_version=version,
        reason=reason,
    )
    session.add(job)
    await session.flush()
    job.total = await _plan(session, org_id, cycle, job.id)
    await session.flush()
    log.info("score_job_queued", job_id=str(job.id), cycle_id=str(cycle_id), total=job.total, reason=reason)
    return job


# --- claiming and running one chunk ---------------------------------------------------------------


@dataclass(frozen=True)
class Claimed:
    """A chunk this runner holds (its attempt number tells a stale holder from the current one)."""

    org_id: uuid.UUID
    job_id: uuid.UUID
    seq: int
    attempt: int
    runner: str
    first: uuid.UUID
    last: uuid.UUID
    size: int


def _claimable(now: dt.datetime) -> Any:
    """Queued, or running under a lease that expired (its runner is gone) with attempts left."""
    return or_(
        _C.status == "queued",
        and_(_C.status == "running", _C.lease_until < now, _C.attempts < MAX_ATTEMPTS),
    )


def _job_active(org_id: uuid.UUID) -> Any:
    return exists().where(_J.org_id == org_id, _J.id == _C.job_id, _J.status.in_(ACTIVE))


async def _claim_in(session: AsyncSession, org_id: uuid.UUID, runner: str, job_id: uuid.UUID | None) -> Claimed | None:
    postgresql = session.get_bind().dialect.name == "postgresql"
    for _ in range(3):  # SQLite: another runner may win the candidate; try the next
        now = utcnow()
        stmt = (
            select(_C.job_id, _C.seq, _C.attempts, _C.first_employee_id, _C.last_employee_id, _C.size)
            .where(_C.org_id == org_id, _claimable(now), _job_active(org_id))
            .order_by(_C.job_id, _C.seq)
            .limit(1)
        )
        if job_id is not None:
            stmt = stmt.where(_C.job_id == job_id)
        if postgresql:
            stmt = stmt.with_for_update(skip_locked=True, of=ScoreJobChunk.__table__)
        row = (await session.execute(stmt)).first()
        if row is None:
            return None
        attempt = row.attempts + 1
        won = await session.execute(
            update(ScoreJobChunk)
            .where(_C.org_id == org_id, _C.job_id == row.job_id, _C.seq == row.seq, _claimable(now))
            .values(status="running", lease_until=now + lease(), attempts=attempt, runner=runner)
            .execution_options(synchronize_session=False)
        )
        if _rowcount(won) != 1:
            continue
        await session.execute(
            update(ScoreJob)
            .where(
                _J.org_id == org_id,
                _J.id == row.job_id,
                _J.status.in_(ACTIVE),
                or_(_J.status == "queued", _J.attempts < attempt),
            )
            .values(
                status="running",
                started_at=func.coalesce(_J.started_at, now),
                attempts=case((_J.attempts < attempt, attempt), else_=_J.attempts),
                error=None,
            )
            .execution_options(synchronize_session=False)
        )
        return Claimed(
            org_id, row.job_id, row.seq, attempt, runner, row.first_employee_id, row.last_employee_id, row.size
        )
    return None


async def claim(runner: str, *, org_id: uuid.UUID | None = None, job_id: uuid.UUID | None = None) -> Claimed | None:
    """Take one claimable chunk (of the given organization or job, else of any), or None."""
    async with database.sessions() as session:
        if org_id is not None:
            orgs = [org_id]
        else:
            orgs = list(
                (
                    await session.execute(
                        select(_J.org_id).where(_J.status.in_(ACTIVE)).distinct().limit(ORGS_PER_CLAIM)
                    )
                ).scalars()
            )
        for org in orgs:
            found = await _claim_in(session, org, runner, job_id)
            if found is not None:
                await session.commit()
                return found
            await session.rollback()
        return None


def _held(c: Claimed) -> Any:
    return and_(
        _C.org_id == c.org_id,
        _C.job_id == c.job_id,
        _C.seq == c.seq,
        _C.status == "running",
        _C.runner == c.runner,
        _C.attempts == c.attempt,
    )


async def _heartbeat(c: Claimed) -> None:
    every = lease().total_seconds() / 3
    while True:
        await asyncio.sleep(every)
        with contextlib.suppress(Exception):  # a missed beat only shortens the lease
            async with database.sessions() as session:
                await session.execute(
                    update(ScoreJobChunk)
                    .where(_held(c))
                    .values(lease_until=utcnow() + lease())
                    .execution_options(synchronize_session=False)
                )
                await session.commit()


async def _fail(org_id: uuid.UUID, job_id: uuid.UUID, error: str) -> None:
    async with database.sessions() as session:
        await session.execute(
            update(ScoreJob)
            .where(_J.org_id == org_id, _J.id == job_id, _J.status.in_(ACTIVE))
            .values(status="failed", error=error, finished_at=utcnow(), lease_until=None)
            .execution_options(synchronize_session=False)
        )
        await session.commit()


async def _settle_chunk(session: AsyncSession, c: Claimed, job: ScoreJob, out: stored.Rescored) -> bool:
    """In the chunk's transaction: mark it done (only if this runner still holds it), count
    it on the job, emit its event, end the job after its last chunk."""
    now = utcnow()
    marked = await session.execute(
        update(ScoreJobChunk)
        .where(_held(c))
        .values(status="done", finished_at=now, lease_until=None)
        .execution_options(synchronize_session=False)
    )
    if _rowcount(marked) != 1:  # the lease ran out and another runner took the chunk over
        return False
    await emit_changed(session, c.org_id, job.cycle_id, out.changed)
    # The job row is updated last: its lock (held to commit) serializes the chunks that
    # finish together, and each reads the `done` the previous one committed.
    await session.execute(
        update(ScoreJob)
        .where(_J.org_id == c.org_id, _J.id == c.job_id, _J.status.in_(ACTIVE))
        .values(
            done=_J.done + c.size,
            employees=func.coalesce(_J.employees, 0) + out.employees,
            changed=func.coalesce(_J.changed, 0) + len(out.changed),
        )
        .execution_options(synchronize_session=False)
    )
    row = (
        await session.execute(select(_J.done, _J.total, _J.status).where(_J.org_id == c.org_id, _J.id == c.job_id))
    ).one()
    if row.status in ACTIVE and row.done >= (row.total or 0):
        await session.execute(
            update(ScoreJob)
            .where(_J.org_id == c.org_id, _J.id == c.job_id)
            .values(status="succeeded", finished_at=now, lease_until=None)
            .execution_options(synchronize_session=False)
        )
        if job.inputs_version is not None:
            await freshness.complete(session, c.org_id, job.cycle_id, job.inputs_version)
        log.info("score_job_succeeded", job_id=str(c.job_id))
    return True


def runner_ctx(session: AsyncSession, job: ScoreJob) -> Ctx:
    """The context a job's chunks run in: the requester's name, HR's full view, nobody's
    own view (no employee id), so every score is the one everyone reads."""
    principal = Principal(sub=job.requested_by, org_id=job.org_id, kind="person", roles=frozenset({"hr"}))
    return Ctx(session=session, principal=principal)


async def run_chunk(c: Claimed) -> bool:
    """Run a claimed chunk to done (True), or leave it: to the job's failure when scoring
    raised, to its lease when another runner took it over or the database is gone."""
    beat = asyncio.create_task(_heartbeat(c))
    try:
        async with database.sessions() as session:
            job = await session.get(ScoreJob, (c.org_id, c.job_id))
            assert job is not None
            cycle = await session.get(Cycle, (c.org_id, job.cycle_id))
            assert cycle is not None  # the job's foreign key keeps its cycle
            with observe_job("score_recompute_chunk", mode="background"), scoring.collector_paused():
                await bulk_read_settings(session)
                out = await store_span(runner_ctx(session, job), cycle, job.inputs_version or 0, c.first, c.last)
                if not await _settle_chunk(session, c, job, out):
                    await session.rollback()
                    return False
            await session.commit()
        return True
    except Exception as exc:  # the job records the failure; the process stays up
        log.exception("score_job_chunk_failed", job_id=str(c.job_id), seq=c.seq)
        with contextlib.suppress(Exception):  # if even this fails, the lease expires
            await _fail(c.org_id, c.job_id, type(exc).__name__)
        return False
    finally:
        beat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beat


async def drain(runner: str | None = None, *, org_id: uuid.UUID | None = None, job_id: uuid.UUID | None = None) -> int:
    """Claim and run chunks one at a time until none is claimable; answers how many ran."""
    runner = runner or runner_name()
    ran = 0
    while (c := await claim(runner, org_id=org_id, job_id=job_id)) is not None:
        await run_chunk(c)
        ran += 1
    return ran


async def run(org_id: uuid.UUID, job_id: uuid.UUID) -> None:
    """Run the job's claimable chunks in this process (others may run the rest)."""
    try:
        await drain(org_id=org_id, job_id=job_id)
    except Exception:  # the database is unreachable: the chunks stay claimable
        log.warning("score_job_claim_failed", job_id=str(job_id), exc_info=True)


# --- what readers see, sweeps and refreshes -------------------------------------------------------


async def settle(session: AsyncSession, job: ScoreJob) -> ScoreJob:
    """What a reader should see of a job between sweeps: one whose chunk lost its runner
    reads `queued` (a takeover is pending) while no other chunk runs, or `failed` once
    that chunk is out of attempts; never `running` for a job nobody runs. Only the
    answer changes here (a read writes nothing); the next sweep writes the same."""
    if job.status not in ACTIVE:
        return job
    now = utcnow()
    leases = (
        await session.execute(
            select(_C.lease_until, _C.attempts).where(
                _C.org_id == job.org_id, _C.job_id == job.id, _C.status == "running"
            )
        )
    ).all()
    lost = [attempts for until, attempts in leases if until is not None and until < now]
    if any(a >= MAX_ATTEMPTS for a in lost):
        job.status, job.error, job.finished_at, job.lease_until = "failed", RUNNER_LOST, now, None
    elif lost and len(lost) == len(leases):
        job.status = "queued"
    return job


async def sweep() -> int:
    """Fail every job with a chunk whose runner stopped `MAX_ATTEMPTS` times (its other
    stale chunks are claimed by runners as they come). Answers how many it failed."""
    now = utcnow()
    async with database.sessions() as session:
        spent = (
            await session.execute(
                select(_C.org_id, _C.job_id)
                .where(_C.status == "running", _C.lease_until < now, _C.attempts >= MAX_ATTEMPTS)
                .distinct()
                .limit(100)
            )
        ).all()
        failed = 0
        for org, jid in spent:
            result = await session.execute(
                update(ScoreJob)
                .where(_J.org_id == org, _J.id == jid, _J.status.in_(ACTIVE))
                .values(status="failed", error=RUNNER_LOST, finished_at=now, lease_until=None)
                .execution_options(synchronize_session=False)
            )
            failed += _rowcount(result)
        await session.commit()
    return failed


async def refresh(limit: int | None = None, *, org_id: uuid.UUID | None = None) -> list[ScoreJob]:
    """Queue a `refresh` job for each cycle whose stored scores are behind its inputs
    (`complete_version < version`) with no job queued or running, then for cycles never
    stored (no freshness row: new cycles, and every cycle after the upgrade that added
    stored scores), at most `limit`
    (`SCORE_REFRESH_PER_ROUND`) a round. A cycle whose job for its current version failed
    is left to a person (POST .../scores/recompute): retrying a failure every round
    would only repeat it. `org_id`: one organization's cycles only."""
    limit = get_settings().score_refresh_per_round if limit is None else limit
    if limit <= 0:
        return []
    busy = exists().where(
        _J.org_id == _F.org_id,
        _J.cycle_id == _F.cycle_id,
        or_(_J.status.in_(ACTIVE), and_(_J.status == "failed", _J.inputs_version == _F.version)),
    )
    queued: list[ScoreJob] = []
    async with database.sessions() as session:
        stmt = select(_F.org_id, _F.cycle_id).where(_F.complete_version < _F.version, ~busy)
        if org_id is not None:
            stmt = stmt.where(_F.org_id == org_id)
        behind = list((await session.execute(stmt.order_by(_F.updated_at).limit(limit))).all())
        if len(behind) < limit:  # then cycles never stored: their first refresh stores them
            c = Cycle.__table__.c
            never = (
                select(c.org_id, c.id)
                .select_from(
                    Cycle.__table__.outerjoin(ScoreFreshness.__table__, (_F.org_id == c.org_id) & (_F.cycle_id == c.id))
                )
                .where(_F.cycle_id.is_(None))
            )
            if org_id is not None:
                never = never.where(c.org_id == org_id)
            behind.extend((await session.execute(never.order_by(c.org_id, c.id).limit(limit - len(behind)))).all())
        for org, cycle_id in behind:
            queued.append(await queue(session, org, cycle_id, requested_by="system:refresh", reason="refresh"))
        await session.commit()
    return queued


async def work(stop: asyncio.Event, runner: str | None = None) -> None:
    """The runner loop: claim a chunk and run it, again; when there is none, wait for a
    wake-up or the poll. Every half lease: a sweep and a refresh round."""
    global _wake
    runner = runner or runner_name()
    settings = get_settings()
    woken = _wake = asyncio.Event()
    every = max(lease().total_seconds() / 2, 0.05)
    next_round = 0.0
    log.info("score_runner_started", runner=runner)
    while not stop.is_set():
        ran = False
        try:
            if time.monotonic() >= next_round:
                next_round = time.monotonic() + every
                await sweep()
                await refresh()
            c = await claim(runner)
            if c is not None:
                await run_chunk(c)
                ran = True
        except Exception:  # the database is unreachable: try again at the next poll
            log.warning("score_runner_round_failed", exc_info=True)
        if ran:
            continue
        woken.clear()
        waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(woken.wait())]
        await asyncio.wait(waits, timeout=settings.score_job_poll_seconds, return_when=asyncio.FIRST_COMPLETED)
        for w in waits:
            w.cancel()


@contextlib.asynccontextmanager
async def running() -> AsyncIterator[None]:
    """Run the loop for as long as the block lasts (the API's lifespan, the worker)."""
    stop = asyncio.Event()
    task = asyncio.create_task(work(stop), name="score-job-runner")
    try:
        yield
    finally:
        stop.set()
        with contextlib.suppress(Exception, asyncio.CancelledError):  # a chunk cut short: its lease expires
            await asyncio.wait_for(task, timeout=5)


async def chunks_of(session: AsyncSession, org_id: uuid.UUID, job_id: uuid.UUID) -> Sequence[ScoreJobChunk]:
    """A job's chunks in order (tests, operators)."""
    return (
        (
            await session.execute(
                select(ScoreJobChunk)
                .where(ScoreJobChunk.org_id == org_id, ScoreJobChunk.job_id == job_id)
                .order_by(_C.seq)
            )
        )
        .scalars()
        .all()
    )
