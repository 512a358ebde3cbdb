"""Follow-up actions: added to an occurrence with an owner among the attendees, listed
per meeting and on the owner's task list until closed, closed by their owner, and
announced once by `action.overdue` when past due."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from service.db import database
from service.kit.models import OutboxEvent
from service.meetings.actions import overdue_round
from tests.conftest import Tenant
from tests.meetings.conftest import MEETINGS, schedule

START = "2027-01-11T08:00:00Z"


async def add(t: Tenant, meeting: dict, headers: dict, expect: int = 201, **fields) -> dict:
    body = {
        "owner_id": t.employees["alice"]["id"],
        "title": "Send the pricing memo",
        "due_date": "2027-01-15",
        **fields,
    }
    resp = await t.client.post(f"{MEETINGS}/{meeting['id']}/occurrences/{START}/actions", headers=headers, json=body)
    assert resp.status_code == expect, resp.text
    return resp.json()


async def tasks(t: Tenant, who: str) -> list[dict]:
    resp = await t.client.get("/api/v1/me/tasks", headers=t.employee(who))
    assert resp.status_code == 200, resp.text
    return [x for x in resp.json()["items"] if x["kind"] == "meeting_action"]


async def test_an_action_waits_on_its_owners_task_list_until_done(team: Tenant):
    m = await schedule(team, title="Lead and Alice")
    action = await add(team, m, team.employee("lead"))
    assert action["status"] == "open" and action["occurrence_start"] == START
    assert action["closed_at"] is None
    [task] = await tasks(team, "alice")
    assert task["subject"] == {"kind": "meeting_action", "id": action["id"]}
    assert task["title"] == "Action 'Send the pricing memo' from 'Lead and Alice'"
    assert task["due"] == "2027-01-15"
    assert task["links"]["rest"] == f"PATCH /api/v1/meeting-actions/{action['id']}"
    assert await tasks(team, "lead") == []

    listed = await team.client.get(f"{MEETINGS}/{m['id']}/actions", headers=team.employee("boss"))
    assert [a["id"] for a in listed.json()["items"]] == [action["id"]]

    url = f"/api/v1/meeting-actions/{action['id']}"
    refused = await team.client.patch(url, headers=team.employee("alice"), json={"title": "Something else"})
    assert refused.status_code == 403
    done = await team.client.patch(url, headers={**team.employee("alice"), "If-Match": '"1"'}, json={"status": "done"})
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "done" and done.json()["closed_at"] is not None
    assert await tasks(team, "alice") == []
    open_only = await team.client.get(f"{MEETINGS}/{m['id']}/actions", headers=team.hr, params={"status": "open"})
    assert open_only.json()["items"] == []


async def test_the_owner_is_an_attendee_and_the_occurrence_exists(team: Tenant):
    m = await schedule(team)
    await add(team, m, team.hr, expect=422, owner_id=team.employees["bob"]["id"])
    resp = await team.client.post(
        f"{MEETINGS}/{m['id']}/occurrences/2027-01-12T08:00:00Z/actions",
        headers=team.hr,
        json={"owner_id": team.employees["alice"]["id"], "title": "x", "due_date": "2027-01-15"},
    )
    assert resp.status_code == 404
    await add(team, m, team.hr, expect=422, due_date="someday")


async def overdue_events(t: Tenant) -> list[dict]:
    async with database.sessions() as session:
        rows = await session.execute(
            select(OutboxEvent.payload)
            .where(OutboxEvent.org_id == t.org_id, OutboxEvent.event_type == "action.overdue")
            .order_by(OutboxEvent.created_at, OutboxEvent.id)
        )
        return [r[0] for r in rows]


async def drain(today: dt.date) -> int:
    """Overdue rounds until one announces nothing (a round takes a batch of every
    organization's actions, oldest due first), the last one answering 0 as a second
    engine would; answers how many were announced."""
    total = 0
    while sent := await overdue_round(today=today):
        total += sent
    return total


async def test_an_overdue_action_is_announced_once(team: Tenant):
    m = await schedule(team)
    late = await add(team, m, team.hr, due_date="2027-01-15")
    closed = await add(team, m, team.hr, due_date="2027-01-14", title="Closed in time")
    r = await team.client.patch(
        f"/api/v1/meeting-actions/{closed['id']}", headers=team.hr, json={"status": "cancelled"}
    )
    assert r.status_code == 200
    await add(team, m, team.hr, due_date="2027-01-16", title="Due today")

    await drain(dt.date(2027, 1, 15))
    assert await overdue_events(team) == []
    await drain(dt.date(2027, 1, 16))  # its last round, like another engine's, finds nothing new
    events = await overdue_events(team)
    assert [(e["source"], e["action_id"], e["meeting_id"]) for e in events] == [("meeting_action", late["id"], m["id"])]
    assert events[0]["review_meeting_id"] is None and events[0]["action_index"] is None
    assert events[0]["owner_id"] == team.employees["alice"]["id"] and events[0]["due_date"] == "2027-01-15"
