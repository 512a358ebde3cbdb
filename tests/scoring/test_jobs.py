"""Recompute jobs of leased chunks (service/scoring/jobs.py): a job is planned into chunks
of the population in id order and reports its progress; runners claim one chunk at a
time and never the same one; a chunk whose runner died is taken over once its lease has
run out, at most three times, then the job fails with the reason; a reader never sees
`running` for a job nobody runs; the job's end marks the cycle's stored scores complete;
the refresh round queues one job for a cycle whose scores are behind."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select, update

from service.config import get_settings
from service.db import database
from service.kit.models import OutboxEvent
from service.scoring import freshness, jobs
from service.scoring.models import ScoreJob, ScoreJobChunk, ScoreSnapshot
from tests.conftest import Tenant
from tests.kpi.conftest import make_assignment, make_cycle, make_definition, measure

CHUNK = 2  # the team's 6 employees make 3 chunks


@pytest.fixture
async def cycle(team: Tenant) -> dict[str, Any]:
    t = team
    cycle = await make_cycle(t)
    d = await make_definition(t, "SALES")
    await measure(t, await make_assignment(t, "alice", cycle, d, method="ratio", target=100), "90", "2026-10-02")
    await measure(t, await make_assignment(t, "carol", cycle, d, method="ratio", target=100), "120", "2026-10-03")
    return cycle


@pytest.fixture
async def queued(team: Tenant, cycle: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A background recompute in chunks of two, queued and not yet run."""
    monkeypatch.setattr(get_settings(), "score_inline_max", 0)
    monkeypatch.setattr(get_settings(), "score_job_chunk", CHUNK)
    resp = await team.client.post(f"/api/v1/cycles/{cycle['id']}/scores/recompute", headers=team.hr)
    assert resp.status_code == 202 and resp.json()["status"] == "queued", resp.text
    return resp.json()


async def job_of(t: Tenant, job: dict[str, Any]) -> dict[str, Any]:
    resp = await t.client.get(f"/api/v1/score-jobs/{job['id']}", headers=t.hr)
    assert resp.status_code == 200, resp.text
    return resp.json()


async def chunks_of(t: Tenant, job: dict[str, Any]) -> list[ScoreJobChunk]:
    async with database.sessions() as session:
        return list(await jobs.chunks_of(session, t.org_id, uuid.UUID(job["id"])))


async def expire(t: Tenant, job: dict[str, Any], seq: int, **values: Any) -> None:
    """What a runner killed mid-chunk leaves: its lease in the past."""
    past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=get_settings().score_job_lease_seconds + 5)
    async with database.sessions() as session:
        await session.execute(
            update(ScoreJobChunk)
            .where(
                ScoreJobChunk.org_id == t.org_id,
                ScoreJobChunk.job_id == uuid.UUID(job["id"]),
                ScoreJobChunk.seq == seq,
            )
            .values(lease_until=past, **values)
        )
        await session.commit()


async def stored_scores(t: Tenant, cycle: dict[str, Any]) -> dict[uuid.UUID, tuple[Any, Any, int]]:
    async with database.sessions() as session:
        rows = await session.execute(
            select(
                ScoreSnapshot.employee_id, ScoreSnapshot.final, ScoreSnapshot.rating, ScoreSnapshot.inputs_version
            ).where(ScoreSnapshot.org_id == t.org_id, ScoreSnapshot.cycle_id == uuid.UUID(cycle["id"]))
        )
        return {r[0]: (r[1], r[2], r[3]) for r in rows}


async def state(t: Tenant, cycle: dict[str, Any]) -> tuple[int, int] | None:
    async with database.sessions() as session:
        return await freshness.state(session, t.org_id, uuid.UUID(cycle["id"]))


async def test_a_job_is_planned_in_chunks_and_reports_progress(
    team: Tenant, cycle: dict[str, Any], queued: dict[str, Any]
):
    t = team
    assert (queued["total"], queued["done"], queued["reason"]) == (6, 0, "requested")
    parts = await chunks_of(t, queued)
    assert [c.size for c in parts] == [2, 2, 2] and [c.seq for c in parts] == [0, 1, 2]
    # the chunks partition the whole id space, in id order
    assert parts[0].first_employee_id == jobs.LOWEST and parts[-1].last_employee_id == jobs.HIGHEST
    assert all(a.last_employee_id < b.first_employee_id for a, b in zip(parts, parts[1:], strict=False))

    claimed = await jobs.claim("runner-a", org_id=t.org_id)
    assert claimed is not None and claimed.seq == 0
    assert await jobs.run_chunk(claimed)
    halfway = await job_of(t, queued)
    assert (halfway["status"], halfway["done"], halfway["total"], halfway["attempts"]) == ("running", 2, 6, 1)
    assert await state(t, cycle) == (1, 0)  # not complete before the last chunk

    assert await jobs.drain("runner-a", org_id=t.org_id) == 2
    done = await job_of(t, queued)
    assert (done["status"], done["done"], done["employees"], done["error"]) == ("succeeded", 6, 6, None)
    assert done["finished_at"] is not None
    assert await state(t, cycle) == (1, 1)  # the job's end marks the stored scores complete
    rows = await stored_scores(t, cycle)
    assert set(rows) == {uuid.UUID(e["id"]) for e in t.employees.values()}
    assert {v[2] for v in rows.values()} == {1}
    async with database.sessions() as session:
        events = (
            (
                await session.execute(
                    select(OutboxEvent.payload).where(
                        OutboxEvent.org_id == t.org_id, OutboxEvent.event_type == "score.updated"
                    )
                )
            )
            .scalars()
            .all()
        )
    # one event per chunk, naming its changed employees: every one of them, once
    named = [e for p in events for e in p["employee_ids"]]
    assert sorted(named) == sorted(str(e) for e in rows) and sum(p["count"] for p in events) == 6


async def test_a_second_request_answers_the_job_already_queued(
    team: Tenant, cycle: dict[str, Any], queued: dict[str, Any]
):
    again = await team.client.post(f"/api/v1/cycles/{cycle['id']}/scores/recompute", headers=team.hr)
    assert again.status_code == 202 and again.json()["id"] == queued["id"]
    assert len(await chunks_of(team, queued)) == 3


async def test_chunks_store_what_the_inline_recompute_stores(
    team: Tenant, cycle: dict[str, Any], queued: dict[str, Any], monkeypatch: pytest.MonkeyPatch
):
    """Read by id range, a chunk's inputs score exactly as the whole cycle's do."""
    t = team
    await jobs.drain(org_id=t.org_id)
    chunked = await stored_scores(t, cycle)
    monkeypatch.setattr(get_settings(), "score_inline_max", 100)
    inline = await t.client.post(f"/api/v1/cycles/{cycle['id']}/scores/recompute", headers=t.hr)
    assert inline.status_code == 200, inline.text
    body = inline.json()
    assert (body["status"], body["total"], body["done"], body["changed"]) == ("succeeded", 6, 6, 0)
    assert await stored_scores(t, cycle) == chunked
    alice = chunked[uuid.UUID(t.employees["alice"]["id"])]
    live = await t.client.get(f"/api/v1/cycles/{cycle['id']}/scores/{t.employees['alice']['id']}", headers=t.hr)
    assert alice[0] is not None and f"{alice[0]:.2f}" == live.json()["final"]


async def test_two_runners_never_run_one_chunk(team: Tenant, queued: dict[str, Any]):
    claims = await asyncio.gather(*(jobs.claim(f"runner-{i}", org_id=team.org_id) for i in range(5)))
    won = [c for c in claims if c is not None]
    assert sorted(c.seq for c in won) == [0, 1, 2]  # three chunks, each to one runner
    assert await jobs.claim("late", org_id=team.org_id) is None  # live leases are not taken
    assert (await job_of(team, queued))["status"] == "running"


async def test_a_chunk_whose_runner_died_is_taken_over(team: Tenant, cycle: dict[str, Any], queued: dict[str, Any]):
    t = team
    dead = await jobs.claim("dead", org_id=t.org_id)
    assert dead is not None
    await expire(t, queued, dead.seq)  # kill -9
    shown = await job_of(t, queued)
    assert shown["status"] == "queued", shown  # truthful: nobody runs it, a takeover is pending
    assert await jobs.drain("alive", org_id=t.org_id) == 3
    done = await job_of(t, queued)
    assert (done["status"], done["done"], done["attempts"]) == ("succeeded", 6, 2)
    taken = (await chunks_of(t, queued))[dead.seq]
    assert (taken.runner, taken.attempts, taken.status) == ("alive", 2, "done")
    # the dead runner waking up later cannot finish the chunk a second time
    assert await jobs.run_chunk(dead) is False
    assert (await job_of(t, queued))["done"] == 6
    assert await state(t, cycle) == (1, 1)


async def test_out_of_attempts_fails_the_job_with_the_reason(team: Tenant, queued: dict[str, Any]):
    t = team
    c = await jobs.claim("dead", org_id=t.org_id)
    assert c is not None
    await expire(t, queued, c.seq, attempts=jobs.MAX_ATTEMPTS)
    shown = await job_of(t, queued)
    assert (shown["status"], shown["error"]) == ("failed", jobs.RUNNER_LOST)
    assert await jobs.sweep() >= 1
    async with database.sessions() as session:
        row = await session.get(ScoreJob, (t.org_id, uuid.UUID(queued["id"])))
    assert row is not None and (row.status, row.error) == ("failed", jobs.RUNNER_LOST)
    assert row.finished_at is not None
    assert await jobs.drain(org_id=t.org_id) == 0  # a failed job's chunks are nobody's


async def test_a_failing_chunk_ends_the_job_failed_not_running(
    team: Tenant, queued: dict[str, Any], monkeypatch: pytest.MonkeyPatch
):
    async def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(jobs, "store_span", broken)
    assert await jobs.drain(org_id=team.org_id) == 1
    done = await job_of(team, queued)
    assert (done["status"], done["error"], done["attempts"], done["done"]) == ("failed", "RuntimeError", 1, 0)


async def test_a_runner_that_cannot_reach_the_database_leaves_the_job_claimable(
    team: Tenant, queued: dict[str, Any], monkeypatch: pytest.MonkeyPatch
):
    t = team

    async def cut(*_: Any, **__: Any) -> Any:
        raise ConnectionResetError("terminated by an administrator")

    real_claim = jobs.claim
    monkeypatch.setattr(jobs, "claim", cut)
    await jobs.run(t.org_id, uuid.UUID(queued["id"]))
    assert (await job_of(t, queued))["status"] == "queued"
    monkeypatch.setattr(jobs, "claim", real_claim)
    await jobs.run(t.org_id, uuid.UUID(queued["id"]))
    assert (await job_of(t, queued))["status"] == "succeeded"


async def test_inputs_that_moved_during_the_job_leave_the_cycle_incomplete(
    team: Tenant, cycle: dict[str, Any], queued: dict[str, Any]
):
    t = team
    async with database.sessions() as session:
        await freshness.bump(session, t.org_id, [uuid.UUID(cycle["id"])])
        await session.commit()
    await jobs.drain(org_id=t.org_id)
    assert (await job_of(t, queued))["status"] == "succeeded"
    assert await state(t, cycle) == (2, 0)  # version 1 is stored; version 2 is a refresh's


async def test_the_refresh_round_queues_exactly_one_job(
    team: Tenant, cycle: dict[str, Any], queued: dict[str, Any], monkeypatch: pytest.MonkeyPatch
):
    t = team
    monkeypatch.setattr(get_settings(), "score_refresh_per_round", 20)
    cycle_id = uuid.UUID(cycle["id"])
    assert await jobs.refresh(org_id=t.org_id) == []  # a job is already queued for the cycle
    await jobs.drain(org_id=t.org_id)
    assert await jobs.refresh(org_id=t.org_id) == []  # complete: nothing to refresh
    async with database.sessions() as session:
        await freshness.bump(session, t.org_id, [cycle_id])
        await session.commit()
    first = await jobs.refresh(org_id=t.org_id)
    assert [(j.cycle_id, j.reason, j.inputs_version, j.total) for j in first] == [(cycle_id, "refresh", 2, 6)]
    assert await jobs.refresh(org_id=t.org_id) == []  # not a second one
    async with database.sessions() as session:
        active = await session.scalar(
            select(func.count())
            .select_from(ScoreJob)
            .where(ScoreJob.org_id == t.org_id, ScoreJob.cycle_id == cycle_id, ScoreJob.status.in_(jobs.ACTIVE))
        )
    assert active == 1
    await jobs.drain(org_id=t.org_id)
    assert await state(t, cycle) == (2, 2)
    assert {v[2] for v in (await stored_scores(t, cycle)).values()} == {2}


async def test_a_small_cycle_is_recomputed_inline_and_complete(team: Tenant, cycle: dict[str, Any]):
    t = team
    resp = await t.client.post(f"/api/v1/cycles/{cycle['id']}/scores/recompute", headers=t.hr)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["status"], body["total"], body["done"], body["employees"]) == ("succeeded", 6, 6, 6)
    assert await state(t, cycle) == (1, 1)
    assert len(await stored_scores(t, cycle)) == 6


async def test_the_refresh_round_stores_cycles_never_stored(team: Tenant, monkeypatch: pytest.MonkeyPatch):
    """A new cycle (or every cycle after the upgrade that added stored scores) has no
    freshness row: the refresh round queues its first job, and the cycle is then kept."""
    t = team
    monkeypatch.setattr(get_settings(), "score_refresh_per_round", 20)
    cycle = await make_cycle(t)
    assert await state(t, cycle) is None
    first = await jobs.refresh(org_id=t.org_id)
    assert [(j.cycle_id, j.reason) for j in first] == [(uuid.UUID(cycle["id"]), "refresh")]
    assert await jobs.refresh(org_id=t.org_id) == []  # queued once
    await jobs.drain(org_id=t.org_id)
    assert await state(t, cycle) == (1, 1)
    monkeypatch.setattr(get_settings(), "score_refresh_per_round", 0)
    assert await jobs.refresh(org_id=t.org_id) == []  # switched off: nothing queued
