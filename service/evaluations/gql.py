"""GraphQL adapter of the evaluation module: thin queries and mutations over the same
services as REST (types in gql_types.py)."""

from __future__ import annotations

import uuid
from typing import Any

import strawberry

from service.evaluations import calibration, interviews, peers, reviews, workflow
from service.evaluations import service as svc
from service.evaluations.gql_types import (
    AdjustmentInput,
    AdjustmentType,
    CalibrationInput,
    CalibrationType,
    DistributionType,
    EvaluationBulkInput,
    EvaluationBulkResultType,
    EvaluationInput,
    EvaluationType,
    FeedbackInput,
    FeedbackPageType,
    FeedbackSummaryType,
    FeedbackType,
    InterviewInput,
    InterviewType,
    ManagerReviewInput,
    PeerRequestInput,
    PeerRequestType,
    ReviewMeetingInput,
    ReviewMeetingType,
    SelfReviewInput,
    edges,
    fill,
)
from service.evaluations.models import Evaluation
from service.evaluations.schemas import (
    AdjustmentCreate,
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
    Connection,
    Context,
    connection,
    input_dict,
    page_params,
    validate_input,
)
from service.kit.etag import IfMatch


async def _evaluation(info: Context, row: Evaluation) -> EvaluationType:
    return EvaluationType.of(await svc.read_one(info.context.ctx, row), row)


async def _calibration(info: Context, row: Any) -> CalibrationType:
    return CalibrationType.of((await calibration.reads_of(info.context.ctx, [row]))[0], row)


@strawberry.type
class EvaluationQuery:
    @strawberry.field
    async def evaluations(
        self,
        info: Context,
        first: int | None = None,
        after: str | None = None,
        cycle_id: uuid.UUID | None = None,
        employee_id: uuid.UUID | None = None,
        status: str | None = None,
        department_id: uuid.UUID | None = None,
        manager_id: uuid.UUID | None = None,
    ) -> Connection[EvaluationType]:
        ctx = info.context.ctx
        page = await svc.list_evaluations(
            ctx,
            page_params(first, after),
            cycle_id=cycle_id,
            employee_id=employee_id,
            status=status,
            department_id=department_id,
            manager_id=manager_id,
        )
        reads = await svc.read_many(ctx, page.items)
        return edges(page, [EvaluationType.of(r, row) for r, row in zip(reads, page.items, strict=True)])

    @strawberry.field
    async def evaluation(self, info: Context, id: uuid.UUID) -> EvaluationType:
        row, _ = await svc.visible(info.context.ctx, id)
        return await _evaluation(info, row)

    @strawberry.field(
        description="attributed items for managers and hr/admin/auditors; for the evaluated "
        "employee only the anonymous summary"
    )
    async def evaluation_feedback(
        self,
        info: Context,
        evaluation_id: uuid.UUID,
        first: int | None = None,
        after: str | None = None,
        reviewer_id: uuid.UUID | None = None,
    ) -> FeedbackPageType:
        page = await peers.feedback_page(info.context.ctx, evaluation_id, page_params(first, after), reviewer_id)
        return FeedbackPageType(
            items=[fill(FeedbackType, f) for f in page.items],
            next_cursor=page.next_cursor,
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
        reviewer_id: uuid.UUID | None = None,
        evaluation_id: uuid.UUID | None = None,
        cycle_id: uuid.UUID | None = None,
        status: str | None = None,
    ) -> Connection[PeerRequestType]:
        ctx = info.context.ctx
        page = await peers.list_requests(
            ctx,
            page_params(first, after),
            reviewer_id=reviewer_id,
            evaluation_id=evaluation_id,
            cycle_id=cycle_id,
            status=status,
        )
        reads = await peers.reads_of(ctx, page.items)
        return edges(page, [PeerRequestType.of(r, row) for r, row in zip(reads, page.items, strict=True)])

    @strawberry.field
    async def peer_request(self, info: Context, id: uuid.UUID) -> PeerRequestType:
        row, rel = await peers.get_request(info.context.ctx, id)
        return PeerRequestType.of(peers.request_read(row, info.context.ctx.principal, rel), row)

    @strawberry.field
    async def calibrations(
        self,
        info: Context,
        first: int | None = None,
        after: str | None = None,
        cycle_id: uuid.UUID | None = None,
        status: str | None = None,
    ) -> Connection[CalibrationType]:
        ctx = info.context.ctx
        page = await calibration.list_sessions(ctx, page_params(first, after), cycle_id, status)
        reads = await calibration.reads_of(ctx, page.items)
        return edges(page, [CalibrationType.of(r, row) for r, row in zip(reads, page.items, strict=True)])

    @strawberry.field
    async def calibration(self, info: Context, id: uuid.UUID) -> CalibrationType:
        return await _calibration(info, await calibration.get_session(info.context.ctx, id))

    @strawberry.field
    async def interviews(
        self,
        info: Context,
        first: int | None = None,
        after: str | None = None,
        evaluation_id: uuid.UUID | None = None,
        employee_id: uuid.UUID | None = None,
        cycle_id: uuid.UUID | None = None,
    ) -> Connection[InterviewType]:
        page = await interviews.list_interviews(
            info.context.ctx,
            page_params(first, after),
            evaluation_id=evaluation_id,
            employee_id=employee_id,
            cycle_id=cycle_id,
        )
        return connection(page, InterviewType.of)

    @strawberry.field
    async def interview(self, info: Context, id: uuid.UUID) -> InterviewType:
        row, _ = await interviews.get_interview(info.context.ctx, id)
        return InterviewType.of(row)

    @strawberry.field
    async def review_meetings(
        self,
        info: Context,
        first: int | None = None,
        after: str | None = None,
        subject_kind: str | None = None,
        subject_id: uuid.UUID | None = None,
        employee_id: uuid.UUID | None = None,
    ) -> Connection[ReviewMeetingType]:
        page = await reviews.list_meetings(
            info.context.ctx,
            page_params(first, after),
            subject_kind=subject_kind,
            subject_id=subject_id,
            employee_id=employee_id,
        )
        return connection(page, ReviewMeetingType.of)

    @strawberry.field
    async def review_meeting(self, info: Context, id: uuid.UUID) -> ReviewMeetingType:
        row, _ = await reviews.get_meeting(info.context.ctx, id)
        return ReviewMeetingType.of(row)


async def _act(
    info: Context, id: uuid.UUID, action: str, body: dict[str, Any], expected_version: int | None = None
) -> EvaluationType:
    data = validate_input(EvaluationActionIn, body)
    return await _evaluation(
        info, await workflow.act(info.context.ctx, id, action, data, expected=IfMatch.of(expected_version))
    )


@strawberry.type
class EvaluationMutation:
    @strawberry.mutation
    async def create_evaluation(self, info: Context, input: EvaluationInput) -> EvaluationType:
        data = validate_input(EvaluationCreate, input_dict(input))
        return await _evaluation(info, await svc.create_evaluation(info.context.ctx, data))

    @strawberry.mutation
    async def create_evaluations_bulk(self, info: Context, input: EvaluationBulkInput) -> EvaluationBulkResultType:
        data = validate_input(EvaluationBulkCreate, input_dict(input))
        return fill(EvaluationBulkResultType, await svc.bulk_create(info.context.ctx, data))

    @strawberry.mutation(
        description="drafts: `self_review` (the employee), `manager_review` (the direct manager or hr/admin)"
    )
    async def update_evaluation(
        self, info: Context, id: uuid.UUID, input: EvaluationInput, expected_version: int | None = None
    ) -> EvaluationType:
        data = validate_input(EvaluationUpdate, input_dict(input))
        return await _evaluation(
            info, await svc.update_evaluation(info.context.ctx, id, data, expected=IfMatch.of(expected_version))
        )

    @strawberry.mutation
    async def submit_self_review(
        self,
        info: Context,
        id: uuid.UUID,
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

    @strawberry.mutation
    async def submit_manager_review(
        self,
        info: Context,
        id: uuid.UUID,
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

    @strawberry.mutation
    async def finalize_evaluation(
        self, info: Context, id: uuid.UUID, expected_version: int | None = None
    ) -> EvaluationType:
        return await _act(info, id, "finalize", {}, expected_version=expected_version)

    @strawberry.mutation
    async def acknowledge_evaluation(
        self, info: Context, id: uuid.UUID, comment: str | None = None, expected_version: int | None = None
    ) -> EvaluationType:
        return await _act(
            info,
            id,
            "acknowledge",
            {"comment": comment} if comment is not None else {},
            expected_version=expected_version,
        )

    @strawberry.mutation
    async def request_peer_feedback(
        self, info: Context, evaluation_id: uuid.UUID, input: PeerRequestInput
    ) -> PeerRequestType:
        ctx = info.context.ctx
        row, rel = await peers.create_request(ctx, evaluation_id, validate_input(PeerRequestCreate, input_dict(input)))
        return PeerRequestType.of(peers.request_read(row, ctx.principal, rel), row)

    @strawberry.mutation
    async def submit_peer_feedback(self, info: Context, evaluation_id: uuid.UUID, input: FeedbackInput) -> FeedbackType:
        row = await peers.submit(info.context.ctx, evaluation_id, validate_input(FeedbackCreate, input_dict(input)))
        return fill(FeedbackType, peers.feedback_read(row))

    @strawberry.mutation
    async def decline_peer_request(
        self, info: Context, id: uuid.UUID, reason: str | None = None, expected_version: int | None = None
    ) -> PeerRequestType:
        ctx = info.context.ctx
        row, rel = await peers.decline(
            ctx, id, validate_input(PeerDecline, {"reason": reason}), expected=IfMatch.of(expected_version)
        )
        return PeerRequestType.of(peers.request_read(row, ctx.principal, rel), row)

    @strawberry.mutation
    async def create_calibration(self, info: Context, input: CalibrationInput) -> CalibrationType:
        data = validate_input(CalibrationCreate, input_dict(input))
        return await _calibration(info, await calibration.create_session(info.context.ctx, data))

    @strawberry.mutation
    async def add_calibration_adjustment(
        self, info: Context, calibration_id: uuid.UUID, input: AdjustmentInput
    ) -> AdjustmentType:
        data = validate_input(AdjustmentCreate, input_dict(input))
        row = await calibration.add_adjustment(info.context.ctx, calibration_id, data)
        return fill(AdjustmentType, calibration.adjustment_read(row))

    @strawberry.mutation(description="what-if: nothing is saved")
    async def simulate_calibration(
        self, info: Context, id: uuid.UUID, adjustments: list[AdjustmentInput]
    ) -> DistributionType:
        data = validate_input(SimulateIn, {"adjustments": [input_dict(a) for a in adjustments]})
        return DistributionType.of(await calibration.simulate(info.context.ctx, id, data))

    @strawberry.mutation
    async def finalize_calibration(
        self, info: Context, id: uuid.UUID, expected_version: int | None = None
    ) -> CalibrationType:
        return await _calibration(
            info, await calibration.finalize(info.context.ctx, id, expected=IfMatch.of(expected_version))
        )

    @strawberry.mutation
    async def create_interview(self, info: Context, input: InterviewInput) -> InterviewType:
        data = validate_input(InterviewCreate, input_dict(input))
        return InterviewType.of(await interviews.create_interview(info.context.ctx, data))

    @strawberry.mutation
    async def update_interview(
        self, info: Context, id: uuid.UUID, input: InterviewInput, expected_version: int | None = None
    ) -> InterviewType:
        data = validate_input(InterviewUpdate, input_dict(input))
        return InterviewType.of(
            await interviews.update_interview(info.context.ctx, id, data, expected=IfMatch.of(expected_version))
        )

    @strawberry.mutation(description="the employee's signature: time and principal recorded, immutable")
    async def acknowledge_interview(
        self, info: Context, id: uuid.UUID, comment: str | None = None, expected_version: int | None = None
    ) -> InterviewType:
        data = validate_input(InterviewAcknowledge, {"comment": comment})
        return InterviewType.of(
            await interviews.acknowledge_interview(info.context.ctx, id, data, expected=IfMatch.of(expected_version))
        )

    @strawberry.mutation
    async def create_review_meeting(self, info: Context, input: ReviewMeetingInput) -> ReviewMeetingType:
        data = validate_input(ReviewMeetingCreate, input_dict(input))
        return ReviewMeetingType.of(await reviews.create_meeting(info.context.ctx, data))

    @strawberry.mutation
    async def update_review_meeting(
        self, info: Context, id: uuid.UUID, input: ReviewMeetingInput, expected_version: int | None = None
    ) -> ReviewMeetingType:
        data = validate_input(ReviewMeetingUpdate, input_dict(input))
        return ReviewMeetingType.of(
            await reviews.update_meeting(info.context.ctx, id, data, expected=IfMatch.of(expected_version))
        )
