"""The incentive demo loads into an organization shaped like service/demo.py's (with its
OKR and KPI demo data), twice without adding anything, and its bonus drafts are the
plan's pool split exactly."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from sqlalchemy import func, select

from service.auth.context import Ctx
from service.db import database
from service.demo import DEPARTMENTS, EMPLOYEES, POSITIONS
from service.incentives import demo, runs
from service.incentives.models import IncentivePlan, IncentiveResult
from service.kpi import demo as kpi_demo
from service.okr import demo as okr_demo
from service.org.models import Department, Employee, Position
from service.principal import Principal
from tests.conftest import Tenant


async def test_demo_plans_and_bonus_drafts(tenant: Tenant):
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
        for ext, given, family, dep, pos, mgr, salary, pct in EMPLOYEES:
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
                    base_salary_minor=salary,
                    comp_currency="USD",
                    target_bonus_pct=Decimal(pct),
                )
            )
            await session.flush()
        await okr_demo.load(session, org_id, make_id)
        await kpi_demo.load(session, org_id, make_id)
        await session.flush()
        await demo.load(session, org_id, make_id)
        await demo.load(session, org_id, make_id)  # idempotent
        await session.commit()
    async with database.sessions() as session:
        plans = (await session.execute(select(IncentivePlan.kind).where(IncentivePlan.org_id == org_id))).scalars()
        assert sorted(plans) == ["kpi_excess_reward", "okr_breakthrough", "short_term_bonus", "short_term_bonus"]
        kpi_results = (
            (
                await session.execute(
                    select(IncentiveResult).where(
                        IncentiveResult.org_id == org_id,
                        IncentiveResult.plan_id == make_id("incentives:plan:kpi_bonus"),
                    )
                )
            )
            .scalars()
            .all()
        )
        total, count = (
            await session.execute(
                select(func.sum(IncentiveResult.amount_minor), func.count()).where(
                    IncentiveResult.org_id == org_id, IncentiveResult.plan_id == make_id("incentives:plan:bonus")
                )
            )
        ).one()
    assert count >= 5
    assert int(total) == 1_200_000  # the pool is smaller than the bonuses' sum: split exactly
    # The KPI results bonus pays on the KPI component's band alone, each result says which.
    assert kpi_results
    for r in kpi_results:
        why = r.inputs["multiplier"]
        assert why["basis"] == "kpi_points" and why["band"] in {"exceeds", "meets", "partial"}
        assert r.earning_code == "KPI_BONUS" and r.amount_minor > 0
    # The breakthrough plan looks at the year's four quarters; it runs on the demo data (which
    # nominates nobody: no S or A rating owns a breakthrough), and a nomination would show them.
    async with database.sessions() as session:
        talent = await session.get(IncentivePlan, (org_id, make_id("incentives:plan:talent")))
        assert talent is not None and talent.params["history_cycles"] == 4
        hr = Principal(sub="demo-test", org_id=org_id, kind="person", roles=frozenset({"hr"}))
        report = await runs.run_plan(Ctx(session=session, principal=hr), talent.id)
        nominated = (
            (await session.execute(select(IncentiveResult).where(IncentiveResult.id.in_(report.result_ids))))
            .scalars()
            .all()
        )
        assert report.created + sum(report.skipped.values()) == report.population
        for r in nominated:
            assert [c["name"] for c in r.inputs["window"]["cycles"]] == [f"FY2026 Q{n}" for n in (4, 3, 2, 1)]
        await session.rollback()
