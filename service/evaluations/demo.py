"""Evaluation demo data for the demo organization of service/demo.py: FY2026 Q4 in
calibration, the e-commerce department's evaluations (self and manager reviews
submitted, one manager review still a draft), 360 feedback (Mei Chen's visible to her
in aggregate, Tomas Novak's still below the threshold, one declined request), an open
calibration session over the department with two audited adjustments (in `cap`
distribution mode: an enforced guideline would only lower, never raise), a planned
interview and a review meeting on the live-stream objective.

Every id is fixed (`make_id("eval:...")`) and loading twice adds nothing. The cycle's
status is set directly (as the other demos set theirs); the policy versions in force
are pinned as entering calibration would pin them."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.cycles.models import Cycle
from service.evaluations import plan_actions
from service.evaluations.models import (
    CalibrationAdjustment,
    CalibrationMember,
    CalibrationSession,
    Evaluation,
    Interview,
    PeerRequest,
    ReviewMeeting,
)
from service.kit.models import AuditEvent
from service.okr.models import Objective
from service.org.models import Employee
from service.scoring.models import ScoringPolicy

HR = "frances.allen@northwind.example"
Q4_START, Q4_END = dt.date(2026, 10, 1), dt.date(2026, 12, 31)


def _at(day: int, hour: int = 10) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, 0, tzinfo=dt.UTC)


# employee, manager, self rating, self comments, manager rating (None: a draft), manager comments
REVIEWS = [
    ("E002", "E001", 4, "Launched the app beta and grew online GMV.", 4, "A strong quarter for e-commerce."),
    ("E006", "E002", 4, "Live streams became a channel.", 4, "Built the live-stream team from scratch."),
    ("E007", "E002", 3, "Same-day shipping is close.", 3, "Fulfilment improved, but not enough yet."),
    ("E008", "E006", 4, "Weekly show runs; GMV near target.", 4, "Reliable and creative; conversion to work on."),
    ("E009", "E006", 4, "Cart abandonment is down.", 5, "Outstanding results on checkout."),
    ("E010", "E007", 4, "Fastest picker on the team.", 4, "Carried the peak weeks."),
    ("E011", "E007", 3, "Learned the new warehouse system.", None, "Draft: SLA misses in December."),
]
# subject, reviewer, rating (None: still open; "declined"), comments
PEERS: list[tuple[str, str, int | Literal["declined"] | None, str | None]] = [
    ("E008", "E009", 5, "Mei makes every launch calmer."),
    ("E008", "E010", 4, "Clear briefs, quick answers."),
    ("E008", "E011", 4, "Could share her show playbook more widely."),
    ("E008", "E007", "declined", "We have not worked together this quarter."),
    ("E009", "E008", 5, "Tomas fixed the checkout bugs nobody else could."),
    ("E009", "E010", 4, "Helpful with the returns flow."),
    ("E009", "E012", None, None),
]
ADJUSTMENTS = [
    ("E010", Decimal(3), "Covered the peak season alone for two weeks."),
    ("E011", Decimal("-2.5"), "Same-day shipping SLA missed in December."),
]


async def _cycle(session: AsyncSession, org_id: uuid.UUID, make_id: Callable[[str], uuid.UUID]) -> Cycle:
    """FY2026 Q4 of the OKR and KPI demos, made here only when they have not run."""
    year_id, q4_id = make_id("cycle:FY2026"), make_id("cycle:FY2026-Q4")
    if await session.get(Cycle, (org_id, year_id)) is None:
        session.add(
            Cycle(
                org_id=org_id,
                id=year_id,
                name="FY2026",
                cadence="annual",
                start_date=dt.date(2026, 1, 1),
                end_date=dt.date(2026, 12, 31),
                status="active",
            )
        )
        await session.flush()
    q4 = await session.get(Cycle, (org_id, q4_id))
    if q4 is None:
        q4 = Cycle(
            org_id=org_id,
            id=q4_id,
            name="FY2026 Q4",
            cadence="quarterly",
            start_date=Q4_START,
            end_date=Q4_END,
            parent_id=year_id,
            status="active",
        )
        session.add(q4)
        await session.flush()
    return q4


async def load(session: AsyncSession, org_id: uuid.UUID, make_id: Callable[[str], uuid.UUID]) -> None:
    if await session.get(Evaluation, (org_id, make_id("eval:E008"))) is not None:
        return
    q4 = await _cycle(session, org_id, make_id)
    if q4.status in ("planning", "active", "review"):
        q4.status = "calibration"
        if q4.pinned_policies is None:
            rows = await session.execute(
                select(ScoringPolicy.id, ScoringPolicy.current_version).where(
                    ScoringPolicy.org_id == org_id, ScoringPolicy.active.is_(True)
                )
            )
            q4.pinned_policies = {str(pid): version for pid, version in rows}
    await session.flush()

    def emp(ext: str) -> uuid.UUID:
        return make_id("emp:" + ext)

    evaluations: dict[str, Evaluation] = {}
    for ext, manager, self_rating, self_comments, rating, comments in REVIEWS:
        ev = Evaluation(
            org_id=org_id,
            id=make_id(f"eval:{ext}"),
            employee_id=emp(ext),
            cycle_id=q4.id,
            status="manager_review" if rating is not None else "self_review",
            self_rating=self_rating,
            self_comments=self_comments,
            self_submitted_at=_at(6),
            manager_rating=rating if rating is not None else 3,
            manager_comments=comments,
            competencies=[
                {"name": "Customer focus", "rating": rating or 3, "comments": None},
                {"name": "Collaboration", "rating": 4, "comments": None},
            ],
            manager_reviewer_id=emp(manager) if rating is not None else None,
            manager_submitted_at=_at(13) if rating is not None else None,
            manager_submitted_by=f"demo:{manager}" if rating is not None else None,
        )
        evaluations[ext] = ev
        session.add(ev)
    await session.flush()

    for n, (subject, reviewer, peer_rating, peer_comments) in enumerate(PEERS):
        ev = evaluations[subject]
        req = PeerRequest(
            org_id=org_id,
            id=make_id(f"eval:peer:{subject}:{reviewer}"),
            evaluation_id=ev.id,
            employee_id=ev.employee_id,
            cycle_id=q4.id,
            reviewer_id=emp(reviewer),
            requested_by=f"demo:{subject}",
            requested_by_employee_id=ev.employee_id,
            due_date=dt.date(2026, 12, 4),
            status="requested",
        )
        if peer_rating == "declined":
            req.status, req.declined_at, req.decline_reason = "declined", _at(9 + n % 3), peer_comments
        elif peer_rating is not None:
            req.status, req.rating, req.comments = "submitted", peer_rating, peer_comments
            req.submitted_at = _at(9 + n % 3)
        session.add(req)
    await session.flush()

    session_id = make_id("eval:calibration:ecom")
    session.add(
        CalibrationSession(
            org_id=org_id,
            id=session_id,
            cycle_id=q4.id,
            name="E-commerce FY2026 Q4",
            department_id=make_id("dep:ecom"),
            status="open",
            distribution_mode="cap",
            created_by=HR,
        )
    )
    await session.flush()
    departments = {make_id("dep:" + k) for k in ("ecom", "ecom-growth", "ecom-fulfil")}
    members = (
        (
            await session.execute(
                select(Employee.id)
                .where(Employee.org_id == org_id, Employee.department_id.in_(departments))
                .order_by(Employee.id)
            )
        )
        .scalars()
        .all()
    )
    for member in members:
        session.add(
            CalibrationMember(
                org_id=org_id,
                id=make_id(f"eval:member:{member}"),
                session_id=session_id,
                cycle_id=q4.id,
                employee_id=member,
            )
        )
    await session.flush()
    for ext, delta, reason in ADJUSTMENTS:
        adj = CalibrationAdjustment(
            org_id=org_id,
            id=make_id(f"eval:adjustment:{ext}"),
            session_id=session_id,
            cycle_id=q4.id,
            employee_id=emp(ext),
            delta=delta,
            reason=reason,
            author=HR,
            author_employee_id=emp("E005"),
            created_at=_at(20),
        )
        session.add(adj)
        session.add(
            AuditEvent(
                org_id=org_id,
                id=make_id(f"eval:audit:adjustment:{ext}"),
                actor=HR,
                actor_kind="person",
                action="calibration.adjusted",
                entity_type="calibration_adjustment",
                entity_id=str(adj.id),
                before=None,
                after={
                    "calibration_id": str(session_id),
                    "employee_id": str(adj.employee_id),
                    "delta": str(delta),
                    "reason": reason,
                    "author": HR,
                },
                reason=reason,
                at=_at(20),
            )
        )
    await session.flush()

    session.add(
        Interview(
            org_id=org_id,
            id=make_id("eval:interview:E008"),
            evaluation_id=evaluations["E008"].id,
            employee_id=emp("E008"),
            cycle_id=q4.id,
            interviewer_id=emp("E006"),
            scheduled_at=dt.datetime(2027, 1, 12, 15, 0, tzinfo=dt.UTC),
            plan="Walk through Q4: live-stream results, conversion, the 360 themes; agree Q1 goals.",
            created_by="demo:E006",
        )
    )
    live = make_id("okr:obj:live")
    if await session.get(Objective, (org_id, live)) is not None:
        review = ReviewMeeting(
            org_id=org_id,
            id=make_id("eval:review:live"),
            subject_kind="objective",
            subject_id=live,
            employee_id=emp("E006"),
            title="Live-stream channel: Q4 review",
            held_on=dt.date(2026, 11, 20),
            summary="Sales from live streams reached 62% of the target by mid-November.",
            result_data={"live_stream_sales": "31000", "target": "50000", "average_viewers": "560"},
            gap="19,000 USD of live-stream sales and 440 viewers short of the key results.",
            cause_analysis="Shows started three weeks late; no replay on product pages yet.",
            improvement_plan=[
                {
                    "action": "Make replays shoppable on the product pages",
                    "owner_id": str(emp("E009")),
                    "due_date": "2026-12-15",
                    "status": "in_progress",
                },
                {
                    "action": "Two shows a week through the holiday season",
                    "owner_id": str(emp("E008")),
                    "due_date": "2026-12-31",
                    "status": "open",
                },
            ],
            created_by="demo:E006",
        )
        session.add(review)
        await session.flush()
        await plan_actions.sync(session, review)
    await session.flush()
