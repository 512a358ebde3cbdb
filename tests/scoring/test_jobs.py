"""Durable recompute jobs (service/scoring/jobs.py): a job whose runner never started,
died mid-run or lost its database is retried by a sweep once its lease has run out, at
most three times, then failed with the reason; a reader never sees `running` for a job
nobody runs; two runners never run one job."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Any

import pytest
from sqlalchemy import update

from service.config import get_settings
from service.db import database
from service.scoring import jobs
from service.scoring.models import ScoreJob
from tests.conftest import Tenant
from tests.kpi.conftest import make_assignment, make_cycle, make_definition, measure


@pytest.fixture
async def queued(team: Tenant, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A background recompute whose process died before it started it (no runner)."""
    t = team
    cycle = await make_cycle(t)
    d = await make_definition(t, "SALES")
    await measure(t, await make_assignment(t, "alice", cycle, d, method="ratio", target=100), "90", "2026-10-02")
    monkeypatch.setattr(get_settings(), "score_inline_max", 0)
    monkeypatch.setattr(jobs, "spawn", lambda *_: None)
    resp = await t.client.post(f"/api/v1/cycles/{cycle['id']}/scores/recompute", headers=t.hr)
    assert resp.status_code == 202 and resp.json()["status"] == "queued", resp.text
    return resp.json()


async def job_of(t: Tenant, job: dict[str, Any]) -> dict[str, Any]:
    resp = await t.client.get(f"/api/v1/score-jobs/{job['id']}", headers=t.hr)
    assert resp.status_code == 200, resp.text
    return resp.json()


async def age(t: Tenant, job: dict[str, Any], **values: Any) -> None:
    """Move the job's clock back a lease and a bit (and set what a dead runner left)."""
    past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=get_settings().score_job_lease_seconds + 5)
    async with database.sessions() as session:
        await session.execute(
            update(ScoreJob)
            .where(ScoreJob.org_id == t.org_id, ScoreJob.id == uuid.UUID(job["id"]))
            .values(created_at=past, **{k: (past if v == "past" else v) for k, v in values.items()})
        )
        await session.commit()


async def test_a_job_never_started_is_swept_and_run(team: Tenant, queued: dict[str, Any]):
    t = team
    assert (await job_of(t, queued))["status"] == "queued"
    await jobs.sweep(run_inline=True)
    assert (await job_of(t, queued))["status"] == "queued"  # not stale yet: its runner may still come
    await age(t, queued)
    assert await jobs.sweep(run_inline=True) >= 1
    done = await job_of(t, queued)
    assert (done["status"], done["attempts"], done["employees"]) == ("succeeded", 1, len(t.employees))


async def test_a_runner_that_died_mid_run_is_replaced(team: Tenant, queued: dict[str, Any]):
    t = team
    await age(t, queued, status="running", attempts=1, lease_until="past", started_at="past")  # kill -9
    shown = await job_of(t, queued)
    assert shown["status"] == "queued", shown  # truthful: nobody runs it, a retry is pending
    await jobs.sweep(run_inline=True)
    done = await job_of(t, queued)
    assert (done["status"], done["attempts"]) == ("succeeded", 2) and done["error"] is None


async def test_out_of_attempts_is_failed_with_the_reason(team: Tenant, queued: dict[str, Any]):
    t = team
    await age(t, queued, status="running", attempts=jobs.MAX_ATTEMPTS, lease_until="past")
    shown = await job_of(t, queued)
    assert (shown["status"], shown["error"]) == ("failed", jobs.RUNNER_LOST)
    await jobs.sweep(run_inline=True)
    async with database.sessions() as session:
        row = await session.get(ScoreJob, (t.org_id, uuid.UUID(queued["id"])))
    assert (row.status, row.error, row.attempts) == ("failed", jobs.RUNNER_LOST, jobs.MAX_ATTEMPTS)
    assert row.finished_at is not None


async def test_a_runner_that_cannot_reach_the_database_leaves_the_job_claimable(
    team: Tenant, queued: dict[str, Any], monkeypatch: pytest.MonkeyPatch
):
    """Connections cut right after the 202: the runner's claim fails, the job stays queued
    (not stuck running), and the sweep after its lease runs it."""
    t = team

    async def cut(*_: Any) -> bool:
        raise ConnectionResetError("terminated by an administrator")

    real_claim = jobs.claim
    monkeypatch.setattr(jobs, "claim", cut)
    await jobs.run(t.org_id, uuid.UUID(queued["id"]))
    assert (await job_of(t, queued))["status"] == "queued"
    monkeypatch.setattr(jobs, "claim", real_claim)
    await age(t, queued)
    await jobs.sweep(run_inline=True)
    assert (await job_of(t, queued))["status"] == "succeeded"


async def test_two_runners_never_run_one_job(team: Tenant, queued: dict[str, Any]):
    t = team
    claims = await asyncio.gather(*(jobs.claim(t.org_id, uuid.UUID(queued["id"])) for _ in range(5)))
    assert sorted(claims) == [False] * 4 + [True]
    await jobs.run(t.org_id, uuid.UUID(queued["id"]))  # a running job with a live lease is not taken
    shown = await job_of(t, queued)
    assert (shown["status"], shown["attempts"]) == ("running", 1)


async def test_a_failing_recompute_ends_failed_not_running(
    team: Tenant, queued: dict[str, Any], monkeypatch: pytest.MonkeyPatch
):
    from service.scoring import scores

    async def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(scores, "recompute_cycle", broken)
    await jobs.run(team.org_id, uuid.UUID(queued["id"]))
    done = await job_of(team, queued)
    assert (done["status"], done["error"], done["attempts"]) == ("failed", "RuntimeError", 1)
