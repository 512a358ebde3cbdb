"""The evaluation demo (a cycle in calibration, loaded twice without change, usable
through the API) and the score-input loader (set-based: a constant number of queries
for any number of employees)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from sqlalchemy import event, func, select

from service.auth.context import Ctx
from service.db import database
from service.demo import DEPARTMENTS, EMPLOYEES, POSITIONS
from service.evaluations import demo
from service.evaluations.models import CalibrationAdjustment, Evaluation, PeerRequest
from service.evaluations.scoring_inputs import evaluation_loader
from service.kpi import demo as kpi_demo
from service.okr import demo as okr_demo
from service.org.models import Department, Employee, Position
from service.principal import Principal
from service.scoring.service import ScoringScope
from tests.conftest import Tenant, bearer
from tests.evaluations.conftest import get


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
        await okr_demo.load(session, org_id, make_id)
        await kpi_demo.load(session, org_id, make_id)
        await demo.load(session, org_id, make_id)
        await session.commit()
    return make_id


async def _counts(org_id: uuid.UUID) -> tuple[int, ...]:
    async with database.sessions() as session:
        return tuple(
            [
                (await session.execute(select(func.count()).select_from(m).where(m.org_id == org_id))).scalar_one()
                for m in (Evaluation, PeerRequest, CalibrationAdjustment)
            ]
        )


async def test_demo_has_a_cycle_in_calibration(tenant: Tenant):
    t = tenant
    make_id = await _demo_org(t)
    before = await _counts(t.org_id)
    async with database.sessions() as session:
        await demo.load(session, t.org_id, make_id)  # twice: nothing changes
        await session.commit()
    assert await _counts(t.org_id) == before == (7, 7, 2)

    q4 = str(make_id("cycle:FY2026-Q4"))
    assert (await get(t, f"/api/v1/cycles/{q4}"))["status"] == "calibration"
    [cal] = (await get(t, f"/api/v1/calibrations?cycle_id={q4}"))["items"]
    assert cal["status"] == "open" and len(cal["employee_ids"]) == 7 and cal["distribution_mode"] == "cap"
    dist = await get(t, f"/api/v1/calibrations/{cal['id']}/distribution")
    assert len(dist["employees"]) == 7 and all(e["final"] is not None for e in dist["employees"])
    deltas = {e["employee_id"]: e["calibration_delta"] for e in dist["employees"]}
    assert deltas[str(make_id("emp:E011"))] == "-2.50" and deltas[str(make_id("emp:E010"))] == "3.00"
    not_ready = await t.client.post(f"/api/v1/calibrations/{cal['id']}/finalize", headers=t.hr)
    assert not_ready.status_code == 409 and str(make_id("emp:E011")) in not_ready.text

    def as_emp(ext: str) -> dict[str, str]:
        return bearer(t.token(["employee"], emp=make_id("emp:" + ext)))

    mei = await get(t, f"/api/v1/evaluations/{make_id('eval:E008')}/feedback", as_emp("E008"))
    assert mei["summary"]["available"] is True and mei["summary"]["answered"] == 3
    tomas = await get(t, f"/api/v1/evaluations/{make_id('eval:E009')}/feedback", as_emp("E009"))
    assert tomas["summary"]["available"] is False
    lead = await get(t, f"/api/v1/evaluations/{make_id('eval:E008')}/feedback", as_emp("E006"))
    assert len(lead["items"]) == 3
    meetings = await get(t, "/api/v1/review-meetings", as_emp("E006"))
    assert [m["title"] for m in meetings["items"]] == ["Live-stream channel: Q4 review"]
    interviews = await get(t, "/api/v1/interviews", as_emp("E008"))
    assert interviews["items"][0]["status"] == "planned"
    audit = await get(t, "/api/v1/audit-events?entity_type=calibration_adjustment", t.admin)
    assert len(audit["items"]) == 2 and all(a["reason"] for a in audit["items"])


async def test_loader_is_set_based(tenant: Tenant):
    t = tenant
    make_id = await _demo_org(t)
    q4 = make_id("cycle:FY2026-Q4")
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    async with database.sessions() as session:
        from service.cycles.models import Cycle

        cycle = await session.get(Cycle, (t.org_id, q4))
        ctx = Ctx(
            session=session, principal=Principal(sub="hr", org_id=t.org_id, kind="person", roles=frozenset({"hr"}))
        )
        sizes = []
        for employees in ((make_id("emp:E008"),), tuple(make_id(f"emp:E0{n:02d}") for n in range(1, 16))):
            statements.clear()
            event.listen(database.engine.sync_engine, "before_cursor_execute", count)
            try:
                out = await evaluation_loader(ctx, ScoringScope(cycle=cycle, cycle_ids=(q4,), employee_ids=employees))
            finally:
                event.remove(database.engine.sync_engine, "before_cursor_execute", count)
            sizes.append(len(statements))
        assert sizes[0] == sizes[1] <= 4, sizes
        mei = out[make_id("emp:E008")]
        assert mei["manager_rating"] == Decimal(4) and mei["peer_ratings"] == [Decimal(4), Decimal(4), Decimal(5)]
        assert "rating_override" not in mei and "peer_ratings_shown" not in mei
        assert [a.delta for a in out[make_id("emp:E011")]["adjustments"]] == [Decimal("-2.5")]
        assert "manager_rating" not in out[make_id("emp:E011")]  # a draft does not count
