"""Every query of the development plan module, each scoped to one organization. The list
starts from a statement already restricted to what the caller may read; items and the
links of nominations are read for many plans at once (one query per chunk of ids)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Select, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.development.models import DevelopmentPlan, DevelopmentPlanItem
from service.evaluations.models import Evaluation, ReviewMeeting
from service.kit import hierarchy
from service.kit.chunks import chunks
from service.okr.models import Objective


def visible_plans(org_id: uuid.UUID, everything: bool, employee_id: uuid.UUID | None) -> Select[Any]:
    """Plans the caller may read (`policy.read_development_plan`): all for hr, admin and
    auditors; else their own, their reports' and those they own."""
    stmt = select(DevelopmentPlan).where(DevelopmentPlan.org_id == org_id)
    if everything:
        return stmt
    if employee_id is None:
        return stmt.where(literal(False))
    return stmt.where(
        or_(
            DevelopmentPlan.employee_id == employee_id,
            DevelopmentPlan.owner_id == employee_id,
            DevelopmentPlan.employee_id.in_(hierarchy.reports_of(org_id, employee_id, "plan_reports")),
        )
    )


async def items_of(
    session: AsyncSession, org_id: uuid.UUID, plan_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, list[DevelopmentPlanItem]]:
    """The items of each plan, oldest first."""
    out: dict[uuid.UUID, list[DevelopmentPlanItem]] = {}
    for chunk in chunks(list(set(plan_ids))):
        rows = await session.execute(
            select(DevelopmentPlanItem)
            .where(DevelopmentPlanItem.org_id == org_id, DevelopmentPlanItem.plan_id.in_(chunk))
            .order_by(DevelopmentPlanItem.created_at, DevelopmentPlanItem.id)
        )
        for item in rows.scalars():
            out.setdefault(item.plan_id, []).append(item)
    return out


async def item_count(session: AsyncSession, org_id: uuid.UUID, plan_id: uuid.UUID) -> int:
    stmt = select(func.count()).where(DevelopmentPlanItem.org_id == org_id, DevelopmentPlanItem.plan_id == plan_id)
    return int((await session.execute(stmt)).scalar_one())


async def plan_of_nomination(session: AsyncSession, org_id: uuid.UUID, nomination_id: uuid.UUID) -> uuid.UUID | None:
    stmt = select(DevelopmentPlan.id).where(
        DevelopmentPlan.org_id == org_id, DevelopmentPlan.nomination_id == nomination_id
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def nomination_links(
    session: AsyncSession, org_id: uuid.UUID, nomination_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, tuple[uuid.UUID, uuid.UUID | None]]:
    """nomination id -> (its plan's id, the plan's review meeting id), for those with a plan."""
    out: dict[uuid.UUID, tuple[uuid.UUID, uuid.UUID | None]] = {}
    for chunk in chunks(list(set(nomination_ids))):
        rows = await session.execute(
            select(DevelopmentPlan.nomination_id, DevelopmentPlan.id, DevelopmentPlan.review_meeting_id).where(
                DevelopmentPlan.org_id == org_id, DevelopmentPlan.nomination_id.in_(chunk)
            )
        )
        out.update({r.nomination_id: (r.id, r.review_meeting_id) for r in rows})
    return out


async def latest_meeting(
    session: AsyncSession, org_id: uuid.UUID, employee_id: uuid.UUID, cycle_id: uuid.UUID
) -> ReviewMeeting | None:
    """The latest review meeting about the employee in the cycle: on their evaluation or
    on one of their objectives of that cycle (latest by the day held, then by creation)."""
    evaluations = select(Evaluation.id).where(Evaluation.org_id == org_id, Evaluation.cycle_id == cycle_id)
    objectives = select(Objective.id).where(Objective.org_id == org_id, Objective.cycle_id == cycle_id)
    stmt = (
        select(ReviewMeeting)
        .where(
            ReviewMeeting.org_id == org_id,
            ReviewMeeting.employee_id == employee_id,
            or_(
                (ReviewMeeting.subject_kind == "evaluation") & ReviewMeeting.subject_id.in_(evaluations),
                (ReviewMeeting.subject_kind == "objective") & ReviewMeeting.subject_id.in_(objectives),
            ),
        )
        .order_by(ReviewMeeting.held_on.is_(None), ReviewMeeting.held_on.desc(), ReviewMeeting.created_at.desc())
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()
