"""Every query of the evaluation module, each scoped to one organization. Lists start
from a statement already restricted to what the caller may read; lookups of many rows
are one query per chunk, never one per row."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Select, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.evaluations.models import (
    CalibrationAdjustment,
    CalibrationMember,
    CalibrationSession,
    Evaluation,
    Interview,
    PeerRequest,
    ReviewMeeting,
)
from service.kit import hierarchy
from service.kit.chunks import chunks  # noqa: F401  (repo.chunks, for the module's callers)
from service.org.models import Department

CHUNK = 5000


def subject_visible(column: Any, org_id: uuid.UUID, everything: bool, employee_id: uuid.UUID | None) -> Any:
    """The condition "the subject in `column` is the caller or one of their reports"."""
    if everything:
        return literal(True)
    if employee_id is None:
        return literal(False)
    return or_(column == employee_id, column.in_(hierarchy.reports_of(org_id, employee_id, "evaluation_reports")))


async def rows_by_id(
    session: AsyncSession, model: Any, org_id: uuid.UUID, ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, Any]:
    wanted = list({i for i in ids if i is not None})
    found: dict[uuid.UUID, Any] = {}
    for chunk in chunks(wanted):
        res = await session.execute(select(model).where(model.org_id == org_id, model.id.in_(chunk)))
        found.update({r.id: r for r in res.scalars()})
    return found


async def descendant_departments(session: AsyncSession, org_id: uuid.UUID, root: uuid.UUID) -> set[uuid.UUID]:
    rows = (await session.execute(select(Department.id, Department.parent_id).where(Department.org_id == org_id))).all()
    children: dict[uuid.UUID, list[uuid.UUID]] = {}
    for dep, parent in rows:
        if parent is not None:
            children.setdefault(parent, []).append(dep)
    out, stack = set(), [root]
    while stack:
        node = stack.pop()
        if node not in out:
            out.add(node)
            stack.extend(children.get(node, []))
    return out


# --- evaluations -----------------------------------------------------------------------------


def evaluations(org_id: uuid.UUID) -> Select[Any]:
    return select(Evaluation).where(Evaluation.org_id == org_id)


async def get_evaluation(session: AsyncSession, org_id: uuid.UUID, eval_id: uuid.UUID) -> Evaluation | None:
    return await session.get(Evaluation, (org_id, eval_id))


async def find_evaluation(
    session: AsyncSession, org_id: uuid.UUID, employee_id: uuid.UUID, cycle_id: uuid.UUID
) -> Evaluation | None:
    res = await session.execute(
        evaluations(org_id).where(Evaluation.employee_id == employee_id, Evaluation.cycle_id == cycle_id)
    )
    return res.scalar_one_or_none()


async def evaluations_in_cycle(
    session: AsyncSession, org_id: uuid.UUID, cycle_id: uuid.UUID, employee_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Evaluation]:
    """employee → evaluation of one cycle, for the given employees."""
    found: dict[uuid.UUID, Evaluation] = {}
    for chunk in chunks(list(dict.fromkeys(employee_ids))):
        res = await session.execute(
            evaluations(org_id).where(Evaluation.cycle_id == cycle_id, Evaluation.employee_id.in_(chunk))
        )
        found.update({e.employee_id: e for e in res.scalars()})
    return found


# --- peer requests ---------------------------------------------------------------------------


def peer_requests(org_id: uuid.UUID) -> Select[Any]:
    return select(PeerRequest).where(PeerRequest.org_id == org_id)


async def requests_of(
    session: AsyncSession, org_id: uuid.UUID, evaluation_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[PeerRequest]]:
    """Every request of the given evaluations, grouped, in creation order."""
    out: dict[uuid.UUID, list[PeerRequest]] = {e: [] for e in evaluation_ids}
    for chunk in chunks(list(dict.fromkeys(evaluation_ids))):
        res = await session.execute(
            peer_requests(org_id).where(PeerRequest.evaluation_id.in_(chunk)).order_by(PeerRequest.id)
        )
        for r in res.scalars():
            out.setdefault(r.evaluation_id, []).append(r)
    return out


def visible_peer_requests(org_id: uuid.UUID, everything: bool, employee_id: uuid.UUID | None) -> Select[Any]:
    """Requests the caller may read whole (`policy.read_peer_request`), the rule of
    `peers.list_requests`: those they answer, and those about the people they manage
    (everyone, for hr, admin and auditors); never those about the caller, who sees them
    only anonymised, through their evaluation (`peers.request_read`)."""
    stmt = peer_requests(org_id)
    if employee_id is None:
        return stmt if everything else stmt.where(literal(False))
    if not everything:
        reports = hierarchy.reports_of(org_id, employee_id, "peer_reports")
        stmt = stmt.where(or_(PeerRequest.reviewer_id == employee_id, PeerRequest.employee_id.in_(reports)))
    return stmt.where(PeerRequest.employee_id != employee_id)


async def request_of_reviewer(
    session: AsyncSession, org_id: uuid.UUID, evaluation_id: uuid.UUID, reviewer_id: uuid.UUID | None
) -> PeerRequest | None:
    if reviewer_id is None:
        return None
    res = await session.execute(
        peer_requests(org_id).where(PeerRequest.evaluation_id == evaluation_id, PeerRequest.reviewer_id == reviewer_id)
    )
    return res.scalar_one_or_none()


# --- calibration -----------------------------------------------------------------------------


async def members_of(
    session: AsyncSession, org_id: uuid.UUID, session_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[CalibrationMember]]:
    out: dict[uuid.UUID, list[CalibrationMember]] = {s: [] for s in session_ids}
    for chunk in chunks(list(dict.fromkeys(session_ids))):
        res = await session.execute(
            select(CalibrationMember)
            .where(CalibrationMember.org_id == org_id, CalibrationMember.session_id.in_(chunk))
            .order_by(CalibrationMember.employee_id)
        )
        for m in res.scalars():
            out.setdefault(m.session_id, []).append(m)
    return out


async def members_in_cycle(
    session: AsyncSession, org_id: uuid.UUID, cycle_id: uuid.UUID, employee_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, CalibrationMember]:
    found: dict[uuid.UUID, CalibrationMember] = {}
    for chunk in chunks(list(dict.fromkeys(employee_ids))):
        res = await session.execute(
            select(CalibrationMember).where(
                CalibrationMember.org_id == org_id,
                CalibrationMember.cycle_id == cycle_id,
                CalibrationMember.employee_id.in_(chunk),
            )
        )
        found.update({m.employee_id: m for m in res.scalars()})
    return found


def adjustments(org_id: uuid.UUID, session_id: uuid.UUID) -> Select[Any]:
    return select(CalibrationAdjustment).where(
        CalibrationAdjustment.org_id == org_id, CalibrationAdjustment.session_id == session_id
    )


async def get_session(session: AsyncSession, org_id: uuid.UUID, session_id: uuid.UUID) -> CalibrationSession | None:
    return await session.get(CalibrationSession, (org_id, session_id))


# --- interviews and review meetings ------------------------------------------------------


async def interviews_of(session: AsyncSession, org_id: uuid.UUID, evaluation_id: uuid.UUID) -> list[Interview]:
    res = await session.execute(
        select(Interview)
        .where(Interview.org_id == org_id, Interview.evaluation_id == evaluation_id)
        .order_by(Interview.id)
    )
    return list(res.scalars())


def interviews(org_id: uuid.UUID) -> Select[Any]:
    return select(Interview).where(Interview.org_id == org_id)


def review_meetings(org_id: uuid.UUID) -> Select[Any]:
    return select(ReviewMeeting).where(ReviewMeeting.org_id == org_id)
