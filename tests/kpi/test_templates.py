"""Position templates: items validated like assignments, and applying a template is
idempotent and set-based."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import event

from service.db import database
from tests.kpi.conftest import close_cycle, make_definition


@pytest.fixture
async def library(team, quarter):
    pos = (await team.client.post("/api/v1/positions", headers=team.hr, json={"name": "E-commerce Specialist"})).json()
    gmv = await make_definition(team, "GMV", "higher_is_better", "sum")
    rr = await make_definition(team, "RR", "lower_is_better", "avg")
    csat = await make_definition(team, "CSAT", "target_range", "last")
    items = [
        {
            "definition_id": gmv["id"],
            "weight": 40,
            "method": "banded",
            "threshold": 1000000,
            "target": 1200000,
            "stretch": 1400000,
            "rewardable": True,
        },
        {"definition_id": rr["id"], "weight": 20, "method": "banded", "threshold": "0.05", "target": "0.04"},
        {
            "definition_id": csat["id"],
            "weight": 20,
            "method": "range",
            "range_low": "4.5",
            "range_high": "4.8",
            "tolerance": "0.25",
            "veto": True,
        },
    ]
    return {"pos": pos, "defs": [gmv, rr, csat], "items": items, "cycle": quarter}


async def make_template(t, library):
    resp = await t.client.post(
        "/api/v1/kpi-templates", headers=t.hr, json={"position_id": library["pos"]["id"], "items": library["items"]}
    )
    assert resp.status_code == 201, resp.text
    return resp.json()


async def test_create_read_patch(team, library):
    tpl = await make_template(team, library)
    assert tpl["name"] == "E-commerce Specialist"
    assert [i["definition_id"] for i in tpl["items"]] == [d["id"] for d in library["defs"]]
    assert tpl["items"][0]["weight"] == "40" and tpl["items"][0]["stretch"] == "1400000"
    assert tpl["items"][2]["veto"] is True and tpl["items"][0]["rewardable"] is True
    url = f"/api/v1/kpi-templates/{tpl['id']}"
    got = await team.client.get(url, headers=team.employee("alice"))
    assert got.status_code == 200 and got.headers["etag"] == '"1"'
    listed = await team.client.get(
        "/api/v1/kpi-templates", headers=team.hr, params={"position_id": library["pos"]["id"]}
    )
    assert [t["id"] for t in listed.json()["items"]] == [tpl["id"]]
    patched = await team.client.patch(
        url, headers={**team.hr, "If-Match": '"1"'}, json={"name": "Specialist KPIs", "items": library["items"][:1]}
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["name"] == "Specialist KPIs" and len(patched.json()["items"]) == 1
    assert patched.headers["etag"] == '"2"'
    stale = await team.client.patch(url, headers={**team.hr, "If-Match": '"1"'}, json={"name": "x"})
    assert stale.status_code == 412


async def test_items_are_validated(team, library):
    items = library["items"]
    bad = [
        ([{**items[0], "target": 900000}], ["body", "items", 0, "target"]),
        ([items[0], {**items[2], "method": "ratio", "target": 1}], ["body", "items", 1, "method"]),
        ([items[0], items[0]], ["body", "items", 1, "definition_id"]),
        ([{**items[0], "definition_id": str(uuid.uuid4())}], ["body", "items", 0, "definition_id"]),
        ([{**items[0], "weight": 0}], ["body", "items", 0, "weight"]),
    ]
    for body_items, loc in bad:
        resp = await team.client.post(
            "/api/v1/kpi-templates", headers=team.hr, json={"position_id": library["pos"]["id"], "items": body_items}
        )
        assert resp.status_code == 422, resp.text
        assert loc in [e["loc"] for e in resp.json()["errors"]], (loc, resp.json())
    resp = await team.client.post(
        "/api/v1/kpi-templates", headers=team.hr, json={"position_id": str(uuid.uuid4()), "items": []}
    )
    assert resp.status_code == 422 and resp.json()["errors"][0]["loc"] == ["body", "position_id"]


async def test_apply_is_idempotent(team, library):
    tpl = await make_template(team, library)
    emps = [team.employees[k]["id"] for k in ("alice", "bob")]
    url = f"/api/v1/kpi-templates/{tpl['id']}/apply"
    first = await team.client.post(
        url, headers=team.hr, json={"cycle_id": library["cycle"]["id"], "employee_ids": emps}
    )
    assert first.status_code == 201, first.text
    body = first.json()
    assert (body["created"], body["skipped"]) == (6, 0) and len(set(body["assignment_ids"])) == 6
    again = await team.client.post(
        url,
        headers=team.hr,
        json={"cycle_id": library["cycle"]["id"], "employee_ids": emps + [team.employees["carol"]["id"]]},
    )
    assert again.status_code == 201
    body2 = again.json()
    assert (body2["created"], body2["skipped"]) == (3, 6)
    assert body2["assignment_ids"][:6] == body["assignment_ids"]
    third = await team.client.post(
        url, headers=team.hr, json={"cycle_id": library["cycle"]["id"], "employee_ids": emps}
    )
    assert third.status_code == 200 and third.json()["created"] == 0
    listed = await team.client.get(
        "/api/v1/kpi-assignments", headers=team.hr, params={"employee_id": emps[0], "cycle_id": library["cycle"]["id"]}
    )
    items = listed.json()["items"]
    assert len(items) == 3 and all(i["template_id"] == tpl["id"] for i in items)
    gmv = next(i for i in items if i["kpi_code"] == "GMV")
    assert (gmv["weight"], gmv["threshold"], gmv["rewardable"]) == ("40", "1000000", True)
    assert gmv["missing_data"] is True


async def test_apply_is_set_based(team, library):
    tpl = await make_template(team, library)
    for n in range(30):
        await team.add_employee(f"e{n}")
    emps = [team.employees[f"e{n}"]["id"] for n in range(30)]
    statements: list[str] = []

    def on(_c, _cur, statement, *_a):
        statements.append(statement)

    engine = database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", on)
    try:
        resp = await team.client.post(
            f"/api/v1/kpi-templates/{tpl['id']}/apply",
            headers=team.hr,
            json={"cycle_id": library["cycle"]["id"], "employee_ids": emps},
        )
    finally:
        event.remove(engine, "before_cursor_execute", on)
    assert resp.json()["created"] == 90
    assert sum(s.startswith("INSERT INTO kpi_assignments") for s in statements) == 1
    assert sum("FROM kpi_assignments" in s for s in statements) == 1
    assert len(statements) <= 12  # 10, plus the lock on official results (service/scoring/locks.py)


async def test_apply_checks(team, library):
    tpl = await make_template(team, library)
    url = f"/api/v1/kpi-templates/{tpl['id']}/apply"
    alice = team.employees["alice"]["id"]
    unknown = await team.client.post(
        url, headers=team.hr, json={"cycle_id": library["cycle"]["id"], "employee_ids": [alice, str(uuid.uuid4())]}
    )
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["loc"] == ["body", "employee_ids", 1]
    nocycle = await team.client.post(
        url, headers=team.hr, json={"cycle_id": str(uuid.uuid4()), "employee_ids": [alice]}
    )
    assert nocycle.status_code == 422 and nocycle.json()["errors"][0]["loc"] == ["body", "cycle_id"]
    # the manager of alice may apply for her, not for carol (outside the subtree)
    lead = team.employee("lead")
    ok = await team.client.post(url, headers=lead, json={"cycle_id": library["cycle"]["id"], "employee_ids": [alice]})
    assert ok.status_code == 201
    carol = await team.client.post(
        url, headers=lead, json={"cycle_id": library["cycle"]["id"], "employee_ids": [team.employees["carol"]["id"]]}
    )
    assert carol.status_code == 403
    await close_cycle(team, library["cycle"])
    closed = await team.client.post(
        url, headers=team.hr, json={"cycle_id": library["cycle"]["id"], "employee_ids": [team.employees["bob"]["id"]]}
    )
    assert closed.status_code == 409
