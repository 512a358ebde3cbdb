"""Demo incentive plans on the demo organization's FY2026 Q4: a bonus plan on ratings and
a bonus on KPI results alone (both run, so their draft results are there to review,
approve and finalize), an excess-KPI reward and a breakthrough nomination scheme that
looks at the year's four quarters (`history_cycles`: Q4 and the closed Q1–Q3).
Idempotent: a plan already there is left as it is, a missing one is added (and run)."""

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
    (
        "talent",
        "FY2026 Q4 breakthrough nominations",
        "okr_breakthrough",
        {"nomination_kind": "promotion_track", "history_cycles": 4},
    ),
    (
        "kpi_bonus",
        "FY2026 Q4 KPI results bonus",
        "short_term_bonus",
        {
            "basis": "kpi_points",
            "kpi_bands": [
                {"label": "exceeds", "min": "105", "multiplier": "1.3"},
                {"label": "meets", "min": "95", "multiplier": "1.0"},
                {"label": "partial", "min": "75", "multiplier": "0.5"},
                {"label": "below", "min": "0", "multiplier": "0"},
            ],
            "earning_code": "KPI_BONUS",
        },
    ),
]
# The plans whose drafts the load computes, so reviewers find results to act on.
RUN = ("bonus", "kpi_bonus")


async def load(session: AsyncSession, org_id: uuid.UUID, make_id: Callable[[str], uuid.UUID]) -> None:
    missing = [
        plan
        for plan in PLANS
        if await session.get(IncentivePlan, (org_id, make_id(f"incentives:plan:{plan[0]}"))) is None
    ]
    if not missing:
        return
    q4 = (
        (await session.execute(select(Cycle).where(Cycle.org_id == org_id, Cycle.name == "FY2026 Q4")))
        .scalars()
        .first()
    )
    if q4 is None:
        return
    for key, name, kind, params in missing:
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
    for key, *_ in missing:
        if key in RUN:
            await runs.run_plan(Ctx(session=session, principal=hr), make_id(f"incentives:plan:{key}"))
