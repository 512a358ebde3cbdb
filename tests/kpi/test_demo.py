"""The KPI demo data loads into an organization shaped like service/demo.py's, twice
without adding anything, satisfies the API's rules, and spreads points believably."""

from __future__ import annotations

import datetime as dt
import uuid

from service.db import database
from service.demo import DEPARTMENTS, EMPLOYEES, POSITIONS
from service.kpi import demo
from service.org.models import Department, Employee, Position
from tests.conftest import Tenant


async def _demo_org(tenant: Tenant):
    org_id = tenant.org_id

    def make_id(name: str) -> uuid.UUID:
        return uuid.uuid5(org_id, name)

    async with database.sessions() as session:
        for key, name, parent in DEPARTMENTS:
            session.add(
                Department(
                    org_id=org_id,
                    id=make_id("dep:" + key),
                    name=name,
                    parent_id=make_id("dep:" + parent) if parent else None,
                )
            )
            await session.flush()
        for key, name, level, family in POSITIONS:
            session.add(Position(org_id=org_id, id=make_id("pos:" + key), name=name, level=level, job_family=family))
        await session.flush()
        for ext, given, family, dep, pos, mgr, _salary, _pct in EMPLOYEES:
            session.add(
                Employee(
                    org_id=org_id,
                    id=make_id("emp:" + ext),
                    external_id=ext,
                    email=f"{ext}@demo.example",
                    given_name=given,
                    family_name=family,
                    department_id=make_id("dep:" + dep),
                    position_id=make_id("pos:" + pos),
                    manager_id=make_id("emp:" + mgr) if mgr else None,
                    status="active",
                    hire_date=dt.date(2021, 3, 1),
                )
            )
            await session.flush()
        await demo.load(session, org_id, make_id)
        await demo.load(session, org_id, make_id)  # idempotent
        await session.commit()
    return make_id


async def test_demo_kpis(tenant: Tenant):
    make_id = await _demo_org(tenant)
    q4 = str(make_id("cycle:FY2026-Q4"))
    cycle = await tenant.client.get(f"/api/v1/cycles/{q4}", headers=tenant.hr)
    assert cycle.json()["start_date"] == "2026-10-01" and cycle.json()["end_date"] == "2026-12-31"
    resp = await tenant.client.get("/api/v1/kpi-assignments", headers=tenant.hr, params={"cycle_id": q4, "limit": 500})
    items = resp.json()["items"]
    assert len(items) == 4 * 4 + 2 + 2 * 5
    assert all(not a["missing_data"] for a in items)
    by = {(a["employee_id"], a["kpi_code"]): a for a in items}
    mei = str(make_id("emp:E008"))
    assert [by[(mei, c)]["points"] for c in ("GMV", "RETURN_RATE", "CSAT", "CONVERSION")] == [
        "97.00",
        "103.33",
        "80.00",
        "103.33",
    ]
    points = sorted(float(a["points"]) for a in items)
    assert points[0] == 0 and points[-1] == 120 and len(set(points)) > 12
    kenji = str(make_id("emp:E013"))
    assert by[(kenji, "SAFETY_INCIDENTS")]["veto_triggered"] is True
    templates = await tenant.client.get("/api/v1/kpi-templates", headers=tenant.hr)
    assert len(templates.json()["items"]) == 3
    [lead_tpl] = [tpl for tpl in templates.json()["items"] if tpl["level"] is not None]
    assert (lead_tpl["level"], lead_tpl["position_id"], len(lead_tpl["items"])) == ("lead", None, 2)
    # the team leads' position has no template of its own: the `lead` level's applies to them
    leads = [str(make_id("emp:E006")), str(make_id("emp:E007"))]
    applied = await tenant.client.post(
        "/api/v1/kpi-templates/apply", headers=tenant.hr, json={"cycle_id": q4, "employee_ids": [mei, *leads]}
    )
    assert applied.status_code == 201, applied.text
    by_employee: dict[str, set[str]] = {}
    for a in applied.json()["assignments"]:
        by_employee.setdefault(a["employee_id"], set()).add(a["template_id"])
    assert by_employee == {
        mei: {str(make_id("kpi:tpl:ecom-spec"))},
        **{e: {lead_tpl["id"]} for e in leads},
    }
    # the employee sees their own KPIs, with the measurements behind them
    mine = await tenant.client.get("/api/v1/kpi-assignments", headers=tenant.as_("employee", emp=mei))
    assert {a["kpi_code"] for a in mine.json()["items"]} == {"GMV", "RETURN_RATE", "CSAT", "CONVERSION"}
