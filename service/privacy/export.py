"""The export of everything held about one person: one JSON document, written section by
section while it is sent.

Each section is one set-based query over one table (the person's rows, or rows that hang
off theirs through a subquery), read from a session of the export's own in one read-only
snapshot (service/kit/export.py: `snapshot_session`) and streamed `CHUNK` rows at a time,
so memory stays bounded whatever the person's history. Peer feedback the person received
is anonymized: the reviewer's identity (and who asked for it) is never in the document.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.development.models import DevelopmentPlan, DevelopmentPlanItem
from service.evaluations.models import (
    CalibrationAdjustment,
    Evaluation,
    ImprovementActionState,
    Interview,
    PeerRequest,
    ReviewMeeting,
)
from service.incentives.models import IncentiveResult
from service.kit.export import CHUNK, snapshot_session, timestamp
from service.kit.models import AuditEvent
from service.kpi.models import KpiAssignment, KpiMeasurement
from service.meetings.models import CalendarFeed, Meeting, MeetingAction, MeetingAttendee
from service.okr.models import CheckIn, KeyResult, Objective
from service.org.models import Employee
from service.scim.models import ScimUser
from service.scoring.models import ScoreRecord, ScoreSnapshot

# Identities of other people that a section leaves out.
PEER_HIDDEN = ("reviewer_id", "requested_by", "requested_by_employee_id")
CALIBRATOR_HIDDEN = ("author", "author_employee_id")
# A calendar feed's token is a credential: even its hash stays out.
FEED_SECRET = ("token_hash",)
# Of an evaluation of someone else, the part the person wrote: the manager review.
MANAGER_REVIEW = ("id", "employee_id", "cycle_id", "manager_rating", "manager_comments", "manager_submitted_at")


def _default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return timestamp(value)
    if isinstance(value, (dt.date, uuid.UUID, Decimal)):
        return value.isoformat() if isinstance(value, dt.date) else str(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def dumps(value: Any) -> str:
    return json.dumps(value, default=_default, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class Section:
    """One key of the document: the table, which of its rows, and which columns: all but
    `hidden`, or only `only` where the rows are mostly someone else's."""

    name: str
    table: Table
    where: ColumnElement[bool]
    hidden: tuple[str, ...] = ()
    only: tuple[str, ...] = ()

    def statement(self, org_id: uuid.UUID) -> Select[Any]:
        cols = [
            c
            for c in self.table.columns
            if c.name not in ("org_id", *self.hidden) and (not self.only or c.name in self.only)
        ]
        key = [
            self.table.c[name]
            for name in ("id", "cycle_id", "employee_id", "review_meeting_id")
            if name in self.table.c
        ][:1]
        return select(*cols).where(self.table.c.org_id == org_id, self.where).order_by(*key)


def sections(org_id: uuid.UUID, emp_id: uuid.UUID) -> list[Section]:
    """Every section of one person's document, in the document's order."""
    obj, kr, ka = Objective.__table__, KeyResult.__table__, KpiAssignment.__table__
    their_objectives = select(obj.c.id).where(obj.c.org_id == org_id, obj.c.owner_id == emp_id)
    their_krs = select(kr.c.id).where(
        kr.c.org_id == org_id, (kr.c.owner_id == emp_id) | kr.c.objective_id.in_(their_objectives)
    )
    their_assignments = select(ka.c.id).where(ka.c.org_id == org_id, ka.c.employee_id == emp_id)
    ev, pr = Evaluation.__table__, PeerRequest.__table__
    att = MeetingAttendee.__table__
    their_meetings = select(att.c.meeting_id).where(att.c.org_id == org_id, att.c.employee_id == emp_id)
    return [
        Section("profile", Employee.__table__, Employee.__table__.c.id == emp_id),
        Section("scim_identity", ScimUser.__table__, ScimUser.__table__.c.id == emp_id),
        Section("objectives", obj, obj.c.owner_id == emp_id),
        Section("key_results", kr, kr.c.id.in_(their_krs)),
        Section(
            "check_ins",
            CheckIn.__table__,
            CheckIn.__table__.c.key_result_id.in_(their_krs) | (CheckIn.__table__.c.author_employee_id == emp_id),
        ),
        Section("kpi_assignments", ka, ka.c.employee_id == emp_id),
        Section(
            "kpi_measurements",
            KpiMeasurement.__table__,
            KpiMeasurement.__table__.c.assignment_id.in_(their_assignments),
        ),
        Section("evaluations_received", ev, ev.c.employee_id == emp_id),
        Section("peer_feedback_received", pr, pr.c.employee_id == emp_id, PEER_HIDDEN),
        Section(
            "evaluations_written",
            ev,
            (ev.c.manager_reviewer_id == emp_id) & (ev.c.employee_id != emp_id),
            only=MANAGER_REVIEW,
        ),
        Section("peer_feedback_written", pr, pr.c.reviewer_id == emp_id, ("requested_by", "requested_by_employee_id")),
        Section("interviews", Interview.__table__, Interview.__table__.c.employee_id == emp_id),
        Section("review_meetings", ReviewMeeting.__table__, ReviewMeeting.__table__.c.employee_id == emp_id),
        Section(
            "improvement_actions",
            ImprovementActionState.__table__,
            ImprovementActionState.__table__.c.owner_id == emp_id,
        ),
        Section("meetings", Meeting.__table__, Meeting.__table__.c.id.in_(their_meetings)),
        Section("meeting_actions", MeetingAction.__table__, MeetingAction.__table__.c.owner_id == emp_id),
        Section("calendar_feeds", CalendarFeed.__table__, CalendarFeed.__table__.c.employee_id == emp_id, FEED_SECRET),
        Section(
            "calibration_adjustments",
            CalibrationAdjustment.__table__,
            CalibrationAdjustment.__table__.c.employee_id == emp_id,
            CALIBRATOR_HIDDEN,
        ),
        Section("scores", ScoreSnapshot.__table__, ScoreSnapshot.__table__.c.employee_id == emp_id),
        Section("score_records", ScoreRecord.__table__, ScoreRecord.__table__.c.employee_id == emp_id),
        Section("incentive_results", IncentiveResult.__table__, IncentiveResult.__table__.c.employee_id == emp_id),
        Section("development_plans", DevelopmentPlan.__table__, DevelopmentPlan.__table__.c.employee_id == emp_id),
        Section(
            "development_tasks",
            DevelopmentPlanItem.__table__,
            DevelopmentPlanItem.__table__.c.employee_id == emp_id,
        ),
        Section(
            "audit_events",
            AuditEvent.__table__,
            (AuditEvent.__table__.c.entity_type == "employee") & (AuditEvent.__table__.c.entity_id == str(emp_id)),
        ),
    ]


SECTION_NAMES: Sequence[str] = tuple(s.name for s in sections(uuid.UUID(int=0), uuid.UUID(int=0)))


async def _rows(session: AsyncSession, org_id: uuid.UUID, section: Section) -> AsyncIterator[list[dict[str, Any]]]:
    result = await session.stream(section.statement(org_id).execution_options(yield_per=CHUNK))
    async for part in result.mappings().partitions(CHUNK):
        yield [dict(row) for row in part]


async def document(org_id: uuid.UUID, emp_id: uuid.UUID, exported_at: dt.datetime) -> AsyncIterator[bytes]:
    """The document's text, piece by piece: a header, then each section as a JSON array."""
    head = {"employee_id": emp_id, "exported_at": exported_at, "sections": list(SECTION_NAMES)}
    yield dumps(head)[:-1].encode()
    async with snapshot_session() as session:
        for section in sections(org_id, emp_id):
            yield f',"{section.name}":['.encode()
            first = True
            async for rows in _rows(session, org_id, section):
                text = ",".join(dumps(r) for r in rows)
                yield (text if first else "," + text).encode()
                first = False
            yield b"]"
    yield b"}"
