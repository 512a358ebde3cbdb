"""Checking in several key results in one call (POST /api/v1/check-ins/bulk, GraphQL
createCheckIns): each item as the single check-in, all or nothing."""

from __future__ import annotations

from typing import Any

from tests.conftest import Tenant
from tests.kpi.conftest import outbox_events
from tests.okr.conftest import make_cycle, make_kr, make_objective

BULK = "/api/v1/check-ins/bulk"


async def setup(t: Tenant) -> dict[str, Any]:
    cycle = await make_cycle(t)
    obj = await make_objective(t, cycle, "alice", level="individual")
    private = await make_objective(t, cycle, "alice", level="individual", visibility="private", title="Mine")
    return {
        "metric": await make_kr(t, obj),
        "flag": await make_kr(t, obj, title="Launch", kind="boolean", start=None, target=None),
        "steps": await make_kr(
            t,
            obj,
            title="Steps",
            kind="milestone",
            start=None,
            target=None,
            milestones=[{"title": "a"}, {"title": "b"}],
        ),
        "private": await make_kr(t, private, title="Private"),
    }


async def check_ins(t: Tenant, kr: dict[str, Any]) -> list[Any]:
    resp = await t.client.get(f"/api/v1/key-results/{kr['id']}/check-ins", headers=t.hr)
    return resp.json()["items"]


async def state(t: Tenant, krs: dict[str, Any]) -> Any:
    return [await check_ins(t, kr) for kr in krs.values()], len(await outbox_events(t, "checkin.created"))


async def audit_actions(t: Tenant, entity_id: str) -> list[str]:
    resp = await t.client.get("/api/v1/audit-events", params={"entity_id": entity_id}, headers=t.admin)
    return [e["action"] for e in resp.json()["items"]]


async def test_several_key_results_checked_in_at_once(team: Tenant):
    krs = await setup(team)
    items = [
        {"key_result_id": krs["metric"]["id"], "value": "40", "confidence": 7, "note": "good week"},
        {"key_result_id": krs["flag"]["id"], "done": True},
        {"key_result_id": krs["steps"]["id"], "milestone": 1, "done": True},
        {"key_result_id": krs["metric"]["id"], "value": "60", "status": "on_track"},
    ]
    resp = await team.client.post(BULK, headers=team.employee("alice"), json={"items": items})
    assert resp.status_code == 201, resp.text
    made = resp.json()["items"]
    assert [c["key_result_id"] for c in made] == [i["key_result_id"] for i in items]
    assert [c["value"] for c in made] == ["40", None, None, "60"]
    assert made[0]["note"] == "good week" and made[0]["author_employee_id"] == team.employees["alice"]["id"]
    metric = (await team.client.get(f"/api/v1/key-results/{krs['metric']['id']}", headers=team.hr)).json()
    assert metric["current"] == "60" and metric["progress"] == "0.6000"
    steps = (await team.client.get(f"/api/v1/key-results/{krs['steps']['id']}", headers=team.hr)).json()
    assert [m["done"] for m in steps["milestones"]] == [False, True]
    events = await outbox_events(team, "checkin.created")
    assert sorted(e["check_in_id"] for e in events) == sorted(c["id"] for c in made)
    for c in made:
        assert await audit_actions(team, c["id"]) == ["check_in.created"]


async def test_a_bad_item_refuses_them_all(team: Tenant):
    krs = await setup(team)
    before = await state(team, krs)
    ok = {"key_result_id": krs["metric"]["id"], "value": "10"}
    cases = [
        # validated with the body: the item's own field
        ([ok, {"key_result_id": krs["metric"]["id"], "value": "ten"}], 422, ["body", "items", 1, "value"]),
        ([ok, {"key_result_id": krs["metric"]["id"], "value": "1", "extra": 1}], 422, ["body", "items", 1, "extra"]),
        ([ok, {"value": "1"}], 422, ["body", "items", 1, "key_result_id"]),
        # refused by the check-in's own rules, located in the item
        ([ok, ok, {"key_result_id": krs["flag"]["id"], "value": "3"}], 422, ["body", "items", 2, "value"]),
        (
            [ok, {"key_result_id": krs["steps"]["id"], "milestone": 5, "done": True}],
            422,
            ["body", "items", 1, "milestone"],
        ),
    ]
    for items, status, loc in cases:
        resp = await team.client.post(BULK, headers=team.employee("alice"), json={"items": items})
        assert resp.status_code == status, resp.text
        assert resp.json()["errors"][0]["loc"] == loc, resp.text
    unknown = {"key_result_id": "00000000-0000-4000-8000-000000000003", "value": "1"}
    resp = await team.client.post(BULK, headers=team.employee("alice"), json={"items": [ok, unknown]})
    assert resp.status_code == 404 and resp.json()["item_index"] == 1
    assert (await team.client.post(BULK, headers=team.hr, json={"items": []})).status_code == 422
    too_many = {"items": [ok] * 101}
    assert (await team.client.post(BULK, headers=team.hr, json=too_many)).status_code == 422
    assert await state(team, krs) == before


async def test_each_item_is_authorized_as_the_single_check_in(team: Tenant):
    krs = await setup(team)
    before = await state(team, krs)
    mine = {"key_result_id": krs["metric"]["id"], "value": "10"}
    private = {"key_result_id": krs["private"]["id"], "value": "10"}
    # bob may see the public key result but not check it in; the private one he may not see
    resp = await team.client.post(BULK, headers=team.employee("bob"), json={"items": [mine]})
    assert resp.status_code == 403 and resp.json()["item_index"] == 0
    resp = await team.client.post(BULK, headers=team.employee("bob"), json={"items": [private, mine]})
    assert resp.status_code == 404 and resp.json()["item_index"] == 0
    assert krs["private"]["id"] not in resp.text
    # lead, alice's manager, may check in both; hr too; an auditor neither
    assert (await team.client.post(BULK, headers=team.auditor, json={"items": [mine]})).status_code == 403
    assert (await team.client.post(BULK, headers=team.as_scope("kpi:write"), json={"items": [mine]})).status_code == 404
    assert (await team.client.post(BULK, json={"items": [mine]})).status_code == 401
    assert await state(team, krs) == before
    resp = await team.client.post(BULK, headers=team.employee("lead"), json={"items": [mine, private]})
    assert resp.status_code == 201


async def test_idempotency_key_replays_the_first_answer(team: Tenant):
    krs = await setup(team)
    body = {"items": [{"key_result_id": krs["metric"]["id"], "value": "10"}]}
    headers = {**team.employee("alice"), "Idempotency-Key": "bulk-1"}
    first = await team.client.post(BULK, headers=headers, json=body)
    again = await team.client.post(BULK, headers=headers, json=body)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert len(await check_ins(team, krs["metric"])) == 1
    other = await team.client.post(BULK, headers=headers, json={"items": [{**body["items"][0], "value": "11"}]})
    assert other.status_code == 422


CREATE = """mutation($i: [CheckInItemInput!]!) { createCheckIns(input: $i) { databaseId keyResultId value done } }"""


async def test_graphql_create_check_ins(team: Tenant):
    krs = await setup(team)
    i = [{"keyResultId": krs["metric"]["id"], "value": "30"}, {"keyResultId": krs["flag"]["id"], "done": True}]
    resp = await team.client.post(
        "/graphql", headers=team.employee("alice"), json={"query": CREATE, "variables": {"i": i}}
    )
    made = resp.json()["data"]["createCheckIns"]
    assert [(c["keyResultId"], c["value"], c["done"]) for c in made] == [
        (krs["metric"]["id"], "30", None),
        (krs["flag"]["id"], None, True),
    ]
    before = await state(team, krs)
    i = [{"keyResultId": krs["metric"]["id"], "value": "40"}, {"keyResultId": krs["flag"]["id"], "value": "1"}]
    resp = await team.client.post(
        "/graphql", headers=team.employee("alice"), json={"query": CREATE, "variables": {"i": i}}
    )
    error = resp.json()["errors"][0]["extensions"]
    assert error["status"] == 422 and error["errors"][0]["loc"] == ["body", "items", 1, "value"]  # as REST locates it
    i = [{"keyResultId": krs["metric"]["id"], "value": "40", "confidence": 11}]
    resp = await team.client.post(
        "/graphql", headers=team.employee("alice"), json={"query": CREATE, "variables": {"i": i}}
    )
    error = resp.json()["errors"][0]["extensions"]
    assert error["status"] == 422 and error["errors"][0]["loc"] == ["input", 0, "confidence"]
    resp = await team.client.post(
        "/graphql",
        headers=team.employee("bob"),
        json={"query": CREATE, "variables": {"i": [{"keyResultId": krs["private"]["id"], "value": "1"}]}},
    )
    assert resp.json()["errors"][0]["extensions"]["status"] == 404
    assert await state(team, krs) == before
