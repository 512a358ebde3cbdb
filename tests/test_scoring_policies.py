"""Scoring policies: validation, immutable versions, scope precedence, pinning."""

import pytest

BASE = {"w_kpi": "0.6", "w_okr": "0.3", "w_eval": "0.1"}


async def make_policy(t, scope, name="p", **params):
    body = {"name": name, "scope": scope, **BASE, **params}
    resp = await t.client.post("/api/v1/scoring-policies", headers=t.admin, json=body)
    assert resp.status_code == 201, resp.text
    return resp.json()


async def make_cycle(t, start="2026-01-01", end="2026-03-31"):
    resp = await t.client.post(
        "/api/v1/cycles",
        headers=t.hr,
        json={"name": "Q1", "cadence": "quarterly", "start_date": start, "end_date": end},
    )
    assert resp.status_code == 201
    return resp.json()


async def test_policy_defaults_are_spec_defaults(tenant):
    p = await make_policy(tenant, {"kind": "organization"})
    assert p["version"] == 1
    assert (p["okr_par_committed"], p["okr_par_aspirational"], p["okr_cap"]) == ("1.0", "0.7", "1.2")
    assert (p["kpi_threshold_points"], p["kpi_target_points"], p["kpi_cap"]) == ("60", "100", "120")
    assert p["rating_scale"] == 5
    assert [(b["rating"], b["min"]) for b in p["bands"]] == [
        ("S", "110"),
        ("A", "95"),
        ("B", "80"),
        ("C", "60"),
        ("D", "0"),
    ]


@pytest.mark.parametrize(
    "params,loc_hint",
    [
        ({"w_kpi": "0.6", "w_okr": "0.3", "w_eval": "0.2"}, "must equal 1"),
        ({"w_kpi": "-0.1", "w_okr": "0.9", "w_eval": "0.2"}, "w_kpi"),
        ({"bands": [{"rating": "A", "min": 50}, {"rating": "B", "min": 80}]}, "descending"),
        ({"okr_par_aspirational": "0"}, "okr_par_aspirational"),
        ({"okr_par_committed": "-1"}, "okr_par_committed"),
        (
            {
                "distribution": {
                    "mode": "enforced",
                    "bands": [
                        {"rating": "S", "pct": "0.5"},
                        {"rating": "A", "pct": "0.4"},
                        {"rating": "B", "pct": "0"},
                        {"rating": "C", "pct": "0"},
                        {"rating": "D", "pct": "0"},
                    ],
                }
            },
            "sum to 1",
        ),
        ({"kpi_threshold_points": 100, "kpi_target_points": 100}, "kpi_threshold_points"),
        ({"unknown_field": 1}, "unknown_field"),
    ],
)
async def test_policy_validation(tenant, params, loc_hint):
    body = {"name": "bad", "scope": {"kind": "organization"}, **BASE, **params}
    resp = await tenant.client.post("/api/v1/scoring-policies", headers=tenant.admin, json=body)
    assert resp.status_code == 422, resp.text
    assert loc_hint in resp.text
    listed = await tenant.client.get("/api/v1/scoring-policies", headers=tenant.admin)
    assert listed.json()["items"] == []


async def test_edit_makes_new_immutable_version(tenant):
    p = await make_policy(tenant, {"kind": "organization"})
    url = f"/api/v1/scoring-policies/{p['id']}"
    resp = await tenant.client.patch(url, headers=tenant.admin, json={"w_kpi": "0.5", "w_okr": "0.4"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["version"] == 2 and resp.json()["w_kpi"] == "0.5"
    old = await tenant.client.get(url + "?version=1", headers=tenant.admin)
    assert old.json()["version"] == 1 and old.json()["w_kpi"] == "0.6"
    bad = await tenant.client.patch(url, headers=tenant.admin, json={"w_kpi": "0.9"})
    assert bad.status_code == 422
    assert (await tenant.client.get(url, headers=tenant.admin)).json()["version"] == 2
    stale = await tenant.client.patch(url, headers={**tenant.admin, "If-Match": '"1"'}, json={"name": "x"})
    assert stale.status_code == 412


async def test_one_active_policy_per_scope(tenant):
    await make_policy(tenant, {"kind": "organization"})
    resp = await tenant.client.post(
        "/api/v1/scoring-policies",
        headers=tenant.admin,
        json={"name": "again", "scope": {"kind": "organization"}, **BASE},
    )
    assert resp.status_code == 409


async def test_scope_must_exist(tenant):
    resp = await tenant.client.post(
        "/api/v1/scoring-policies",
        headers=tenant.admin,
        json={"name": "x", "scope": {"kind": "department", "id": "01900000-0000-7000-8000-000000000000"}, **BASE},
    )
    assert resp.status_code == 422


@pytest.mark.parametrize(
    "who,read,write", [("admin", 200, 201), ("hr", 200, 403), ("auditor", 200, 403), ("employee", 403, 403)]
)
async def test_policy_authorization(tenant, who, read, write):
    headers = tenant.as_(who)
    assert (await tenant.client.get("/api/v1/scoring-policies", headers=headers)).status_code == read
    resp = await tenant.client.post(
        "/api/v1/scoring-policies", headers=headers, json={"name": "x", "scope": {"kind": "organization"}, **BASE}
    )
    assert resp.status_code == write


async def test_precedence_employee_position_department_org(team):
    t = team
    parent = (await t.client.post("/api/v1/departments", headers=t.hr, json={"name": "Parent"})).json()
    child = (
        await t.client.post("/api/v1/departments", headers=t.hr, json={"name": "Child", "parent_id": parent["id"]})
    ).json()
    pos = (await t.client.post("/api/v1/positions", headers=t.hr, json={"name": "Analyst"})).json()
    for key in ("alice", "bob", "carol"):
        await t.client.patch(
            f"/api/v1/employees/{t.employees[key]['id']}", headers=t.hr, json={"department_id": child["id"]}
        )
    await t.client.patch(f"/api/v1/employees/{t.employees['bob']['id']}", headers=t.hr, json={"position_id": pos["id"]})
    org_p = await make_policy(t, {"kind": "organization"}, name="org")
    dep_p = await make_policy(t, {"kind": "department", "id": parent["id"]}, name="dep")
    pos_p = await make_policy(t, {"kind": "position", "id": pos["id"]}, name="pos")
    emp_p = await make_policy(t, {"kind": "employee", "id": t.employees["carol"]["id"]}, name="emp")
    cycle = await make_cycle(t)
    expected = {"alice": dep_p["id"], "bob": pos_p["id"], "carol": emp_p["id"], "dave": org_p["id"]}
    for key, policy_id in expected.items():
        resp = await t.client.get(f"/api/v1/cycles/{cycle['id']}/scores/{t.employees[key]['id']}", headers=t.hr)
        assert resp.status_code == 200, resp.text
        assert resp.json()["policy"]["id"] == policy_id, key


async def test_builtin_policy_when_none(team):
    cycle = await make_cycle(team)
    resp = await team.client.get(
        f"/api/v1/cycles/{cycle['id']}/scores/{team.employees['alice']['id']}", headers=team.hr
    )
    body = resp.json()
    assert body["policy"] == {"id": None, "version": 1}
    assert body["status"] == "insufficient_data" and body["final"] is None and body["rating"] is None
    assert "insufficient_data" in body["flags"]


async def test_calibration_pins_policy_versions(team):
    t = team
    p = await make_policy(t, {"kind": "organization"})
    cycle = await make_cycle(t)
    for to in ("active", "review", "calibration"):
        assert (
            await t.client.post(f"/api/v1/cycles/{cycle['id']}/transition", headers=t.hr, json={"to": to})
        ).status_code == 200
    await t.client.patch(f"/api/v1/scoring-policies/{p['id']}", headers=t.admin, json={"w_kpi": "0.2", "w_okr": "0.7"})
    other = await make_cycle(t, "2026-04-01", "2026-06-30")
    url = "/api/v1/cycles/{}/scores/" + t.employees["alice"]["id"]
    pinned = (await t.client.get(url.format(cycle["id"]), headers=t.hr)).json()
    live = (await t.client.get(url.format(other["id"]), headers=t.hr)).json()
    assert pinned["policy"] == {"id": p["id"], "version": 1}
    assert live["policy"] == {"id": p["id"], "version": 2}
    assert pinned["explanation"]["policy"]["w_kpi"] == "0.6"


async def test_scores_visibility(team):
    t = team
    cycle = await make_cycle(t)
    url = f"/api/v1/cycles/{cycle['id']}/scores"
    assert len((await t.client.get(url, headers=t.hr)).json()["items"]) == 6
    assert len((await t.client.get(url, headers=t.auditor)).json()["items"]) == 6
    lead_ids = {i["employee_id"] for i in (await t.client.get(url, headers=t.employee("lead"))).json()["items"]}
    assert lead_ids == {t.employees[k]["id"] for k in ("lead", "alice", "bob")}
    alice = (await t.client.get(url, headers=t.employee("alice"))).json()["items"]
    assert [i["employee_id"] for i in alice] == [t.employees["alice"]["id"]]
    hidden = await t.client.get(f"{url}/{t.employees['bob']['id']}", headers=t.employee("alice"))
    assert hidden.status_code == 404
    mine = await t.client.get(f"{url}/{t.employees['bob']['id']}", headers=t.employee("boss"))
    assert mine.status_code == 200
    assert (await t.client.get(url, headers=t.as_scope("payroll:read"))).json()["items"] == []


async def test_scores_cursor_pages(team):
    cycle = await make_cycle(team)
    url = f"/api/v1/cycles/{cycle['id']}/scores?limit=4"
    first = (await team.client.get(url, headers=team.hr)).json()
    second = (await team.client.get(url + f"&cursor={first['next_cursor']}", headers=team.hr)).json()
    ids = [i["employee_id"] for i in first["items"] + second["items"]]
    assert len(ids) == 6 == len(set(ids)) and second["next_cursor"] is None


async def test_recompute_inline_job(team):
    cycle = await make_cycle(team)
    url = f"/api/v1/cycles/{cycle['id']}/scores/recompute"
    assert (await team.client.post(url, headers=team.employee("alice"))).status_code == 403
    resp = await team.client.post(url, headers=team.hr)
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "succeeded" and resp.json()["employees"] == 6
    job = await team.client.get(f"/api/v1/score-jobs/{resp.json()['id']}", headers=team.hr)
    assert job.json()["status"] == "succeeded"
    events = (await team.client.get("/api/v1/audit-events", headers=team.auditor)).json()["items"]
    (recompute,) = [e for e in events if e["action"] == "scores.recompute"]  # the refused call left none
    assert recompute["entity_id"] == cycle["id"] and recompute["after"] == {"job_id": resp.json()["id"]}


async def test_recompute_reads_with_bulk_settings_inside_its_transaction_only(team):
    """On PostgreSQL a recompute sorts a cycle's rows in memory and plans without JIT
    (service/db.py `bulk_read_settings`); `SET LOCAL` ends with its transaction, so the
    pooled connection goes back with the server's defaults. SQLite sends neither."""
    from service.db import BULK_WORK_MEM
    from tests.conftest import BACKEND, statement_hook

    cycle = await make_cycle(team)
    sent: list[str] = []
    with statement_hook(sent.append):
        resp = await team.client.post(f"/api/v1/cycles/{cycle['id']}/scores/recompute", headers=team.hr)
    assert resp.status_code == 200, resp.text
    settings = [s for s in sent if s.startswith("SET LOCAL")]
    if BACKEND != "postgresql":
        assert settings == []
        return
    assert settings == [f"SET LOCAL work_mem = '{BULK_WORK_MEM}'", "SET LOCAL jit = off"]
    loaders = [i for i, s in enumerate(sent) if "check_ins" in s or "kpi_measurements" in s]
    assert loaders and sent.index(settings[-1]) < loaders[0]  # in force before the inputs are read
    from service.db import database

    async with database.engine.connect() as conn:  # a pooled connection, after the commit
        assert (await conn.exec_driver_sql("SHOW work_mem")).scalar() != BULK_WORK_MEM


async def test_recompute_background_job(team, monkeypatch):
    import asyncio

    from service.config import get_settings
    from service.scoring import jobs

    monkeypatch.setattr(get_settings(), "score_inline_max", 1)
    cycle = await make_cycle(team)
    resp = await team.client.post(f"/api/v1/cycles/{cycle['id']}/scores/recompute", headers=team.hr)
    assert resp.status_code == 202
    job_url = resp.headers["location"]
    # a runner (the worker, or the API's own loop, which the test client does not start)
    assert await jobs.drain(org_id=team.org_id) >= 1
    for _ in range(100):
        status = (await team.client.get(job_url, headers=team.hr)).json()["status"]
        if status in ("succeeded", "failed"):
            break
        await asyncio.sleep(0.05)
    assert status == "succeeded"


async def test_reweighted_weights_are_shown_to_four_places(team):
    """0.6 / 0.3 / 0.1 with no evaluation: KPI 0.6 / 0.9 = 0.6667, OKR 0.3 / 0.9 = 0.3333
    (SPEC 3: fractions shown to 4 places; the explanation keeps the exact values)."""
    from tests.kpi.conftest import make_assignment, make_definition, measure
    from tests.okr.conftest import check_in, make_kr, make_objective, publish

    t = team
    await make_policy(t, {"kind": "organization"})
    cycle = await make_cycle(t)
    sales = await make_definition(t, "sales")
    a = await make_assignment(
        t, "alice", cycle, sales, method="banded", threshold="60", target="100", stretch="120", weight="1"
    )
    await measure(t, a, 100, "2026-02-01")
    obj = await make_objective(t, cycle, "alice", title="Grow", level="company")
    kr = await make_kr(t, obj, start="0", target="10")
    await make_kr(t, obj, title="Open the second store", kind="boolean", start=None, target=None)
    obj = await publish(t, obj)
    await check_in(t, kr, value="5")
    body = (
        await t.client.get(f"/api/v1/cycles/{cycle['id']}/scores/{t.employees['alice']['id']}", headers=t.hr)
    ).json()
    assert body["weights"] == {"kpi": "0.6667", "okr": "0.3333", "eval": "0.0000"} or body["weights"] == {
        "kpi": "0.6667",
        "okr": "0.3333",
    }, body["weights"]
    assert body["explanation"]["components"]["kpi"]["weight"].startswith("0.66666666")
