"""Scoring policies that target a position level ("managed by level"): the scope's
validation, one active policy per level, and the precedence employee > position > level
> department > organization, over REST and GraphQL."""

from __future__ import annotations

import pytest

from tests.kpi.conftest import make_position, place
from tests.org.test_graphql_org import gql, ok
from tests.test_scoring_policies import make_cycle, make_policy


async def _policy_of(t, cycle, key):
    resp = await t.client.get(f"/api/v1/cycles/{cycle['id']}/scores/{t.employees[key]['id']}", headers=t.hr)
    assert resp.status_code == 200, resp.text
    return resp.json()["policy"]["id"]


@pytest.mark.parametrize(
    "scope",
    [
        {"kind": "level"},
        {"kind": "level", "level": "director"},
        {"kind": "level", "level": "manager", "id": "01900000-0000-7000-8000-000000000000"},
        {"kind": "organization", "level": "manager"},
        {"kind": "position", "id": "01900000-0000-7000-8000-000000000000", "level": "manager"},
    ],
)
async def test_level_scope_validation(tenant, scope):
    resp = await tenant.client.post(
        "/api/v1/scoring-policies",
        headers=tenant.admin,
        json={"name": "x", "scope": scope, "w_kpi": "0.6", "w_okr": "0.3", "w_eval": "0.1"},
    )
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")


async def test_one_active_policy_per_level(tenant):
    p = await make_policy(tenant, {"kind": "level", "level": "manager"}, name="managers")
    assert p["scope"] == {"kind": "level", "id": None, "level": "manager"}
    again = await tenant.client.post(
        "/api/v1/scoring-policies",
        headers=tenant.admin,
        json={
            "name": "again",
            "scope": {"kind": "level", "level": "manager"},
            "w_kpi": "1",
            "w_okr": "0",
            "w_eval": "0",
        },
    )
    assert again.status_code == 409
    other = await make_policy(tenant, {"kind": "level", "level": "executive"}, name="executives")
    assert other["scope"]["level"] == "executive"
    # deactivated, the level is free again; reactivating the first then clashes
    off = await tenant.client.patch(f"/api/v1/scoring-policies/{p['id']}", headers=tenant.admin, json={"active": False})
    assert off.status_code == 200
    await make_policy(tenant, {"kind": "level", "level": "manager"}, name="managers 2")
    back = await tenant.client.patch(f"/api/v1/scoring-policies/{p['id']}", headers=tenant.admin, json={"active": True})
    assert back.status_code == 409


async def test_precedence_employee_position_level_department_org(team):
    t = team
    dep = (await t.client.post("/api/v1/departments", headers=t.hr, json={"name": "Sales"})).json()
    own = await make_position(t, "Store manager", "manager")  # has a policy of its own
    mgr = await make_position(t, "Area manager", "manager")  # only its level has one
    staff = await make_position(t, "Clerk", "staff")  # no policy for staff
    plain = await make_position(t, "Intern")  # no level
    for key, pos in (("alice", own), ("bob", mgr), ("carol", mgr), ("dave", staff), ("lead", plain)):
        await place(t, key, department_id=dep["id"], position_id=pos["id"])
    org_p = await make_policy(t, {"kind": "organization"}, name="org")
    dep_p = await make_policy(t, {"kind": "department", "id": dep["id"]}, name="dep")
    lvl_p = await make_policy(t, {"kind": "level", "level": "manager"}, name="managers")
    pos_p = await make_policy(t, {"kind": "position", "id": own["id"]}, name="store managers")
    emp_p = await make_policy(t, {"kind": "employee", "id": t.employees["carol"]["id"]}, name="carol")
    cycle = await make_cycle(t)
    expected = {
        "alice": pos_p["id"],  # position beats level
        "bob": lvl_p["id"],  # level beats department
        "carol": emp_p["id"],  # employee beats level
        "dave": dep_p["id"],  # a level without a policy falls through to the department
        "lead": dep_p["id"],  # no level at all
        "boss": org_p["id"],  # no department, no position
    }
    for key, policy_id in expected.items():
        assert await _policy_of(t, cycle, key) == policy_id, key

    # a position moving to another level moves its people with it (scores compute live)
    moved = await t.client.patch(f"/api/v1/positions/{staff['id']}", headers=t.hr, json={"level": "manager"})
    assert moved.status_code == 200
    assert await _policy_of(t, cycle, "dave") == lvl_p["id"]
    cleared = await t.client.patch(f"/api/v1/positions/{mgr['id']}", headers=t.hr, json={"level": None})
    assert cleared.status_code == 200
    assert await _policy_of(t, cycle, "bob") == dep_p["id"]


async def test_level_policy_over_graphql(team):
    t = team
    p = await make_policy(t, {"kind": "level", "level": "senior_manager"}, name="senior managers")
    q = "query($id: ID!) { scoringPolicy(id: $id) { scopeKind scopeId scopeLevel } }"
    got = ok(await gql(t, q, id=p["id"]))["scoringPolicy"]
    assert got == {"scopeKind": "LEVEL", "scopeId": None, "scopeLevel": "SENIOR_MANAGER"}
    m = 'mutation { createPosition(input: {name: "Head of stores", level: SENIOR_MANAGER}) { databaseId level } }'
    created = ok(await gql(t, m))["createPosition"]
    assert created["level"] == "SENIOR_MANAGER"
    rest = await t.client.get(f"/api/v1/positions/{created['databaseId']}", headers=t.hr)
    assert rest.json()["level"] == "senior_manager"
    bad = await gql(t, 'mutation { createPosition(input: {name: "X", level: DIRECTOR}) { level } }')
    assert bad.get("errors")
