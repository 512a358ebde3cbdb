"""The policy option `kpi_proration` through REST and GraphQL: a person hired in the
middle of the quarter has the GMV target prorated (or no KPI component at all), in one
score, in a page of scores, and in the stored snapshots of a recompute."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from service.db import database
from service.scoring.models import ScoreSnapshot
from tests.conftest import Tenant
from tests.kpi.conftest import close_cycle, make_assignment, make_cycle, make_definition, measure

POLICY = {"name": "org", "scope": {"kind": "organization"}, "w_kpi": "0.6", "w_okr": "0.3", "w_eval": "0.1"}
GMV = {"method": "banded", "weight": "1", "threshold": "1000000", "target": "1200000", "stretch": "1400000"}


async def setup(t: Tenant, mode: str) -> tuple[dict[str, Any], dict[str, Any]]:
    resp = await t.client.post("/api/v1/scoring-policies", headers=t.admin, json={**POLICY, "kpi_proration": mode})
    assert resp.status_code == 201, resp.text
    cycle = await make_cycle(t)  # 2026-10-01 to 2026-12-31, 92 days
    gmv = await make_definition(t, "GMV", "higher_is_better", "sum")
    for key, hired in (("alice", "2026-11-01"), ("bob", "2026-10-01")):
        patched = await t.client.patch(
            f"/api/v1/employees/{t.employees[key]['id']}", headers=t.hr, json={"hire_date": hired}
        )
        assert patched.status_code == 200, patched.text
        asg = await make_assignment(t, key, cycle, gmv, **GMV)
        await measure(t, asg, "790000", "2026-12-01")
    return resp.json(), cycle


async def score(t: Tenant, cycle: dict[str, Any], key: str) -> dict[str, Any]:
    resp = await t.client.get(f"/api/v1/cycles/{cycle['id']}/scores/{t.employees[key]['id']}", headers=t.hr)
    assert resp.status_code == 200, resp.text
    return resp.json()


async def test_prorate_target_scales_the_target_of_someone_hired_mid_quarter(team):
    t = team
    policy, cycle = await setup(t, "prorate_target")
    assert policy["kpi_proration"] == "prorate_target"
    alice, bob = await score(t, cycle, "alice"), await score(t, cycle, "bob")
    # alice: 790000 against 61/92 of every threshold (checked exactly in test_kpi_proration.py)
    assert alice["components"]["kpi"] == "98.30" and "kpi_prorated" in alice["flags"]
    (a,) = alice["explanation"]["components"]["kpi"]["assignments"]
    assert (a["proration"]["days_present"], a["proration"]["period_days"]) == (61, 92)
    # bob was there from the first day: 790000 is below the whole-quarter threshold
    assert bob["components"]["kpi"] == "0.00" and "kpi_prorated" not in bob["flags"]
    page = await t.client.get(f"/api/v1/cycles/{cycle['id']}/scores", headers=t.hr, params={"limit": 50})
    listed = {s["employee_id"]: s for s in page.json()["items"]}
    assert listed[t.employees["alice"]["id"]]["components"]["kpi"] == "98.30"
    job = await t.client.post(f"/api/v1/cycles/{cycle['id']}/scores/recompute", headers=t.hr)
    assert job.json()["status"] == "succeeded", job.text
    async with database.sessions() as session:
        snap = (
            await session.execute(
                select(ScoreSnapshot.flags).where(
                    ScoreSnapshot.org_id == t.org_id, ScoreSnapshot.employee_id == uuid.UUID(t.employees["alice"]["id"])
                )
            )
        ).scalar_one()
    assert "kpi_prorated" in snap
    # closing the cycle freezes the prorated result as the score of record
    await close_cycle(t, cycle)
    official = await score(t, cycle, "alice")
    assert official["official"] is True and official["components"]["kpi"] == "98.30"
    assert official["explanation"]["components"]["kpi"]["assignments"][0]["proration"]["days_present"] == 61


async def test_exclude_leaves_the_kpi_component_out_and_reweights(team):
    t = team
    policy, cycle = await setup(t, "exclude")
    alice, bob = await score(t, cycle, "alice"), await score(t, cycle, "bob")
    assert alice["components"]["kpi"] is None and alice["status"] == "insufficient_data"
    assert "kpi_excluded" in alice["flags"]
    assert bob["components"]["kpi"] == "0.00" and "kpi_excluded" not in bob["flags"]
    # an edit back to none makes a new version that counts alice's KPI as assigned
    url = f"/api/v1/scoring-policies/{policy['id']}"
    resp = await t.client.patch(url, headers=t.admin, json={"kpi_proration": "none"})
    assert resp.status_code == 200 and resp.json()["version"] == 2 and resp.json()["kpi_proration"] == "none"
    assert (await score(t, cycle, "alice"))["components"]["kpi"] == "0.00"


async def test_the_option_is_validated_and_shown_over_graphql(team):
    t = team
    bad = await t.client.post("/api/v1/scoring-policies", headers=t.admin, json={**POLICY, "kpi_proration": "half"})
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")
    assert bad.json()["errors"][0]["loc"] == ["body", "kpi_proration"]
    made = await t.client.post("/api/v1/scoring-policies", headers=t.admin, json=POLICY)
    assert made.json()["kpi_proration"] == "none"
    q = "query($id: ID!) { scoringPolicy(id: $id) { kpiProration params } }"
    resp = await t.client.post("/graphql", headers=t.hr, json={"query": q, "variables": {"id": made.json()["id"]}})
    got = resp.json()["data"]["scoringPolicy"]
    assert got["kpiProration"] == "NONE" and got["params"]["kpi_proration"] == "none"
    await t.client.patch(
        f"/api/v1/scoring-policies/{made.json()['id']}", headers=t.admin, json={"kpi_proration": "prorate_target"}
    )
    resp = await t.client.post("/graphql", headers=t.hr, json={"query": q, "variables": {"id": made.json()["id"]}})
    assert resp.json()["data"]["scoringPolicy"]["kpiProration"] == "PRORATE_TARGET"
