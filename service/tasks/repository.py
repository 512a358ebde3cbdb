"""The queries of the task list: one set-based statement per kind of task, each scoped to
the organization and to the calling employee, whatever the number of rows. The rules
they encode (which state waits for whom) are the workflows' own: service/tasks/service.py
says where each comes from."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.cycles.models import Cycle
from service.development.models import DevelopmentPlan, DevelopmentPlanItem
from service.evaluations.models import (
    CalibrationSession,
    Evaluation,
    ImprovementActionState,
    Interview,
    PeerRequest,
    ReviewMeeting,
)
from service.kit import hierarchy
from service.meetings.models import Meeting, MeetingAction
from service.okr.models import CheckIn, KeyResult, Objective
from service.org.models import Employee
from service.scoring.models import ScoreRecord


async def cycles(session: AsyncSession, org_id: uuid.UUID) -> dict[uuid.UUID, Any]:
    """Every cycle of the organization (id, parent, status, name, dates): an organization
    has tens of cycles, and the lock rules need each task's chain of enclosing cycles."""
    rows = await session.execute(
        select(Cycle.id, Cycle.parent_id, Cycle.status, Cycle.name, Cycle.start_date, Cycle.end_date).where(
            Cycle.org_id == org_id
        )
    )
    return {r.id: r for r in rows}


async def objectives_to_approve(session: AsyncSession, org_id: uuid.UUID, me: uuid.UUID, anyone: bool) -> Sequence[Any]:
    """Submitted objectives of other people: of the caller's direct and indirect reports,
    or of anyone (`anyone`: hr and admin approve for the whole organization)."""
    stmt = select(Objective.id, Objective.title, Objective.cycle_id, Objective.owner_id).where(
        Objective.org_id == org_id, Objective.status == "submitted", Objective.owner_id != me
    )
    if not anyone:
        stmt = stmt.where(Objective.owner_id.in_(hierarchy.reports_of(org_id, me)))
    return (await session.execute(stmt)).all()


async def open_peer_requests(
    session: AsyncSession, org_id: uuid.UUID, me: uuid.UUID, open_statuses: Iterable[str], today: dt.date
) -> Sequence[Any]:
    """Requests addressed to the caller, still unanswered, before their deadline, on an
    evaluation still open for feedback; with the evaluated employee's name."""
    stmt = (
        select(
            PeerRequest.id,
            PeerRequest.evaluation_id,
            PeerRequest.cycle_id,
            PeerRequest.employee_id,
            PeerRequest.due_date,
            Employee.given_name,
            Employee.family_name,
        )
        .join(Evaluation, (Evaluation.org_id == PeerRequest.org_id) & (Evaluation.id == PeerRequest.evaluation_id))
        .join(Employee, (Employee.org_id == PeerRequest.org_id) & (Employee.id == PeerRequest.employee_id))
        .where(
            PeerRequest.org_id == org_id,
            PeerRequest.reviewer_id == me,
            PeerRequest.status == "requested",
            or_(PeerRequest.due_date.is_(None), PeerRequest.due_date >= today),
            Evaluation.status.in_(list(open_statuses)),
        )
    )
    return (await session.execute(stmt)).all()


async def reviews_due(session: AsyncSession, org_id: uuid.UUID, me: uuid.UUID) -> Sequence[Any]:
    """The caller's own evaluations whose self review is not submitted (`not_started`), and
    the evaluations of their direct reports whose self review is (`self_review`: the
    manager's turn); with the evaluated employee's name and manager."""
    stmt = (
        select(
            Evaluation.id,
            Evaluation.cycle_id,
            Evaluation.employee_id,
            Evaluation.status,
            Employee.manager_id,
            Employee.given_name,
            Employee.family_name,
        )
        .join(Employee, (Employee.org_id == Evaluation.org_id) & (Employee.id == Evaluation.employee_id))
        .where(
            Evaluation.org_id == org_id,
            or_(
                (Evaluation.employee_id == me) & (Evaluation.status == "not_started"),
                (Employee.manager_id == me) & (Evaluation.status == "self_review"),
            ),
        )
    )
    return (await session.execute(stmt)).all()


async def interviews_to_acknowledge(
    session: AsyncSession, org_id: uuid.UUID, me: uuid.UUID, evaluation_statuses: Iterable[str]
) -> Sequence[Any]:
    """Interviews of the caller with a recorded outcome and no signature yet, whose
    evaluation is finalized (the state an acknowledgement needs)."""
    stmt = (
        select(Interview.id, Interview.cycle_id, Interview.scheduled_at)
        .join(Evaluation, (Evaluation.org_id == Interview.org_id) & (Evaluation.id == Interview.evaluation_id))
        .where(
            Interview.org_id == org_id,
            Interview.employee_id == me,
            Interview.acknowledged_at.is_(None),
            Interview.outcome.is_not(None),
            Interview.outcome != "",
            Evaluation.status.in_(list(evaluation_statuses)),
        )
    )
    return (await session.execute(stmt)).all()


async def open_calibrations(session: AsyncSession, org_id: uuid.UUID) -> Sequence[Any]:
    stmt = select(CalibrationSession.id, CalibrationSession.name, CalibrationSession.cycle_id).where(
        CalibrationSession.org_id == org_id, CalibrationSession.status == "open"
    )
    return (await session.execute(stmt)).all()


async def key_results_owned(
    session: AsyncSession, org_id: uuid.UUID, me: uuid.UUID, cycle_ids: Iterable[uuid.UUID]
) -> Sequence[Any]:
    """Key results of published objectives in these cycles that the caller owns (the key
    result's owner, or the objective's owner when the key result names none), with the
    time of their latest check-in (None without one)."""
    ids = list(cycle_ids)
    last = (
        select(CheckIn.key_result_id, func.max(CheckIn.checked_in_at).label("last_at"))
        .where(CheckIn.org_id == org_id)
        .group_by(CheckIn.key_result_id)
        .subquery("last_check_in")
    )
    stmt = (
        select(
            KeyResult.id,
            KeyResult.title,
            KeyResult.created_at,
            Objective.cycle_id,
            Objective.owner_id,
            last.c.last_at,
        )
        .join(Objective, (Objective.org_id == KeyResult.org_id) & (Objective.id == KeyResult.objective_id))
        .outerjoin(last, last.c.key_result_id == KeyResult.id)
        .where(
            KeyResult.org_id == org_id,
            Objective.status == "published",
            Objective.cycle_id.in_(ids),
            func.coalesce(KeyResult.owner_id, Objective.owner_id) == me,
        )
    )
    return (await session.execute(stmt)).all()


async def official_results(
    session: AsyncSession, org_id: uuid.UUID, cycle_ids: Iterable[uuid.UUID], employee_ids: Iterable[uuid.UUID]
) -> set[tuple[uuid.UUID, uuid.UUID]]:
    """(cycle, employee) pairs whose result is official (a score of record exists): what
    locks that employee's inputs there (service/scoring/locks.py). One statement: the
    employees narrow it when they are few, else the cycles alone bound it."""
    cycles_ = sorted(set(cycle_ids))
    people = sorted(set(employee_ids))
    if not cycles_ or not people:
        return set()
    stmt = select(ScoreRecord.cycle_id, ScoreRecord.employee_id).where(
        ScoreRecord.org_id == org_id, ScoreRecord.cycle_id.in_(cycles_), ScoreRecord.version == 1
    )
    if len(people) <= 500:
        stmt = stmt.where(ScoreRecord.employee_id.in_(people))
    return {(r.cycle_id, r.employee_id) for r in await session.execute(stmt)}


async def development_items_due(
    session: AsyncSession, org_id: uuid.UUID, me: uuid.UUID, until: dt.date, open_statuses: Iterable[str]
) -> Sequence[Any]:
    """Open items of active development plans due by `until` (overdue ones included), of
    plans the caller is the employee or the owner of; with the employee's name."""
    stmt = (
        select(
            DevelopmentPlanItem.id,
            DevelopmentPlanItem.plan_id,
            DevelopmentPlanItem.title,
            DevelopmentPlanItem.due_date,
            DevelopmentPlan.employee_id,
            DevelopmentPlan.cycle_id,
            Employee.given_name,
            Employee.family_name,
        )
        .join(
            DevelopmentPlan,
            (DevelopmentPlan.org_id == DevelopmentPlanItem.org_id)
            & (DevelopmentPlan.id == DevelopmentPlanItem.plan_id),
        )
        .join(Employee, (Employee.org_id == DevelopmentPlan.org_id) & (Employee.id == DevelopmentPlan.employee_id))
        .where(
            DevelopmentPlanItem.org_id == org_id,
            DevelopmentPlan.status == "active",
            DevelopmentPlanItem.status.in_(list(open_statuses)),
            DevelopmentPlanItem.due_date.is_not(None),
            DevelopmentPlanItem.due_date <= until,
            or_(DevelopmentPlan.employee_id == me, DevelopmentPlan.owner_id == me),
        )
    )
    return (await session.execute(stmt)).all()


async def meeting_actions_open(session: AsyncSession, org_id: uuid.UUID, me: uuid.UUID) -> Sequence[Any]:
    """Open follow-up actions the caller owns, with their meeting's title and cycle."""
    stmt = (
        select(
            MeetingAction.id,
            MeetingAction.title,
            MeetingAction.due_date,
            Meeting.title.label("meeting"),
            Meeting.cycle_id,
        )
        .join(Meeting, (Meeting.org_id == MeetingAction.org_id) & (Meeting.id == MeetingAction.meeting_id))
        .where(MeetingAction.org_id == org_id, MeetingAction.owner_id == me, MeetingAction.status == "open")
    )
    return (await session.execute(stmt)).all()


async def improvement_plans_naming(session: AsyncSession, org_id: uuid.UUID, me: uuid.UUID) -> Sequence[Any]:
    """Review meetings whose improvement plan gives the caller an action not done (found
    through the actions' owner index, service/evaluations/plan_actions.py), with their
    title and plan."""
    a = ImprovementActionState
    mine = select(a.review_meeting_id).where(a.org_id == org_id, a.owner_id == me, a.status != "done")
    stmt = select(ReviewMeeting.id, ReviewMeeting.title, ReviewMeeting.improvement_plan).where(
        ReviewMeeting.org_id == org_id, ReviewMeeting.id.in_(mine)
    )
    return (await session.execute(stmt)).all()
