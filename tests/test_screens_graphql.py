"""Screens in one request: a person's OKRs, KPIs, evaluations, score and reports as fields
of `Employee` (and so of `me`), each through the request's dataloaders, with the
visibility of the REST list of the same things. A screen costs a fixed number of SQL
statements whatever the size of the team: the tests count them (POST /graphql runs on
the request's session, never on the direct-read path of service/kit/direct_reads.py,
which the hook would not see, so every statement is counted on both databases)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from service.db import database
from tests.conftest import Tenant
from tests.evaluations.conftest import open_evaluation
from tests.kpi.conftest import make_assignment, make_definition, measure
from tests.okr.conftest import check_in, make_cycle, make_kr, make_objective

TEAM_VIEW = """query($c: ID!) { me { databaseId reportsCount reports {
  databaseId givenName familyName reportsCount
  score(cycleId: $c) { final rating }
  objectives(cycleId: $c) { title progress visibility }
  keyResults(cycleId: $c) { title }
  kpiAssignments(cycleId: $c) { definition { name } actual points }
  evaluations(cycleId: $c) { status }
} } }"""  # docs/ui.md "Team view" (plus keyResults)

TEAM_VIEW_STATEMENTS = 33

MY_OKRS = """query($c: ID!) { me { objectives(cycleId: $c) {
  databaseId title status progress pace
  keyResults { databaseId title kind current target progress checkIns { value checkedInAt } }
} } }"""  # docs/ui.md "My OKRs"


async def run(t: Tenant, headers: dict[str, str], query: str, variables: dict[str, Any]) -> tuple[int, Any]:
    """The query's data and the number of SQL statements it sent."""
    statements: list[str] = []

    def listener(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    engine = database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", listener)
    try:
        resp = await t.client.post("/graphql", headers=headers, json={"query": query, "variables": variables})
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    body = resp.json()
    assert resp.status_code == 200 and "errors" not in body, body
    return len(statements), body["data"]


async def staff(t: Tenant, cycle: dict[str, Any], kpi: dict[str, Any], manager: str, n: int) -> list[str]:
    """`manager` with `n` reports, each with a public and a private objective (a metric key
    result they own, checked in once), an evaluation and a measured KPI."""
    await t.add_employee(manager)
    names = []
    for i in range(n):
        who = f"{manager}_r{i}"
        names.append(who)
        await t.add_employee(who, manager=manager)
        for visibility in ("public", "private"):
            obj = await make_objective(
                t, cycle, who, title=f"{who} {visibility}", level="individual", visibility=visibility
            )
            kr = await make_kr(t, obj, title=f"{who} {visibility} kr", owner_id=t.employees[who]["id"])
            await check_in(t, kr, value=str(10 + i))
        await open_evaluation(t, who, cycle)
        asg = await make_assignment(t, who, cycle, kpi, method="ratio", target="10")
        await measure(t, asg, 5 + i, "2026-06-01")
    return names


async def test_team_view_costs_the_same_for_3_and_12_reports(team: Tenant):
    cycle = await make_cycle(team)
    kpi = await make_definition(team, "SALES")
    counts = {}
    for manager, n in (("m3", 3), ("m12", 12)):
        names = await staff(team, cycle, kpi, manager, n)
        counts[n], data = await run(team, team.employee(manager), TEAM_VIEW, {"c": cycle["id"]})
        me = data["me"]
        assert me["databaseId"] == team.employees[manager]["id"] and me["reportsCount"] == n
        reports = {r["databaseId"]: r for r in me["reports"]}
        assert set(reports) == {team.employees[w]["id"] for w in names}
        for who in names:
            r = reports[team.employees[who]["id"]]
            assert r["reportsCount"] == 0
            assert sorted(o["title"] for o in r["objectives"]) == [f"{who} private", f"{who} public"]
            assert sorted(k["title"] for k in r["keyResults"]) == [f"{who} private kr", f"{who} public kr"]
            assert len(r["evaluations"]) == 1 and r["evaluations"][0]["status"] == "NOT_STARTED"
            assert len(r["kpiAssignments"]) == 1 and r["kpiAssignments"][0]["points"] is not None
            assert r["score"] is not None and r["score"]["final"] is not None
            rest = await team.client.get(
                f"/api/v1/cycles/{cycle['id']}/scores/{team.employees[who]['id']}", headers=team.employee(manager)
            )
            assert (r["score"]["final"], r["score"]["rating"]) == (rest.json()["final"], rest.json()["rating"])
    assert counts[3] == counts[12], counts
    # per level and kind of thing, whatever the team's size: the manager, the reports and
    # their count, objectives (with the caller's subtree), key results, evaluations and
    # their read models, KPI assignments and their views, and one batch scoring them all
    # (on SQLite the scoring reads KPI measurements in a statement of their own; PostgreSQL
    # summarizes them in the assignments' statement: kpi/scoring_inputs.py)
    expected = TEAM_VIEW_STATEMENTS + (1 if database.engine.dialect.name == "sqlite" else 0)
    assert counts[12] == expected, counts


async def test_my_okrs_costs_the_same_for_few_and_many_objectives(team: Tenant):
    cycle = await make_cycle(team)
    other = await make_cycle(team, name="Other")
    counts = {}
    for who, n in (("few", 2), ("many", 9)):
        await team.add_employee(who)
        for i in range(n):
            obj = await make_objective(team, cycle, who, title=f"{who} {i}", level="individual")
            for j in range(2):
                kr = await make_kr(team, obj, title=f"{who} {i}.{j}")
                await check_in(team, kr, value="25")
                await check_in(team, kr, value="50")
        await make_objective(team, other, who, title=f"{who} elsewhere", level="individual")
        counts[n], data = await run(team, team.employee(who), MY_OKRS, {"c": cycle["id"]})
        objectives = data["me"]["objectives"]
        assert sorted(o["title"] for o in objectives) == sorted(f"{who} {i}" for i in range(n))  # this cycle only
        for o in objectives:
            assert o["progress"] == "0.5000"
            assert len(o["keyResults"]) == 2
            assert all(sorted(c["value"] for c in k["checkIns"]) == ["25", "50"] for k in o["keyResults"])
    assert counts[2] == counts[9], counts
    assert counts[9] == MY_OKRS_STATEMENTS, counts


MY_OKRS_STATEMENTS = 6  # me, objectives, key results, check-ins, the cycle, today (the organization)

PROFILE = """query($id: ID!, $c: ID!) { employee(id: $id) {
  objectives(cycleId: $c) { title } keyResults { title } kpiAssignments { id } evaluations { id }
  score(cycleId: $c) { final } reports { databaseId } reportsCount
} }"""


async def test_a_peer_sees_what_the_rest_lists_show_them(team: Tenant):
    """bob, alice's peer: her public objective and its key result only; no KPIs, no
    evaluations, no score (null, not an error); lead's reports and their count."""
    cycle = await make_cycle(team)
    kpi = await make_definition(team, "SALES")
    alice = team.employees["alice"]["id"]
    for visibility in ("public", "private"):
        obj = await make_objective(team, cycle, "alice", title=visibility, level="individual", visibility=visibility)
        await make_kr(team, obj, title=f"{visibility} kr", owner_id=alice)
    await open_evaluation(team, "alice", cycle)
    await make_assignment(team, "alice", cycle, kpi, method="ratio", target="10")

    _, bob = await run(team, team.employee("bob"), PROFILE, {"id": alice, "c": cycle["id"]})
    e = bob["employee"]
    assert [o["title"] for o in e["objectives"]] == ["public"]
    assert [k["title"] for k in e["keyResults"]] == ["public kr"]
    assert e["kpiAssignments"] == [] and e["evaluations"] == [] and e["score"] is None
    assert e["reports"] == [] and e["reportsCount"] == 0
    rest = await team.client.get(f"/api/v1/key-results?owner_id={alice}", headers=team.employee("bob"))
    assert [k["title"] for k in rest.json()["items"]] == ["public kr"]

    _, lead = await run(team, team.employee("lead"), PROFILE, {"id": alice, "c": cycle["id"]})
    e = lead["employee"]
    assert sorted(o["title"] for o in e["objectives"]) == ["private", "public"]
    assert len(e["kpiAssignments"]) == 1 and len(e["evaluations"]) == 1 and e["score"] is not None

    _, boss = await run(team, team.employee("bob"), PROFILE, {"id": team.employees["lead"]["id"], "c": cycle["id"]})
    reports = {r["databaseId"] for r in boss["employee"]["reports"]}
    assert reports == {alice, team.employees["bob"]["id"]} and boss["employee"]["reportsCount"] == 2


async def test_a_client_without_the_directory_and_a_bad_cycle(team: Tenant):
    cycle = await make_cycle(team)
    alice = team.employees["alice"]["id"]
    _, data = await run(team, team.as_scope("payroll:read"), PROFILE, {"id": alice, "c": cycle["id"]})
    e = data["employee"]
    assert e["objectives"] == [] and e["keyResults"] == [] and e["evaluations"] == [] and e["score"] is None
    resp = await team.client.post(
        "/graphql", headers=team.hr, json={"query": PROFILE, "variables": {"id": alice, "c": "not-an-id"}}
    )
    assert resp.json()["errors"][0]["extensions"]["status"] in (400, 422), resp.text
