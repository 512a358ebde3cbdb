"""Dated KPI assignments through REST and GraphQL: validation, a move by template
application (`effective_from`), and the scores after a move under each `kpi_proration`
mode, with measurements outside an assignment's window ignored. The numbers are those of
the worked example in docs/kpis.md (checked exactly in tests/scoring/test_kpi_dates.py)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Tenant
from tests.incentives.conftest import by_employee, comp, make_plan, results_of, run, set_employee
from tests.kpi.conftest import make_assignment, make_cycle, make_definition, make_position, measure, place, read

Q2 = ("2026-04-01", "2026-06-30")  # 91 days; day 46 is May 16
GMV = {"method": "banded", "threshold": "1000000", "target": "1200000", "stretch": "1400000"}
TICKETS = {"method": "banded", "threshold": "400", "target": "500", "stretch": "600"}
CSAT = {"method": "ratio", "target": "4.5"}
POLICY = {"name": "org", "scope": {"kind": "organization"}, "w_kpi": "0.6", "w_okr": "0.3", "w_eval": "0.1"}


async def world(t: Tenant) -> dict[str, Any]:
    cycle = await make_cycle(t, *Q2, name="Q2")
    defs = {
        "GMV": await make_definition(t, "GMV", "higher_is_better", "sum"),
        "TICKETS": await make_definition(t, "TICKETS", "higher_is_better", "sum"),
        "CSAT": await make_definition(t, "CSAT", "higher_is_better", "avg"),
    }
    return {"cycle": cycle, "defs": defs}


async def moved_by_hand(t: Tenant, w: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """alice sold until May 15 and resolves tickets from May 16, with a measurement on the
    wrong side of each date."""
    old = await make_assignment(t, "alice", w["cycle"], w["defs"]["GMV"], effective_to="2026-05-15", **GMV)
    new = await make_assignment(t, "alice", w["cycle"], w["defs"]["TICKETS"], effective_from="2026-05-16", **TICKETS)
    for asg, value, day in (
        (old, "300000", "2026-04-20"),
        (old, "260000", "2026-05-15"),
        (old, "999999", "2026-05-16"),  # after the move: not GMV's
        (new, "100", "2026-05-31"),
        (new, "170", "2026-06-30"),
        (new, "999", "2026-05-15"),  # before the move: not the tickets'
    ):
        await measure(t, asg, value, day)
    return old, new


async def score(t: Tenant, cycle: dict[str, Any], key: str = "alice") -> dict[str, Any]:
    resp = await t.client.get(f"/api/v1/cycles/{cycle['id']}/scores/{t.employees[key]['id']}", headers=t.hr)
    assert resp.status_code == 200, resp.text
    return resp.json()


async def test_dates_are_validated_created_read_and_patched(team):
    t = team
    w = await world(t)
    cycle, gmv = w["cycle"], w["defs"]["GMV"]
    bad = [
        ({"effective_from": "2026-03-31"}, "effective_from"),
        ({"effective_to": "2026-07-01"}, "effective_to"),
        ({"effective_from": "2026-05-02", "effective_to": "2026-05-01"}, "effective_to"),
    ]
    for dates, field in bad:
        resp = await t.client.post(
            "/api/v1/kpi-assignments",
            headers=t.hr,
            json={"employee_id": t.employees["alice"]["id"], "cycle_id": cycle["id"], "definition_id": gmv["id"]}
            | GMV
            | dates,
        )
        assert resp.status_code == 422, resp.text
        assert resp.headers["content-type"].startswith("application/problem+json")
        assert resp.json()["errors"][0]["loc"] == ["body", field]
    listed = await t.client.get("/api/v1/kpi-assignments", headers=t.hr, params={"cycle_id": cycle["id"]})
    assert listed.json()["items"] == []  # nothing was created
    asg = await make_assignment(t, "alice", cycle, gmv, effective_from="2026-05-16", effective_to="2026-05-16", **GMV)
    assert (asg["effective_from"], asg["effective_to"]) == ("2026-05-16", "2026-05-16")  # one day
    url = f"/api/v1/kpi-assignments/{asg['id']}"
    refused = await t.client.patch(url, headers=t.hr, json={"effective_to": "2026-05-15"})
    assert refused.status_code == 422 and refused.json()["errors"][0]["loc"] == ["body", "effective_to"]
    assert (await read(t, asg))["effective_to"] == "2026-05-16"  # the refused PATCH changed nothing
    cleared = await t.client.patch(url, headers=t.hr, json={"effective_from": None, "effective_to": "2026-06-30"})
    assert cleared.status_code == 200, cleared.text
    assert (cleared.json()["effective_from"], cleared.json()["effective_to"]) == (None, "2026-06-30")
    # the assignment's own view counts only the measurements in its window
    await t.client.patch(url, headers=t.hr, json={"effective_to": "2026-05-15"})
    await measure(t, asg, "100", "2026-05-15")
    await measure(t, asg, "7", "2026-05-16")
    got = await read(t, asg)
    assert got["actual"] == "100" and got["measurement_count"] == 2


async def test_template_apply_with_effective_from_is_a_move(team):
    t = team
    w = await world(t)
    cycle, defs = w["cycle"], w["defs"]
    sales, support = await make_position(t, "Sales"), await make_position(t, "Support")
    for pos, items in (
        (sales, [{"definition_id": defs["GMV"]["id"], **GMV}, {"definition_id": defs["CSAT"]["id"], **CSAT}]),
        (support, [{"definition_id": defs["TICKETS"]["id"], **TICKETS}, {"definition_id": defs["CSAT"]["id"], **CSAT}]),
    ):
        resp = await t.client.post(
            "/api/v1/kpi-templates", headers=t.hr, json={"position_id": pos["id"], "items": items}
        )
        assert resp.status_code == 201, resp.text
    alice = t.employees["alice"]["id"]
    await place(t, "alice", position_id=sales["id"])
    hand = await make_assignment(t, "alice", cycle, await make_definition(t, "NPS", "higher_is_better", "avg"), **CSAT)
    first = await t.client.post(
        "/api/v1/kpi-templates/apply", headers=t.hr, json={"cycle_id": cycle["id"], "employee_ids": [alice]}
    )
    assert first.status_code == 201 and first.json()["created"] == 2 and first.json()["ended"] == []

    await place(t, "alice", position_id=support["id"])
    move = {"cycle_id": cycle["id"], "employee_ids": [alice], "effective_from": "2026-05-16"}
    for day in ("2026-04-01", "2026-03-31", "2026-07-01"):  # the first day ends nothing; outside the cycle
        bad = await t.client.post("/api/v1/kpi-templates/apply", headers=t.hr, json={**move, "effective_from": day})
        assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == ["body", "effective_from"], bad.text
    moved = await t.client.post("/api/v1/kpi-templates/apply", headers=t.hr, json=move)
    assert moved.status_code == 201, moved.text
    body = moved.json()
    assert (body["created"], body["skipped"]) == (1, 1)
    (ended,) = body["ended"]
    assert (ended["definition_id"], ended["effective_to"]) == (defs["GMV"]["id"], "2026-05-15")
    rows = {
        a["kpi_code"]: a
        for a in (
            await t.client.get("/api/v1/kpi-assignments", headers=t.hr, params={"employee_id": alice, "limit": 50})
        ).json()["items"]
    }
    assert (rows["GMV"]["effective_from"], rows["GMV"]["effective_to"]) == (None, "2026-05-15")
    assert rows["GMV"]["id"] == ended["assignment_id"]
    etag = (await t.client.get(f"/api/v1/kpi-assignments/{ended['assignment_id']}", headers=t.hr)).headers["etag"]
    assert etag == '"2"'  # ending it is a change: a new version
    assert (rows["TICKETS"]["effective_from"], rows["TICKETS"]["effective_to"]) == ("2026-05-16", None)
    assert (rows["CSAT"]["effective_from"], rows["CSAT"]["effective_to"]) == (None, None)  # simply continues
    assert rows["NPS"]["id"] == hand["id"] and rows["NPS"]["effective_to"] is None  # made by hand: left alone
    audit = await t.client.get(
        "/api/v1/audit-events", headers=t.admin, params={"entity_id": ended["assignment_id"], "limit": 50}
    )
    assert audit.status_code == 200, audit.text
    updated = [e for e in audit.json()["items"] if e["action"] == "kpi_assignment.updated"]
    assert updated and updated[0]["after"]["effective_to"] == "2026-05-15"
    again = await t.client.post("/api/v1/kpi-templates/apply", headers=t.hr, json=move)
    assert again.status_code == 200 and again.json()["ended"] == [] and again.json()["created"] == 0


@pytest.mark.parametrize(
    "mode,kpi,flag",
    [("none", "0.00", None), ("prorate_target", "96.66", "kpi_prorated"), ("exclude", None, "kpi_excluded")],
)
async def test_scores_after_a_move_under_each_mode(team, mode, kpi, flag):
    t = team
    resp = await t.client.post("/api/v1/scoring-policies", headers=t.admin, json={**POLICY, "kpi_proration": mode})
    assert resp.status_code == 201, resp.text
    w = await world(t)
    old, new = await moved_by_hand(t, w)
    got = await score(t, w["cycle"])
    assert got["components"]["kpi"] == kpi, got
    explained = got["explanation"]["components"]["kpi"]
    if flag is not None:
        assert flag in got["flags"]
    if mode == "exclude":
        assert got["status"] == "insufficient_data"
        assert {a["code"] for a in explained["left_out"]} == {"GMV", "TICKETS"}
        assert explained["left_out"][0]["proration"]["left_out"] is True
        return
    by_code = {a["code"]: a for a in explained["assignments"]}
    # the measurements on the wrong side of the move are not counted
    assert (by_code["GMV"]["actual"], by_code["TICKETS"]["actual"]) == ("560000", "270")
    assert by_code["GMV"]["window"] == {"from": "2026-04-01", "to": "2026-05-15"}
    assert by_code["TICKETS"]["window"] == {"from": "2026-05-16", "to": "2026-06-30"}
    if mode == "prorate_target":
        assert (by_code["GMV"]["proration"]["days_present"], by_code["GMV"]["proration"]["period_days"]) == (45, 91)
        assert by_code["TICKETS"]["proration"]["days_present"] == 46
    assert (await read(t, old))["actual"] == "560000" and (await read(t, new))["actual"] == "270"


async def test_a_kpi_points_bonus_follows_the_prorated_component(team):
    t = team
    resp = await t.client.post(
        "/api/v1/scoring-policies", headers=t.admin, json={**POLICY, "kpi_proration": "prorate_target"}
    )
    assert resp.status_code == 201, resp.text
    w = await world(t)
    await moved_by_hand(t, w)
    await set_employee(t, "alice", compensation=comp(100000))
    bands = [
        {"label": "meets", "min": "100", "multiplier": "1.0"},
        {"label": "partial", "min": "80", "multiplier": "0.5"},
    ]
    plan = await make_plan(t, w["cycle"], name="KPI bonus", params={"basis": "kpi_points", "kpi_bands": bands})
    await run(t, plan)
    alice = by_employee(t, await results_of(t, plan))["alice"]
    why = alice["inputs"]["multiplier"]
    assert (why["basis"], why["band"], why["kpi_points_rounded"]) == ("kpi_points", "partial", "96.66")
    assert alice["amount_minor"] == 50000


async def test_graphql_dates_and_the_move(team):
    t = team
    w = await world(t)
    cycle, defs = w["cycle"], w["defs"]
    create = """mutation($input: KpiAssignmentInput!) {
      createKpiAssignment(input: $input) { id effectiveFrom effectiveTo actual } }"""
    variables = {
        "input": {
            "employeeId": t.employees["alice"]["id"],
            "cycleId": cycle["id"],
            "definitionId": defs["CSAT"]["id"],
            "method": "RATIO",
            "target": "4.5",
            "effectiveFrom": "2026-05-16",
        }
    }
    resp = await t.client.post("/graphql", headers=t.hr, json={"query": create, "variables": variables})
    made = resp.json()["data"]["createKpiAssignment"]
    assert (made["effectiveFrom"], made["effectiveTo"]) == ("2026-05-16", None)
    variables["input"] |= {"definitionId": defs["GMV"]["id"], "effectiveTo": "2026-04-01", "effectiveFrom": None}
    variables["input"]["effectiveTo"] = "2026-07-01"
    resp = await t.client.post("/graphql", headers=t.hr, json={"query": create, "variables": variables})
    (error,) = resp.json()["errors"]
    assert error["extensions"]["status"] == 422, error

    sales, support = await make_position(t, "Sales"), await make_position(t, "Support")
    for pos, d, params in ((sales, "GMV", GMV), (support, "TICKETS", TICKETS)):
        r = await t.client.post(
            "/api/v1/kpi-templates",
            headers=t.hr,
            json={"position_id": pos["id"], "items": [{"definition_id": defs[d]["id"], **params}]},
        )
        assert r.status_code == 201, r.text
    await place(t, "bob", position_id=sales["id"])
    apply = """mutation($cycle: ID!, $emps: [ID!]!, $from: Date) {
      applyKpiTemplates(cycleId: $cycle, employeeIds: $emps, effectiveFrom: $from) {
        created skipped ended { assignmentId definitionId effectiveTo } } }"""
    bob = t.employees["bob"]["id"]
    resp = await t.client.post(
        "/graphql", headers=t.hr, json={"query": apply, "variables": {"cycle": cycle["id"], "emps": [bob]}}
    )
    assert resp.json()["data"]["applyKpiTemplates"]["ended"] == [], resp.text
    await place(t, "bob", position_id=support["id"])
    resp = await t.client.post(
        "/graphql",
        headers=t.hr,
        json={"query": apply, "variables": {"cycle": cycle["id"], "emps": [bob], "from": "2026-05-16"}},
    )
    got = resp.json()["data"]["applyKpiTemplates"]
    assert got["created"] == 1 and got["ended"][0]["effectiveTo"] == "2026-05-15", resp.text
    assert got["ended"][0]["definitionId"] == defs["GMV"]["id"]
