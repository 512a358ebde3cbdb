"""A meeting's brief (service/meetings/brief.py): built for one occurrence by the meeting's
kind from the same builders as the brief routes, over the period since the previous
occurrence, with the meeting's open actions carried until they are closed. Each kind is
checked against the brief route it uses, on the hand-built team of tests/briefs."""

from __future__ import annotations

from typing import Any

import pytest

from tests.briefs.conftest import Scene, build_scene, day
from tests.conftest import Tenant
from tests.meetings.conftest import MEETINGS, schedule


@pytest.fixture
async def scene(team: Tenant) -> Scene:
    return await build_scene(team)


async def _brief(s: Scene, meeting: dict[str, Any], occurrence: str | None, expect: int = 200) -> Any:
    params = {"occurrence": occurrence} if occurrence else {}
    r = await s.t.client.get(f"{MEETINGS}/{meeting['id']}/brief", headers=s.t.hr, params=params)
    assert r.status_code == expect, r.text
    return r.json() if expect == 200 else r


async def _get(s: Scene, path: str) -> Any:
    r = await s.t.client.get(path, headers=s.t.hr)
    assert r.status_code == 200, r.text
    return r.json()


async def test_a_weekly_meeting_briefs_its_team_since_the_last_one_and_carries_its_open_actions(scene: Scene):
    s = scene
    weekly = await schedule(
        s.t,
        headers=s.t.employee("lead"),
        kind="weekly",
        title="Sales weekly",
        attendee_ids=None,
        department_id=s["dep"],
        starts_at=f"{day(-14)}T08:00:00Z",
        timezone="UTC",
        rrule="FREQ=WEEKLY",
    )
    last = f"{day(-7)}T08:00:00Z"
    made = await s.t.client.post(
        f"{MEETINGS}/{weekly['id']}/occurrences/{last}/actions",
        headers=s.t.employee("lead"),
        json={"owner_id": s["bob"], "title": "Chase the churned accounts", "due_date": day(3)},
    )
    assert made.status_code == 201, made.text
    closed = await s.t.client.post(
        f"{MEETINGS}/{weekly['id']}/occurrences/{last}/actions",
        headers=s.t.employee("lead"),
        json={"owner_id": s["alice"], "title": "Already done", "due_date": day(-1)},
    )
    action = closed.json()
    done = await s.t.client.patch(
        f"/api/v1/meeting-actions/{action['id']}",
        headers={**s.t.hr, "If-Match": f'"{action["version"]}"'},
        json={"status": "done"},
    )
    assert done.status_code == 200, done.text

    brief = await _brief(s, weekly, f"{day(0)}T08:00:00Z")
    assert brief["kind"] == "weekly" and brief["one_on_one"] is None and brief["quarterly_review"] is None
    assert brief["occurrence"].startswith(day(0)) and brief["previous_occurrence"].startswith(day(-7))
    team = brief["team"]
    assert team["period"] == {"from": day(-7), "to": day(0)} and team["since"] == day(-7)
    same = await _get(s, f"/api/v1/departments/{s['dep']}/team-brief?from={day(-7)}&to={day(0)}&since={day(-7)}")
    assert team["key_results"] == same["key_results"] and team["kpis"] == same["kpis"]
    assert {k["key_result_id"] for k in team["key_results"]} >= {s["kr_off"], s["kr_stale"]}
    assert [(a["id"], a["source"], a["source_id"]) for a in team["actions"]] == [
        (made.json()["id"], "meeting", weekly["id"])
    ]  # the closed one is not carried

    first = await _brief(s, weekly, f"{day(-14)}T08:00:00Z")
    assert first["previous_occurrence"] is None
    assert first["team"]["period"] == {"from": day(-21), "to": day(-14)}
    text = await s.t.client.get(
        f"{MEETINGS}/{weekly['id']}/brief",
        headers=s.t.hr,
        params={"occurrence": f"{day(0)}T08:00:00Z", "format": "markdown"},
    )
    assert text.status_code == 200 and text.headers["content-type"].startswith("text/markdown")
    assert text.text.startswith(f"# Brief of the weekly of {day(0)} 08:00 UTC")
    assert "Grow accounts from 0 to 100" in text.text


async def test_a_one_on_one_briefs_the_report(scene: Scene):
    s = scene
    pair = await schedule(s.t, starts_at=f"{day(-14)}T09:00:00Z", timezone="UTC", rrule="FREQ=WEEKLY")
    brief = await _brief(s, pair, f"{day(0)}T09:00:00Z")
    assert brief["team"] is None and brief["one_on_one"]["employee_id"] == s["alice"]
    same = await _get(s, f"/api/v1/employees/{s['alice']}/one-on-one-brief?from={day(-7)}&to={day(0)}")
    assert brief["one_on_one"] == same


async def test_a_quarterly_review_briefs_its_cycle_over_the_attendees(scene: Scene):
    s = scene
    review = await schedule(
        s.t,
        kind="quarterly_review",
        title="Q review",
        attendee_ids=[s["alice"], s["lead"]],
        cycle_id=s["cycle"],
        starts_at=f"{day(1)}T10:00:00Z",
        timezone="UTC",
        rrule=None,
    )
    brief = await _brief(s, review, None)  # a single meeting: its only occurrence
    q = brief["quarterly_review"]
    assert brief["team"] is None and q is not None and q["cycle_id"] == s["cycle"]
    assert s["obj"] in {o["objective_id"] for o in q["objectives"]}


async def test_an_occurrence_the_meeting_does_not_have_is_404(scene: Scene):
    s = scene
    pair = await schedule(s.t, starts_at=f"{day(-14)}T09:00:00Z", timezone="UTC", rrule="FREQ=WEEKLY")
    missing = await _brief(s, pair, f"{day(0)}T09:30:00Z", expect=404)
    assert missing.headers["content-type"].startswith("application/problem+json")
