"""The demo organization's development plan: Mei Chen (E008) is nominated for the
promotion track by the FY2026 Q4 breakthrough plan (the demo records that nomination as
approved: the demo's scores qualify no one when the plan runs), and her manager Alan Kay
(E006) follows her plan. It links the Q4 review meeting on the live-stream channel, which
gave Mei an action (copied as an item), and adds a mentoring item and a goal. Idempotent:
nothing is added once the nomination is there."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.context import Ctx
from service.development import service
from service.development.schemas import DevelopmentItemCreate, NominationPlanCreate
from service.evaluations.models import ReviewMeeting
from service.incentives.models import IncentivePlan, IncentiveResult
from service.principal import Principal


async def load(session: AsyncSession, org_id: uuid.UUID, make_id: Callable[[str], uuid.UUID]) -> None:
    nomination_id = make_id("development:nomination:E008")
    if await session.get(IncentiveResult, (org_id, nomination_id)) is not None:
        return
    plan = await session.get(IncentivePlan, (org_id, make_id("incentives:plan:talent")))
    meeting = await session.get(ReviewMeeting, (org_id, make_id("eval:review:live")))
    if plan is None or meeting is None:
        return
    session.add(
        IncentiveResult(
            org_id=org_id,
            id=nomination_id,
            plan_id=plan.id,
            employee_id=make_id("emp:E008"),
            kind="nomination",
            status="approved",
            nomination="promotion_track",
            period_start=dt.date(2026, 10, 1),
            period_end=dt.date(2026, 12, 31),
            inputs={"note": "recorded by the demo: Mei led the weekly live show through Q4"},
            decision_comment="Ready for the promotion track",
            created_by="demo-loader",
            approved_by="demo-loader",
            approved_at=dt.datetime(2027, 1, 8, 10, 0, tzinfo=dt.UTC),
        )
    )
    await session.flush()
    manager = Principal(
        sub="demo:E006", org_id=org_id, kind="person", roles=frozenset({"employee"}), employee_id=make_id("emp:E006")
    )
    ctx = Ctx(session=session, principal=manager)
    body = NominationPlanCreate(
        review_meeting_id=meeting.id,
        due_date=dt.date(2027, 6, 30),
        goals=["Run the live-stream channel on her own", "Present the Q2 channel plan to the leadership"],
    )
    created = await service.create_for_nomination(ctx, nomination_id, body)
    for item in (
        DevelopmentItemCreate(kind="mentoring", title="Monthly mentoring with Alan", due_date=dt.date(2027, 2, 15)),
        DevelopmentItemCreate(kind="goal", title="Plan and host the spring launch show", due_date=dt.date(2027, 3, 31)),
    ):
        await service.add_item(ctx, created.id, item)
