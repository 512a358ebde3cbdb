"""KPIs in GraphQL: the same data and rules as REST, nested through dataloaders (the
number of queries does not grow with the page)."""

from __future__ import annotations

from sqlalchemy import event

from service.db import database
from tests.kpi.conftest import make_assignment, make_definition, measure

PAGE = """query($cycle: ID!) {
  kpiAssignments(cycleId: $cycle, first: 100) {
    pageInfo { hasNextPage }
    nodes { databaseId method weight actual points pointsExact missingData vetoTriggered flags measurementCount
            definition { code direction aggregation }
            employee { externalId manager { id } }
            cycle { name startDate endDate }
            measurements { value measuredAt } }
  }
}"""


async def _gql(t, query, variables=None, headers=None):
    resp = await t.client.post("/graphql", headers=headers or t.hr, json={"query": query, "variables": variables or {}})
    assert resp.status_code == 200, resp.text
    return resp.json()


async def test_assignment_fields_match_rest(team, quarter):
    d = await make_definition(team, "GMV", "higher_is_better", "sum")
    a = await make_assignment(team, "alice", quarter, d, method="banded", threshold=100, target=200, stretch=300)
    await measure(team, a, 120, "2026-10-03")
    await measure(team, a, 130, "2026-10-04")
    data = (await _gql(team, PAGE, {"cycle": quarter["id"]}))["data"]["kpiAssignments"]["nodes"]
    rest = (await team.client.get(f"/api/v1/kpi-assignments/{a['id']}", headers=team.hr)).json()
    node = data[0]
    for key, rest_key in (
        ("databaseId", "id"),
        ("weight", "weight"),
        ("actual", "actual"),
        ("points", "points"),
        ("pointsExact", "points_exact"),
        ("missingData", "missing_data"),
        ("vetoTriggered", "veto_triggered"),
        ("flags", "flags"),
        ("measurementCount", "measurement_count"),
    ):
        assert node[key] == rest[rest_key], key
    assert node["method"] == rest["method"].upper() == "BANDED"  # the enum value naming REST's string
    assert node["points"] == "110.00" and node["actual"] == "250"
    assert node["definition"] == {"code": "GMV", "direction": "HIGHER_IS_BETTER", "aggregation": "SUM"}
    assert node["employee"]["externalId"] == team.employees["alice"]["external_id"]
    assert node["cycle"]["name"] == "Q4"
    assert [m["value"] for m in node["measurements"]] == ["120", "130"]


async def test_nested_page_costs_a_constant_number_of_queries(team, quarter):
    defs = [await make_definition(team, f"K{n}", "higher_is_better", "sum") for n in range(3)]

    async def count_for(n_employees: int, tag: str) -> int:
        for n in range(n_employees):
            await team.add_employee(f"{tag}{n}", manager="lead")
            for d in defs:
                a = await make_assignment(team, f"{tag}{n}", quarter, d, method="ratio", target=10)
                await measure(team, a, n + 1, "2026-10-05")
        statements = 0

        def on(*_a, **_k):
            nonlocal statements
            statements += 1

        engine = database.engine.sync_engine
        event.listen(engine, "before_cursor_execute", on)
        try:
            result = await _gql(team, PAGE, {"cycle": quarter["id"]})
        finally:
            event.remove(engine, "before_cursor_execute", on)
        assert "errors" not in result, result
        return statements

    few = await count_for(2, "a")  # 6 assignments
    many = await count_for(8, "b")  # 30 assignments
    assert few == many, (few, many)


async def test_queries_and_mutations(team, quarter):
    d = await make_definition(team, "CSAT", "target_range", "last")
    create = """mutation($input: KpiAssignmentInput!) { createKpiAssignment(input: $input) {
                  id databaseId method rangeLow points missingData } }"""
    payload = {
        "employeeId": team.employees["alice"]["id"],
        "cycleId": quarter["id"],
        "definitionId": d["id"],
        "method": "RANGE",
        "rangeLow": "4.5",
        "rangeHigh": "4.8",
        "tolerance": "0.25",
        "weight": "20",
    }
    made = (await _gql(team, create, {"input": payload}, headers=team.employee("lead")))["data"]["createKpiAssignment"]
    assert made["method"] == "RANGE" and made["rangeLow"] == "4.5" and made["missingData"] is True
    record = """mutation($id: ID!) { recordKpiMeasurement(assignmentId: $id,
                  input: {value: "4.45", measuredAt: "2026-11-02", sourceKey: "s1"}) { value sourceKey } }"""
    rec = await _gql(team, record, {"id": made["id"]}, headers=team.as_scope("kpi:write"))
    assert rec["data"]["recordKpiMeasurement"] == {"value": "4.45", "sourceKey": "s1"}
    one = """query($id: ID!) { kpiAssignment(id: $id) { points actual } }"""
    got = (await _gql(team, one, {"id": made["databaseId"]}))["data"]["kpiAssignment"]
    assert got == {"points": "80.00", "actual": "4.45"}
    update = """mutation($id: ID!) { updateKpiAssignment(id: $id, input: {tolerance: "0.5"}) { points } }"""
    assert (await _gql(team, update, {"id": made["id"]}))["data"]["updateKpiAssignment"]["points"] == "90.00"
    bad = """mutation($id: ID!) { updateKpiAssignment(id: $id, input: {rangeLow: "5"}) { points } }"""
    err = (await _gql(team, bad, {"id": made["id"]}))["errors"][0]
    assert err["extensions"]["status"] == 422 and err["extensions"]["errors"][0]["loc"] == ["body", "rangeHigh"]
    defs = """{ kpiDefinitions { nodes { code } } kpiTemplates { nodes { id } } }"""
    listed = (await _gql(team, defs, headers=team.employee("bob")))["data"]
    assert listed["kpiDefinitions"]["nodes"] == [{"code": "CSAT"}] and listed["kpiTemplates"]["nodes"] == []


async def test_graphql_hides_what_rest_hides(team, quarter):
    d = await make_definition(team, "GMV", "higher_is_better", "sum")
    a = await make_assignment(team, "alice", quarter, d, method="ratio", target=1)
    one = """query($id: ID!) { kpiAssignment(id: $id) { databaseId } }"""
    hidden = await _gql(team, one, {"id": a["id"]}, headers=team.employee("bob"))
    assert hidden["errors"][0]["extensions"]["status"] == 404
    mine = await _gql(team, one, {"id": a["id"]}, headers=team.employee("alice"))
    assert mine["data"]["kpiAssignment"]["databaseId"] == a["id"]
    listed = await _gql(team, "{ kpiAssignments { nodes { id } } }", headers=team.employee("carol"))
    assert listed["data"]["kpiAssignments"]["nodes"] == []
    create = """mutation($input: KpiAssignmentInput!) { createKpiAssignment(input: $input) { id } }"""
    payload = {
        "employeeId": team.employees["alice"]["id"],
        "cycleId": quarter["id"],
        "definitionId": d["id"],
        "method": "RATIO",
        "target": "1",
    }
    refused = await _gql(team, create, {"input": payload}, headers=team.employee("alice"))
    assert refused["errors"][0]["extensions"]["status"] == 403


async def test_template_in_graphql(team, quarter):
    d = await make_definition(team, "GMV", "higher_is_better", "sum")
    pos = (await team.client.post("/api/v1/positions", headers=team.hr, json={"name": "Spec"})).json()
    tpl = (
        await team.client.post(
            "/api/v1/kpi-templates",
            headers=team.hr,
            json={
                "position_id": pos["id"],
                "items": [{"definition_id": d["id"], "method": "ratio", "target": 5, "weight": 2}],
            },
        )
    ).json()
    q = """query($id: ID!) { kpiTemplate(id: $id) { name position { name }
             items { method weight target definition { code } } } }"""
    got = (await _gql(team, q, {"id": tpl["id"]}))["data"]["kpiTemplate"]
    assert got == {
        "name": "Spec",
        "position": {"name": "Spec"},
        "items": [{"method": "RATIO", "weight": "2", "target": "5", "definition": {"code": "GMV"}}],
    }
