"""GraphQL adapter of the evaluation module: thin queries and mutations over the same
services as REST (types in gql_types.py)."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry

from service.cycles.gql import CycleType
from service.evaluations import calibration, interviews, peers, reviews, workflow
from service.evaluations import service as svc
from service.evaluations.gql_types import (
    AdjustmentInput,
    AdjustmentType,
    CalibrationInput,
    CalibrationStatus,
    CalibrationType,
    DistributionEnforcementEnum,
    DistributionType,
    EvaluationBulkInput,
    EvaluationBulkResultType,
    EvaluationInput,
    EvaluationStatusEnum,
    EvaluationType,
    FeedbackConnection,
    FeedbackInput,
    FeedbackSummaryType,
    FeedbackType,
    InterviewInput,
    InterviewType,
    ManagerReviewInput,
    PeerRequestInput,
    PeerRequestStatus,
    PeerRequestType,
    ReviewMeetingInput,
    ReviewMeetingType,
    ReviewSubjectKind,
    SelfReviewInput,
)
from service.evaluations.models import Evaluation
from service.evaluations.schemas import (
    CalibrationAdjustmentCreate,
    CalibrationCreate,
    EvaluationActionIn,
    EvaluationBulkCreate,
    EvaluationCreate,
    EvaluationUpdate,
    FeedbackCreate,
    InterviewAcknowledge,
    InterviewCreate,
    InterviewUpdate,
    PeerDecline,
    PeerRequestCreate,
    ReviewMeetingCreate,
    ReviewMeetingUpdate,
    SimulateIn,
)
from service.graphql.common import (
    CHILD_CYCLES,
    SUBTREE,
    Connection,
    Context,
    connection,
    described,
    edges_of,
    fill,
    input_dict,
    list_arguments,
    nodes_connection,
    order_argument,
    order_input,
    page_params,
    plain,
    search_argument,
    sort_of,
    validate_input,
)
from service.graphql.nodes import ref
from service.kit.etag import IfMatch
from service.kit.pagination import encode_cursor
from service.org.gql import DepartmentType, EmployeeType


async def _evaluation(info: Context, row: Evaluation) -> EvaluationType:
    return EvaluationType.of(await svc.read_one(info.context.ctx, row), row)


async def _calibration(info: Context, row: Any) -> CalibrationType:
    return CalibrationType.of((await calibration.reads_of(info.context.ctx, [row]))[0], row)


EvaluationOrder = order_input("Evaluation", svc.EVALUATION_SORT, "evaluations")


@described(filters=True)
@strawberry.type
class EvaluationQuery:
    @strawberry.field(description="The evaluations the caller may see, a page at a time")
    async def evaluations(
        self,
        info: Context,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        cycle_id: strawberry.ID | None = None,
        include_child_cycles: Annotated[bool, strawberry.argument(description=CHILD_CYCLES)] = False,
        employee_id: strawberry.ID | None = None,
        status: Annotated[str | None, strawberry.argument(graphql_type=EvaluationStatusEnum | None)] = None,
        department_id: Annotated[
            strawberry.ID | None, strawberry.argument(description="the evaluated employee's department")
        ] = None,
        manager_id: Annotated[
            strawberry.ID | None, strawberry.argument(description="the evaluations of this manager's direct reports")
        ] = None,
        subtree: Annotated[bool, strawberry.argument(description=SUBTREE)] = False,
        q: Annotated[
            str | None, search_argument("the evaluated employee's given name, family name, email and external id")
        ] = None,
        order_by: Annotated[list[Any] | None, order_argument(EvaluationOrder)] = None,
    ) -> Connection[EvaluationType]:
        ctx = info.context.ctx
        params = page_params(first, after, last, before)
        with list_arguments(params):
            page = await svc.list_evaluations(
                ctx,
                params,
                cycle_id=ref(cycle_id, CycleType, loc=["cycleId"]),
                include_child_cycles=include_child_cycles,
                employee_id=ref(employee_id, EmployeeType, loc=["employeeId"]),
                status=plain(status),
                department_id=ref(department_id, DepartmentType, loc=["departmentId"]),
                manager_id=ref(manager_id, EmployeeType, loc=["managerId"]),
                subtree=subtree,
                q=q,
                sort=sort_of(order_by),
            )
        reads = await svc.read_many(ctx, page.items)
        nodes = [EvaluationType.of(r, row) for r, row in zip(reads, page.items, strict=True)]
        return nodes_connection(page, nodes, params)

    @strawberry.field(description="One evaluation")
    async def evaluation(self, info: Context, id: strawberry.ID) -> EvaluationType:
        row, _ = await svc.visible(info.context.ctx, ref(id, EvaluationType))
        return await _evaluation(info, row)

    @strawberry.field(
        description="attributed items for managers and hr/admin/auditors; for the evaluated "
        "employee only the anonymous summary"
    )
    async def evaluation_feedback(
        self,
        info: Context,
        evaluation_id: strawberry.ID,
        first: int | None = None,
        after: str | None = None,
        reviewer_id: strawberry.ID | None = None,
    ) -> FeedbackConnection:
        evaluation = ref(evaluation_id, EvaluationType, loc=["evaluationId"])
        reviewer = ref(reviewer_id, EmployeeType, loc=["reviewerId"])
        page = await peers.feedback_page(info.context.ctx, evaluation, page_params(first, after), reviewer)
        answers = edges_of(
            page.items,
            page.next_cursor is not None,
            after,
            lambda f: encode_cursor(f.id),
            lambda f: fill(FeedbackType, f),
        )
        return FeedbackConnection(
            edges=answers.edges,
            page_info=answers.page_info,
            attributed=page.attributed,
            summary=fill(FeedbackSummaryType, page.summary),
        )

    @strawberry.field(
        description="requests the caller answers and those about people they manage; never those about the caller"
    )
    async def peer_requests(
        self,
        info: Context,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        reviewer_id: strawberry.ID | None = None,
        evaluation_id: strawberry.ID | None = None,
        cycle_id: strawberry.ID | None = None,
        status: Annotated[str | None, strawberry.argument(graphql_type=PeerRequestStatus | None)] = None,
    ) -> Connection[PeerRequestType]:
        ctx = info.context.ctx
        params = page_params(first, after, last, before)
        page = await peers.list_requests(
            ctx,
            params,
            reviewer_id=ref(reviewer_id, EmployeeType, loc=["reviewerId"]),
            evaluation_id=ref(evaluation_id, EvaluationType, loc=["evaluationId"]),
            cycle_id=ref(cycle_id, CycleType, loc=["cycleId"]),
            status=plain(status),
        )
        reads = await peers.reads_of(ctx, page.items)
        nodes = [PeerRequestType.of(r, row) for r, row in zip(reads, page.items, strict=True)]
        return nodes_connection(page, nodes, params)

    @strawberry.field(description="One 360 feedback request")
    async def peer_request(self, info: Context, id: strawberry.ID) -> PeerRequestType:
        row, rel = await peers.get_request(info.context.ctx, ref(id, PeerRequestType))
        return PeerRequestType.of(peers.request_read(row, info.context.ctx.principal, rel), row)

    @strawberry.field(description="The calibration sessions, a page at a time")
    async def calibrations(
        self,
        info: Context,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        cycle_id: strawberry.ID | None = None,
        status: Annotated[str | None, strawberry.argument(graphql_type=CalibrationStatus | None)] = None,
    ) -> Connection[CalibrationType]:
        ctx = info.context.ctx
        params = page_params(first, after, last, before)
        cycle = ref(cycle_id, CycleType, loc=["cycleId"])
        page = await calibration.list_sessions(ctx, params, cycle, plain(status))
        reads = await calibration.reads_of(ctx, page.items)
        nodes = [CalibrationType.of(r, row) for r, row in zip(reads, page.items, strict=True)]
        return nodes_connection(page, nodes, params)

    @strawberry.field(description="One calibration session")
    async def calibration(self, info: Context, id: strawberry.ID) -> CalibrationType:
        return await _calibration(info, await calibration.get_session(info.context.ctx, ref(id, CalibrationType)))

    @strawberry.field(description="The performance interviews the caller may see, a page at a time")
    async def interviews(
        self,
        info: Context,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        evaluation_id: strawberry.ID | None = None,
        employee_id: strawberry.ID | None = None,
        cycle_id: strawberry.ID | None = None,
    ) -> Connection[InterviewType]:
        params = page_params(first, after, last, before)
        page = await interviews.list_interviews(
            info.context.ctx,
            params,
            evaluation_id=ref(evaluation_id, EvaluationType, loc=["evaluationId"]),
            employee_id=ref(employee_id, EmployeeType, loc=["employeeId"]),
            cycle_id=ref(cycle_id, CycleType, loc=["cycleId"]),
        )
        return connection(page, InterviewType.of, params)

    @strawberry.field(description="One performance interview")
    async def interview(self, info: Context, id: strawberry.ID) -> InterviewType:
        row, _ = await interviews.get_interview(info.context.ctx, ref(id, InterviewType))
        return InterviewType.of(row)

    @strawberry.field(description="The review meeting records the caller may see, a page at a time")
    async def review_meetings(
        self,
        info: Context,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        subject_kind: Annotated[str | None, strawberry.argument(graphql_type=ReviewSubjectKind | None)] = None,
        subject_id: strawberry.ID | None = None,
        employee_id: strawberry.ID | None = None,
    ) -> Connection[ReviewMeetingType]:
        params = page_params(first, after, last, before)
        page = await reviews.list_meetings(
            info.context.ctx,
            params,
            subject_kind=plain(subject_kind),
            subject_id=ref(subject_id, "Objective", "Cycle", "Evaluation", loc=["subjectId"]),
            employee_id=ref(employee_id, EmployeeType, loc=["employeeId"]),
        )
        return connection(page, ReviewMeetingType.of, params)

    @strawberry.field(description="One review meeting record")
    async def review_meeting(self, info: Context, id: strawberry.ID) -> ReviewMeetingType:
        row, _ = await reviews.get_meeting(info.context.ctx, ref(id, ReviewMeetingType))
        return ReviewMeetingType.of(row)


async def _act(
    info: Context, id: strawberry.ID, action: str, body: dict[str, Any], expected_version: int | None = None
) -> EvaluationType:
    data = validate_input(EvaluationActionIn, body)
    evaluation = ref(id, EvaluationType)
    return await _evaluation(
        info, await workflow.act(info.context.ctx, evaluation, action, data, expected=IfMatch.of(expected_version))
    )


def _meeting(input: ReviewMeetingInput) -> dict[str, Any]:
    """REST's body: the subject is `{kind, id}` there (`subjectId` here, as every other
    reference is named)."""
    data = input_dict(input)
    subject = data.get("subject")
    if isinstance(subject, dict) and "subject_id" in subject:
        subject["id"] = subject.pop("subject_id")
    return data


@described()
@strawberry.type
class EvaluationMutation:
    @strawberry.mutation(description="Creates an evaluation for an employee and cycle")
    async def create_evaluation(self, info: Context, input: EvaluationInput) -> EvaluationType:
        data = validate_input(EvaluationCreate, input_dict(input))
        return await _evaluation(info, await svc.create_evaluation(info.context.ctx, data))

    @strawberry.mutation(description="Creates evaluations for many employees of a cycle at once")
    async def create_evaluations_bulk(self, info: Context, input: EvaluationBulkInput) -> EvaluationBulkResultType:
        data = validate_input(EvaluationBulkCreate, input_dict(input))
        return fill(EvaluationBulkResultType, await svc.bulk_create(info.context.ctx, data))

    @strawberry.mutation(
        description="drafts: `self_review` (the employee), `manager_review` (the direct manager or hr/admin)"
    )
    async def update_evaluation(
        self, info: Context, id: strawberry.ID, input: EvaluationInput, expected_version: int | None = None
    ) -> EvaluationType:
        data = validate_input(EvaluationUpdate, input_dict(input))
        return await _evaluation(
            info,
            await svc.update_evaluation(
                info.context.ctx, ref(id, EvaluationType), data, expected=IfMatch.of(expected_version)
            ),
        )

    @strawberry.mutation(description="Submits the employee's self review")
    async def submit_self_review(
        self,
        info: Context,
        id: strawberry.ID,
        self_review: SelfReviewInput | None = None,
        expected_version: int | None = None,
    ) -> EvaluationType:
        return await _act(
            info,
            id,
            "submit_self",
            {"self_review": input_dict(self_review)} if self_review is not None else {},
            expected_version=expected_version,
        )

    @strawberry.mutation(description="Submits the manager's review")
    async def submit_manager_review(
        self,
        info: Context,
        id: strawberry.ID,
        manager_review: ManagerReviewInput | None = None,
        expected_version: int | None = None,
    ) -> EvaluationType:
        return await _act(
            info,
            id,
            "submit_manager",
            {"manager_review": input_dict(manager_review)} if manager_review is not None else {},
            expected_version=expected_version,
        )

    @strawberry.mutation(description="Finalizes an evaluation (hr)")
    async def finalize_evaluation(
        self, info: Context, id: strawberry.ID, expected_version: int | None = None
    ) -> EvaluationType:
        return await _act(info, id, "finalize", {}, expected_version=expected_version)

    @strawberry.mutation(description="The employee acknowledges their finalized evaluation")
    async def acknowledge_evaluation(
        self, info: Context, id: strawberry.ID, comment: str | None = None, expected_version: int | None = None
    ) -> EvaluationType:
        return await _act(
            info,
            id,
            "acknowledge",
            {"comment": comment} if comment is not None else {},
            expected_version=expected_version,
        )

    @strawberry.mutation(description="Asks a reviewer for 360 feedback on an evaluation")
    async def request_peer_feedback(
        self, info: Context, evaluation_id: strawberry.ID, input: PeerRequestInput
    ) -> PeerRequestType:
        ctx = info.context.ctx
        evaluation = ref(evaluation_id, EvaluationType, loc=["evaluationId"])
        row, rel = await peers.create_request(ctx, evaluation, validate_input(PeerRequestCreate, input_dict(input)))
        return PeerRequestType.of(peers.request_read(row, ctx.principal, rel), row)

    @strawberry.mutation(description="Submits the caller's 360 answer on an evaluation")
    async def submit_peer_feedback(
        self, info: Context, evaluation_id: strawberry.ID, input: FeedbackInput
    ) -> FeedbackType:
        evaluation = ref(evaluation_id, EvaluationType, loc=["evaluationId"])
        row = await peers.submit(info.context.ctx, evaluation, validate_input(FeedbackCreate, input_dict(input)))
        return fill(FeedbackType, peers.feedback_read(row))

    @strawberry.mutation(description="The reviewer declines a 360 feedback request")
    async def decline_peer_request(
        self, info: Context, id: strawberry.ID, reason: str | None = None, expected_version: int | None = None
    ) -> PeerRequestType:
        ctx = info.context.ctx
        row, rel = await peers.decline(
            ctx,
            ref(id, PeerRequestType),
            validate_input(PeerDecline, {"reason": reason}),
            expected=IfMatch.of(expected_version),
        )
        return PeerRequestType.of(peers.request_read(row, ctx.principal, rel), row)

    @strawberry.mutation(description="Opens a calibration session")
    async def create_calibration(self, info: Context, input: CalibrationInput) -> CalibrationType:
        data = validate_input(CalibrationCreate, input_dict(input))
        return await _calibration(info, await calibration.create_session(info.context.ctx, data))

    @strawberry.mutation(description="Records a calibration adjustment")
    async def add_calibration_adjustment(
        self, info: Context, calibration_id: strawberry.ID, input: AdjustmentInput
    ) -> AdjustmentType:
        data = validate_input(CalibrationAdjustmentCreate, input_dict(input))
        row = await calibration.add_adjustment(
            info.context.ctx, ref(calibration_id, CalibrationType, loc=["calibrationId"]), data
        )
        return fill(AdjustmentType, calibration.adjustment_read(row))

    @strawberry.mutation(description="what-if: nothing is saved")
    async def simulate_calibration(
        self,
        info: Context,
        id: strawberry.ID,
        adjustments: list[AdjustmentInput],
        distribution_mode: Annotated[
            str | None,
            strawberry.argument(
                graphql_type=DistributionEnforcementEnum | None,
                description="try this distribution mode instead of the session's",
            ),
        ] = None,
    ) -> DistributionType:
        data = validate_input(
            SimulateIn,
            {"adjustments": [input_dict(a) for a in adjustments], "distribution_mode": plain(distribution_mode)},
        )
        return DistributionType.of(await calibration.simulate(info.context.ctx, ref(id, CalibrationType), data))

    @strawberry.mutation(
        description="Finalizes a calibration session: applies an enforced distribution and locks the results"
    )
    async def finalize_calibration(
        self, info: Context, id: strawberry.ID, expected_version: int | None = None
    ) -> CalibrationType:
        return await _calibration(
            info,
            await calibration.finalize(
                info.context.ctx, ref(id, CalibrationType), expected=IfMatch.of(expected_version)
            ),
        )

    @strawberry.mutation(description="Schedules a performance interview")
    async def create_interview(self, info: Context, input: InterviewInput) -> InterviewType:
        data = validate_input(InterviewCreate, input_dict(input))
        return InterviewType.of(await interviews.create_interview(info.context.ctx, data))

    @strawberry.mutation(description="Changes a performance interview")
    async def update_interview(
        self, info: Context, id: strawberry.ID, input: InterviewInput, expected_version: int | None = None
    ) -> InterviewType:
        data = validate_input(InterviewUpdate, input_dict(input))
        return InterviewType.of(
            await interviews.update_interview(
                info.context.ctx, ref(id, InterviewType), data, expected=IfMatch.of(expected_version)
            )
        )

    @strawberry.mutation(description="the employee's signature: time and principal recorded, immutable")
    async def acknowledge_interview(
        self, info: Context, id: strawberry.ID, comment: str | None = None, expected_version: int | None = None
    ) -> InterviewType:
        data = validate_input(InterviewAcknowledge, {"comment": comment})
        return InterviewType.of(
            await interviews.acknowledge_interview(
                info.context.ctx, ref(id, InterviewType), data, expected=IfMatch.of(expected_version)
            )
        )

    @strawberry.mutation(description="Records a review meeting")
    async def create_review_meeting(self, info: Context, input: ReviewMeetingInput) -> ReviewMeetingType:
        data = validate_input(ReviewMeetingCreate, _meeting(input))
        return ReviewMeetingType.of(await reviews.create_meeting(info.context.ctx, data))

    @strawberry.mutation(description="Changes a review meeting record")
    async def update_review_meeting(
        self, info: Context, id: strawberry.ID, input: ReviewMeetingInput, expected_version: int | None = None
    ) -> ReviewMeetingType:
        data = validate_input(ReviewMeetingUpdate, _meeting(input))
        return ReviewMeetingType.of(
            await reviews.update_meeting(
                info.context.ctx, ref(id, ReviewMeetingType), data, expected=IfMatch.of(expected_version)
            )
        )
