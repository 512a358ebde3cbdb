"""An assignment's points use its employee's scoring policy, the same as the score."""

from tests.kpi.conftest import make_assignment, make_cycle, make_definition, measure, read


async def test_assignment_points_follow_the_employee_policy(team):
    t = team
    cycle = await make_cycle(t)
    sales = await make_definition(t, "sales")
    alice = await make_assignment(
        t, "alice", cycle, sales, method="banded", threshold="60", target="100", stretch="120", weight="1"
    )
    bob = await make_assignment(
        t, "bob", cycle, sales, method="banded", threshold="60", target="100", stretch="120", weight="1"
    )
    for a in (alice, bob):
        await measure(t, a, 110, "2026-10-15")
    before = await read(t, alice)
    assert before["points"] == "110.00"  # SPEC defaults: halfway from target (100) to cap (120)

    resp = await t.client.post(
        "/api/v1/scoring-policies",
        headers=t.admin,
        json={
            "name": "alice",
            "scope": {"kind": "employee", "id": t.employees["alice"]["id"]},
            "w_kpi": "0.5",
            "w_okr": "0.3",
            "w_eval": "0.2",
            "kpi_target_points": "90",
            "kpi_cap": "110",
        },
    )
    assert resp.status_code == 201, resp.text
    after = await read(t, alice)
    assert after["points"] == "100.00"  # halfway from 90 to 110
    assert (await read(t, bob))["points"] == "110.00"  # bob keeps the defaults
    score = (
        await t.client.get(f"/api/v1/cycles/{cycle['id']}/scores/{t.employees['alice']['id']}", headers=t.hr)
    ).json()
    assert score["components"]["kpi"] == after["points"]

    q = """query($id: ID!) { kpiAssignment(id: $id) { points } }"""
    gql = (await t.client.post("/graphql", headers=t.hr, json={"query": q, "variables": {"id": alice["id"]}})).json()
    assert gql["data"]["kpiAssignment"]["points"] == "100.00"
