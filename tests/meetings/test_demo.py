"""The demo organization's week of rhythm: the growth team's stand-ups, weekly meeting,
one-on-ones and the coming quarterly review, with the open action on its owner's task list
and in the next weekly's brief."""

from __future__ import annotations

from service.auth.tokens import issue_token
from service.db import database
from service.demo import DEMO_ORG_ID, _id, load_demo
from service.meetings import demo
from tests.conftest import bearer

WEEK = "from=2026-11-16T00:00:00Z&to=2026-11-21T00:00:00Z"


async def test_the_demo_runs_a_week_of_rhythm_from_briefs(client):
    await load_demo()
    async with database.sessions() as session:  # a second load adds nothing
        await demo.load(session, DEMO_ORG_ID, _id)
        await session.commit()
    hr = bearer(issue_token(org_id=DEMO_ORG_ID, sub="hr@northwind.example", roles=["hr"]))
    meetings = (await client.get("/api/v1/meetings?limit=50", headers=hr)).json()["items"]
    kinds = sorted(m["kind"] for m in meetings)
    assert kinds == ["one_on_one", "one_on_one", "quarterly_review", "standup", "weekly"]
    by_kind = {m["kind"]: m for m in meetings}
    standup = (await client.get(f"/api/v1/meetings/{by_kind['standup']['id']}/occurrences?{WEEK}", headers=hr)).json()
    assert [o["status"] for o in standup["items"]] == ["held"] * 5
    weekly = by_kind["weekly"]
    acts = (await client.get(f"/api/v1/meetings/{weekly['id']}/actions", headers=hr)).json()["items"]
    assert sorted(a["status"] for a in acts) == ["done", "open"]
    [still_open] = [a for a in acts if a["status"] == "open"]
    assert still_open["owner_id"] == str(_id("emp:E009"))
    tomas = bearer(
        issue_token(org_id=DEMO_ORG_ID, sub="tomas@northwind.example", roles=["employee"], employee_id=_id("emp:E009"))
    )
    tasks = (await client.get("/api/v1/me/tasks", headers=tomas)).json()["items"]
    assert [t["subject"]["id"] for t in tasks if t["kind"] == "meeting_action"] == [still_open["id"]], tasks
    brief = (
        await client.get(f"/api/v1/meetings/{weekly['id']}/brief?occurrence=2026-11-23T15:00:00Z", headers=hr)
    ).json()
    assert [a["id"] for a in brief["team"]["actions"]] == [still_open["id"]]
    assert brief["previous_occurrence"] == "2026-11-16T15:00:00Z"
