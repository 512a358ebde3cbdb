"""Every step of an objective's workflow is an event: submitted, approved, rejected,
published, adjusted once published (its own fields or a key result), closed; the GraphQL
mutations emit the same events as REST."""

from __future__ import annotations

from typing import Any

from tests.conftest import Tenant
from tests.kpi.conftest import outbox_events
from tests.okr.conftest import act, make_kr, make_objective

STEPS = ("objective.submitted", "objective.approved", "objective.rejected", "objective.published")


async def _ready(team: Tenant, cycle: dict[str, Any], company: dict[str, Any]) -> dict[str, Any]:
    obj = await make_objective(
        team, cycle, "alice", level="individual", parent_id=company["id"], title="Faster checkout"
    )
    await make_kr(team, obj, title="Cut checkout time from 90s to 45s", start="90", target="45")
    await make_kr(team, obj, title="Ship one-click pay", kind="boolean", start=None, target=None)
    return obj


async def _mine(team: Tenant, event_type: str, objective_id: str) -> list[dict[str, Any]]:
    return [p for p in await outbox_events(team, event_type) if p["objective_id"] == objective_id]


async def test_each_step_emits_its_event(team, cycle, company):
    obj = await _ready(team, cycle, company)
    alice, lead = team.employee("alice"), team.employee("lead")
    await act(team, obj, "submit", headers=alice)
    await act(team, obj, "reject", headers=lead, comment="Make the second key result measurable")
    await act(team, obj, "submit", headers=alice)
    await act(team, obj, "approve", headers=lead)
    await act(team, obj, "publish", headers=alice)
    got = {t: await _mine(team, t, obj["id"]) for t in STEPS}
    assert [len(got[t]) for t in STEPS] == [2, 1, 1, 1]
    rejected = got["objective.rejected"][0]
    assert rejected == {
        "objective_id": obj["id"],
        "owner_id": team.employees["alice"]["id"],
        "cycle_id": cycle["id"],
        "level": "individual",
        "type": "committed",
        "title": "Faster checkout",
        "status": "draft",
        "actor": rejected["actor"],
        "comment": "Make the second key result measurable",
    }
    assert rejected["actor"] and rejected["actor"] != got["objective.submitted"][0]["actor"]
    assert [p["status"] for p in got["objective.submitted"]] == ["submitted", "submitted"]
    assert got["objective.approved"][0]["status"] == "approved"
    # a refused step emits nothing
    await act(team, obj, "approve", headers=lead, expect=409)
    assert len(await _mine(team, "objective.approved", obj["id"])) == 1


async def test_a_published_objective_changed_is_adjusted(team, cycle, company):
    obj = await _ready(team, cycle, company)
    draft_edit = await team.client.patch(
        f"/api/v1/objectives/{obj['id']}", headers=team.hr, json={"title": "Faster checkout, measured"}
    )
    assert draft_edit.status_code == 200
    assert await _mine(team, "objective.adjusted", obj["id"]) == []  # a draft is not a commitment yet
    for step in ("submit", "approve", "publish"):
        await act(team, obj, step)
    resp = await team.client.patch(
        f"/api/v1/objectives/{obj['id']}", headers=team.hr, json={"title": "Checkout in 45s", "reason": "scope"}
    )
    assert resp.status_code == 200, resp.text
    kr = await make_kr(team, obj, title="Halve abandoned carts", start="40", target="20")
    moved = await team.client.patch(
        f"/api/v1/key-results/{kr['id']}", headers=team.hr, json={"target": "25", "reason": "the market moved"}
    )
    assert moved.status_code == 200, moved.text
    gone = await team.client.delete(f"/api/v1/key-results/{kr['id']}", headers=team.hr)
    assert gone.status_code == 204, gone.text
    adjusted = await _mine(team, "objective.adjusted", obj["id"])
    assert [(p["change"], p["changed_fields"], p.get("key_result_id"), p["reason"]) for p in adjusted] == [
        ("updated", ["title"], None, "scope"),
        ("key_result.created", adjusted[1]["changed_fields"], kr["id"], None),
        ("key_result.updated", ["target"], kr["id"], "the market moved"),
        ("key_result.deleted", adjusted[3]["changed_fields"], kr["id"], None),
    ]
    assert "title" in adjusted[1]["changed_fields"] and "target" in adjusted[3]["changed_fields"]
    assert {(p["status"], p["title"]) for p in adjusted} == {("published", "Checkout in 45s")}
    revisions = (await team.client.get(f"/api/v1/objectives/{obj['id']}/revisions", headers=team.hr)).json()
    assert [r["action"] for r in revisions["items"]][-4:] == [p["change"] for p in adjusted]


async def test_graphql_steps_emit_the_same_events(team, cycle, company):
    obj = await _ready(team, cycle, company)
    query = """mutation($id: ID!, $c: String!) {
      submit: submitObjective(id: $id) { status }
      reject: rejectObjective(id: $id, comment: $c) { status }
    }"""
    resp = await team.client.post(
        "/graphql", headers=team.hr, json={"query": query, "variables": {"id": obj["id"], "c": "Say how much"}}
    )
    body = resp.json()
    assert "errors" not in body, body
    assert body["data"] == {"submit": {"status": "SUBMITTED"}, "reject": {"status": "DRAFT"}}
    assert [p["status"] for p in await _mine(team, "objective.submitted", obj["id"])] == ["submitted"]
    assert [p["comment"] for p in await _mine(team, "objective.rejected", obj["id"])] == ["Say how much"]
