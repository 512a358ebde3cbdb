"""Demo data of the modules built on the organization (OKRs, KPIs, evaluations, plans).
Each module adds its part here so `demo` stays one idempotent load."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession


async def load_extensions(session: AsyncSession, org_id: uuid.UUID, make_id: Callable[[str], uuid.UUID]) -> None:
    from service.kpi import demo as kpi_demo
    from service.okr import demo as okr_demo

    await okr_demo.load(session, org_id, make_id)
    await session.flush()
    await kpi_demo.load(session, org_id, make_id)
    await session.flush()
    from service.evaluations import demo as evaluations_demo

    await evaluations_demo.load(session, org_id, make_id)  # Q4 enters calibration: keep it last
    await session.flush()
    from service.incentives import demo as incentives_demo

    await incentives_demo.load(session, org_id, make_id)  # runs the Q4 bonus on the final scores
    await session.flush()
    from service.development import demo as development_demo

    await development_demo.load(session, org_id, make_id)  # a nominee's plan, after the review meeting
    await session.flush()
    from service.meetings import demo as meetings_demo

    await meetings_demo.load(session, org_id, make_id)  # a week of the growth team's rhythm
    await session.flush()
    from service.webhooks import demo as webhooks_demo

    await webhooks_demo.load(session, org_id, make_id)
    await session.flush()
    from service.auth.context import Ctx
    from service.principal import Principal
    from service.scoring import records

    # The past quarters were loaded closed: their results are official, as closing makes them.
    await records.finalize_closed(
        Ctx(
            session=session,
            principal=Principal(sub="demo-loader", org_id=org_id, kind="person", roles=frozenset({"hr"})),
        )
    )
    await session.flush()
