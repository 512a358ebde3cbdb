"""GraphQL adapter of the KPI module: thin, calls the same services as REST. Nested
fields go through the per-request dataloaders, so a page of assignments with their
definitions, cycles, employees, measurements and points costs one query per level."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Annotated, Any

import strawberry
from sqlalchemy import Select, select
from strawberry.dataloader import DataLoader

from service.auth.context import Ctx
from service.authz import policy
from service.cycles.gql import CycleType
from service.cycles.models import Cycle
from service.graphql.common import (
    CHILD_CYCLES,
    SUBTREE,
    VERSION,
    Connection,
    Context,
    DecimalString,
    connection,
    described,
    enum_field,
    enum_type,
    input_dict,
    list_arguments,
    order_argument,
    order_input,
    page_params,
    plain,
    search_argument,
    sort_of,
    validate_input,
)
from service.graphql.context import Loaders
from service.graphql.nodes import Entity, NodeKey, by_loader, by_service, ref, ref_field
from service.graphql.visibility import only_if, visible_rows
from service.kit.etag import IfMatch
from service.kpi import measurements, templates
from service.kpi import repository as repo
from service.kpi import schemas as rest
from service.kpi import service as svc
from service.kpi.models import (
    KpiAssignment,
    KpiDefinition,
    KpiMeasurement,
    KpiTemplate,
    KpiTemplateItem,
)
from service.kpi.schemas import (
    Aggregation,
    Direction,
    KpiAssignmentCreate,
    KpiAssignmentUpdate,
    KpiMeasurementCreate,
    KpiTemplateApply,
    Method,
    Perspective,
    plain_decimal,
)
from service.org.gql import DepartmentType, EmployeeType, PositionType
from service.org.models import Employee, Position
from service.scoring.numbers import round_points

PerspectiveEnum = enum_type("Perspective", Perspective, "A balanced-scorecard perspective (KPIs and objectives)")
KpiDirection = enum_type("KpiDirection", Direction, "Which way a KPI is better")
KpiAggregation = enum_type("KpiAggregation", Aggregation, "How a KPI's measurements in a cycle make its actual")
KpiMethod = enum_type("KpiMethod", Method, "How an assignment turns the actual into points")


def _dec(value: Any) -> DecimalString | None:
    return None if value is None else DecimalString(str(plain_decimal(value)))


# What the dataloaders may read, as REST: the library (`policy.read_kpi_library`), a
# template's items when templates are readable (`policy.read_kpi_templates`, every
# person), and an assignment's measurements when the assignment is visible
# (`repo.visible_assignments`: hr, admin, auditors and `kpi:write` clients all; a person
# their own and their reports').


@visible_rows(KpiDefinition)
def visible_definitions(ctx: Ctx) -> Select[Any]:
    return only_if(repo.definitions(ctx.org_id), policy.read_kpi_library(ctx.principal))


@visible_rows(KpiTemplateItem)
def visible_template_items(ctx: Ctx) -> Select[Any]:
    stmt = select(KpiTemplateItem).where(KpiTemplateItem.org_id == ctx.org_id)
    return only_if(stmt, policy.read_kpi_templates(ctx.principal))


def _visible_assignments(ctx: Ctx) -> Select[Any]:
    """`svc.list_assignments`'s rule (`policy.read_kpi_assignment`)."""
    p = ctx.principal
    everything = policy.reads_everything(p) or p.has_scope("kpi:write")
    return repo.visible_assignments(ctx.org_id, everything, None if p.is_client else p.employee_id)


@visible_rows(KpiAssignment)
def visible_assignments(ctx: Ctx) -> Select[Any]:
    """`svc.list_assignments`'s collection and rows (`policy.list_kpi_assignments`)."""
    return only_if(_visible_assignments(ctx), policy.list_kpi_assignments(ctx.principal))


@visible_rows(KpiMeasurement)
def visible_measurements(ctx: Ctx) -> Select[Any]:
    return select(KpiMeasurement).where(
        KpiMeasurement.org_id == ctx.org_id,
        KpiMeasurement.assignment_id.in_(_visible_assignments(ctx).with_only_columns(KpiAssignment.id)),
    )


@described(rest.KpiDefinitionRead, rest.KpiDefinitionCreate)
@strawberry.type(name="KpiDefinition")
class KpiDefinitionType(Entity):
    code: str
    name: str
    unit: str | None
    direction: str = enum_field(KpiDirection)
    aggregation: str = enum_field(KpiAggregation)
    perspective: str | None = enum_field(PerspectiveEnum | None)
    description: str | None
    version: int = strawberry.field(description=VERSION)

    @staticmethod
    def of(d: KpiDefinition) -> KpiDefinitionType:
        return KpiDefinitionType(
            id=d.id,
            code=d.code,
            name=d.name,
            unit=d.unit,
            direction=d.direction,
            aggregation=d.aggregation,
            perspective=d.perspective,
            description=d.description,
            version=d.version,
        )

    @classmethod
    async def load_nodes(cls, info: Context, keys: list[NodeKey]) -> Sequence[KpiDefinitionType | None]:
        return await by_loader(info.context.loaders.by_id(KpiDefinition), keys, KpiDefinitionType.of)


async def _definition(info: Context, def_id: uuid.UUID) -> KpiDefinitionType | None:
    d = await info.context.loaders.by_id(KpiDefinition).load(def_id)
    return KpiDefinitionType.of(d) if d else None


@described(rest.KpiTemplateItemRead, rest.KpiTemplateItemIn)
@strawberry.type(name="KpiTemplateItem")
class KpiTemplateItemType:
    definition_id: uuid.UUID
    method: str = enum_field(KpiMethod)
    weight: DecimalString
    threshold: DecimalString | None
    target: DecimalString | None
    stretch: DecimalString | None
    range_low: DecimalString | None
    range_high: DecimalString | None
    tolerance: DecimalString | None
    veto: bool
    rewardable: bool

    @strawberry.field
    async def definition(self, info: Context) -> KpiDefinitionType | None:
        return await _definition(info, self.definition_id)

    @staticmethod
    def of(i: KpiTemplateItem) -> KpiTemplateItemType:
        return KpiTemplateItemType(
            definition_id=i.definition_id,
            method=i.method,
            weight=DecimalString(str(plain_decimal(i.weight))),
            threshold=_dec(i.threshold),
            target=_dec(i.target),
            stretch=_dec(i.stretch),
            range_low=_dec(i.range_low),
            range_high=_dec(i.range_high),
            tolerance=_dec(i.tolerance),
            veto=i.veto,
            rewardable=i.rewardable,
        )


@described(rest.KpiTemplateRead, rest.KpiTemplateCreate)
@strawberry.type(name="KpiTemplate")
class KpiTemplateType(Entity):
    name: str
    position_id: uuid.UUID | None
    level: str | None
    version: int = strawberry.field(description=VERSION)

    @strawberry.field
    async def items(self, info: Context) -> list[KpiTemplateItemType]:
        rows = await info.context.loaders.many_by(KpiTemplateItem, "template_id", order=lambda i: i.ordinal).load(
            self.id
        )
        return [KpiTemplateItemType.of(i) for i in rows]

    @strawberry.field
    async def position(self, info: Context) -> PositionType | None:
        if self.position_id is None:
            return None
        pos = await info.context.loaders.by_id(Position).load(self.position_id)
        return PositionType.of(pos) if pos else None

    @staticmethod
    def of(t: KpiTemplate) -> KpiTemplateType:
        return KpiTemplateType(id=t.id, name=t.name, position_id=t.position_id, level=t.level, version=t.version)

    @classmethod
    async def load_nodes(cls, info: Context, keys: list[NodeKey]) -> Sequence[KpiTemplateType | None]:
        async def fetch(key: NodeKey) -> KpiTemplateType:
            return KpiTemplateType.of(await templates.get_template(info.context.ctx, key.id))

        return await by_service(keys, fetch)


@described(rest.KpiMeasurementRead, rest.KpiMeasurementCreate)
@strawberry.type(name="KpiMeasurement")
class KpiMeasurementType(Entity):
    assignment_id: uuid.UUID
    value: DecimalString
    measured_at: dt.date
    source: str | None
    source_key: str | None
    recorded_by: str | None
    created_at: dt.datetime

    @staticmethod
    def of(m: KpiMeasurement) -> KpiMeasurementType:
        return KpiMeasurementType(
            id=m.id,
            assignment_id=m.assignment_id,
            value=DecimalString(str(plain_decimal(m.value))),
            measured_at=m.measured_at,
            source=m.source,
            source_key=m.source_key,
            recorded_by=m.recorded_by,
            created_at=m.created_at,
        )

    @classmethod
    async def load_nodes(cls, info: Context, keys: list[NodeKey]) -> Sequence[KpiMeasurementType | None]:
        return await by_loader(info.context.loaders.by_id(KpiMeasurement), keys, KpiMeasurementType.of)


def _measurements_loader(loaders: Loaders) -> DataLoader[uuid.UUID, list[Any]]:
    return loaders.many_by(KpiMeasurement, "assignment_id", order=lambda m: (m.measured_at, m.created_at, m.id))


def _view_loader(loaders: Loaders) -> DataLoader[Any, svc.AssignmentView]:
    """Computed views keyed by assignment row, fed by the shared by-id and measurement
    loaders: a page of assignments costs one query each for definitions, cycles,
    measurements and employees (plus the cycle's policy book), whichever computed fields
    are asked for. Points use each employee's scoring policy, as the score does."""

    def make(ctx: Any) -> DataLoader[Any, svc.AssignmentView]:
        async def load(rows: list[KpiAssignment]) -> list[svc.AssignmentView]:
            defs = await loaders.by_id(KpiDefinition).load_many([r.definition_id for r in rows])
            cycles = await loaders.by_id(Cycle).load_many([r.cycle_id for r in rows])
            ms = await _measurements_loader(loaders).load_many([r.id for r in rows])
            params = await svc.policies_for(ctx, rows, {c.id: c for c in cycles})
            return [
                svc.compute_view(r, d, c, m, params[r.id]) for r, d, c, m in zip(rows, defs, cycles, ms, strict=True)
            ]

        return DataLoader(load_fn=load)

    return loaders.custom("kpi:view", make)


@described(rest.KpiAssignmentRead, rest.KpiAssignmentCreate)
@strawberry.type(name="KpiAssignment")
class KpiAssignmentType(Entity):
    employee_id: uuid.UUID
    cycle_id: uuid.UUID
    definition_id: uuid.UUID
    template_id: uuid.UUID | None
    method: str = enum_field(KpiMethod)
    weight: DecimalString
    threshold: DecimalString | None
    target: DecimalString | None
    stretch: DecimalString | None
    range_low: DecimalString | None
    range_high: DecimalString | None
    tolerance: DecimalString | None
    veto: bool
    rewardable: bool
    effective_from: dt.date | None
    effective_to: dt.date | None
    version: int = strawberry.field(description=VERSION)
    _row: strawberry.Private[KpiAssignment]

    async def _view(self, info: Context) -> svc.AssignmentView:
        return await _view_loader(info.context.loaders).load(self._row)

    @strawberry.field
    async def definition(self, info: Context) -> KpiDefinitionType | None:
        return await _definition(info, self.definition_id)

    @strawberry.field(description="null for callers that may not read the directory")
    async def employee(self, info: Context) -> EmployeeType | None:
        if not policy.read_directory(info.context.ctx.principal).allowed:
            return None
        emp = await info.context.loaders.by_id(Employee).load(self.employee_id)
        return EmployeeType.of(emp) if emp else None

    @strawberry.field
    async def cycle(self, info: Context) -> CycleType | None:
        row = await info.context.loaders.by_id(Cycle).load(self.cycle_id)
        return CycleType.of(row) if row else None

    @strawberry.field(description="The assignment's measurements")
    async def measurements(self, info: Context) -> list[KpiMeasurementType]:
        return [KpiMeasurementType.of(m) for m in await _measurements_loader(info.context.loaders).load(self.id)]

    @strawberry.field(description="aggregation of the measurements dated within the cycle")
    async def actual(self, info: Context) -> DecimalString | None:
        return _dec((await self._view(info)).score.actual)

    @strawberry.field(description="rounded half-up to 2 places")
    async def points(self, info: Context) -> DecimalString:
        return DecimalString(str(round_points((await self._view(info)).score.points)))

    @strawberry.field
    async def points_exact(self, info: Context) -> DecimalString:
        return DecimalString(str(plain_decimal((await self._view(info)).score.points)))

    @strawberry.field
    async def missing_data(self, info: Context) -> bool:
        return (await self._view(info)).score.missing_data

    @strawberry.field
    async def veto_triggered(self, info: Context) -> bool:
        return "veto_triggered" in (await self._view(info)).flags

    @strawberry.field
    async def flags(self, info: Context) -> list[str]:
        return list((await self._view(info)).flags)

    @strawberry.field
    async def measurement_count(self, info: Context) -> int:
        return (await self._view(info)).measurement_count

    @staticmethod
    def of(r: KpiAssignment) -> KpiAssignmentType:
        return KpiAssignmentType(
            id=r.id,
            employee_id=r.employee_id,
            cycle_id=r.cycle_id,
            definition_id=r.definition_id,
            template_id=r.template_id,
            method=r.method,
            weight=DecimalString(str(plain_decimal(r.weight))),
            threshold=_dec(r.threshold),
            target=_dec(r.target),
            stretch=_dec(r.stretch),
            range_low=_dec(r.range_low),
            range_high=_dec(r.range_high),
            tolerance=_dec(r.tolerance),
            veto=r.veto,
            rewardable=r.rewardable,
            effective_from=r.effective_from,
            effective_to=r.effective_to,
            version=r.version,
            _row=r,
        )

    @classmethod
    async def load_nodes(cls, info: Context, keys: list[NodeKey]) -> Sequence[KpiAssignmentType | None]:
        async def fetch(key: NodeKey) -> KpiAssignmentType:
            row, _ = await svc.get_assignment(info.context.ctx, key.id)
            return KpiAssignmentType.of(row)

        return await by_service(keys, fetch)


@described(rest.KpiAssignmentCreate, rest.KpiAssignmentRead)
@strawberry.input(
    description="The fields of a KPI assignment to create, or to change (a field left out keeps its value)"
)
class KpiAssignmentInput:
    employee_id: strawberry.ID | None = ref_field(EmployeeType)
    cycle_id: strawberry.ID | None = ref_field(CycleType)
    definition_id: strawberry.ID | None = ref_field(KpiDefinitionType)
    method: str | None = enum_field(KpiMethod | None, default=strawberry.UNSET)
    weight: DecimalString | None = strawberry.UNSET
    threshold: DecimalString | None = strawberry.UNSET
    target: DecimalString | None = strawberry.UNSET
    stretch: DecimalString | None = strawberry.UNSET
    range_low: DecimalString | None = strawberry.UNSET
    range_high: DecimalString | None = strawberry.UNSET
    tolerance: DecimalString | None = strawberry.UNSET
    veto: bool | None = strawberry.UNSET
    rewardable: bool | None = strawberry.UNSET
    effective_from: dt.date | None = strawberry.UNSET
    effective_to: dt.date | None = strawberry.UNSET


@described(rest.KpiMeasurementCreate, rest.KpiMeasurementRead)
@strawberry.input(description="A measured value of a KPI assignment to record")
class KpiMeasurementInput:
    value: DecimalString
    measured_at: dt.date
    source: str | None = strawberry.UNSET
    source_key: str | None = strawberry.UNSET


KpiAssignmentOrder = order_input("KpiAssignment", svc.ASSIGNMENT_SORT, "KPI assignments")


@described(filters=True)
@strawberry.type
class KpiQuery:
    @strawberry.field(description="The KPI library, a page at a time")
    async def kpi_definitions(
        self,
        info: Context,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        code: str | None = None,
        perspective: Annotated[str | None, strawberry.argument(graphql_type=PerspectiveEnum | None)] = None,
    ) -> Connection[KpiDefinitionType]:
        params = page_params(first, after, last, before)
        page = await svc.list_definitions(info.context.ctx, params, code, plain(perspective))
        return connection(page, KpiDefinitionType.of, params)

    @strawberry.field(description="One KPI definition")
    async def kpi_definition(self, info: Context, id: strawberry.ID) -> KpiDefinitionType:
        return KpiDefinitionType.of(await svc.get_definition(info.context.ctx, ref(id, KpiDefinitionType)))

    @strawberry.field(description="The KPI templates, a page at a time")
    async def kpi_templates(
        self,
        info: Context,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        position_id: strawberry.ID | None = None,
        level: Annotated[
            str | None,
            strawberry.argument(description="the position level targeted, any spelling (matched normalized)"),
        ] = None,
    ) -> Connection[KpiTemplateType]:
        params = page_params(first, after, last, before)
        position = ref(position_id, PositionType, loc=["positionId"])
        page = await templates.list_templates(info.context.ctx, params, position, level)
        return connection(page, KpiTemplateType.of, params)

    @strawberry.field(description="One KPI template")
    async def kpi_template(self, info: Context, id: strawberry.ID) -> KpiTemplateType:
        return KpiTemplateType.of(await templates.get_template(info.context.ctx, ref(id, KpiTemplateType)))

    @strawberry.field(description="The KPI assignments the caller may see, a page at a time")
    async def kpi_assignments(
        self,
        info: Context,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        employee_id: strawberry.ID | None = None,
        cycle_id: strawberry.ID | None = None,
        include_child_cycles: Annotated[bool, strawberry.argument(description=CHILD_CYCLES)] = False,
        definition_id: strawberry.ID | None = None,
        perspective: Annotated[
            str | None,
            strawberry.argument(
                graphql_type=PerspectiveEnum | None, description="the balanced-scorecard perspective of the KPI"
            ),
        ] = None,
        department_id: Annotated[
            strawberry.ID | None, strawberry.argument(description="the assigned employee's department")
        ] = None,
        manager_id: Annotated[
            strawberry.ID | None, strawberry.argument(description="the assignments of this manager's direct reports")
        ] = None,
        subtree: Annotated[bool, strawberry.argument(description=SUBTREE)] = False,
        q: Annotated[str | None, search_argument("the KPI definition's name and code")] = None,
        order_by: Annotated[list[Any] | None, order_argument(KpiAssignmentOrder)] = None,
    ) -> Connection[KpiAssignmentType]:
        params = page_params(first, after, last, before)
        with list_arguments(params):
            page = await svc.list_assignments(
                info.context.ctx,
                params,
                employee_id=ref(employee_id, EmployeeType, loc=["employeeId"]),
                cycle_id=ref(cycle_id, CycleType, loc=["cycleId"]),
                include_child_cycles=include_child_cycles,
                definition_id=ref(definition_id, KpiDefinitionType, loc=["definitionId"]),
                perspective=plain(perspective),
                department_id=ref(department_id, DepartmentType, loc=["departmentId"]),
                manager_id=ref(manager_id, EmployeeType, loc=["managerId"]),
                subtree=subtree,
                q=q,
                sort=sort_of(order_by),
            )
        return connection(page, KpiAssignmentType.of, params)

    @strawberry.field(description="One KPI assignment")
    async def kpi_assignment(self, info: Context, id: strawberry.ID) -> KpiAssignmentType:
        row, _ = await svc.get_assignment(info.context.ctx, ref(id, KpiAssignmentType))
        return KpiAssignmentType.of(row)


@described(rest.EndedAssignment)
@strawberry.type(name="KpiAssignmentEnded")
class KpiAssignmentEndedType:
    employee_id: uuid.UUID
    definition_id: uuid.UUID
    assignment_id: uuid.UUID
    template_id: uuid.UUID | None
    effective_to: dt.date


@described(rest.KpiTemplateResolvedApplyResult)
@strawberry.type(name="KpiTemplatesApplied")
class KpiTemplatesAppliedType:
    created: int = strawberry.field(description="How many assignments were created")
    skipped: int = strawberry.field(description="How many were already there and left as they are")
    assignment_ids: list[uuid.UUID]
    unmatched_employee_ids: list[uuid.UUID]
    ended: list[KpiAssignmentEndedType]


@described()
@strawberry.type
class KpiMutation:
    @strawberry.mutation(
        description="Gives each employee the KPIs of the templates that apply to them: their position's, "
        "else their position level's (idempotent)"
    )
    async def apply_kpi_templates(
        self,
        info: Context,
        cycle_id: strawberry.ID,
        employee_ids: list[strawberry.ID],
        effective_from: Annotated[
            dt.date | None,
            strawberry.argument(description=KpiTemplateApply.model_fields["effective_from"].description),
        ] = None,
    ) -> KpiTemplatesAppliedType:
        data = validate_input(
            KpiTemplateApply,
            {
                "cycle_id": ref(cycle_id, CycleType, loc=["cycleId"]),
                "employee_ids": [ref(e, EmployeeType, loc=["employeeIds", n]) for n, e in enumerate(employee_ids)],
                **({"effective_from": effective_from} if effective_from is not None else {}),
            },
        )
        r = await templates.apply_resolved(info.context.ctx, data)
        return KpiTemplatesAppliedType(
            created=r.created,
            skipped=r.skipped,
            assignment_ids=r.assignment_ids,
            unmatched_employee_ids=r.unmatched_employee_ids,
            ended=[KpiAssignmentEndedType(**e.model_dump()) for e in r.ended],
        )

    @strawberry.mutation(description="Assigns a KPI to an employee for a cycle")
    async def create_kpi_assignment(self, info: Context, input: KpiAssignmentInput) -> KpiAssignmentType:
        data = validate_input(KpiAssignmentCreate, input_dict(input))
        return KpiAssignmentType.of(await svc.create_assignment(info.context.ctx, data))

    @strawberry.mutation(description="Changes a KPI assignment")
    async def update_kpi_assignment(
        self, info: Context, id: strawberry.ID, input: KpiAssignmentInput, expected_version: int | None = None
    ) -> KpiAssignmentType:
        data = validate_input(KpiAssignmentUpdate, input_dict(input))
        return KpiAssignmentType.of(
            await svc.update_assignment(
                info.context.ctx, ref(id, KpiAssignmentType), data, expected=IfMatch.of(expected_version)
            )
        )

    @strawberry.mutation(description="Records a measured value of a KPI assignment")
    async def record_kpi_measurement(
        self, info: Context, assignment_id: strawberry.ID, input: KpiMeasurementInput
    ) -> KpiMeasurementType:
        data = validate_input(KpiMeasurementCreate, input_dict(input))
        assignment = ref(assignment_id, KpiAssignmentType, loc=["assignmentId"])
        m, _ = await measurements.create_measurement(info.context.ctx, assignment, data)
        return KpiMeasurementType.of(m)


# --- an employee's KPIs (Employee.kpiAssignments) -----------------------------------------------

EMPLOYEE_LIST_BOUND = 100


async def assignments_of(info: Context, employee_id: uuid.UUID, cycle_id: uuid.UUID | None) -> list[KpiAssignmentType]:
    """What GET /kpi-assignments?employee_id=...&cycle_id=... lists the caller."""
    column = KpiAssignment.__table__.c.cycle_id
    where, name = ((column == cycle_id,), f"cycle={cycle_id}") if cycle_id is not None else ((), "")
    loader = info.context.loaders.owned_by(
        KpiAssignment, "employee_id", where=where, where_name=name, bound=EMPLOYEE_LIST_BOUND
    )
    return [KpiAssignmentType.of(r) for r in await loader.load(employee_id)]
