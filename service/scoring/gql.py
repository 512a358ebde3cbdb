"""GraphQL adapter of scoring: policies (read), a cycle's scores, one score, and the
recompute job. Thin: the same use cases as REST (service.scoring.scores/policies), so the
same authorization and the same numbers. A page of scores is scored in one set-based
pass (a handful of queries for the page, not one per employee)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import strawberry

from service.graphql.common import (
    JSON,
    Connection,
    Context,
    DecimalString,
    Edge,
    PageInfo,
    input_dict,
    page_params,
    validate_input,
)
from service.kit.pagination import encode_cursor
from service.scoring import policies as policy_svc
from service.scoring import records
from service.scoring import scores as score_svc
from service.scoring.schemas import (
    AmendmentCreate,
    PolicyRead,
    RecomputeJobRead,
    ScoreRead,
    ScoreVersionRead,
)


def _dec(value: Any) -> DecimalString | None:
    return None if value is None else DecimalString(str(value))


@strawberry.type(name="ScoringPolicy")
class ScoringPolicyType:
    id: uuid.UUID
    name: str
    scope_kind: str
    scope_id: uuid.UUID | None
    version: int
    active: bool
    params: JSON = strawberry.field(description="Every parameter of this version, as in REST")

    @staticmethod
    def of(p: PolicyRead) -> ScoringPolicyType:
        body = p.model_dump(mode="json")
        params = {k: v for k, v in body.items() if k not in ("id", "name", "scope", "version", "active")}
        return ScoringPolicyType(
            id=p.id,
            name=p.name,
            scope_kind=p.scope.kind,
            scope_id=p.scope.id,
            version=p.version,
            active=p.active,
            params=JSON(params),
        )


@strawberry.type(name="Score")
class ScoreType:
    employee_id: uuid.UUID
    cycle_id: uuid.UUID
    status: str
    components: JSON = strawberry.field(description="kpi, okr, eval points (exact decimals or null)")
    weights: JSON = strawberry.field(description="effective weights after reweighting absent components")
    composite: DecimalString | None
    calibration_delta: DecimalString
    final: DecimalString | None
    rating: str | None
    flags: list[str]
    policy_id: uuid.UUID | None
    policy_version: int
    official: bool = strawberry.field(description="true: the score of record, frozen at finalization; false: live")
    finalized_at: dt.datetime | None = strawberry.field(description="when the result became official")
    record_version: int | None = strawberry.field(description="the record's version (one more per amendment)")
    explanation: JSON | None

    @staticmethod
    def fields(s: ScoreRead) -> dict[str, Any]:
        body = s.model_dump(mode="json")
        return dict(
            employee_id=s.employee_id,
            cycle_id=s.cycle_id,
            status=s.status,
            components=JSON(body["components"]),
            weights=JSON(body["weights"]),
            composite=_dec(body["composite"]),
            calibration_delta=DecimalString(body["calibration_delta"]),
            final=_dec(body["final"]),
            rating=s.rating,
            flags=list(s.flags),
            policy_id=s.policy.id,
            policy_version=s.policy.version,
            official=s.official,
            finalized_at=s.finalized_at,
            record_version=s.record_version,
            explanation=JSON(body["explanation"]) if body.get("explanation") is not None else None,
        )

    @staticmethod
    def of(s: ScoreRead) -> ScoreType:
        return ScoreType(**ScoreType.fields(s))


@strawberry.type(name="ScoreVersion", description="One version of a score of record")
class ScoreVersionType(ScoreType):
    source: str = strawberry.field(description="calibration, cycle_closed or amendment")
    calibration_id: uuid.UUID | None
    reason: str | None
    changes: JSON | None
    created_by: str
    created_at: dt.datetime

    @staticmethod
    def of(s: ScoreVersionRead) -> ScoreVersionType:  # type: ignore[override]
        return ScoreVersionType(
            **ScoreType.fields(s),
            source=s.source,
            calibration_id=s.calibration_id,
            reason=s.reason,
            changes=JSON(s.changes) if s.changes is not None else None,
            created_by=s.created_by,
            created_at=s.created_at,
        )


@strawberry.type(name="ScoreCorrection")
class CorrectionType:
    plan_id: uuid.UUID
    plan_kind: str
    action: str
    result_id: uuid.UUID | None
    amount_minor: int | None
    currency: str | None
    detail: str


@strawberry.type(name="ScoreAmendment")
class AmendmentType:
    score: ScoreVersionType
    previous_version: int
    corrections: list[CorrectionType]


@strawberry.input(name="ScoreAmendmentInput")
class AmendmentInput:
    employee_id: uuid.UUID
    reason: str
    final: DecimalString | None = None
    rating: str | None = None


@strawberry.type(name="ScoreJob")
class ScoreJobType:
    id: uuid.UUID
    cycle_id: uuid.UUID
    status: str
    employees: int | None
    changed: int | None
    error: str | None
    attempts: int
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None

    @staticmethod
    def of(job: Any) -> ScoreJobType:
        r = RecomputeJobRead.model_validate(job)
        return ScoreJobType(**r.model_dump())


@strawberry.type
class ScoringQuery:
    @strawberry.field
    async def scoring_policies(
        self, info: Context, first: int | None = None, after: str | None = None
    ) -> Connection[ScoringPolicyType]:
        page, versions = await policy_svc.list_policies(info.context.ctx, page_params(first, after))
        edges = [
            Edge(cursor=encode_cursor(p.id), node=ScoringPolicyType.of(policy_svc.read_model(p, versions[p.id])))
            for p in page.items
        ]
        return Connection(
            edges=edges, page_info=PageInfo(has_next_page=page.next_cursor is not None, end_cursor=page.next_cursor)
        )

    @strawberry.field
    async def scoring_policy(self, info: Context, id: uuid.UUID, version: int | None = None) -> ScoringPolicyType:
        p, v = await policy_svc.get_policy(info.context.ctx, id, version)
        return ScoringPolicyType.of(policy_svc.read_model(p, v))

    # strawberry types its keyword-only decorator form (field(description=...)) as Any
    @strawberry.field(description="A cycle's scores, filtered like GET /cycles/{id}/scores")  # type: ignore[untyped-decorator]
    async def cycle_scores(
        self,
        info: Context,
        cycle_id: uuid.UUID,
        first: int | None = None,
        after: str | None = None,
        department_id: uuid.UUID | None = None,
        manager_id: uuid.UUID | None = None,
        rating: str | None = None,
        explain: bool = False,
    ) -> Connection[ScoreType]:
        score_svc.check_rating(rating)
        items, cursor = await score_svc.list_scores(
            info.context.ctx,
            cycle_id,
            page_params(first, after),
            department_id=department_id,
            manager_id=manager_id,
            rating=rating,
            explain=explain,
        )
        edges = [Edge(cursor=encode_cursor(s.employee_id), node=ScoreType.of(s)) for s in items]
        return Connection(edges=edges, page_info=PageInfo(has_next_page=cursor is not None, end_cursor=cursor))

    # strawberry types its keyword-only decorator form (field(description=...)) as Any
    @strawberry.field(description="One employee's score with its explanation")  # type: ignore[untyped-decorator]
    async def score(self, info: Context, cycle_id: uuid.UUID, employee_id: uuid.UUID) -> ScoreType:
        cycle, scored = await score_svc.get_score(info.context.ctx, cycle_id, employee_id)
        return ScoreType.of(score_svc.score_read(cycle, scored))

    # strawberry types its keyword-only decorator form (field(description=...)) as Any
    @strawberry.field(description="Every version of an employee's score of record, oldest first")  # type: ignore[untyped-decorator]
    async def score_versions(
        self, info: Context, cycle_id: uuid.UUID, employee_id: uuid.UUID
    ) -> list[ScoreVersionType]:
        cycle, found = await records.versions(info.context.ctx, cycle_id, employee_id)
        return [ScoreVersionType.of(score_svc.version_read(cycle, s)) for s in found]

    @strawberry.field
    async def score_job(self, info: Context, id: uuid.UUID) -> ScoreJobType:
        return ScoreJobType.of(await score_svc.get_job(info.context.ctx, id))


@strawberry.type
class ScoringMutation:
    # strawberry types its keyword-only decorator form (field(description=...)) as Any
    @strawberry.mutation(description="Rescore a whole cycle (a job; large cycles finish in the background)")  # type: ignore[untyped-decorator]
    async def recompute_scores(self, info: Context, cycle_id: uuid.UUID) -> ScoreJobType:
        return ScoreJobType.of(await score_svc.start_recompute(info.context.ctx, cycle_id))

    # strawberry types its keyword-only decorator form (field(description=...)) as Any
    @strawberry.mutation(  # type: ignore[untyped-decorator]
        description="Amend one employee's official result (hr/admin, with a reason), as POST /cycles/{id}/amendments"
    )
    async def amend_score(self, info: Context, cycle_id: uuid.UUID, input: AmendmentInput) -> AmendmentType:
        data = validate_input(AmendmentCreate, input_dict(input))
        cycle, scored, previous, corrections = await records.amend(info.context.ctx, cycle_id, data)
        return AmendmentType(
            score=ScoreVersionType.of(score_svc.version_read(cycle, scored)),
            previous_version=previous,
            corrections=[CorrectionType(**c.model_dump()) for c in corrections],
        )
