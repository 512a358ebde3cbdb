"""Find and sort on `GET /api/v1/kpi-assignments`: `q` on the KPI definition's name and
code, the balanced-scorecard perspective (the definition's), the employee's department
and manager subtree, every sort key both ways (keys of the definition and of the
employee, a nullable decimal), and visibility: an employee finds only their own."""

from __future__ import annotations

import pytest

from tests.conftest import Tenant
from tests.kpi.conftest import make_assignment, make_cycle, make_definition
from tests.listing import expected, walk

A = "/api/v1/kpi-assignments"
KINDS = {
    "name": "text",
    "code": "text",
    "perspective": "text",
    "family_name": "text",
    "given_name": "text",
    "weight": "decimal",
    "target": "decimal",
    "created_at": "datetime",
    "updated_at": "datetime",
}


async def world(team: Tenant) -> tuple[dict, dict, dict]:
    """(assignments by key, definitions by id, employees by id)."""
    dep = await team.client.post("/api/v1/departments", headers=team.hr, json={"name": "Sales"})
    for who, family in (("alice", "Zimmer"), ("bob", "abbot"), ("carol", "Miller"), ("dave", "miller")):
        fields = {"family_name": family, **({"department_id": dep.json()["id"]} if who in ("bob", "carol") else {})}
        resp = await team.client.patch(f"/api/v1/employees/{team.employees[who]['id']}", headers=team.hr, json=fields)
        assert resp.status_code == 200, resp.text
        team.employees[who] = resp.json()
    cycle = await make_cycle(team)
    gmv = await make_definition(team, "gmv", name="Gross 100% merchandise", perspective="financial")
    nps = await make_definition(team, "nps_score", name="Net promoter", perspective="customer")
    fit = await make_definition(team, "fit", name="Fit rate", direction="target_range", aggregation="last")
    ratio = {"method": "ratio"}
    made = {
        "a_gmv": await make_assignment(team, "alice", cycle, gmv, target="1200000.50", weight="40", **ratio),
        "a_nps": await make_assignment(team, "alice", cycle, nps, target="9", weight="20", **ratio),
        "b_gmv": await make_assignment(team, "bob", cycle, gmv, target="1200000.5", weight="2.5", **ratio),
        "b_fit": await make_assignment(
            team, "bob", cycle, fit, method="range", range_low="1", range_high="2", tolerance="1", weight="20"
        ),
        "c_nps": await make_assignment(team, "carol", cycle, nps, target="70", weight="20", **ratio),
        "d_fit": await make_assignment(
            team, "dave", cycle, fit, method="range", range_low="3", range_high="4", tolerance="1", weight="1"
        ),
    }
    definitions = {d["id"]: d for d in (gmv, nps, fit)}
    return made, definitions, {e["id"]: e for e in team.employees.values()}


@pytest.mark.parametrize("key", sorted(KINDS))
async def test_every_sort_key_both_ways(team: Tenant, key):
    _, definitions, people = await world(team)
    everything = (await team.client.get(A, headers=team.hr, params={"limit": 500})).json()["items"]
    assert len(everything) == 6

    def value(item: dict, name: str):
        if name in ("name", "code", "perspective"):
            return definitions[item["definition_id"]][name]
        if name in ("family_name", "given_name"):
            return people[item["employee_id"]][name]
        return item[name]

    for sort in (key, f"-{key}"):
        got = await walk(team.client, A, team.hr, {"sort": sort}, limit=2)
        assert [i["id"] for i in got] == expected(everything, sort, KINDS, value), sort


async def test_q_perspective_department_and_subtree(team: Tenant):
    made, _, _ = await world(team)
    emp = {k: v["id"] for k, v in team.employees.items()}
    dep = team.employees["bob"]["department_id"]

    async def found(headers=None, **params) -> set[str]:
        resp = await team.client.get(A, headers=headers or team.hr, params=params)
        assert resp.status_code == 200, resp.text
        got = {i["id"] for i in resp.json()["items"]}
        return {k for k, v in made.items() if v["id"] in got}

    assert await found(q="GROSS") == {"a_gmv", "b_gmv"}
    assert await found(q="100%") == {"a_gmv", "b_gmv"}
    assert await found(q="nps_") == {"a_nps", "c_nps"}  # the code, `_` itself
    assert await found(q="npsx") == set()
    assert await found(q="net promoter") == {"a_nps", "c_nps"}
    assert await found(perspective="financial") == {"a_gmv", "b_gmv"}
    assert await found(perspective="customer", q="net") == {"a_nps", "c_nps"}
    assert await found(perspective="internal_process") == set()
    assert await found(department_id=dep) == {"b_gmv", "b_fit", "c_nps"}
    assert await found(manager_id=emp["boss"]) == {"c_nps"}
    assert await found(manager_id=emp["boss"], subtree="true") == {"a_gmv", "a_nps", "b_gmv", "b_fit", "c_nps"}
    assert await found(manager_id=emp["lead"], subtree="true", department_id=dep) == {"b_gmv", "b_fit"}
    # visibility: the filters narrow what the caller may list, never widen it
    assert await found(team.employee("alice")) == {"a_gmv", "a_nps"}
    assert await found(team.employee("alice"), q="net") == {"a_nps"}
    assert await found(team.employee("alice"), manager_id=emp["boss"], subtree="true") == {"a_gmv", "a_nps"}
    assert await found(team.employee("carol"), q="gross") == set()
    assert await found(team.employee("lead"), perspective="financial") == {"a_gmv", "b_gmv"}
    assert await found(team.employee("lead"), manager_id=emp["boss"]) == set()  # carol is not lead's report


async def test_sort_keys_of_related_rows_and_cursor_rules(team: Tenant):
    await world(team)
    first = await team.client.get(A, headers=team.hr, params={"sort": "code,-target", "limit": 1})
    assert first.status_code == 200, first.text
    cursor = first.json()["next_cursor"]
    again = await team.client.get(A, headers=team.hr, params={"sort": "code,target", "cursor": cursor})
    assert again.status_code == 422 and again.json()["errors"][0]["loc"] == ["query", "cursor"]
    unknown = await team.client.get(A, headers=team.hr, params={"sort": "actual"})
    assert unknown.status_code == 422 and "'actual'" in unknown.json()["detail"]
