"""Improvement actions of review meetings land on their owner's task list (`/me/tasks`,
kind `improvement_action`, one task per review meeting, due on the earliest action not
done) until the plan records them done; GraphQL lists the same task."""

from __future__ import annotations

from typing import Any

import pytest

from tests.briefs.conftest import Scene, build_scene, day
from tests.conftest import Tenant


@pytest.fixture
async def scene(team: Tenant) -> Scene:
    return await build_scene(team)


async def _improvements(s: Scene, who: str) -> list[dict[str, Any]]:
    r = await s.t.client.get("/api/v1/me/tasks", headers=s.t.employee(who))
    assert r.status_code == 200, r.text
    return [t for t in r.json()["items"] if t["kind"] == "improvement_action"]


async def test_each_owner_sees_their_open_improvement_actions_until_done(scene: Scene):
    s = scene
    [alice] = await _improvements(s, "alice")
    assert alice["subject"] == {"kind": "review_meeting", "id": s["earlier"]}
    assert alice["due"] == day(-3) and "Call every lapsed account" in alice["title"]
    assert alice["links"]["rest"] == f"PATCH /api/v1/review-meetings/{s['earlier']}"
    [lead] = await _improvements(s, "lead")  # "Write the playbook" is done: only "Train bob"
    assert lead["due"] == day(10) and "Train bob" in lead["title"]
    assert await _improvements(s, "bob") == []

    meeting = await s.t.client.get(f"/api/v1/review-meetings/{s['earlier']}", headers=s.t.hr)
    plan = [{k: a[k] for k in ("action", "owner_id", "due_date", "status")} for a in meeting.json()["improvement_plan"]]
    for a in plan:
        if a["owner_id"] == s["alice"]:
            a["status"] = "done"
    done = await s.t.client.patch(
        f"/api/v1/review-meetings/{s['earlier']}",
        headers={**s.t.employee("lead"), "If-Match": meeting.headers["etag"]},
        json={"improvement_plan": plan},
    )
    assert done.status_code == 200, done.text
    assert await _improvements(s, "alice") == []
    assert len(await _improvements(s, "lead")) == 1

    gql = await s.t.client.post(
        "/graphql",
        headers=s.t.employee("lead"),
        json={"query": "{ me { tasks(first: 50) { nodes { kind due subject { kind subjectId } } } } }"},
    )
    assert gql.status_code == 200, gql.text
    nodes = [n for n in gql.json()["data"]["me"]["tasks"]["nodes"] if n["kind"] == "IMPROVEMENT_ACTION"]
    assert nodes == [
        {"kind": "IMPROVEMENT_ACTION", "due": day(10), "subject": {"kind": "REVIEW_MEETING", "subjectId": s["earlier"]}}
    ]
