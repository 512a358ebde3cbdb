"""GraphQL adapter of the incentives module: thin, calls the same services as REST,
under the same rules (amounts only for those who may see pay, 404/403 as in REST).
Money is the `MinorUnits` scalar: an integer of any size (GraphQL's Int is 32-bit)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Annotated, Any

import strawberry
from sqlalchemy import Select, select

from service.auth.context import Ctx
from service.authz import policy
from service.cycles.gql import CycleType
from service.cycles.models import Cycle
from service.development.gql import DevelopmentPlanType, plan_of
from service.graphql.common import (
    CHILD_CYCLES,
    JSON,
    SUBTREE,
    VERSION,
    Connection,
    Context,
    MinorUnits,
    connection,
    described,
    edges_of,
    enum_field,
    enum_type,
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
from service.graphql.nodes import Entity, NodeKey, by_loader, by_service, ref, ref_field
from service.graphql.visibility import only_if, visible_rows
from service.incentives import nominations, payroll, plans, results, runs
from service.incentives import schemas as rest
from service.incentives.models import IncentivePlan, IncentiveResult
from service.incentives.schemas import (
    BonusBasis,
    IncentivePlanCreate,
    IncentivePlanUpdate,
    IncentiveResultRead,
    IncentiveRunRead,
    NominationKind,
    NominationRead,
    PayrollResultRead,
    PlanKind,
    ResultAdjustmentCreate,
    ResultKind,
    ResultStatus,
)
from service.kit.etag import IfMatch
from service.org.gql import DepartmentType, EmployeeType
from service.org.models import Employee

IncentivePlanKind = enum_type("IncentivePlanKind", PlanKind, "The rule an incentive plan applies")
IncentiveResultStatus = enum_type(
    "IncentiveResultStatus", ResultStatus, "Where an incentive result is in its lifecycle"
)
IncentiveResultKind = enum_type("IncentiveResultKind", ResultKind, "What an incentive result is")
BonusBasisEnum = enum_type("BonusBasis", BonusBasis, "What sets a short-term bonus's multiplier")
NominationKindEnum = enum_type("NominationKind", NominationKind, "What a nomination is for")
IncentiveAction = enum_type("IncentiveAction", results.ACTIONS, "A step of an incentive result's lifecycle")
# The filter by what a nomination is for, under its one name and under the deprecated ones.
NominationKindArgument = Annotated[
    str | None,
    strawberry.argument(
        graphql_type=NominationKindEnum | None, description="Only nominations for this: promotion track or training"
    ),
]
OldNominationKindArgument = Annotated[
    str | None,
    strawberry.argument(
        graphql_type=NominationKindEnum | None,
        description="The same as nominationKind",
        deprecation_reason="Use nominationKind; removed in API v2",
    ),
]
NominationDecision = enum_type("NominationDecision", nominations.DECISIONS, "A decision on a nomination")


@visible_rows(IncentivePlan)
def visible_plans(ctx: Ctx) -> Select[Any]:
    """Plans, for the dataloaders: `policy.read_incentive_plans` (every person and
    `payroll:read` clients), as `plans.list_plans`; their parameters are a field-level
    rule (`IncentivePlanType.of`)."""
    stmt = select(IncentivePlan).where(IncentivePlan.org_id == ctx.org_id)
    return only_if(stmt, policy.read_incentive_plans(ctx.principal))


async def _employee(info: Context, employee_id: uuid.UUID) -> EmployeeType | None:
    if not policy.read_directory(info.context.ctx.principal).allowed:
        return None
    emp = await info.context.loaders.by_id(Employee).load(employee_id)
    return EmployeeType.of(emp) if emp else None


@described(rest.IncentivePlanRead, rest.IncentivePlanCreate)
@strawberry.type(name="IncentivePlan")
class IncentivePlanType(Entity):
    name: str
    kind: str = enum_field(IncentivePlanKind)
    cycle_id: uuid.UUID
    currency: str
    params: JSON | None = strawberry.field(description="null for callers who may not see plan parameters")
    version: int = strawberry.field(description=VERSION)
    last_run_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime

    @strawberry.field
    async def cycle(self, info: Context) -> CycleType | None:
        row = await info.context.loaders.by_id(Cycle).load(self.cycle_id)
        return CycleType.of(row) if row else None

    @strawberry.field(
        graphql_type=BonusBasisEnum | None,
        description="A short_term_bonus plan's `basis` (rating, score or kpi_points; also in `params`); null for "
        "other kinds and for callers who may not see plan parameters",
    )
    def bonus_basis(self) -> Any:
        if self.kind != "short_term_bonus" or self.params is None:
            return None
        params = self.params if isinstance(self.params, dict) else {}
        return params.get("basis") or "rating"

    @staticmethod
    def of(info: Context, plan: IncentivePlan) -> IncentivePlanType:
        read = plans.plan_read(plan, policy.see_incentive_plan_params(info.context.ctx.principal))
        return IncentivePlanType(**read.model_dump())

    @classmethod
    async def load_nodes(cls, info: Context, keys: list[NodeKey]) -> Sequence[IncentivePlanType | None]:
        return await by_loader(
            info.context.loaders.by_id(IncentivePlan), keys, lambda row: IncentivePlanType.of(info, row)
        )


@described(rest.PayrollAckRead, rest.PayrollAckInfo)
@strawberry.type(name="PayrollAcknowledgement")
class PayrollAckType:
    payroll_reference: str
    acknowledged_at: dt.datetime
    acknowledged_by: str


@described(rest.IncentiveResultRead)
@strawberry.type(name="IncentiveResult")
class IncentiveResultType(Entity):
    plan_id: uuid.UUID
    employee_id: uuid.UUID
    kind: str = enum_field(IncentiveResultKind)
    status: str = enum_field(IncentiveResultStatus)
    amount_minor: MinorUnits | None = strawberry.field(
        description="null for nominations and for callers who may not see pay"
    )
    amount: str | None
    currency: str | None
    amount_visible: bool
    nomination: str | None = enum_field(
        NominationKindEnum | None,
        description="the kind of a nomination",
        deprecation_reason="Use nominationKind (the same value); removed in API v2",
    )
    nomination_kind: str | None = enum_field(NominationKindEnum | None)
    earning_code: str | None
    period_start: dt.date
    period_end: dt.date
    inputs: JSON
    version: int = strawberry.field(description=VERSION)
    adjusts_id: uuid.UUID | None
    reason: str | None
    decision_comment: str | None
    approved_at: dt.datetime | None
    approved_by: str | None
    finalized_at: dt.datetime | None
    finalized_by: str | None
    declined_at: dt.datetime | None
    declined_by: str | None
    payroll: PayrollAckType | None
    created_by: str
    created_at: dt.datetime
    updated_at: dt.datetime

    @strawberry.field(description="null for callers that may not read the directory")
    async def employee(self, info: Context) -> EmployeeType | None:
        return await _employee(info, self.employee_id)

    @strawberry.field(description="The incentive plan (null when the caller may not see it)")
    async def plan(self, info: Context) -> IncentivePlanType | None:
        if not policy.read_incentive_plans(info.context.ctx.principal).allowed:
            return None
        row = await info.context.loaders.by_id(IncentivePlan).load(self.plan_id)
        return IncentivePlanType.of(info, row) if row else None

    @staticmethod
    def of(read: IncentiveResultRead) -> IncentiveResultType:
        data = read.model_dump(exclude={"payroll"})
        ack = PayrollAckType(**read.payroll.model_dump()) if read.payroll else None
        return IncentiveResultType(**data, payroll=ack)

    @classmethod
    async def load_nodes(cls, info: Context, keys: list[NodeKey]) -> Sequence[IncentiveResultType | None]:
        async def fetch(key: NodeKey) -> IncentiveResultType:
            row, _ = await results.get_result(info.context.ctx, key.id)
            return await _result(info, row)

        return await by_service(keys, fetch)


@described(rest.NominationRead)
@strawberry.type(name="Nomination")
class NominationType(Entity):
    plan_id: uuid.UUID
    employee_id: uuid.UUID
    nomination_kind: str = enum_field(NominationKindEnum)
    kind: str = enum_field(
        NominationKindEnum, deprecation_reason="Use nominationKind (the same value); removed in API v2"
    )
    status: str = enum_field(IncentiveResultStatus)
    period_start: dt.date
    period_end: dt.date
    inputs: JSON
    decision_comment: str | None
    approved_at: dt.datetime | None
    approved_by: str | None
    declined_at: dt.datetime | None
    declined_by: str | None
    finalized_at: dt.datetime | None
    development_plan_id: uuid.UUID | None
    review_meeting_id: uuid.UUID | None
    version: int = strawberry.field(description=VERSION)
    created_at: dt.datetime
    updated_at: dt.datetime

    @strawberry.field(description="null for callers that may not read the directory")
    async def employee(self, info: Context) -> EmployeeType | None:
        return await _employee(info, self.employee_id)

    @strawberry.field(description="The development plan made for the nomination; null when none")
    async def development_plan(self, info: Context) -> DevelopmentPlanType | None:
        return await plan_of(info, self.development_plan_id)

    @staticmethod
    def of(read: NominationRead) -> NominationType:
        return NominationType(**read.model_dump())

    @classmethod
    async def load_nodes(cls, info: Context, keys: list[NodeKey]) -> Sequence[NominationType | None]:
        async def fetch(key: NodeKey) -> NominationType:
            row = await nominations.get_nomination(info.context.ctx, key.id)
            return NominationType.of((await nominations.nomination_reads(info.context.ctx, [row]))[0])

        return await by_service(keys, fetch)


@described(rest.RunSkip)
@strawberry.type(name="IncentiveRunSkip")
class RunSkipType:
    employee_id: uuid.UUID
    reason: str


@described(rest.IncentiveRunRead)
@strawberry.type(name="IncentiveRun")
class IncentiveRunType:
    plan_id: uuid.UUID
    cycle_id: uuid.UUID
    kind: str = enum_field(IncentivePlanKind)
    population: int
    created: int
    replaced: int
    kept: int
    skipped: JSON
    skipped_employees: list[RunSkipType]
    total_minor: MinorUnits | None
    pool: JSON | None
    result_ids: list[uuid.UUID]

    @staticmethod
    def of(run: IncentiveRunRead) -> IncentiveRunType:
        data: dict[str, Any] = run.model_dump(exclude={"skipped_employees"})
        return IncentiveRunType(
            **data,
            skipped_employees=[RunSkipType(employee_id=s.employee_id, reason=s.reason) for s in run.skipped_employees],
        )


@described(rest.BulkActionRead)
@strawberry.type(name="IncentiveBulkAction")
class BulkActionType:
    plan_id: uuid.UUID
    action: str = enum_field(IncentiveAction)
    count: int
    result_ids: list[uuid.UUID]


@described(rest.PayrollResultRead)
@strawberry.type(name="PayrollIncentiveResult", description="A finalized money result as the payroll feed shows it")
class PayrollResultType(Entity):
    sequence: int
    employee_id: uuid.UUID
    employee_external_id: str
    plan_id: uuid.UUID
    plan: str
    period_start: dt.date
    period_end: dt.date
    earning_code: str | None
    amount_minor: MinorUnits
    amount: str
    currency: str
    kind: str = enum_field(IncentiveResultKind)
    adjusts_id: uuid.UUID | None
    finalized_at: dt.datetime
    payroll: PayrollAckType | None

    @staticmethod
    def of(read: PayrollResultRead) -> PayrollResultType:
        ack = PayrollAckType(**read.payroll.model_dump()) if read.payroll else None
        return PayrollResultType(**read.model_dump(exclude={"payroll"}), payroll=ack)

    @classmethod
    async def load_nodes(cls, info: Context, keys: list[NodeKey]) -> Sequence[PayrollResultType | None]:
        """The feed's rows (`payroll.feed`, for those who may pull payroll) with these ids."""
        ctx = info.context.ctx
        if not policy.pull_payroll(ctx.principal).allowed:
            return [None] * len(keys)
        stmt = payroll.feed(ctx.org_id, payroll.Filters(), 0).where(IncentiveResult.id.in_([k.id for k in keys]))
        found = {row.id: PayrollResultType.of(payroll.item(row)) for row in await ctx.session.execute(stmt)}
        return [found.get(k.id) for k in keys]


@described(rest.IncentivePlanCreate, rest.IncentivePlanRead)
@strawberry.input(
    description="The fields of an incentive plan to create, or to change (a field left out keeps its value)"
)
class IncentivePlanInput:
    name: str | None = strawberry.UNSET
    kind: str | None = enum_field(IncentivePlanKind | None, default=strawberry.UNSET)
    cycle_id: strawberry.ID | None = ref_field(CycleType)
    currency: str | None = strawberry.UNSET
    params: JSON | None = strawberry.UNSET


@described(rest.ResultAdjustmentCreate)
@strawberry.input(description="A correction of a finalized result: the signed change or the corrected total, and why")
class IncentiveAdjustmentInput:
    amount_minor: MinorUnits | None = strawberry.UNSET
    corrected_amount_minor: MinorUnits | None = strawberry.UNSET
    reason: str | None = strawberry.UNSET


async def _result(info: Context, row: Any) -> IncentiveResultType:
    return IncentiveResultType.of((await results.reads(info.context.ctx, [row]))[0])


# `AMOUNT_MINOR` only for callers who see every amount (hr, admin, payroll): for others an unknown key.
IncentiveResultOrder = order_input("IncentiveResult", results.RESULT_SORT, "incentive results")


@described(filters=True)
@strawberry.type
class IncentiveQuery:
    @strawberry.field(description="The incentive plans, a page at a time")
    async def incentive_plans(
        self,
        info: Context,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        cycle_id: strawberry.ID | None = None,
        kind: Annotated[str | None, strawberry.argument(graphql_type=IncentivePlanKind | None)] = None,
    ) -> Connection[IncentivePlanType]:
        params = page_params(first, after, last, before)
        cycle = ref(cycle_id, CycleType, loc=["cycleId"])
        page = await plans.list_plans(info.context.ctx, params, cycle, plain(kind))
        return connection(page, lambda p: IncentivePlanType.of(info, p), params)

    @strawberry.field(description="One incentive plan")
    async def incentive_plan(self, info: Context, id: strawberry.ID) -> IncentivePlanType:
        return IncentivePlanType.of(info, await plans.get_plan(info.context.ctx, ref(id, IncentivePlanType)))

    @strawberry.field(description="The incentive results the caller may see, a page at a time")
    async def incentive_results(
        self,
        info: Context,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        plan_id: strawberry.ID | None = None,
        employee_id: strawberry.ID | None = None,
        cycle_id: strawberry.ID | None = None,
        include_child_cycles: Annotated[bool, strawberry.argument(description=CHILD_CYCLES)] = False,
        status: Annotated[str | None, strawberry.argument(graphql_type=IncentiveResultStatus | None)] = None,
        kind: Annotated[str | None, strawberry.argument(graphql_type=IncentiveResultKind | None)] = None,
        nomination_kind: NominationKindArgument = None,
        nomination: OldNominationKindArgument = None,
        department_id: Annotated[
            strawberry.ID | None, strawberry.argument(description="the employee's department")
        ] = None,
        manager_id: Annotated[
            strawberry.ID | None, strawberry.argument(description="the results of this manager's direct reports")
        ] = None,
        subtree: Annotated[bool, strawberry.argument(description=SUBTREE)] = False,
        q: Annotated[
            str | None, search_argument("the employee's given name, family name, email and external id")
        ] = None,
        order_by: Annotated[list[Any] | None, order_argument(IncentiveResultOrder)] = None,
    ) -> Connection[IncentiveResultType]:
        ctx = info.context.ctx
        params = page_params(first, after, last, before)
        with list_arguments(params):
            filters = results.ResultFilters(
                plan_id=ref(plan_id, IncentivePlanType, loc=["planId"]),
                employee_id=ref(employee_id, EmployeeType, loc=["employeeId"]),
                status=plain(status),
                kind=plain(kind),
                cycle_id=ref(cycle_id, CycleType, loc=["cycleId"]),
                include_child_cycles=include_child_cycles,
                nomination=nominations.one_kind(plain(nomination_kind), plain(nomination), "nomination"),
                department_id=ref(department_id, DepartmentType, loc=["departmentId"]),
                manager_id=ref(manager_id, EmployeeType, loc=["managerId"]),
                subtree=subtree,
                q=q,
                sort=sort_of(order_by),
            )
            page = await results.list_results(ctx, params, filters)
        reads = {r.id: r for r in await results.reads(ctx, page.items)}
        return connection(page, lambda r: IncentiveResultType.of(reads[r.id]), params)

    @strawberry.field(description="One incentive result")
    async def incentive_result(self, info: Context, id: strawberry.ID) -> IncentiveResultType:
        row, _ = await results.get_result(info.context.ctx, ref(id, IncentiveResultType))
        return await _result(info, row)

    @strawberry.field(description="The nominations (OKR breakthrough results) the caller may see, a page at a time")
    async def nominations(
        self,
        info: Context,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        plan_id: strawberry.ID | None = None,
        employee_id: strawberry.ID | None = None,
        cycle_id: strawberry.ID | None = None,
        nomination_kind: NominationKindArgument = None,
        kind: OldNominationKindArgument = None,
        status: Annotated[str | None, strawberry.argument(graphql_type=IncentiveResultStatus | None)] = None,
    ) -> Connection[NominationType]:
        params = page_params(first, after, last, before)
        page = await nominations.list_nominations(
            info.context.ctx,
            params,
            plan_id=ref(plan_id, IncentivePlanType, loc=["planId"]),
            employee_id=ref(employee_id, EmployeeType, loc=["employeeId"]),
            cycle_id=ref(cycle_id, CycleType, loc=["cycleId"]),
            kind=nominations.one_kind(plain(nomination_kind), plain(kind), "kind"),
            status=plain(status),
        )
        reads = await nominations.nomination_reads(info.context.ctx, page.items)
        return nodes_connection(page, [NominationType.of(r) for r in reads], params)

    @strawberry.field(
        description="The payroll feed: finalized money results in sequence order; `after` is "
        "the cursor of the last result received"
    )
    async def payroll_incentive_results(
        self,
        info: Context,
        first: int | None = None,
        after: str | None = None,
        plan_id: strawberry.ID | None = None,
        updated_since: dt.datetime | None = None,
        acknowledged: bool | None = None,
    ) -> Connection[PayrollResultType]:
        params = page_params(first, after)
        if updated_since is not None and updated_since.tzinfo is None:
            updated_since = updated_since.replace(tzinfo=dt.UTC)
        plan = ref(plan_id, IncentivePlanType, loc=["planId"])
        filters = payroll.Filters(plan_id=plan, updated_since=updated_since, acknowledged=acknowledged)
        page = await payroll.page(info.context.ctx, filters, params.cursor, params.limit)
        return edges_of(
            page.items,
            page.next_cursor is not None,
            after,
            lambda i: payroll.encode_cursor(i.sequence),
            PayrollResultType.of,
        )


@described()
@strawberry.type
class IncentiveMutation:
    @strawberry.mutation(description="Creates an incentive plan")
    async def create_incentive_plan(self, info: Context, input: IncentivePlanInput) -> IncentivePlanType:
        data = validate_input(
            IncentivePlanCreate, {k: v for k, v in input_dict(input).items() if not (k == "params" and v is None)}
        )
        return IncentivePlanType.of(info, await plans.create_plan(info.context.ctx, data))

    @strawberry.mutation(description="Changes an incentive plan")
    async def update_incentive_plan(
        self, info: Context, id: strawberry.ID, input: IncentivePlanInput, expected_version: int | None = None
    ) -> IncentivePlanType:
        data = validate_input(IncentivePlanUpdate, input_dict(input))
        return IncentivePlanType.of(
            info,
            await plans.update_plan(
                info.context.ctx, ref(id, IncentivePlanType), data, expected=IfMatch.of(expected_version)
            ),
        )

    @strawberry.mutation(description="Computes the plan's draft results")
    async def run_incentive_plan(
        self, info: Context, id: strawberry.ID, expected_version: int | None = None
    ) -> IncentiveRunType:
        return IncentiveRunType.of(
            await runs.run_plan(info.context.ctx, ref(id, IncentivePlanType), expected=IfMatch.of(expected_version))
        )

    @strawberry.mutation(description="Approves every draft result of a plan")
    async def approve_incentive_plan_results(
        self, info: Context, id: strawberry.ID, expected_version: int | None = None
    ) -> BulkActionType:
        plan = ref(id, IncentivePlanType)
        rows = await results.bulk_action(info.context.ctx, plan, "approve", expected=IfMatch.of(expected_version))
        return BulkActionType(plan_id=plan, action="approve", count=len(rows), result_ids=[r.id for r in rows])

    @strawberry.mutation(description="Finalizes every approved result of a plan")
    async def finalize_incentive_plan_results(
        self, info: Context, id: strawberry.ID, expected_version: int | None = None
    ) -> BulkActionType:
        plan = ref(id, IncentivePlanType)
        rows = await results.bulk_action(info.context.ctx, plan, "finalize", expected=IfMatch.of(expected_version))
        return BulkActionType(plan_id=plan, action="finalize", count=len(rows), result_ids=[r.id for r in rows])

    @strawberry.mutation(description="Approves a draft result")
    async def approve_incentive_result(
        self, info: Context, id: strawberry.ID, comment: str | None = None, expected_version: int | None = None
    ) -> IncentiveResultType:
        return await _result(
            info,
            await results.transition(
                info.context.ctx,
                ref(id, IncentiveResultType),
                "approve",
                comment,
                expected=IfMatch.of(expected_version),
            ),
        )

    @strawberry.mutation(description="Finalizes an approved result (it goes to payroll)")
    async def finalize_incentive_result(
        self, info: Context, id: strawberry.ID, expected_version: int | None = None
    ) -> IncentiveResultType:
        return await _result(
            info,
            await results.transition(
                info.context.ctx, ref(id, IncentiveResultType), "finalize", expected=IfMatch.of(expected_version)
            ),
        )

    @strawberry.mutation(description="Declines a result")
    async def decline_incentive_result(
        self, info: Context, id: strawberry.ID, comment: str | None = None, expected_version: int | None = None
    ) -> IncentiveResultType:
        return await _result(
            info,
            await results.transition(
                info.context.ctx,
                ref(id, IncentiveResultType),
                "decline",
                comment,
                expected=IfMatch.of(expected_version),
            ),
        )

    @strawberry.mutation(description="Corrects a finalized result with an adjustment result")
    async def adjust_incentive_result(
        self, info: Context, id: strawberry.ID, input: IncentiveAdjustmentInput
    ) -> IncentiveResultType:
        data = validate_input(ResultAdjustmentCreate, input_dict(input))
        return await _result(info, await results.adjust(info.context.ctx, ref(id, IncentiveResultType), data))

    @strawberry.mutation(description="Approves or declines a nomination")
    async def decide_nomination(
        self,
        info: Context,
        id: strawberry.ID,
        decision: Annotated[str, strawberry.argument(graphql_type=NominationDecision)],
        comment: str | None = None,
        expected_version: int | None = None,
    ) -> NominationType:
        row = await nominations.decide(
            info.context.ctx, ref(id, NominationType), plain(decision), comment, expected=IfMatch.of(expected_version)
        )
        return NominationType.of((await nominations.nomination_reads(info.context.ctx, [row]))[0])

    @strawberry.mutation(description="Payroll acknowledges a finalized result with its reference")
    async def acknowledge_incentive_result(
        self, info: Context, id: strawberry.ID, payroll_reference: str
    ) -> PayrollAckType:
        from service.incentives.schemas import PayrollAckCreate

        data = validate_input(PayrollAckCreate, {"payroll_reference": payroll_reference})
        result = ref(id, IncentiveResultType, PayrollResultType)
        ack, _ = await payroll.acknowledge(info.context.ctx, result, data.payroll_reference)
        return PayrollAckType(
            payroll_reference=ack.payroll_reference,
            acknowledged_at=ack.acknowledged_at,
            acknowledged_by=ack.acknowledged_by,
        )
