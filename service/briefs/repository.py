"""The reads of the briefs: set-based statements over a bounded set of people, each
starting from the module's own visible-rows statement (okr `visible_objectives`, kpi
`visible_assignments`), so a brief shows nothing its caller could not read elsewhere."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from service.authz import policy
from service.cycles.models import Cycle
from service.evaluations.models import Evaluation, ReviewMeeting
from service.evaluations.repository import subject_visible
from service.kpi import repository as kpi_repo
from service.kpi.models import KpiAssignment, KpiMeasurement
from service.okr import repository as okr_repo
from service.okr.models import KeyResult, Objective
from service.org.models import Employee
from service.principal import Principal


def overlapping_cycles(org_id: uuid.UUID, start: dt.date, end: dt.date) -> Any:
    """Ids of the cycles that share a day with [start, end)."""
    return select(Cycle.id).where(Cycle.org_id == org_id, Cycle.start_date < end, Cycle.end_date >= start)


async def department_members(
    session: AsyncSession, org_id: uuid.UUID, department_id: uuid.UUID, most: int
) -> list[uuid.UUID]:
    """The department's employees who are not terminated, in id order; at most `most` + 1
    (so the caller can tell the team is too large)."""
    rows = await session.execute(
        select(Employee.id)
        .where(Employee.org_id == org_id, Employee.department_id == department_id, Employee.status != "terminated")
        .order_by(Employee.id)
        .limit(most + 1)
    )
    return [r[0] for r in rows]


async def team_key_results(
    session: AsyncSession,
    org_id: uuid.UUID,
    principal: Principal,
    owners: Sequence[uuid.UUID],
    start: dt.date,
    end: dt.date,
) -> Sequence[Any]:
    """Key results of published objectives the caller may read, in cycles overlapping
    [start, end), owned by one of `owners` (the key result's owner, or the objective's
    when it names none): (KeyResult, objective title, cycle id, owner id)."""
    visible = okr_repo.visible_objectives(org_id, principal).with_only_columns(Objective.id)
    owner = func.coalesce(KeyResult.owner_id, Objective.owner_id)
    stmt = (
        select(KeyResult, Objective.title, Objective.cycle_id, owner.label("owner_id"))
        .join(Objective, (Objective.org_id == KeyResult.org_id) & (Objective.id == KeyResult.objective_id))
        .where(
            KeyResult.org_id == org_id,
            Objective.id.in_(visible),
            Objective.status == "published",
            Objective.cycle_id.in_(overlapping_cycles(org_id, start, end)),
            owner.in_(list(owners)),
        )
        .order_by(Objective.id, KeyResult.id)
    )
    return (await session.execute(stmt)).all()


async def visible_objectives_of(
    session: AsyncSession,
    org_id: uuid.UUID,
    principal: Principal,
    *,
    owners: Sequence[uuid.UUID] | None = None,
    cycle_ids: Any = None,
    levels: Sequence[str] | None = None,
    objective_ids: Sequence[uuid.UUID] | None = None,
    drafts: bool = True,
    most: int = 500,
) -> list[Objective]:
    """Objectives the caller may read, narrowed as asked, at most `most` (id order)."""
    stmt = okr_repo.visible_objectives(org_id, principal)
    if owners is not None:
        stmt = stmt.where(Objective.owner_id.in_(list(owners)))
    if cycle_ids is not None:
        stmt = stmt.where(Objective.cycle_id.in_(cycle_ids))
    if levels is not None:
        stmt = stmt.where(Objective.level.in_(list(levels)))
    if objective_ids is not None:
        stmt = stmt.where(Objective.id.in_(list(objective_ids)))
    if not drafts:
        stmt = stmt.where(Objective.status != "draft")
    return list((await session.scalars(stmt.order_by(Objective.id).limit(most))).all())


async def visible_assignments_of(
    session: AsyncSession, org_id: uuid.UUID, principal: Principal, employees: Sequence[uuid.UUID], cycle_ids: Any
) -> list[KpiAssignment]:
    """KPI assignments the caller may read of these employees in these cycles."""
    stmt = kpi_repo.visible_assignments(org_id, policy.reads_everything(principal), principal.employee_id).where(
        KpiAssignment.employee_id.in_(list(employees)), KpiAssignment.cycle_id.in_(cycle_ids)
    )
    return list((await session.scalars(stmt.order_by(KpiAssignment.id))).all())


async def latest_measurements(
    session: AsyncSession, org_id: uuid.UUID, assignment_ids: Sequence[uuid.UUID], before: dt.date
) -> dict[uuid.UUID, KpiMeasurement]:
    """Each assignment's latest measurement dated before `before` (the latest
    `measured_at`, then the latest created), in one statement."""
    if not assignment_ids:
        return {}
    ranked = (
        select(
            KpiMeasurement,
            func.row_number()
            .over(
                partition_by=KpiMeasurement.assignment_id,
                order_by=(
                    KpiMeasurement.measured_at.desc(),
                    KpiMeasurement.created_at.desc(),
                    KpiMeasurement.id.desc(),
                ),
            )
            .label("rank"),
        )
        .where(
            KpiMeasurement.org_id == org_id,
            KpiMeasurement.assignment_id.in_(list(assignment_ids)),
            KpiMeasurement.measured_at < before,
        )
        .subquery()
    )
    m = aliased(KpiMeasurement, ranked)
    rows = await session.execute(select(m).where(ranked.c.rank == 1))
    return {r.assignment_id: r for r in rows.scalars()}


async def evaluations_of(
    session: AsyncSession, org_id: uuid.UUID, employee_id: uuid.UUID, start: dt.date, end: dt.date
) -> list[Evaluation]:
    stmt = (
        select(Evaluation)
        .where(
            Evaluation.org_id == org_id,
            Evaluation.employee_id == employee_id,
            Evaluation.cycle_id.in_(overlapping_cycles(org_id, start, end)),
        )
        .order_by(Evaluation.id)
    )
    return list((await session.scalars(stmt)).all())


async def previous_meeting(session: AsyncSession, meeting: ReviewMeeting) -> ReviewMeeting | None:
    """The latest other review meeting of the same scope recorded before this one: the
    same person's (or, for a cycle's meeting, the organization's cycle meetings), by the
    day held (the day recorded when none), then creation."""
    day = func.coalesce(ReviewMeeting.held_on, func.date(ReviewMeeting.created_at))
    this_day = meeting.held_on or meeting.created_at.date()
    stmt = select(ReviewMeeting).where(ReviewMeeting.org_id == meeting.org_id, ReviewMeeting.id != meeting.id)
    if meeting.employee_id is None:
        stmt = stmt.where(ReviewMeeting.subject_kind == "cycle")
    else:
        stmt = stmt.where(ReviewMeeting.employee_id == meeting.employee_id)
    stmt = stmt.where(
        (ReviewMeeting.held_on.is_not(None) & (ReviewMeeting.held_on < this_day))
        | (ReviewMeeting.held_on.is_(None) & (ReviewMeeting.created_at < meeting.created_at))
    )
    rows = await session.scalars(stmt.order_by(day.desc(), ReviewMeeting.created_at.desc()).limit(1))
    return rows.first()


async def plan_actions_of(
    session: AsyncSession, org_id: uuid.UUID, principal: Principal, people: Sequence[uuid.UUID], most: int = 500
) -> list[ReviewMeeting]:
    """Review meetings about these people that the caller may read (their improvement
    plans hold the actions a team brief carries until they are done), newest first."""
    stmt = select(ReviewMeeting).where(
        ReviewMeeting.org_id == org_id,
        ReviewMeeting.employee_id.in_(list(people)),
        subject_visible(ReviewMeeting.employee_id, org_id, policy.reads_everything(principal), principal.employee_id),
    )
    return list((await session.scalars(stmt.order_by(ReviewMeeting.created_at.desc()).limit(most))).all())
