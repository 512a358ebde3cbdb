"""Creating an objective with its key results in one call (REST `key_results`, GraphQL
`keyResults`): the same checks and audit events as one by one, all or nothing."""

from __future__ import annotations

from typing import Any

from tests.conftest import Tenant
from tests.okr.conftest import make_cycle

OBJECTIVES = "/api/v1/objectives"


def body(t: Tenant, cycle: dict[str, Any], owner: str, krs: list[dict[str, Any]] | None, **extra: Any) -> dict:
    out = {
        "title": f"Objective of {owner}",
        "level": "individual",
        "owner_id": t.employees[owner]["id"],
        "cycle_id": cycle["id"],
        **extra,
    }
    if krs is not None:
        out["key_results"] = krs
    return out


METRIC = {"title": "Revenue", "kind": "metric", "start": "0", "target": "100", "unit": "EUR"}
FLAG = {"title": "Launch", "kind": "boolean", "weight": "2"}


async def owned(t: Tenant, owner: str) -> tuple[list[Any], list[Any]]:
    """The owner's objectives and all key results of the organization, as hr sees them."""
    objs = (await t.client.get(OBJECTIVES, params={"owner_id": t.employees[owner]["id"]}, headers=t.hr)).json()["items"]
    krs = (await t.client.get("/api/v1/key-results", headers=t.hr)).json()["items"]
    return objs, krs


async def actions(t: Tenant, entity_id: str) -> list[str]:
    resp = await t.client.get("/api/v1/audit-events", params={"entity_id": entity_id}, headers=t.admin)
    return [e["action"] for e in resp.json()["items"]]


async def test_the_objective_and_its_key_results_in_one_call(team: Tenant):
    cycle = await make_cycle(team)
    me = team.employee("alice")
    krs = [METRIC, {**FLAG, "owner_id": team.employees["bob"]["id"]}]
    resp = await team.client.post(OBJECTIVES, headers=me, json=body(team, cycle, "alice", krs))
    assert resp.status_code == 201, resp.text
    made = resp.json()
    assert made["status"] == "draft" and made["progress"] == "0.0000"
    assert [(k["title"], k["kind"], k["objective_id"]) for k in made["key_results"]] == [
        ("Revenue", "metric", made["id"]),
        ("Launch", "boolean", made["id"]),
    ]
    assert made["key_results"][0]["unit"] == "EUR" and made["key_results"][1]["weight"] == "2"
    assert made["key_results"][1]["owner_id"] == team.employees["bob"]["id"]
    assert resp.headers["Location"] == f"{OBJECTIVES}/{made['id']}" and resp.headers["ETag"]
    listed = (await team.client.get("/api/v1/key-results", params={"objective_id": made["id"]}, headers=me)).json()
    assert sorted(k["id"] for k in listed["items"]) == sorted(k["id"] for k in made["key_results"])
    assert await actions(team, made["id"]) == ["objective.created"]
    for kr in made["key_results"]:
        assert await actions(team, kr["id"]) == ["key_result.created"]


async def test_without_key_results_the_answer_has_none(team: Tenant):
    cycle = await make_cycle(team)
    resp = await team.client.post(OBJECTIVES, headers=team.hr, json=body(team, cycle, "alice", None))
    assert resp.status_code == 201 and resp.json()["key_results"] == []


async def test_a_bad_key_result_refuses_the_whole_call(team: Tenant):
    cycle = await make_cycle(team)
    before = await owned(team, "alice")
    bad_target = [METRIC, {**METRIC, "target": "lots"}]
    resp = await team.client.post(OBJECTIVES, headers=team.hr, json=body(team, cycle, "alice", bad_target))
    assert resp.status_code == 422 and resp.headers["content-type"].startswith("application/problem+json")
    assert resp.json()["errors"][0]["loc"] == ["body", "key_results", 1, "target"]
    unknown_field = [METRIC, {**FLAG, "objective_id": team.employees["alice"]["id"]}]
    resp = await team.client.post(OBJECTIVES, headers=team.hr, json=body(team, cycle, "alice", unknown_field))
    assert resp.status_code == 422
    assert resp.json()["errors"][0]["loc"] == ["body", "key_results", 1, "objective_id"]
    # refused by the service once the objective was made: an unknown owner of the second
    nobody = "00000000-0000-4000-8000-000000000009"
    resp = await team.client.post(
        OBJECTIVES, headers=team.hr, json=body(team, cycle, "alice", [FLAG, {**FLAG, "owner_id": nobody}])
    )
    assert resp.status_code == 422, resp.text
    assert resp.json()["errors"] == [{"loc": ["body", "key_results", 1, "owner_id"], "msg": "no such employee"}]
    assert await owned(team, "alice") == before


async def test_the_organizations_maximum_applies_to_the_key_results_given(team: Tenant):
    cycle = await make_cycle(team)
    resp = await team.client.patch(
        "/api/v1/organization", headers=team.admin, json={"settings": {"okr_min_krs": 1, "okr_max_krs": 2}}
    )
    assert resp.status_code == 200, resp.text
    before = await owned(team, "alice")
    resp = await team.client.post(OBJECTIVES, headers=team.hr, json=body(team, cycle, "alice", [METRIC, FLAG, FLAG]))
    assert resp.status_code == 422
    assert resp.json()["errors"][0]["loc"] == ["body", "key_results"]
    assert await owned(team, "alice") == before
    one = await team.client.post(OBJECTIVES, headers=team.hr, json=body(team, cycle, "alice", [FLAG]))
    assert one.status_code == 201  # the minimum is the submit's: a draft may gain key results later


async def test_only_who_may_create_the_objective_creates_its_key_results(team: Tenant):
    cycle = await make_cycle(team)
    before = await owned(team, "alice")
    for headers, status in ((team.employee("bob"), 403), (team.auditor, 403), (team.as_scope("kpi:write"), 403)):
        resp = await team.client.post(OBJECTIVES, headers=headers, json=body(team, cycle, "alice", [METRIC]))
        assert resp.status_code == status, resp.text
    many = body(team, cycle, "alice", [METRIC] * 60)  # over the schema's 50: the body's 422 comes first
    assert (await team.client.post(OBJECTIVES, headers=team.employee("bob"), json=many)).status_code == 422
    over = body(team, cycle, "alice", [METRIC] * 6)  # over okr_max_krs: who may not create hears 403
    assert (await team.client.post(OBJECTIVES, headers=team.employee("bob"), json=over)).status_code == 403
    assert await owned(team, "alice") == before
    resp = await team.client.post(OBJECTIVES, headers=team.employee("lead"), json=body(team, cycle, "alice", [METRIC]))
    assert resp.status_code == 201 and len(resp.json()["key_results"]) == 1


CREATE = """mutation($i: ObjectiveInput!) { createObjective(input: $i) {
  databaseId title keyResults { title kind owner { databaseId } } } }"""


async def test_graphql_create_objective_with_key_results(team: Tenant):
    cycle = await make_cycle(team)
    bob = team.employees["bob"]["id"]
    i = {
        "title": "Grow",
        "level": "INDIVIDUAL",
        "ownerId": team.employees["alice"]["id"],
        "cycleId": cycle["id"],
        "keyResults": [
            {"title": "Revenue", "kind": "METRIC", "start": "0", "target": "100"},
            {"title": "Launch", "kind": "BOOLEAN", "ownerId": bob},
        ],
    }
    resp = await team.client.post(
        "/graphql", headers=team.employee("alice"), json={"query": CREATE, "variables": {"i": i}}
    )
    made = resp.json()["data"]["createObjective"]
    assert [(k["title"], k["kind"]) for k in made["keyResults"]] == [("Revenue", "METRIC"), ("Launch", "BOOLEAN")]
    assert made["keyResults"][1]["owner"]["databaseId"] == bob
    assert await actions(team, made["databaseId"]) == ["objective.created"]

    before = await owned(team, "alice")
    i["keyResults"][1] = {"title": "Broken", "kind": "METRIC", "start": "0"}
    resp = await team.client.post("/graphql", headers=team.hr, json={"query": CREATE, "variables": {"i": i}})
    error = resp.json()["errors"][0]
    assert error["extensions"]["status"] == 422 and error["extensions"]["errors"][0]["loc"] == ["keyResults", 1]
    assert resp.json()["data"] is None
    assert await owned(team, "alice") == before
    update = """mutation($id: ID!, $i: ObjectiveInput!) { updateObjective(id: $id, input: $i) { title } }"""
    resp = await team.client.post(
        "/graphql",
        headers=team.hr,
        json={
            "query": update,
            "variables": {"id": made["databaseId"], "i": {"keyResults": [{"title": "x", "kind": "BOOLEAN"}]}},
        },
    )
    assert resp.json()["errors"][0]["extensions"]["status"] == 422  # key results come with creation only
