"""GraphQL types and inputs of the evaluation module. Objects are converted from the
services' read models (REST's), so what a caller may see (drafts, attributed or
anonymous 360 feedback) is decided once, in the services; nested fields go through the
request's dataloaders."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

import strawberry
from sqlalchemy import Select, false, select
from strawberry.dataloader import DataLoader

from service.auth.context import Ctx
from service.authz import policy
from service.cycles.gql import CycleType
from service.cycles.models import Cycle
from service.evaluations import calibration, interviews, peers, reviews
from service.evaluations import repository as repo
from service.evaluations import schemas as rest
from service.evaluations import service as svc
from service.evaluations.models import CalibrationAdjustment, Evaluation, Interview, PeerRequest
from service.evaluations.schemas import (
    CalibrationRead,
    DistributionEnforcement,
    DistributionGroup,
    EvaluationStatus,
    ImprovementAction,
    InterviewRead,
    PeerStatus,
    SubjectKind,
)
from service.graphql.common import (
    JSON,
    VERSION,
    Connection,
    Context,
    DecimalString,
    connection,
    described,
    enum_field,
    enum_type,
    fill,
    literal_of,
    page_params,
)
from service.graphql.nodes import Entity, NodeKey, by_loader, by_service, ref_field
from service.graphql.visibility import only_if, visible_rows
from service.org.gql import DepartmentType, EmployeeType
from service.org.models import Employee
from service.scoring.gql import ScoreStatusEnum

EvaluationStatusEnum = enum_type("EvaluationStatus", EvaluationStatus, "Where an evaluation is in its workflow")
PeerRequestStatus = enum_type("PeerRequestStatus", PeerStatus, "Where a 360 feedback request is")
InterviewStatus = enum_type("InterviewStatus", literal_of(InterviewRead, "status"), "Where an interview is")
CalibrationStatus = enum_type("CalibrationStatus", literal_of(CalibrationRead, "status"), "Whether a session is open")
DistributionMode = enum_type(
    "DistributionMode", literal_of(DistributionGroup, "mode"), "Whether a forced distribution advises or enforces"
)
DistributionEnforcementEnum = enum_type(
    "DistributionEnforcement",
    DistributionEnforcement,
    "How finalizing a calibration applies an enforced guideline: re-rate by rank, or only cap the bands",
)
ReviewSubjectKind = enum_type("ReviewSubjectKind", SubjectKind, "What a review meeting is about")
ImprovementActionStatus = enum_type(
    "ImprovementActionStatus", literal_of(ImprovementAction, "status"), "Where an improvement action is"
)

# What the dataloaders may read. Evaluations and their interviews: `policy.read_evaluation`
# (the evaluated employee, their managers, hr, admin, auditors; no integration client),
# the rule of `svc.list_evaluations` and `interviews.list_interviews` (an interview's
# employee is its evaluation's). Peer requests: only those the caller may read whole
# (`repo.visible_peer_requests`); the evaluated employee gets none, and sees their
# requests only as `peers.request_read` anonymises them (`_requests_loader`).


def _subject(ctx: Ctx, stmt: Select[Any], column: Any) -> Select[Any]:
    p = ctx.principal
    if not policy.is_person(p):
        return stmt.where(false())
    return stmt.where(repo.subject_visible(column, ctx.org_id, policy.reads_everything(p), p.employee_id))


@visible_rows(Evaluation)
def visible_evaluations(ctx: Ctx) -> Select[Any]:
    return _subject(ctx, repo.evaluations(ctx.org_id), Evaluation.employee_id)


@visible_rows(Interview)
def visible_interviews(ctx: Ctx) -> Select[Any]:
    return _subject(ctx, repo.interviews(ctx.org_id), Interview.employee_id)


@visible_rows(PeerRequest)
def visible_peer_requests(ctx: Ctx) -> Select[Any]:
    p = ctx.principal
    stmt = repo.visible_peer_requests(ctx.org_id, policy.reads_everything(p), p.employee_id)
    return stmt if policy.is_person(p) else stmt.where(false())


@visible_rows(CalibrationAdjustment)
def visible_adjustments(ctx: Ctx) -> Select[Any]:
    """A session's adjustments are read with the session: `policy.read_calibrations`, as
    `calibration.list_adjustments` (`calibration.get_session`)."""
    stmt = select(CalibrationAdjustment).where(CalibrationAdjustment.org_id == ctx.org_id)
    return only_if(stmt, policy.read_calibrations(ctx.principal))


async def _employee(info: Context, employee_id: uuid.UUID | None) -> EmployeeType | None:
    if employee_id is None or not policy.read_directory(info.context.ctx.principal).allowed:
        return None
    emp = await info.context.loaders.by_id(Employee).load(employee_id)
    return EmployeeType.of(emp) if emp else None


async def _cycle(info: Context, cycle_id: uuid.UUID) -> CycleType | None:
    row = await info.context.loaders.by_id(Cycle).load(cycle_id)
    return CycleType.of(row) if row else None


# --- evaluations -------------------------------------------------------------------------------


@described(rest.SelfReviewRead, rest.SelfReviewIn)
@strawberry.type(name="SelfReview")
class SelfReviewType:
    rating: int | None
    comments: str | None
    submitted_at: dt.datetime | None


@described(rest.CompetencyRead, rest.CompetencyIn)
@strawberry.type(name="CompetencyRating")
class CompetencyType:
    name: str
    rating: int
    comments: str | None


@described(rest.ManagerReviewRead, rest.ManagerReviewIn)
@strawberry.type(name="ManagerReview")
class ManagerReviewType:
    rating: int | None
    comments: str | None
    competencies: list[CompetencyType]
    reviewer_id: uuid.UUID | None
    submitted_at: dt.datetime | None


@described(rest.FeedbackSummary)
@strawberry.type(
    name="PeerFeedbackSummary",
    description="360 feedback in aggregate; for the evaluated employee "
    "anonymous, and empty until enough reviewers answered",
)
class FeedbackSummaryType:
    available: bool
    min_reviewers: int
    answered: int | None
    mean_rating: DecimalString | None
    comments: list[str]


@described(rest.CalibrationOutcome)
@strawberry.type(name="CalibrationOutcome")
class CalibrationOutcomeType:
    calibration_id: uuid.UUID
    calibrated_at: dt.datetime | None
    final: DecimalString | None
    rating: str | None
    computed_rating: str | None
    distribution_enforced: bool


def _summary(s: Any) -> FeedbackSummaryType | None:
    return None if s is None else fill(FeedbackSummaryType, s)


@described(rest.PeerRequestRead, rest.PeerRequestCreate)
@strawberry.type(
    name="PeerRequest",
    description="for the evaluated employee anonymised: the reviewers they "
    "asked themselves, never a status or an answer",
)
class PeerRequestType(Entity):
    evaluation_id: uuid.UUID
    employee_id: uuid.UUID
    cycle_id: uuid.UUID
    reviewer_id: uuid.UUID | None
    requested_by: str | None
    due_date: dt.date | None
    status: str | None = enum_field(PeerRequestStatus | None)
    rating: int | None
    comments: str | None
    submitted_at: dt.datetime | None
    declined_at: dt.datetime | None
    decline_reason: str | None
    created_at: dt.datetime
    version: int | None = strawberry.field(
        description=VERSION + "; null where the request is anonymised (its changes would tell who answered)"
    )

    @staticmethod
    def of(r: Any, row: Any | None) -> PeerRequestType:
        """`r` the request as the caller may see it (`peers.request_read`), `row` its row."""
        return fill(PeerRequestType, r, version=row.version if row is not None and r.status is not None else None)

    @classmethod
    async def load_nodes(cls, info: Context, keys: list[NodeKey]) -> Sequence[PeerRequestType | None]:
        async def fetch(key: NodeKey) -> PeerRequestType:
            ctx = info.context.ctx
            row, rel = await peers.get_request(ctx, key.id)
            return PeerRequestType.of(peers.request_read(row, ctx.principal, rel), row)

        return await by_service(keys, fetch)


def _requests_loader(info: Context) -> DataLoader[uuid.UUID, list[PeerRequestType]]:
    loaders = info.context.loaders

    def factory(ctx: Any) -> DataLoader[uuid.UUID, list[PeerRequestType]]:
        async def load(ids: list[uuid.UUID]) -> list[list[PeerRequestType]]:
            rows = [r for r in await loaders.by_id(Evaluation).load_many(ids) if r is not None]
            reads = await peers.requests_by_evaluation(ctx, rows)
            found = await loaders.many_by(PeerRequest, "evaluation_id").load_many(ids)
            by_id = {r.id: r for group in found for r in group}
            return [[PeerRequestType.of(r, by_id.get(r.id)) for r in reads.get(i, [])] for i in ids]

        return DataLoader(load_fn=load)

    return loaders.custom("evaluations:peer_requests", factory)


@described(rest.InterviewRead, rest.InterviewCreate)
@strawberry.type(name="Interview")
class InterviewType(Entity):
    evaluation_id: uuid.UUID
    employee_id: uuid.UUID
    cycle_id: uuid.UUID
    interviewer_id: uuid.UUID | None
    status: str = enum_field(InterviewStatus)
    scheduled_at: dt.datetime | None
    plan: str | None
    notes: str | None
    outcome: str | None
    acknowledged_at: dt.datetime | None
    acknowledged_by: str | None
    acknowledgement_comment: str | None
    created_by: str
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int = strawberry.field(description=VERSION)

    @staticmethod
    def of(row: Interview) -> InterviewType:
        return fill(InterviewType, interviews.interview_read(row), version=row.version)

    @classmethod
    async def load_nodes(cls, info: Context, keys: list[NodeKey]) -> Sequence[InterviewType | None]:
        async def fetch(key: NodeKey) -> InterviewType:
            row, _ = await interviews.get_interview(info.context.ctx, key.id)
            return InterviewType.of(row)

        return await by_service(keys, fetch)


@described(rest.EvaluationRead, rest.EvaluationCreate)
@strawberry.type(name="Evaluation")
class EvaluationType(Entity):
    employee_id: uuid.UUID
    cycle_id: uuid.UUID
    status: str = enum_field(EvaluationStatusEnum)
    self_review: SelfReviewType | None
    manager_review: ManagerReviewType | None
    peer_feedback: FeedbackSummaryType | None
    calibration: CalibrationOutcomeType | None
    final_score: DecimalString | None
    final_rating: str | None
    finalized_at: dt.datetime | None
    acknowledged_at: dt.datetime | None
    acknowledged_by: str | None
    acknowledgement_comment: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int = strawberry.field(description=VERSION)

    @strawberry.field(description="null for callers that may not read the directory")
    async def employee(self, info: Context) -> EmployeeType | None:
        return await _employee(info, self.employee_id)

    @strawberry.field
    async def cycle(self, info: Context) -> CycleType | None:
        return await _cycle(info, self.cycle_id)

    @strawberry.field(description="360 requests, as the caller may see them")
    async def peer_requests(self, info: Context) -> list[PeerRequestType]:
        return await _requests_loader(info).load(self.id)

    @strawberry.field(description="The evaluation's performance interviews")
    async def interviews(self, info: Context) -> list[InterviewType]:
        rows = await info.context.loaders.many_by(Interview, "evaluation_id", order=lambda i: i.id).load(self.id)
        return [InterviewType.of(i) for i in rows]

    @staticmethod
    def of(e: Any, row: Any) -> EvaluationType:
        """`e` the evaluation's read model (`svc.read_many`), `row` its row."""
        mr = e.manager_review
        return fill(
            EvaluationType,
            e,
            version=row.version,
            self_review=fill(SelfReviewType, e.self_review) if e.self_review else None,
            manager_review=fill(ManagerReviewType, mr, competencies=[fill(CompetencyType, c) for c in mr.competencies])
            if mr
            else None,
            peer_feedback=_summary(e.peer_feedback),
            calibration=fill(CalibrationOutcomeType, e.calibration) if e.calibration else None,
        )

    @classmethod
    async def load_nodes(cls, info: Context, keys: list[NodeKey]) -> Sequence[EvaluationType | None]:
        async def fetch(key: NodeKey) -> EvaluationType:
            ctx = info.context.ctx
            row, _ = await svc.visible(ctx, key.id)
            return EvaluationType.of(await svc.read_one(ctx, row), row)

        return await by_service(keys, fetch)


@described(rest.FeedbackRead, rest.FeedbackCreate)
@strawberry.type(
    name="PeerFeedback",
    description="an attributed 360 answer (managers, hr, admin, auditors); its id is the answered request's",
)
class FeedbackType(Entity):
    evaluation_id: uuid.UUID
    reviewer_id: uuid.UUID
    rating: int | None
    comments: str | None
    submitted_at: dt.datetime | None

    @classmethod
    async def load_nodes(cls, info: Context, keys: list[NodeKey]) -> Sequence[FeedbackType | None]:
        """An answered request the caller may read whole (`peerRequest(id:)` with its status)."""

        async def fetch(key: NodeKey) -> FeedbackType | None:
            ctx = info.context.ctx
            row, rel = await peers.get_request(ctx, key.id)
            if peers.request_read(row, ctx.principal, rel).status != "submitted":
                return None
            return fill(FeedbackType, peers.feedback_read(row))

        return await by_service(keys, fetch)


@described(rest.FeedbackPage)
@strawberry.type(name="PeerFeedbackConnection", description="An evaluation's attributed 360 answers, a page at a time")
class FeedbackConnection(Connection[FeedbackType]):
    attributed: bool = strawberry.field(description="false for the evaluated employee: no answers, the summary only")
    summary: FeedbackSummaryType


@described(rest.EvaluationBulkResult)
@strawberry.type(name="EvaluationBulkResult")
class EvaluationBulkResultType:
    created: int
    skipped: int
    evaluation_ids: list[uuid.UUID]


# --- calibration -------------------------------------------------------------------------------


@described(rest.AdjustmentRead, rest.CalibrationAdjustmentCreate)
@strawberry.type(name="CalibrationAdjustment")
class AdjustmentType(Entity):
    calibration_id: uuid.UUID
    employee_id: uuid.UUID
    delta: DecimalString
    reason: str
    author: str
    created_at: dt.datetime

    @staticmethod
    def of(row: Any) -> AdjustmentType:
        return fill(AdjustmentType, calibration.adjustment_read(row))

    @classmethod
    async def load_nodes(cls, info: Context, keys: list[NodeKey]) -> Sequence[AdjustmentType | None]:
        return await by_loader(info.context.loaders.by_id(CalibrationAdjustment), keys, AdjustmentType.of)


@described(rest.BandRead)
@strawberry.type(name="CalibrationBand")
class BandType:
    rating: str
    pct: DecimalString | None
    allowed: int | None
    actual: int


@described(rest.PolicyRefRead)
@strawberry.type(name="CalibrationPolicyRef")
class PolicyRefType:
    policy_id: uuid.UUID | None = strawberry.field(description="the scoring policy; null for the built-in defaults")
    version: int


@described(rest.DistributionGroup)
@strawberry.type(name="CalibrationGroup")
class GroupType:
    policy: PolicyRefType
    mode: str | None = enum_field(DistributionMode | None)
    employee_ids: list[uuid.UUID]
    bands: list[BandType]


@described(rest.MemberResult)
@strawberry.type(name="CalibrationMemberResult")
class MemberResultType:
    employee_id: uuid.UUID
    status: str = enum_field(ScoreStatusEnum)
    composite: DecimalString | None
    calibration_delta: DecimalString
    final: DecimalString | None
    rating: str | None
    computed_rating: str | None
    enforced_rating: str | None
    flags: list[str]


@described(rest.DistributionRead)
@strawberry.type(name="CalibrationDistribution")
class DistributionType:
    calibration_id: uuid.UUID
    cycle_id: uuid.UUID
    status: str = enum_field(CalibrationStatus)
    simulated: bool
    distribution_mode: str = enum_field(DistributionEnforcementEnum)
    bands: list[BandType]
    groups: list[GroupType]
    employees: list[MemberResultType]

    @staticmethod
    def of(d: Any) -> DistributionType:
        return fill(
            DistributionType,
            d,
            bands=[fill(BandType, b) for b in d.bands],
            groups=[
                fill(
                    GroupType,
                    g,
                    policy=PolicyRefType(policy_id=g.policy.id, version=g.policy.version),
                    bands=[fill(BandType, b) for b in g.bands],
                )
                for g in d.groups
            ],
            employees=[fill(MemberResultType, m) for m in d.employees],
        )


@described(rest.CalibrationRead, rest.CalibrationCreate)
@strawberry.type(name="Calibration")
class CalibrationType(Entity):
    cycle_id: uuid.UUID
    name: str
    department_id: uuid.UUID | None
    status: str = enum_field(CalibrationStatus)
    distribution_mode: str = enum_field(DistributionEnforcementEnum)
    employee_ids: list[uuid.UUID]
    created_by: str
    finalized_at: dt.datetime | None
    finalized_by: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int = strawberry.field(description=VERSION)

    @strawberry.field
    async def cycle(self, info: Context) -> CycleType | None:
        return await _cycle(info, self.cycle_id)

    @strawberry.field(description="per band allowed and actual counts, each member's final and rating")
    async def distribution(self, info: Context) -> DistributionType:
        return DistributionType.of(await calibration.distribution(info.context.ctx, self.id))

    @strawberry.field(description="The session's adjustments, a page at a time")
    async def adjustments(
        self,
        info: Context,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[AdjustmentType]:
        params = page_params(first, after, last, before)
        page = await calibration.list_adjustments(info.context.ctx, self.id, params)
        return connection(page, AdjustmentType.of, params)

    @staticmethod
    def of(c: Any, row: Any) -> CalibrationType:
        """`c` the session's read model (`calibration.reads_of`), `row` its row."""
        return fill(CalibrationType, c, version=row.version)

    @classmethod
    async def load_nodes(cls, info: Context, keys: list[NodeKey]) -> Sequence[CalibrationType | None]:
        async def fetch(key: NodeKey) -> CalibrationType:
            row = await calibration.get_session(info.context.ctx, key.id)
            return CalibrationType.of((await calibration.reads_of(info.context.ctx, [row]))[0], row)

        return await by_service(keys, fetch)


# --- review meetings ---------------------------------------------------------------------------


@described(rest.SubjectRead, rest.SubjectRef)
@strawberry.type(name="ReviewSubject")
class SubjectType:
    kind: str = enum_field(ReviewSubjectKind)
    subject_id: uuid.UUID = strawberry.field(description="the objective, cycle or evaluation (as `kind` says)")


@described(rest.ImprovementActionRead, rest.ImprovementAction)
@strawberry.type(name="ImprovementAction")
class ImprovementActionType:
    action: str
    owner_id: uuid.UUID
    due_date: dt.date
    status: str = enum_field(ImprovementActionStatus)


@described(rest.ReviewMeetingRead, rest.ReviewMeetingCreate)
@strawberry.type(name="ReviewMeeting")
class ReviewMeetingType(Entity):
    subject: SubjectType
    employee_id: uuid.UUID | None
    title: str | None
    held_on: dt.date | None
    summary: str | None
    result_data: JSON | None
    gap: str | None
    cause_analysis: str | None
    improvement_plan: list[ImprovementActionType]
    created_by: str
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int = strawberry.field(description=VERSION)

    @staticmethod
    def of(row: Any) -> ReviewMeetingType:
        m = reviews.meeting_read(row)
        return fill(
            ReviewMeetingType,
            m,
            subject=SubjectType(kind=m.subject.kind, subject_id=m.subject.id),
            improvement_plan=[fill(ImprovementActionType, a) for a in m.improvement_plan],
            version=row.version,
        )

    @classmethod
    async def load_nodes(cls, info: Context, keys: list[NodeKey]) -> Sequence[ReviewMeetingType | None]:
        async def fetch(key: NodeKey) -> ReviewMeetingType:
            row, _ = await reviews.get_meeting(info.context.ctx, key.id)
            return ReviewMeetingType.of(row)

        return await by_service(keys, fetch)


# --- inputs ------------------------------------------------------------------------------------


@described(rest.SelfReviewIn, rest.SelfReviewRead)
@strawberry.input(description="The employee's own review of the cycle")
class SelfReviewInput:
    rating: int | None = strawberry.UNSET
    comments: str | None = strawberry.UNSET


@described(rest.CompetencyIn, rest.CompetencyRead)
@strawberry.input(description="A rating of one competency")
class CompetencyInput:
    name: str
    rating: int
    comments: str | None = strawberry.UNSET


@described(rest.ManagerReviewIn, rest.ManagerReviewRead)
@strawberry.input(description="The manager's review of the employee")
class ManagerReviewInput:
    rating: int | None = strawberry.UNSET
    comments: str | None = strawberry.UNSET
    competencies: list[CompetencyInput] | None = strawberry.UNSET


@described(rest.EvaluationCreate, rest.EvaluationRead)
@strawberry.input(description="The fields of an evaluation to create, or to change (a field left out keeps its value)")
class EvaluationInput:
    employee_id: strawberry.ID | None = ref_field(EmployeeType)
    cycle_id: strawberry.ID | None = ref_field(CycleType)
    self_review: SelfReviewInput | None = strawberry.UNSET
    manager_review: ManagerReviewInput | None = strawberry.UNSET


@described(rest.EvaluationBulkCreate)
@strawberry.input(description="Evaluations to create at once: for employees, or every employee of a department")
class EvaluationBulkInput:
    cycle_id: strawberry.ID = ref_field(CycleType)
    department_id: strawberry.ID | None = ref_field(DepartmentType)
    employee_ids: list[strawberry.ID] | None = ref_field(EmployeeType)


@described(rest.PeerRequestCreate, rest.PeerRequestRead)
@strawberry.input(description="A 360 feedback request to send to a reviewer")
class PeerRequestInput:
    reviewer_id: strawberry.ID = ref_field(EmployeeType)
    due_date: dt.date | None = strawberry.UNSET


@described(rest.FeedbackCreate, rest.FeedbackRead)
@strawberry.input(description="A reviewer's 360 answer")
class FeedbackInput:
    rating: int
    comments: str | None = strawberry.UNSET
    reviewer_id: strawberry.ID | None = ref_field(EmployeeType)


@described(rest.CalibrationCreate, rest.CalibrationRead)
@strawberry.input(
    description="A calibration session to open: its cycle, a name, and its members (employees, or a department)"
)
class CalibrationInput:
    cycle_id: strawberry.ID = ref_field(CycleType)
    name: str
    employee_ids: list[strawberry.ID] | None = ref_field(EmployeeType)
    department_id: strawberry.ID | None = ref_field(DepartmentType)
    distribution_mode: str | None = enum_field(DistributionEnforcementEnum | None, default=strawberry.UNSET)


@described(rest.CalibrationAdjustmentCreate, rest.AdjustmentRead)
@strawberry.input(description="A calibration adjustment to record: points for one member, and why")
class AdjustmentInput:
    employee_id: strawberry.ID = ref_field(EmployeeType)
    delta: DecimalString
    reason: str | None = strawberry.UNSET


@described(rest.InterviewCreate, rest.InterviewRead)
@strawberry.input(
    description="The fields of a performance interview to schedule, or to change (a field left out keeps its value)"
)
class InterviewInput:
    evaluation_id: strawberry.ID | None = ref_field(EvaluationType)
    interviewer_id: strawberry.ID | None = ref_field(EmployeeType)
    scheduled_at: dt.datetime | None = strawberry.UNSET
    plan: str | None = strawberry.UNSET
    notes: str | None = strawberry.UNSET
    outcome: str | None = strawberry.UNSET


@described(rest.SubjectRef, rest.SubjectRead)
@strawberry.input(description="What a review meeting is about: an objective, a cycle or an evaluation")
class SubjectInput:
    kind: str = enum_field(ReviewSubjectKind)
    subject_id: strawberry.ID = ref_field(
        "Objective", "Cycle", "Evaluation", description="The objective, cycle or evaluation (as `kind` says)"
    )


@described(rest.ImprovementAction, rest.ImprovementActionRead)
@strawberry.input(description="One action of an improvement plan")
class ImprovementActionInput:
    action: str
    owner_id: strawberry.ID = ref_field(EmployeeType)
    due_date: dt.date
    status: str | None = enum_field(ImprovementActionStatus | None, default=strawberry.UNSET)


@described(rest.ReviewMeetingCreate, rest.ReviewMeetingRead)
@strawberry.input(
    description="The fields of a review meeting record to create, or to change (a field left out keeps its value)"
)
class ReviewMeetingInput:
    subject: SubjectInput | None = strawberry.UNSET
    title: str | None = strawberry.UNSET
    held_on: dt.date | None = strawberry.UNSET
    summary: str | None = strawberry.UNSET
    result_data: JSON | None = strawberry.UNSET
    gap: str | None = strawberry.UNSET
    cause_analysis: str | None = strawberry.UNSET
    improvement_plan: list[ImprovementActionInput] | None = strawberry.UNSET
    prefill: bool | None = strawberry.UNSET


# --- an employee's evaluations (Employee.evaluations) ---------------------------------------------

EMPLOYEE_LIST_BOUND = 100


async def evaluations_of(info: Context, employee_id: uuid.UUID, cycle_id: uuid.UUID | None) -> list[EvaluationType]:
    """What GET /evaluations?employee_id=...&cycle_id=... lists the caller; the read
    models of every employee asked for at once are made in one batch (`svc.read_many`)."""
    column = Evaluation.__table__.c.cycle_id
    where, name = ((column == cycle_id,), f"cycle={cycle_id}") if cycle_id is not None else ((), "")
    rows = await info.context.loaders.owned_by(
        Evaluation, "employee_id", where=where, where_name=name, bound=EMPLOYEE_LIST_BOUND
    ).load(employee_id)
    reads = await _reads_loader(info).load_many(rows)
    return [EvaluationType.of(r, row) for r, row in zip(reads, rows, strict=True)]


def _reads_loader(info: Context) -> Any:
    """Evaluation rows → their read models, batched across the request's resolvers."""

    def make(ctx: Any) -> DataLoader[Any, Any]:
        async def load(rows: list[Any]) -> list[Any]:
            return list(await svc.read_many(ctx, rows))

        return DataLoader(load_fn=load, cache_key_fn=lambda row: row.id)

    return info.context.loaders.custom("evaluations:reads", make)
