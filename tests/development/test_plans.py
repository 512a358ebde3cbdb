"""Development plans through REST: making, reading and changing them and their items,
the nomination's plan (link, copy, 409s), who may do what, the events and the task list."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests.conftest import Tenant
from tests.development.conftest import DP, make_plan_for, meeting_world, nominations, today
from tests.kpi.conftest import make_cycle, outbox_events


async def _patch(t: Tenant, path: str, body: dict[str, Any], headers: dict[str, str], expect: int = 200) -> Any:
    current = await t.client.get(path if "/items/" not in path else path.rsplit("/items/", 1)[0], headers=t.hr)
    etag = current.headers["ETag"]
    if "/items/" in path:
        item_id = path.rsplit("/", 1)[1]
        version = next(i["version"] for i in current.json()["items"] if i["id"] == item_id)
        etag = f'"{version}"'
    resp = await t.client.patch(path, headers={**headers, "If-Match": etag}, json=body)
    assert resp.status_code == expect, resp.text
    return resp.json()


async def test_create_read_update_a_plan_with_items(team: Tenant):
    t = team
    plan = await make_plan_for(
        t,
        "alice",
        headers=t.employee("lead"),
        goals=["Run the Q1 pricing review", "Mentor a new hire"],
        items=[{"kind": "training", "title": "Negotiation course", "due_date": "2027-02-01"}],
    )
    assert plan["owner_id"] == t.employees["lead"]["id"]  # her manager by default
    assert plan["status"] == "draft" and plan["nomination_id"] is None and plan["review_meeting_id"] is None
    assert [i["kind"] for i in plan["items"]] == ["training"]
    assert plan["items"][0]["source"] is None

    got = await t.client.get(f"{DP}/{plan['id']}", headers=t.employee("alice"))
    assert got.status_code == 200 and got.headers["ETag"] == '"1"'
    changed = await _patch(t, f"{DP}/{plan['id']}", {"status": "active", "goals": ["One"]}, t.employee("lead"))
    assert changed["status"] == "active" and changed["goals"] == ["One"] and changed["version"] == 2

    stale = await t.client.patch(f"{DP}/{plan['id']}", headers={**t.hr, "If-Match": '"1"'}, json={"title": "Late"})
    assert stale.status_code == 412

    resp = await t.client.post(
        f"{DP}/{plan['id']}/items", headers=t.employee("lead"), json={"kind": "mentoring", "title": "Weekly 1:1"}
    )
    assert resp.status_code == 201, resp.text
    assert len((await t.client.get(f"{DP}/{plan['id']}", headers=t.hr)).json()["items"]) == 2

    [created] = await outbox_events(t, "development_plan.created")
    assert created["plan_id"] == plan["id"] and created["status"] == "draft"
    [status] = await outbox_events(t, "development_plan.status_changed")
    assert (status["old_status"], status["new_status"]) == ("draft", "active")


async def test_bad_input_is_refused_and_changes_nothing(team: Tenant):
    t = team
    bad = [
        {"employee_id": t.employees["alice"]["id"], "title": "x", "unknown": 1},
        {"employee_id": t.employees["alice"]["id"], "title": "x", "goals": ["g"] * 21},
        {"employee_id": t.employees["alice"]["id"], "title": "x", "items": [{"kind": "goal", "title": "t"}] * 101},
        {"employee_id": t.employees["alice"]["id"], "title": "x", "copy_improvement_actions": True},
        {"employee_id": t.employees["alice"]["id"], "title": "x", "owner_id": t.employees["alice"]["id"][:-4] + "0000"},
        {"employee_id": t.employees["alice"]["id"], "title": "x", "cycle_id": t.employees["bob"]["id"]},
    ]
    for body in bad:
        resp = await t.client.post(DP, headers=t.hr, json=body)
        assert resp.status_code == 422, (body, resp.text)
        assert resp.headers["content-type"].startswith("application/problem+json")
    assert (await t.client.get(DP, headers=t.hr)).json()["items"] == []
    # dave has no manager: the plan's owner is the caller's employee, or must be named
    await make_plan_for(t, "dave", headers=t.hr, expect=422)
    plan = await make_plan_for(t, "dave", headers=t.as_("hr", emp=t.employees["boss"]["id"]))
    assert plan["owner_id"] == t.employees["boss"]["id"]


async def test_copy_improvement_actions_owned_by_the_employee(team: Tenant):
    t = team
    w = await meeting_world(t)
    plan = await make_plan_for(
        t,
        "alice",
        review_meeting_id=w["meeting"]["id"],
        copy_improvement_actions=True,
        items=[{"kind": "goal", "title": "Own it"}],
    )
    actions = [i for i in plan["items"] if i["kind"] == "action"]
    assert [(i["title"], i["status"], i["source"]["action_index"]) for i in actions] == [
        ("Shadow a senior on pricing calls", "open", 0),
        ("Rewrite the pipeline report", "in_progress", 2),
    ]
    assert all(i["source"]["review_meeting_id"] == w["meeting"]["id"] for i in actions)
    assert plan["review_meeting_id"] == w["meeting"]["id"]
    # a meeting about someone else is refused, unless it gives the employee an action
    resp = await t.client.post(
        DP,
        headers=t.hr,
        json={"employee_id": t.employees["bob"]["id"], "title": "x", "review_meeting_id": w["meeting"]["id"]},
    )
    assert resp.status_code == 422, resp.text
    lead = await make_plan_for(
        t, "lead", headers=t.employee("boss"), review_meeting_id=w["meeting"]["id"], copy_improvement_actions=True
    )
    assert [i["title"] for i in lead["items"]] == ["Book a coaching slot"]


async def test_nomination_plan_links_copies_and_refuses_twice(team: Tenant):
    t = team
    w = await meeting_world(t)
    [alice_n] = await nominations(t, w["cycle"], "alice", kind="training")
    resp = await t.client.post(f"/api/v1/nominations/{alice_n}/development-plan", headers=t.employee("lead"))
    assert resp.status_code == 201, resp.text
    plan = resp.json()
    assert plan["employee_id"] == t.employees["alice"]["id"]
    assert plan["owner_id"] == t.employees["lead"]["id"]
    assert plan["cycle_id"] == w["cycle"]["id"] and plan["nomination_id"] == alice_n
    assert plan["review_meeting_id"] == w["meeting"]["id"]  # the latest meeting about her in the cycle
    assert plan["title"] == "Training development" and plan["status"] == "active"
    assert [i["kind"] for i in plan["items"]] == ["training", "action", "action"]

    nomination = (await t.client.get(f"/api/v1/nominations/{alice_n}", headers=t.hr)).json()
    assert nomination["development_plan_id"] == plan["id"]
    assert nomination["review_meeting_id"] == w["meeting"]["id"]
    listed = (await t.client.get("/api/v1/nominations", headers=t.hr)).json()["items"]
    assert [(n["id"], n["development_plan_id"]) for n in listed] == [(alice_n, plan["id"])]

    again = await t.client.post(f"/api/v1/nominations/{alice_n}/development-plan", headers=t.hr)
    assert again.status_code == 409, again.text
    assert again.headers["content-type"].startswith("application/problem+json")


async def test_nomination_plan_without_a_meeting_and_declined_nominations(team: Tenant):
    t = team
    cycle = await make_cycle(t, status="review")
    [bob_n] = await nominations(t, cycle, "bob", status="draft")
    [carol_n] = await nominations(t, cycle, "carol", status="declined")
    resp = await t.client.post(
        f"/api/v1/nominations/{bob_n}/development-plan",
        headers=t.hr,
        json={"goals": ["Lead the Q1 launch"], "due_date": "2027-06-30"},
    )
    assert resp.status_code == 201, resp.text
    plan = resp.json()
    assert plan["review_meeting_id"] is None and plan["items"] == [] and plan["status"] == "draft"
    assert plan["title"] == "Promotion track development" and plan["goals"] == ["Lead the Q1 launch"]
    declined = await t.client.post(f"/api/v1/nominations/{carol_n}/development-plan", headers=t.hr)
    assert declined.status_code == 409, declined.text
    unknown = await t.client.post(f"/api/v1/nominations/{cycle['id']}/development-plan", headers=t.hr)
    assert unknown.status_code == 404
    extra = await t.client.post(f"/api/v1/nominations/{bob_n}/development-plan", headers=t.hr, json={"x": 1})
    assert extra.status_code == 422


async def test_the_employee_moves_their_items_status_and_nothing_else(team: Tenant):
    t = team
    plan = await make_plan_for(t, "alice", status="active", items=[{"kind": "goal", "title": "Ship it"}])
    item = plan["items"][0]
    path = f"{DP}/{plan['id']}/items/{item['id']}"
    alice = t.employee("alice")
    done = await _patch(t, path, {"status": "done"}, alice)
    assert done["status"] == "done" and done["completed_at"] is not None
    await _patch(t, path, {"title": "Ship less"}, alice, expect=403)
    await _patch(t, path, {"status": "open", "title": "Ship less"}, alice, expect=403)
    await _patch(t, f"{DP}/{plan['id']}", {"title": "Mine now"}, alice, expect=403)
    add = await t.client.post(f"{DP}/{plan['id']}/items", headers=alice, json={"kind": "goal", "title": "More"})
    assert add.status_code == 403
    reopened = await _patch(t, path, {"status": "in_progress"}, t.employee("lead"))
    assert reopened["completed_at"] is None
    events = await outbox_events(t, "development_plan.item_status_changed")
    assert [(e["old_status"], e["new_status"], e["item_id"], e["employee_id"]) for e in events] == [
        ("open", "done", item["id"], t.employees["alice"]["id"]),
        ("done", "in_progress", item["id"], t.employees["alice"]["id"]),
    ]


async def test_visibility(team: Tenant):
    t = team
    await t.add_employee("erin", manager="dave")
    plan = await make_plan_for(t, "alice", owner_id=t.employees["carol"]["id"], items=[{"kind": "goal", "title": "g"}])
    item = plan["items"][0]
    for who, status in (("alice", 200), ("lead", 200), ("boss", 200), ("carol", 200), ("bob", 404), ("dave", 404)):
        resp = await t.client.get(f"{DP}/{plan['id']}", headers=t.employee(who))
        assert resp.status_code == status, (who, resp.text)
        listed = [p["id"] for p in (await t.client.get(DP, headers=t.employee(who))).json()["items"]]
        assert listed == ([plan["id"]] if status == 200 else []), who
    for headers in (t.auditor, t.admin):
        assert (await t.client.get(f"{DP}/{plan['id']}", headers=headers)).status_code == 200
    # the owner (carol, not in alice's chain) changes the plan; bob does not even see it
    await _patch(t, f"{DP}/{plan['id']}", {"due_date": "2027-03-31"}, t.employee("carol"))
    await _patch(t, f"{DP}/{plan['id']}/items/{item['id']}", {"status": "done"}, t.employee("bob"), expect=404)
    await _patch(t, f"{DP}/{plan['id']}", {"title": "x"}, t.auditor, expect=403)
    resp = await t.client.post(
        DP, headers=t.employee("alice"), json={"employee_id": t.employees["alice"]["id"], "title": "Self-made"}
    )
    assert resp.status_code == 403
    resp = await t.client.post(
        DP, headers=t.employee("bob"), json={"employee_id": t.employees["alice"]["id"], "title": "Not mine"}
    )
    assert resp.status_code == 404
    filtered = await t.client.get(DP, headers=t.hr, params={"owner_id": t.employees["carol"]["id"], "status": "draft"})
    assert [p["id"] for p in filtered.json()["items"]] == [plan["id"]]


async def test_task_kind_development_item_due_window(team: Tenant):
    t = team
    d = today()
    items = [
        {"kind": "goal", "title": "today", "due_date": d.isoformat()},
        {"kind": "goal", "title": "in 14 days", "due_date": (d + dt.timedelta(days=14)).isoformat()},
        {"kind": "goal", "title": "in 15 days", "due_date": (d + dt.timedelta(days=15)).isoformat()},
        {"kind": "goal", "title": "overdue", "due_date": (d - dt.timedelta(days=3)).isoformat()},
        {"kind": "goal", "title": "no date"},
        {"kind": "goal", "title": "done", "due_date": d.isoformat(), "status": "done"},
        {"kind": "goal", "title": "in progress", "due_date": d.isoformat(), "status": "in_progress"},
    ]
    plan = await make_plan_for(t, "alice", status="active", items=items)
    await make_plan_for(t, "bob", status="draft", items=[{"kind": "goal", "title": "draft", "due_date": d.isoformat()}])

    async def titles(who: str) -> list[str]:
        resp = await t.client.get("/api/v1/me/tasks", headers=t.employee(who))
        assert resp.status_code == 200, resp.text
        return sorted(x["title"] for x in resp.json()["items"] if x["kind"] == "development_item")

    expected = sorted(f"Development item '{n}'" for n in ("today", "in 14 days", "overdue", "in progress"))
    assert await titles("alice") == expected
    assert await titles("lead") == sorted(f"{x} of Alice Test" for x in expected)  # the owner
    assert await titles("boss") == [] and await titles("bob") == []
    resp = await t.client.get("/api/v1/me/tasks", headers=t.employee("alice"))
    task = next(x for x in resp.json()["items"] if x["title"] == "Development item 'overdue'")
    assert task["subject"]["kind"] == "development_plan_item"
    assert task["links"]["rest"].startswith(f"PATCH {DP}/{plan['id']}/items/")
