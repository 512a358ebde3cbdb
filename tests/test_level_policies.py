"""Scoring policies that target a position level ("managed by level"): the scope's
validation, one active policy per level, the precedence employee > position > level
> department > organization, levels as free text matched normalized (any spelling, a
ladder of the organization's own), over REST and GraphQL."""

from __future__ import annotations

import pytest

from tests.kpi.conftest import make_position, place
from tests.org.test_graphql_org import gql, ok
from tests.test_scoring_policies import make_cycle, make_policy


async def _policy_of(t, cycle, key):
    resp = await t.client.get(f"/api/v1/cycles/{cycle['id']}/scores/{t.employees[key]['id']}", headers=t.hr)
    assert resp.status_code == 200, resp.text
    return resp.json()["policy"]["id"]


async def _post_level_policy(t, level):
    """The status of creating a policy for `level`."""
    body = {"name": "again", "scope": {"kind": "level", "level": level}, "w_kpi": "1", "w_okr": "0", "w_eval": "0"}
    return (await t.client.post("/api/v1/scoring-policies", headers=t.admin, json=body)).status_code


@pytest.mark.parametrize(
    "scope",
    [
        {"kind": "level"},
        {"kind": "level", "level": ""},
        {"kind": "level", "level": "   "},  # blank once normalized
        {"kind": "level", "level": "L" * 41},
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
    assert await _post_level_policy(tenant, "manager") == 409
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
    p = await make_policy(t, {"kind": "level", "level": "Senior Manager"}, name="senior managers")
    q = "query($id: ID!) { scoringPolicy(id: $id) { scopeKind scopeId scopeLevel } }"
    got = ok(await gql(t, q, id=p["id"]))["scoringPolicy"]
    assert got == {"scopeKind": "LEVEL", "scopeId": None, "scopeLevel": "senior_manager"}
    m = 'mutation { createPosition(input: {name: "Head of stores", level: "Senior-Manager"}) { databaseId level } }'
    created = ok(await gql(t, m))["createPosition"]
    assert created["level"] == "Senior-Manager"  # a position's level is kept as given
    rest = await t.client.get(f"/api/v1/positions/{created['databaseId']}", headers=t.hr)
    assert rest.json()["level"] == "Senior-Manager"
    own_ladder = ok(await gql(t, 'mutation { createPosition(input: {name: "X", level: "L3"}) { level } }'))
    assert own_ladder["createPosition"]["level"] == "L3"
    too_long = await gql(t, 'mutation { createPosition(input: {name: "X", level: "%s"}) { level } }' % ("L" * 41))
    assert too_long.get("errors")


async def test_level_target_matches_any_spelling(team):
    """A target `Senior Manager` is stored `senior_manager` and matches a position whose
    level is `senior-manager`; the same level spelled again clashes."""
    t = team
    p = await make_policy(t, {"kind": "level", "level": "  Senior Manager "}, name="senior managers")
    assert p["scope"] == {"kind": "level", "id": None, "level": "senior_manager"}
    pos = await make_position(t, "Head of stores", "senior-manager")
    assert pos["level"] == "senior-manager"
    await place(t, "alice", position_id=pos["id"])
    cycle = await make_cycle(t)
    assert await _policy_of(t, cycle, "alice") == p["id"]
    assert await _post_level_policy(t, "SENIOR MANAGER") == 409


async def test_custom_ladder_level_policy(team):
    """An organization's own ladder (`L3`) is a level like the suggested ones."""
    t = team
    p = await make_policy(t, {"kind": "level", "level": "L3"}, name="L3s")
    assert p["scope"]["level"] == "l3"
    l3 = await make_position(t, "Engineer", "L3")
    l4 = await make_position(t, "Senior engineer", "L4")
    await place(t, "alice", position_id=l3["id"])
    await place(t, "bob", position_id=l4["id"])
    org_p = await make_policy(t, {"kind": "organization"}, name="org")
    cycle = await make_cycle(t)
    assert await _policy_of(t, cycle, "alice") == p["id"]
    assert await _policy_of(t, cycle, "bob") == org_p["id"]
