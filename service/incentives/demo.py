"""Demo incentive plans on the demo organization's FY2026 Q4: a bonus plan (run, so its
draft results are there to review, approve and finalize), an excess-KPI reward and a
breakthrough nomination scheme. Idempotent: an existing bonus plan means it is loaded."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.context import Ctx
from service.cycles.models import Cycle
from service.incentives import runs
from service.incentives.models import IncentivePlan
from service.incentives.schemas import PARAMS_MODELS
from service.principal import Principal

PLANS = [
    ("bonus", "FY2026 Q4 bonus", "short_term_bonus", {"pool_minor": 1_200_000}),
    (
        "excess",
        "FY2026 Q4 KPI excellence",
        "kpi_excess_reward",
        {"amount_per_point_minor": 2500, "cap_per_employee_minor": 100_000},
    ),
    ("talent", "FY2026 Q4 breakthrough nominations", "okr_breakthrough", {"nomination_kind": "promotion_track"}),
]


async def load(session: AsyncSession, org_id: uuid.UUID, make_id: Callable[[str], uuid.UUID]) -> None:
    if await session.get(IncentivePlan, (org_id, make_id("incentives:plan:bonus"))) is not None:
        return
    q4 = (
        (await session.execute(select(Cycle).where(Cycle.org_id == org_id, Cycle.name == "FY2026 Q4")))
        .scalars()
        .first()
    )
    if q4 is None:
        return
    for key, name, kind, params in PLANS:
        session.add(
            IncentivePlan(
                org_id=org_id,
                id=make_id(f"incentives:plan:{key}"),
                name=name,
                kind=kind,
                cycle_id=q4.id,
                currency="USD",
                params=PARAMS_MODELS[kind].model_validate(params).model_dump(mode="json"),
            )
        )
    await session.flush()
    hr = Principal(sub="demo-loader", org_id=org_id, kind="person", roles=frozenset({"hr"}))
    await runs.run_plan(Ctx(session=session, principal=hr), make_id("incentives:plan:bonus"))
