"""Find and sort on `GET /api/v1/evaluations`: `q` on the evaluated employee, every sort
key both ways (the employee's names, NULL final scores and ratings), the manager's
subtree and department, and visibility: nobody finds an evaluation they could not list."""

from __future__ import annotations

import pytest

from tests.conftest import Tenant
from tests.evaluations.conftest import E, act, make_cycle, open_evaluation, reviewed, transition
from tests.listing import expected, walk

KINDS = {
    "family_name": "text",
    "given_name": "text",
    "status": "text",
    "final_score": "decimal",
    "final_rating": "text",
    "finalized_at": "datetime",
    "created_at": "datetime",
    "updated_at": "datetime",
}


async def world(team: Tenant) -> dict[str, dict]:
    """alice and bob finalized (100.00 A, 60.00 C), carol with her self review, dave and
    lead not started; boss has none."""
    t = team
    cycle = await make_cycle(t, status="review")
    made = {
        "alice": await reviewed(t, "alice", cycle, "lead", manager_rating=5),
        "bob": await reviewed(t, "bob", cycle, "lead", manager_rating=3),
        "carol": await open_evaluation(t, "carol", cycle),
        "dave": await open_evaluation(t, "dave", cycle),
        "lead": await open_evaluation(t, "lead", cycle),
    }
    await act(t, made["carol"], "submit_self", t.employee("carol"), self_review={"rating": 3, "comments": "ok"})
    await transition(t, cycle, "calibration")
    ids = [t.employees[k]["id"] for k in ("alice", "bob")]
    cal = await t.client.post(
        "/api/v1/calibrations", headers=t.hr, json={"cycle_id": cycle["id"], "name": "c", "employee_ids": ids}
    )
    assert (await t.client.post(f"/api/v1/calibrations/{cal.json()['id']}/finalize", headers=t.hr)).status_code == 200
    for who in ("alice", "bob"):
        made[who] = await act(t, made[who], "finalize", t.employee("lead"))
    return made


@pytest.mark.parametrize("key", sorted(KINDS))
async def test_every_sort_key_both_ways(team: Tenant, key):
    await world(team)
    people = {e["id"]: e for e in team.employees.values()}
    everything = (await team.client.get(E, headers=team.hr, params={"limit": 500})).json()["items"]
    assert {i["final_score"] for i in everything} == {"100.00", "60.00", None}

    def value(item: dict, name: str):
        return people[item["employee_id"]][name] if name in ("family_name", "given_name") else item[name]

    for sort in (key, f"-{key}"):
        got = await walk(team.client, E, team.hr, {"sort": sort}, limit=2)
        assert [i["id"] for i in got] == expected(everything, sort, KINDS, value), sort
    got = await walk(team.client, E, team.hr, {"sort": "-final_score,given_name"}, limit=1)
    assert [i["final_score"] for i in got] == ["100.00", "60.00", None, None, None]  # NULLs last, descending too


async def test_q_filters_and_visibility(team: Tenant):
    made = await world(team)
    emp = {k: v["id"] for k, v in team.employees.items()}
    dep = await team.client.post("/api/v1/departments", headers=team.hr, json={"name": "Ops"})
    await team.client.patch(
        f"/api/v1/employees/{emp['bob']}", headers=team.hr, json={"department_id": dep.json()["id"]}
    )

    async def found(headers=None, **params) -> set[str]:
        resp = await team.client.get(E, headers=headers or team.hr, params=params)
        assert resp.status_code == 200, resp.text
        got = {i["id"] for i in resp.json()["items"]}
        return {k for k, v in made.items() if v["id"] in got}

    assert await found(q="ALI") == {"alice"}
    assert await found(q="test") == set(made)  # every family name is "Test"
    assert await found(q=team.employees["dave"]["email"]) == {"dave"}
    assert await found(manager_id=emp["boss"]) == {"lead", "carol"}
    assert await found(manager_id=emp["boss"], subtree="true") == {"lead", "carol", "alice", "bob"}
    assert await found(manager_id=emp["boss"], subtree="true", department_id=dep.json()["id"]) == {"bob"}
    assert await found(manager_id=emp["lead"], subtree="true", status="finalized", q="lic") == {"alice"}
    # an employee searching finds only what they could list
    assert await found(team.employee("alice")) == {"alice"}
    assert await found(team.employee("alice"), q="bob") == set()
    assert await found(team.employee("alice"), manager_id=emp["lead"], subtree="true") == {"alice"}
    assert await found(team.employee("lead"), q="test") == {"lead", "alice", "bob"}
    assert await found(team.employee("lead"), manager_id=emp["boss"]) == {"lead"}  # carol is not visible to lead
    assert await found(team.employee("carol"), manager_id=emp["lead"], subtree="true") == set()


async def test_cursor_and_sort_refusals(team: Tenant):
    await world(team)
    first = await team.client.get(E, headers=team.hr, params={"sort": "final_score", "limit": 1})
    cursor = first.json()["next_cursor"]
    resp = await team.client.get(E, headers=team.hr, params={"sort": "-final_score", "cursor": cursor})
    assert resp.status_code == 422 and resp.json()["errors"][0]["loc"] == ["query", "cursor"]
    resp = await team.client.get(E, headers=team.hr, params={"sort": "manager_rating"})
    assert resp.status_code == 422 and "'manager_rating'" in resp.json()["detail"]  # a draft rating never orders
