"""KPI definitions: the library, unique codes, ETags, and changes refused when they
would invalidate assignments or rewrite closed results."""

from __future__ import annotations

from tests.kpi.conftest import close_cycle, make_assignment, make_cycle, make_definition, measure


async def test_create_read_list_patch(tenant):
    d = await make_definition(tenant, "GMV", unit="USD", perspective="financial")
    assert d["direction"] == "higher_is_better" and d["aggregation"] == "sum" and d["unit"] == "USD"
    url = f"/api/v1/kpi-definitions/{d['id']}"
    got = await tenant.client.get(url, headers=tenant.hr)
    assert got.status_code == 200 and got.headers["etag"] == '"1"'
    listed = await tenant.client.get("/api/v1/kpi-definitions", headers=tenant.hr, params={"code": "GMV"})
    assert [x["id"] for x in listed.json()["items"]] == [d["id"]]
    stale = await tenant.client.patch(url, headers={**tenant.hr, "If-Match": '"7"'}, json={"name": "x"})
    assert stale.status_code == 412
    ok = await tenant.client.patch(
        url, headers={**tenant.hr, "If-Match": '"1"'}, json={"name": "Gross merchandise value", "perspective": None}
    )
    assert ok.status_code == 200 and ok.headers["etag"] == '"2"'
    assert ok.json()["name"] == "Gross merchandise value" and ok.json()["perspective"] is None


async def test_duplicate_code_is_409(tenant):
    await make_definition(tenant, "GMV")
    resp = await tenant.client.post(
        "/api/v1/kpi-definitions",
        headers=tenant.hr,
        json={"code": "GMV", "name": "again", "direction": "higher_is_better", "aggregation": "sum"},
    )
    assert resp.status_code == 409
    assert resp.json()["errors"][0]["loc"] == ["body", "code"]
    other = await make_definition(tenant, "NPS")
    resp = await tenant.client.patch(f"/api/v1/kpi-definitions/{other['id']}", headers=tenant.hr, json={"code": "GMV"})
    assert resp.status_code == 409


async def test_same_code_in_another_org_is_fine(tenant, other_tenant):
    await make_definition(tenant, "GMV")
    await make_definition(other_tenant, "GMV")


async def test_bad_values_are_422(tenant):
    for body in (
        {"code": "X", "name": "x", "direction": "up", "aggregation": "sum"},
        {"code": "X", "name": "x", "direction": "higher_is_better", "aggregation": "median"},
        {"code": "X", "name": "x", "direction": "higher_is_better", "aggregation": "sum", "perspective": "vibes"},
        {"code": "has space", "name": "x", "direction": "higher_is_better", "aggregation": "sum"},
        {"code": "X", "direction": "higher_is_better", "aggregation": "sum"},
        {"code": "X", "name": "x", "direction": "higher_is_better", "aggregation": "sum", "id": "y"},
    ):
        resp = await tenant.client.post("/api/v1/kpi-definitions", headers=tenant.hr, json=body)
        assert resp.status_code == 422, body
    d = await make_definition(tenant, "Y")
    resp = await tenant.client.patch(f"/api/v1/kpi-definitions/{d['id']}", headers=tenant.hr, json={"name": None})
    assert resp.status_code == 422


async def test_direction_fixed_once_used(team, quarter):
    d = await make_definition(team, "RR", "lower_is_better", "avg")
    url = f"/api/v1/kpi-definitions/{d['id']}"
    free = await team.client.patch(url, headers=team.hr, json={"direction": "higher_is_better"})
    assert free.status_code == 200
    await make_assignment(team, "alice", quarter, free.json(), method="ratio", target=1)
    resp = await team.client.patch(url, headers=team.hr, json={"direction": "lower_is_better"})
    assert resp.status_code == 409


async def test_aggregation_fixed_once_used_in_a_closed_cycle(team):
    cycle = await make_cycle(team)
    d = await make_definition(team, "AGG", "higher_is_better", "sum")
    a = await make_assignment(team, "alice", cycle, d, method="ratio", target=1)
    await measure(team, a, 2, "2026-10-03")
    url = f"/api/v1/kpi-definitions/{d['id']}"
    assert (await team.client.patch(url, headers=team.hr, json={"aggregation": "max"})).status_code == 200
    await close_cycle(team, cycle)
    assert (await team.client.patch(url, headers=team.hr, json={"aggregation": "sum"})).status_code == 409
    assert (await team.client.patch(url, headers=team.hr, json={"name": "renamed"})).status_code == 200


async def test_definition_changes_are_audited(tenant):
    d = await make_definition(tenant, "AUD")
    await tenant.client.patch(f"/api/v1/kpi-definitions/{d['id']}", headers=tenant.hr, json={"name": "Audited"})
    resp = await tenant.client.get("/api/v1/audit-events", headers=tenant.auditor, params={"entity_id": d["id"]})
    actions = sorted(e["action"] for e in resp.json()["items"])
    assert actions == ["kpi_definition.created", "kpi_definition.updated"]
