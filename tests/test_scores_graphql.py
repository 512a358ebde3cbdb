"""Scores and scoring policies over GraphQL: the same numbers, filters, pages and
visibility as REST."""

from __future__ import annotations

from typing import Any

from tests.conftest import Tenant
from tests.kpi.conftest import make_assignment, make_cycle, make_definition, measure
from tests.org.test_graphql_org import error_status, gql, ok

SCORE_FIELDS = """employeeId cycleId status components weights composite calibrationDelta final rating
                  flags policyId policyVersion"""


async def scored_team(t: Tenant) -> dict[str, Any]:
    """alice exceeds her sales target, bob falls short: two different KPI-only scores."""
    cycle = await make_cycle(t)
    sales = await make_definition(t, "sales")
    for who, value in (("alice", 115), ("bob", 70)):
        a = await make_assignment(
            t, who, cycle, sales, method="banded", threshold="60", target="100", stretch="120", weight="1"
        )
        await measure(t, a, value, "2026-10-15")
    return cycle


async def test_score_matches_rest(team):
    t = team
    cycle = await scored_team(t)
    for who in ("alice", "bob"):
        emp = t.employees[who]["id"]
        rest = (await t.client.get(f"/api/v1/cycles/{cycle['id']}/scores/{emp}", headers=t.hr)).json()
        data = ok(
            await gql(
                t,
                f"""query($c: ID!, $e: ID!) {{ score(cycleId: $c, employeeId: $e)
                                  {{ {SCORE_FIELDS} explanation }} }}""",
                c=cycle["id"],
                e=emp,
            )
        )["score"]
        assert data["final"] == rest["final"] and data["rating"] == rest["rating"]
        assert data["components"] == rest["components"] and data["weights"] == rest["weights"]
        assert data["explanation"] == rest["explanation"]
        assert (data["policyId"], data["policyVersion"]) == (rest["policy"]["id"], rest["policy"]["version"])
        assert data["status"] == rest["status"].upper() == "SCORED"
    alice = ok(
        await gql(
            t,
            "query($c: ID!, $e: ID!) { score(cycleId: $c, employeeId: $e) { final } }",
            c=cycle["id"],
            e=t.employees["alice"]["id"],
        )
    )["score"]["final"]
    bob = ok(
        await gql(
            t,
            "query($c: ID!, $e: ID!) { score(cycleId: $c, employeeId: $e) { final } }",
            c=cycle["id"],
            e=t.employees["bob"]["id"],
        )
    )["score"]["final"]
    assert float(alice) > float(bob)


async def test_cycle_scores_pages_filters_and_visibility(team):
    t = team
    cycle = await scored_team(t)
    q = """query($c: ID!, $after: String, $m: ID, $r: String) {
             cycleScores(cycleId: $c, first: 4, after: $after, managerId: $m, rating: $r) {
               nodes { employeeId rating } pageInfo { hasNextPage endCursor } } }"""
    first = ok(await gql(t, q, c=cycle["id"]))["cycleScores"]
    assert first["pageInfo"]["hasNextPage"] and len(first["nodes"]) == 4
    second = ok(await gql(t, q, c=cycle["id"], after=first["pageInfo"]["endCursor"]))["cycleScores"]
    ids = [n["employeeId"] for n in first["nodes"] + second["nodes"]]
    assert len(ids) == 6 == len(set(ids)) and not second["pageInfo"]["hasNextPage"]

    by_lead = ok(await gql(t, q, c=cycle["id"], m=t.employees["lead"]["id"]))["cycleScores"]["nodes"]
    assert {n["employeeId"] for n in by_lead} == {t.employees[k]["id"] for k in ("alice", "bob")}
    alice_rating = next(
        n["rating"] for n in first["nodes"] + second["nodes"] if n["employeeId"] == t.employees["alice"]["id"]
    )
    rated = ok(await gql(t, q, c=cycle["id"], r=alice_rating))["cycleScores"]["nodes"]
    assert t.employees["alice"]["id"] in {n["employeeId"] for n in rated}
    assert all(n["rating"] == alice_rating for n in rated)

    mine = ok(await gql(t, q, headers=t.employee("alice"), c=cycle["id"]))["cycleScores"]["nodes"]
    assert [n["employeeId"] for n in mine] == [t.employees["alice"]["id"]]
    lead = ok(await gql(t, q, headers=t.employee("lead"), c=cycle["id"]))["cycleScores"]["nodes"]
    assert {n["employeeId"] for n in lead} == {t.employees[k]["id"] for k in ("lead", "alice", "bob")}
    assert ok(await gql(t, q, headers=t.as_scope("payroll:read"), c=cycle["id"]))["cycleScores"]["nodes"] == []


async def test_hidden_score_is_not_found(team):
    t = team
    cycle = await scored_team(t)
    q = "query($c: ID!, $e: ID!) { score(cycleId: $c, employeeId: $e) { final } }"
    assert error_status(await gql(t, q, headers=t.employee("alice"), c=cycle["id"], e=t.employees["bob"]["id"])) == 404
    assert (
        error_status(await gql(t, q, headers=t.employee("carol"), c=cycle["id"], e=t.employees["alice"]["id"])) == 404
    )


async def test_recompute_mutation_and_job(team):
    t = team
    cycle = await scored_team(t)
    m = "mutation($c: ID!) { recomputeScores(cycleId: $c) { id status employees } }"
    assert error_status(await gql(t, m, headers=t.employee("alice"), c=cycle["id"])) == 403
    job = ok(await gql(t, m, c=cycle["id"]))["recomputeScores"]
    assert job["status"] == "SUCCEEDED" and job["employees"] == 6
    read = ok(await gql(t, "query($id: ID!) { scoreJob(id: $id) { status changed } }", id=job["id"]))["scoreJob"]
    assert read["status"] == "SUCCEEDED" and read["changed"] == 6


async def test_policies_over_graphql(team):
    t = team
    created = await t.client.post(
        "/api/v1/scoring-policies",
        headers=t.admin,
        json={"name": "org", "scope": {"kind": "organization"}, "w_kpi": "0.6", "w_okr": "0.3", "w_eval": "0.1"},
    )
    assert created.status_code == 201, created.text
    pid = created.json()["id"]
    await t.client.patch(f"/api/v1/scoring-policies/{pid}", headers=t.admin, json={"w_kpi": "0.5", "w_okr": "0.4"})
    q = "query($id: ID!, $v: Int) { scoringPolicy(id: $id, version: $v) { id databaseId version scopeKind params } }"
    v1 = ok(await gql(t, q, id=pid, v=1))["scoringPolicy"]
    v2 = ok(await gql(t, q, id=pid))["scoringPolicy"]
    assert (v1["version"], v1["params"]["w_kpi"]) == (1, "0.6")
    assert (v2["version"], v2["params"]["w_kpi"]) == (2, "0.5") and v2["scopeKind"] == "ORGANIZATION"
    # a version is an object of its own: its global id names the version (the UUID, the policy)
    assert v1["databaseId"] == v2["databaseId"] == pid and v1["id"] != v2["id"]
    again = ok(await gql(t, q, id=v1["id"]))["scoringPolicy"]
    assert again == v1
    both = "query($ids: [ID!]!) { nodes(ids: $ids) { id ... on ScoringPolicy { version } } }"
    found = ok(await gql(t, both, ids=[v2["id"], v1["id"]]))
    assert found["nodes"] == [{"id": v2["id"], "version": 2}, {"id": v1["id"], "version": 1}]
    listed = ok(await gql(t, "{ scoringPolicies { nodes { id databaseId } } }"))["scoringPolicies"]["nodes"]
    assert listed == [{"id": v2["id"], "databaseId": pid}]
    assert error_status(await gql(t, q, headers=t.employee("alice"), id=pid)) == 404
