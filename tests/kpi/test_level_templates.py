"""KPI templates that target a position level, and applying each employee's own
templates: position templates first, else their level's, else none (reported)."""

from __future__ import annotations

import uuid

from tests.conftest import statement_hook
from tests.evaluations.test_demo_and_inputs import _demo_org
from tests.kpi.conftest import make_definition, make_position, place


async def _template(t, defs, **target):
    items = [{"definition_id": d["id"], "method": "ratio", "target": 10, "weight": 1} for d in defs]
    resp = await t.client.post("/api/v1/kpi-templates", headers=t.hr, json={**target, "items": items})
    assert resp.status_code == 201, resp.text
    return resp.json()


async def _apply(t, cycle, keys, headers=None):
    return await t.client.post(
        "/api/v1/kpi-templates/apply",
        headers=headers or t.hr,
        json={"cycle_id": cycle["id"], "employee_ids": [t.employees[k]["id"] for k in keys]},
    )


async def test_level_template_create_and_validation(team):
    gmv = await make_definition(team, "GMV", "higher_is_better", "sum")
    tpl = await _template(team, [gmv], level="manager")
    assert (tpl["level"], tpl["position_id"], tpl["name"]) == ("manager", None, "manager")
    pos = await make_position(team, "Clerk", "staff")
    for body in (
        {"items": []},  # neither
        {"position_id": pos["id"], "level": "staff", "items": []},  # both
        {"level": "", "items": []},  # empty
        {"level": "   ", "items": []},  # blank once trimmed
        {"level": "L" * 41, "items": []},  # too long
    ):
        bad = await team.client.post("/api/v1/kpi-templates", headers=team.hr, json=body)
        assert bad.status_code == 422, body
        assert bad.headers["content-type"].startswith("application/problem+json")
    for spelling in ("manager", "Manager", " MANAGER "):  # the filter is normalized too
        listed = await team.client.get("/api/v1/kpi-templates", headers=team.hr, params={"level": spelling})
        assert [t["id"] for t in listed.json()["items"]] == [tpl["id"]], spelling
    blank = await team.client.get("/api/v1/kpi-templates", headers=team.hr, params={"level": "  "})
    assert blank.status_code == 422 and blank.json()["errors"][0]["loc"] == ["query", "level"]
    assert (await team.client.get("/api/v1/kpi-templates", headers=team.hr, params={"level": "staff"})).json()[
        "items"
    ] == []
    # retargeting: a position clears the level, a level clears the position
    url = f"/api/v1/kpi-templates/{tpl['id']}"
    moved = await team.client.patch(url, headers=team.hr, json={"position_id": pos["id"]})
    assert moved.status_code == 200 and (moved.json()["position_id"], moved.json()["level"]) == (pos["id"], None)
    back = await team.client.patch(url, headers=team.hr, json={"level": "executive"})
    assert back.status_code == 200 and (back.json()["position_id"], back.json()["level"]) == (None, "executive")
    for body in ({"level": None}, {"level": " "}, {"position_id": pos["id"], "level": "staff"}):
        refused = await team.client.patch(url, headers=team.hr, json=body)
        assert refused.status_code == 422, body


async def test_resolution_position_then_level(team, quarter):
    t = team
    gmv = await make_definition(t, "GMV", "higher_is_better", "sum")
    nps = await make_definition(t, "NPS", "higher_is_better", "last")
    csat = await make_definition(t, "CSAT", "higher_is_better", "last")
    store = await make_position(t, "Store manager", "manager")  # has its own template
    area = await make_position(t, "Area manager", "manager")  # only its level has one
    clerk = await make_position(t, "Clerk", "staff")  # neither
    own = await _template(t, [gmv], position_id=store["id"])
    level = await _template(t, [nps, csat], level="manager")
    second_level = await _template(t, [csat, gmv], level="manager")  # same target: both apply, oldest first
    for key, pos in (("alice", store), ("bob", area), ("carol", clerk)):
        await place(t, key, position_id=pos["id"])
    resp = await _apply(t, quarter, ["alice", "bob", "carol", "dave", "alice"])
    assert resp.status_code == 201, resp.text
    body = resp.json()
    e = {k: t.employees[k]["id"] for k in ("alice", "bob", "carol", "dave")}
    assert body["unmatched_employee_ids"] == [e["carol"], e["dave"]]
    got = {(a["employee_id"], a["definition_id"]): a["template_id"] for a in body["assignments"]}
    assert got == {
        (e["alice"], gmv["id"]): own["id"],
        (e["bob"], nps["id"]): level["id"],
        (e["bob"], csat["id"]): level["id"],  # in both level templates: the oldest gives it
        (e["bob"], gmv["id"]): second_level["id"],
    }
    assert (body["created"], body["skipped"]) == (4, 0)
    again = await _apply(t, quarter, ["alice", "bob"])
    assert again.status_code == 200
    assert (again.json()["created"], again.json()["skipped"]) == (0, 4)
    assert again.json()["assignment_ids"] == body["assignment_ids"]
    listed = await t.client.get(
        "/api/v1/kpi-assignments", headers=t.hr, params={"employee_id": e["bob"], "cycle_id": quarter["id"]}
    )
    assert sorted(i["kpi_code"] for i in listed.json()["items"]) == ["CSAT", "GMV", "NPS"]
    # a position template for the area manager now wins over the level's, for new pairs
    await _template(t, [nps], position_id=area["id"])
    await place(t, "carol", position_id=area["id"])
    third = (await _apply(t, quarter, ["carol"])).json()
    assert [(a["definition_id"], a["outcome"]) for a in third["assignments"]] == [(nps["id"], "created")]


async def test_level_spellings_and_custom_ladder(team, quarter):
    """A template for `Senior Manager` applies to a position whose level is
    `senior-manager`, and one for an organization's own ladder (`L3`) to its `L3`s."""
    t = team
    gmv = await make_definition(t, "GMV", "higher_is_better", "sum")
    nps = await make_definition(t, "NPS", "higher_is_better", "last")
    senior = await _template(t, [gmv], level="Senior Manager")
    assert (senior["level"], senior["name"]) == ("senior_manager", "senior_manager")
    l3 = await _template(t, [nps], level="L3")
    assert l3["level"] == "l3"
    head = await make_position(t, "Head of stores", "senior-manager")
    eng = await make_position(t, "Engineer", "L3")
    other = await make_position(t, "Senior engineer", "L4")
    for key, pos in (("alice", head), ("bob", eng), ("carol", other)):
        await place(t, key, position_id=pos["id"])
    resp = await _apply(t, quarter, ["alice", "bob", "carol"])
    assert resp.status_code == 201, resp.text
    e = {k: t.employees[k]["id"] for k in ("alice", "bob", "carol")}
    got = {(a["employee_id"], a["definition_id"]): a["template_id"] for a in resp.json()["assignments"]}
    assert got == {(e["alice"], gmv["id"]): senior["id"], (e["bob"], nps["id"]): l3["id"]}
    assert resp.json()["unmatched_employee_ids"] == [e["carol"]]


async def test_resolved_apply_checks(team, quarter):
    t = team
    gmv = await make_definition(t, "GMV", "higher_is_better", "sum")
    pos = await make_position(t, "Spec", "staff")
    await _template(t, [gmv], level="staff")
    for key in ("alice", "carol"):
        await place(t, key, position_id=pos["id"])
    unknown = await t.client.post(
        "/api/v1/kpi-templates/apply",
        headers=t.hr,
        json={"cycle_id": quarter["id"], "employee_ids": [t.employees["alice"]["id"], str(uuid.uuid4())]},
    )
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["loc"] == ["body", "employee_ids", 1]
    extra = await t.client.post(
        "/api/v1/kpi-templates/apply",
        headers=t.hr,
        json={"cycle_id": quarter["id"], "employee_ids": [t.employees["alice"]["id"]], "dry_run": True},
    )
    assert extra.status_code == 422
    lead = t.employee("lead")
    assert (await _apply(t, quarter, ["carol"], headers=lead)).status_code == 403  # outside lead's team
    mine = await _apply(t, quarter, ["alice"], headers=lead)
    assert mine.status_code == 201 and mine.json()["created"] == 1
    assert (await _apply(t, quarter, ["alice"], headers=t.employee("alice"))).status_code == 403


async def test_resolution_is_set_based(team, quarter):
    t = team
    gmv = await make_definition(t, "GMV", "higher_is_better", "sum")
    nps = await make_definition(t, "NPS", "higher_is_better", "last")
    mgr = await make_position(t, "Manager", "manager")
    spec = await make_position(t, "Spec", "staff")
    await _template(t, [gmv, nps], level="manager")
    await _template(t, [gmv], position_id=spec["id"])
    for n in range(30):
        pos = mgr if n % 2 else spec
        await t.add_employee(f"e{n}", position_id=pos["id"])
    statements: list[str] = []
    with statement_hook(statements.append):
        resp = await _apply(t, quarter, [f"e{n}" for n in range(30)])
    assert resp.status_code == 201, resp.text
    assert resp.json()["created"] == 15 * 2 + 15
    assert sum(s.startswith("INSERT INTO kpi_assignments") for s in statements) == 1
    assert sum("FROM kpi_templates" in s for s in statements) == 1
    assert len(statements) <= 14, statements


async def test_level_templates_in_graphql(team, quarter):
    t = team
    gmv = await make_definition(t, "GMV", "higher_is_better", "sum")
    tpl = await _template(t, [gmv], level="executive")
    pos = await make_position(t, "CEO", "executive")
    await place(t, "boss", position_id=pos["id"])
    q = '{ kpiTemplates(level: "Executive") { nodes { databaseId level positionId position { name } } } }'
    resp = await t.client.post("/graphql", headers=t.hr, json={"query": q})
    assert resp.json()["data"]["kpiTemplates"]["nodes"] == [
        {"databaseId": tpl["id"], "level": "executive", "positionId": None, "position": None}
    ]
    m = """mutation($c: ID!, $e: [ID!]!) { applyKpiTemplates(cycleId: $c, employeeIds: $e) {
             created skipped assignmentIds unmatchedEmployeeIds } }"""
    ids = [t.employees["boss"]["id"], t.employees["dave"]["id"]]
    resp = await t.client.post("/graphql", headers=t.hr, json={"query": m, "variables": {"c": quarter["id"], "e": ids}})
    got = resp.json()["data"]["applyKpiTemplates"]
    assert (got["created"], got["skipped"], got["unmatchedEmployeeIds"]) == (1, 0, [ids[1]])
    assert len(got["assignmentIds"]) == 1


async def test_the_demo_example(tenant):
    """docs/kpis.md's worked example, on the demo organization with FY2026 Q4 in calibration."""
    make_id = await _demo_org(tenant)
    mei, alan, olga = (str(make_id(f"emp:{ext}")) for ext in ("E008", "E006", "E014"))
    resp = await tenant.client.post(
        "/api/v1/kpi-templates/apply",
        headers=tenant.hr,
        json={"cycle_id": str(make_id("cycle:FY2026-Q4")), "employee_ids": [mei, alan, olga]},
    )
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert (body["created"], body["skipped"], body["unmatched_employee_ids"]) == (2, 4, [olga])
    outcomes = {(a["employee_id"], a["outcome"], a["template_id"]) for a in body["assignments"]}
    assert outcomes == {
        (mei, "skipped", str(make_id("kpi:tpl:ecom-spec"))),
        (alan, "created", str(make_id("kpi:tpl:level:lead"))),
    }
