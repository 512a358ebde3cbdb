"""GraphQL adapter of scoring: policies (read), a cycle's scores, one score, and the
recompute job. Thin: the same use cases as REST (service.scoring.scores/policies), so the
same authorization and the same numbers. A page of scores is scored in one set-based
pass (a handful of queries for the page, not one per employee)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Annotated, Any

import strawberry
from strawberry.dataloader import DataLoader

from service.errors import ValidationFailed
from service.graphql.common import (
    JSON,
    SUBTREE,
    Connection,
    Context,
    DecimalString,
    described,
    enum_field,
    enum_type,
    input_dict,
    list_arguments,
    literal_of,
    order_argument,
    order_input,
    page_connection,
    page_params,
    search_argument,
    sort_of,
    validate_input,
)
from service.graphql.nodes import Entity, NodeKey, by_service, key_of, ref, ref_field
from service.incentives.gql import IncentivePlanKind
from service.org.gql import DepartmentType, EmployeeType
from service.scoring import policies as policy_svc
from service.scoring import records
from service.scoring import schemas as rest
from service.scoring import scores as score_svc
from service.scoring.schemas import (
    AmendmentCreate,
    Correction,
    JobStatus,
    KpiProration,
    PolicyRead,
    RecomputeJobRead,
    ScopeKind,
    ScoreRead,
    ScoreStatus,
    ScoreVersionRead,
)

PolicyScopeKind = enum_type("PolicyScopeKind", ScopeKind, "What a scoring policy applies to")
KpiProrationEnum = enum_type(
    "KpiProration", KpiProration, "How KPIs treat a person present for part of the cycle (hired or left within it)"
)
ScoreStatusEnum = enum_type("ScoreStatus", ScoreStatus, "Whether a score could be computed")
ScoreVersionSource = enum_type(
    "ScoreVersionSource", literal_of(ScoreVersionRead, "source"), "What made a version of a score of record"
)
ScoreCorrectionAction = enum_type(
    "ScoreCorrectionAction", literal_of(Correction, "action"), "What an amendment did to an incentive result"
)
ScoreJobStatus = enum_type("ScoreJobStatus", JobStatus, "Where a recompute job is")


def _dec(value: Any) -> DecimalString | None:
    return None if value is None else DecimalString(str(value))


@described(rest.PolicyRead, rest.PolicyCreate)
@strawberry.type(
    name="ScoringPolicy",
    description="One version of a scoring policy: its global id names the version (versions never change)",
)
class ScoringPolicyType(Entity):
    name: str
    scope_kind: str = enum_field(PolicyScopeKind, description="What the policy applies to (REST: `scope.kind`)")
    scope_id: uuid.UUID | None = strawberry.field(
        description="The department, position or employee it applies to; null for the organization and a level "
        "(REST: `scope.id`)"
    )
    scope_level: str | None = strawberry.field(
        description="The position level a `LEVEL` scope targets, normalized (REST: `scope.level`)"
    )
    version: int
    active: bool
    params: JSON = strawberry.field(description="Every parameter of this version, as in REST")
    kpi_proration: str = enum_field(
        KpiProrationEnum, description="How KPI targets treat partial presence in the cycle (also in `params`)"
    )

    @staticmethod
    def of(p: PolicyRead) -> ScoringPolicyType:
        body = p.model_dump(mode="json")
        params = {k: v for k, v in body.items() if k not in ("id", "name", "scope", "version", "active")}
        return ScoringPolicyType(
            id=p.id,
            name=p.name,
            scope_kind=p.scope.kind,
            scope_id=p.scope.id,
            scope_level=p.scope.level,
            version=p.version,
            active=p.active,
            params=JSON(params),
            kpi_proration=p.kpi_proration,
        )

    @classmethod
    def resolve_id(cls, root: ScoringPolicyType, *, info: Any) -> str:
        return f"{root.id}:{root.version}"

    @classmethod
    async def load_nodes(cls, info: Context, keys: list[NodeKey]) -> Sequence[ScoringPolicyType | None]:
        async def fetch(key: NodeKey) -> ScoringPolicyType:
            p, v = await policy_svc.get_policy(info.context.ctx, key.id, _version(key))
            return ScoringPolicyType.of(policy_svc.read_model(p, v))

        return await by_service(keys, fetch)


def _version(key: NodeKey) -> int | None:
    """The version a scoring policy's global id names (none in a bare UUID)."""
    if key.qualifier is None:
        return None
    if not key.qualifier.isdigit():
        raise ValidationFailed("not the id of a ScoringPolicy", errors=[{"loc": ["id"], "msg": "malformed"}])
    return int(key.qualifier)


@described(rest.ScoreRead)
@strawberry.type(name="Score")
class ScoreType:
    employee_id: uuid.UUID
    cycle_id: uuid.UUID
    status: str = enum_field(ScoreStatusEnum)
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


@described(rest.ScoreVersionRead, rest.ScoreRead)
@strawberry.type(name="ScoreVersion", description="One version of a score of record")
class ScoreVersionType(ScoreType):
    source: str = enum_field(ScoreVersionSource)
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


@described(rest.Correction)
@strawberry.type(name="ScoreCorrection")
class CorrectionType:
    plan_id: uuid.UUID
    plan_kind: str = enum_field(IncentivePlanKind)
    action: str = enum_field(ScoreCorrectionAction)
    result_id: uuid.UUID | None
    amount_minor: int | None
    currency: str | None
    detail: str


@described(rest.AmendmentRead)
@strawberry.type(name="ScoreAmendment")
class AmendmentType:
    score: ScoreVersionType
    previous_version: int
    corrections: list[CorrectionType]


@described(rest.AmendmentCreate, rest.AmendmentRead)
@strawberry.input(name="ScoreAmendmentInput", description="A change to an official score, and why")
class AmendmentInput:
    employee_id: strawberry.ID = ref_field(EmployeeType)
    reason: str
    final: DecimalString | None = None
    rating: str | None = None


@described(rest.RecomputeJobRead)
@strawberry.type(name="ScoreJob")
class ScoreJobType(Entity):
    cycle_id: uuid.UUID
    status: str = enum_field(ScoreJobStatus)
    employees: int | None
    changed: int | None
    error: str | None
    attempts: int
    total: int | None
    done: int
    reason: str
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None

    @staticmethod
    def of(job: Any) -> ScoreJobType:
        r = RecomputeJobRead.model_validate(job)
        return ScoreJobType(**r.model_dump())

    @classmethod
    async def load_nodes(cls, info: Context, keys: list[NodeKey]) -> Sequence[ScoreJobType | None]:
        async def fetch(key: NodeKey) -> ScoreJobType:
            return ScoreJobType.of(await score_svc.get_job(info.context.ctx, key.id))

        return await by_service(keys, fetch)


async def score_of(info: Context, employee_id: uuid.UUID, cycle_id: uuid.UUID) -> ScoreType | None:
    """Query.score without the errors (Employee.score): null where the caller may not see
    it. The employees of one cycle asked for in the same request are scored together, in
    one batch (`score_svc.scores_of`), not one by one."""

    def make(ctx: Any) -> DataLoader[tuple[uuid.UUID, uuid.UUID], ScoreType | None]:
        async def load(keys: list[tuple[uuid.UUID, uuid.UUID]]) -> list[ScoreType | None]:
            by_cycle: dict[uuid.UUID, list[uuid.UUID]] = {}
            for emp, cycle in keys:
                by_cycle.setdefault(cycle, []).append(emp)
            found: dict[tuple[uuid.UUID, uuid.UUID], ScoreRead] = {}
            for cycle, emps in by_cycle.items():
                found.update(((e, cycle), s) for e, s in (await score_svc.scores_of(ctx, cycle, emps)).items())
            return [ScoreType.of(found[k]) if k in found else None for k in keys]

        return DataLoader(load_fn=load)

    found: ScoreType | None = await info.context.loaders.custom("scoring:score_of", make).load((employee_id, cycle_id))
    return found


# `FINAL` and `COMPOSITE` are the points shown: sorting by them scores the whole visible population first.
ScoreOrder = order_input("Score", score_svc.SCORE_SORT, "a cycle's scores")


@described(filters=True)
@strawberry.type
class ScoringQuery:
    @strawberry.field(description="The scoring policies (their current versions), a page at a time")  # type: ignore[untyped-decorator]
    async def scoring_policies(
        self,
        info: Context,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[ScoringPolicyType]:
        params = page_params(first, after, last, before)
        with list_arguments(params):
            page, versions = await policy_svc.list_policies(info.context.ctx, params)
        return page_connection(
            page, [ScoringPolicyType.of(policy_svc.read_model(p, versions[p.id])) for p in page.items], params
        )

    # strawberry types its keyword-only decorator form (field(description=...)) as Any
    @strawberry.field(  # type: ignore[untyped-decorator]
        description="A scoring policy at `version` (by default the version its global id names, else its current one)"
    )
    async def scoring_policy(self, info: Context, id: strawberry.ID, version: int | None = None) -> ScoringPolicyType:
        key = key_of(str(id), ScoringPolicyType)
        p, v = await policy_svc.get_policy(info.context.ctx, key.id, version if version is not None else _version(key))
        return ScoringPolicyType.of(policy_svc.read_model(p, v))

    # strawberry types its keyword-only decorator form (field(description=...)) as Any
    @strawberry.field(description="A cycle's scores, filtered like GET /cycles/{id}/scores")  # type: ignore[untyped-decorator]
    async def cycle_scores(
        self,
        info: Context,
        cycle_id: strawberry.ID,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        department_id: strawberry.ID | None = None,
        manager_id: Annotated[
            strawberry.ID | None, strawberry.argument(description="the scores of this manager's direct reports")
        ] = None,
        subtree: Annotated[bool, strawberry.argument(description=SUBTREE)] = False,
        rating: Annotated[str | None, strawberry.argument(description="a rating of the policy's bands")] = None,
        q: Annotated[
            str | None, search_argument("the employee's given name, family name, email and external id")
        ] = None,
        order_by: Annotated[list[Any] | None, order_argument(ScoreOrder)] = None,
        explain: bool = False,
    ) -> Connection[ScoreType]:
        score_svc.check_rating(rating)
        params = page_params(first, after, last, before)
        with list_arguments(params):
            page = await score_svc.list_scores_page(
                info.context.ctx,
                _cycle(cycle_id),
                params,
                department_id=ref(department_id, DepartmentType, loc=["departmentId"]),
                manager_id=ref(manager_id, EmployeeType, loc=["managerId"]),
                subtree=subtree,
                rating=rating,
                q=q,
                sort=sort_of(order_by),
                explain=explain,
            )
        return page_connection(page, [ScoreType.of(s) for s in page.items], params)

    # strawberry types its keyword-only decorator form (field(description=...)) as Any
    @strawberry.field(description="One employee's score with its explanation")  # type: ignore[untyped-decorator]
    async def score(self, info: Context, cycle_id: strawberry.ID, employee_id: strawberry.ID) -> ScoreType:
        employee = ref(employee_id, EmployeeType, loc=["employeeId"])
        cycle, scored = await score_svc.get_score(info.context.ctx, _cycle(cycle_id), employee)
        return ScoreType.of(score_svc.score_read(cycle, scored))

    # strawberry types its keyword-only decorator form (field(description=...)) as Any
    @strawberry.field(description="Every version of an employee's score of record, oldest first")  # type: ignore[untyped-decorator]
    async def score_versions(
        self, info: Context, cycle_id: strawberry.ID, employee_id: strawberry.ID
    ) -> list[ScoreVersionType]:
        employee = ref(employee_id, EmployeeType, loc=["employeeId"])
        cycle, found = await records.versions(info.context.ctx, _cycle(cycle_id), employee)
        return [ScoreVersionType.of(score_svc.version_read(cycle, s)) for s in found]

    @strawberry.field(description="One score recompute job")  # type: ignore[untyped-decorator]
    async def score_job(self, info: Context, id: strawberry.ID) -> ScoreJobType:
        return ScoreJobType.of(await score_svc.get_job(info.context.ctx, ref(id, ScoreJobType)))


def _cycle(cycle_id: strawberry.ID) -> uuid.UUID:
    return ref(cycle_id, "Cycle", loc=["cycleId"])


@described()
@strawberry.type
class ScoringMutation:
    # strawberry types its keyword-only decorator form (field(description=...)) as Any
    @strawberry.mutation(description="Rescore a whole cycle (a job; large cycles finish in the background)")  # type: ignore[untyped-decorator]
    async def recompute_scores(self, info: Context, cycle_id: strawberry.ID) -> ScoreJobType:
        return ScoreJobType.of(await score_svc.start_recompute(info.context.ctx, _cycle(cycle_id)))

    # strawberry types its keyword-only decorator form (field(description=...)) as Any
    @strawberry.mutation(  # type: ignore[untyped-decorator]
        description="Amend one employee's official result (hr/admin, with a reason), as POST /cycles/{id}/amendments"
    )
    async def amend_score(self, info: Context, cycle_id: strawberry.ID, input: AmendmentInput) -> AmendmentType:
        data = validate_input(AmendmentCreate, input_dict(input))
        cycle, scored, previous, corrections = await records.amend(info.context.ctx, _cycle(cycle_id), data)
        return AmendmentType(
            score=ScoreVersionType.of(score_svc.version_read(cycle, scored)),
            previous_version=previous,
            corrections=[CorrectionType(**c.model_dump()) for c in corrections],
        )
