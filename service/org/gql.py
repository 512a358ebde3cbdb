"""GraphQL adapter of the organization module: thin, calls the same services as REST."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from sqlalchemy import Select
from strawberry.dataloader import DataLoader

from service.auth.context import Ctx
from service.authz import policy
from service.graphql.common import (
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
    literal_of,
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
from service.kit.etag import IfMatch
from service.org import bulk
from service.org import repository as repo
from service.org import schemas as rest
from service.org import service as svc
from service.org.models import Department, Employee, Organization, Position
from service.org.schemas import (
    BulkRowResult,
    DepartmentCreate,
    DepartmentUpdate,
    EmployeeCreate,
    EmployeeStatus,
    EmployeeUpdate,
    OrganizationUpdate,
    PositionCreate,
)
from service.tasks.gql import TASKS_DESCRIPTION, TaskType, employee_tasks

if TYPE_CHECKING:
    from service.evaluations.gql_types import EvaluationType
    from service.kpi.gql import KpiAssignmentType
    from service.okr.gql import KeyResultType, ObjectiveType
    from service.scoring.gql import ScoreType

EmployeeStatusEnum = enum_type("EmployeeStatus", EmployeeStatus, "Where an employee is in their employment")
BulkRowOutcome = enum_type(
    "BulkRowOutcome", literal_of(BulkRowResult, "outcome"), "What a bulk upsert did with one row"
)
EmployeeOrder = order_input("Employee", svc.EMPLOYEE_SORT, "employees")

# The directory, for the dataloaders: `policy.read_directory` (every person of the
# organization and the directory scopes), as the REST lists. Pay is a field-level rule
# (`EmployeeType.compensation`), not a row rule: an employee's row is in the directory.


@visible_rows(Department)
def visible_departments(ctx: Ctx) -> Select[Any]:
    return only_if(repo.departments(ctx.org_id), policy.read_directory(ctx.principal))


@visible_rows(Position)
def visible_positions(ctx: Ctx) -> Select[Any]:
    return only_if(repo.positions(ctx.org_id), policy.read_directory(ctx.principal))


@visible_rows(Employee)
def visible_employees(ctx: Ctx) -> Select[Any]:
    return only_if(repo.employees(ctx.org_id), policy.read_directory(ctx.principal))


@described(rest.OrgSettings)
@strawberry.type
class OrgSettingsType:
    okr_max_objectives: int
    okr_min_krs: int
    okr_max_krs: int
    peer_feedback_min_reviewers: int
    webhooks_allow_private: bool
    check_in_cadence_days: int
    retention_days_after_termination: int


@described(rest.OrganizationRead, rest.OrganizationUpdate)
@strawberry.type(name="Organization")
class OrganizationType(Entity):
    name: str
    currency: str
    timezone: str
    fiscal_year_start: str
    settings: OrgSettingsType
    version: int = strawberry.field(description=VERSION)

    @staticmethod
    def of(org: Organization) -> OrganizationType:
        read = svc.org_read(org)
        return OrganizationType(
            id=read.id,
            name=read.name,
            currency=read.currency,
            timezone=read.timezone,
            fiscal_year_start=read.fiscal_year_start,
            settings=OrgSettingsType(**read.settings.model_dump()),
            version=org.version,
        )

    @classmethod
    async def load_nodes(cls, info: Context, keys: list[NodeKey]) -> Sequence[OrganizationType | None]:
        async def fetch(key: NodeKey) -> OrganizationType | None:
            ctx = info.context.ctx
            return OrganizationType.of(await svc.get_organization(ctx)) if key.id == ctx.org_id else None

        return await by_service(keys, fetch)


@described(rest.PositionRead, rest.PositionCreate)
@strawberry.type(name="Position")
class PositionType(Entity):
    name: str
    level: str | None
    job_family: str | None
    version: int = strawberry.field(description=VERSION)

    @staticmethod
    def of(p: Position) -> PositionType:
        return PositionType(id=p.id, name=p.name, level=p.level, job_family=p.job_family, version=p.version)

    @classmethod
    async def load_nodes(cls, info: Context, keys: list[NodeKey]) -> Sequence[PositionType | None]:
        return await by_loader(info.context.loaders.by_id(Position), keys, PositionType.of)


@described(rest.DepartmentRead, rest.DepartmentCreate)
@strawberry.type(name="Department")
class DepartmentType(Entity):
    name: str
    parent_id: uuid.UUID | None
    head_id: uuid.UUID | None
    version: int = strawberry.field(description=VERSION)

    @strawberry.field
    async def parent(self, info: Context) -> DepartmentType | None:
        if self.parent_id is None:
            return None
        dep = await info.context.loaders.by_id(Department).load(self.parent_id)
        return DepartmentType.of(dep) if dep else None

    @strawberry.field
    async def head(self, info: Context) -> EmployeeType | None:
        if self.head_id is None:
            return None
        emp = await info.context.loaders.by_id(Employee).load(self.head_id)
        return EmployeeType.of(emp) if emp else None

    @staticmethod
    def of(d: Department) -> DepartmentType:
        return DepartmentType(id=d.id, name=d.name, parent_id=d.parent_id, head_id=d.head_id, version=d.version)

    @classmethod
    async def load_nodes(cls, info: Context, keys: list[NodeKey]) -> Sequence[DepartmentType | None]:
        return await by_loader(info.context.loaders.by_id(Department), keys, DepartmentType.of)


REPORTS_BOUND = 500


def _report_counts(info: Context) -> DataLoader[uuid.UUID, int]:
    """manager id → direct reports, one grouped count per batch (the directory rule)."""

    def make(ctx: Ctx) -> DataLoader[uuid.UUID, int]:
        async def load(ids: list[uuid.UUID]) -> list[int]:
            if not policy.read_directory(ctx.principal).allowed:
                return [0] * len(ids)
            counts = await repo.direct_report_counts(ctx.session, ctx.org_id, ids)
            return [counts.get(i, 0) for i in ids]

        return DataLoader(load_fn=load)

    return info.context.loaders.custom("org:report_counts", make)


@described(rest.CompensationRead, rest.Compensation)
@strawberry.type(name="Compensation")
class CompensationType:
    base_salary_minor: int | None
    currency: str | None
    target_bonus_pct: DecimalString | None
    target_bonus_minor: int | None


@described(rest.EmployeeRead, rest.EmployeeCreate)
@strawberry.type(name="Employee")
class EmployeeType(Entity):
    external_id: str
    email: str
    given_name: str
    family_name: str
    department_id: uuid.UUID | None
    position_id: uuid.UUID | None
    manager_id: uuid.UUID | None
    status: str = enum_field(EmployeeStatusEnum)
    hire_date: dt.date | None
    termination_date: dt.date | None
    version: int = strawberry.field(description=VERSION)
    _row: strawberry.Private[Employee]

    @strawberry.field
    async def department(self, info: Context) -> DepartmentType | None:
        if self.department_id is None:
            return None
        dep = await info.context.loaders.by_id(Department).load(self.department_id)
        return DepartmentType.of(dep) if dep else None

    @strawberry.field
    async def position(self, info: Context) -> PositionType | None:
        if self.position_id is None:
            return None
        pos = await info.context.loaders.by_id(Position).load(self.position_id)
        return PositionType.of(pos) if pos else None

    @strawberry.field
    async def manager(self, info: Context) -> EmployeeType | None:
        if self.manager_id is None:
            return None
        emp = await info.context.loaders.by_id(Employee).load(self.manager_id)
        return EmployeeType.of(emp) if emp else None

    @strawberry.field(description="null unless the caller may see pay")
    async def compensation(self, info: Context) -> CompensationType | None:
        if not await svc.show_compensation(info.context.ctx, self.id):
            return None
        comp = svc.employee_read(self._row, True).compensation
        return CompensationType(**comp.model_dump()) if comp else None

    # What a screen about a person needs, each field through the request's dataloaders
    # (one statement per level however many employees ask) and with exactly the
    # visibility of the REST list of the same things. The types live in the modules that
    # own them, hence the lazy references and the imports inside the resolvers (those
    # modules import this one).

    @strawberry.field(
        description="The objectives this employee owns that the caller may read, as GET "
        "/objectives?owner_id=&cycle_id= lists them; at most 100, by id"
    )
    async def objectives(
        self, info: Context, cycle_id: strawberry.ID | None = None
    ) -> list[Annotated[ObjectiveType, strawberry.lazy("service.okr.gql")]]:
        from service.okr.gql import objectives_of

        return await objectives_of(info, self.id, ref(cycle_id, "Cycle", loc=["cycleId"]))

    @strawberry.field(
        description="The key results this employee owns on objectives the caller may read, as GET "
        "/key-results?owner_id= lists them (with cycleId: on that cycle's objectives); at most 100, by id"
    )
    async def key_results(
        self, info: Context, cycle_id: strawberry.ID | None = None
    ) -> list[Annotated[KeyResultType, strawberry.lazy("service.okr.gql")]]:
        from service.okr.gql import owned_key_results_of

        return await owned_key_results_of(info, self.id, ref(cycle_id, "Cycle", loc=["cycleId"]))

    @strawberry.field(
        description="This employee's KPI assignments the caller may read, as GET "
        "/kpi-assignments?employee_id=&cycle_id= lists them; at most 100, by id"
    )
    async def kpi_assignments(
        self, info: Context, cycle_id: strawberry.ID | None = None
    ) -> list[Annotated[KpiAssignmentType, strawberry.lazy("service.kpi.gql")]]:
        from service.kpi.gql import assignments_of

        return await assignments_of(info, self.id, ref(cycle_id, "Cycle", loc=["cycleId"]))

    @strawberry.field(
        description="This employee's score in the cycle, as Query.score answers it; null where the caller "
        "may not see it or the employee is not scored there. The employees of a list are scored in one batch"
    )
    async def score(
        self, info: Context, cycle_id: strawberry.ID
    ) -> Annotated[ScoreType, strawberry.lazy("service.scoring.gql")] | None:
        from service.scoring.gql import score_of

        return await score_of(info, self.id, ref(cycle_id, "Cycle", loc=["cycleId"]))

    @strawberry.field(
        description="This employee's evaluations the caller may read, as GET "
        "/evaluations?employee_id=&cycle_id= lists them; at most 100, by id"
    )
    async def evaluations(
        self, info: Context, cycle_id: strawberry.ID | None = None
    ) -> list[Annotated[EvaluationType, strawberry.lazy("service.evaluations.gql_types")]]:
        from service.evaluations.gql_types import evaluations_of

        return await evaluations_of(info, self.id, ref(cycle_id, "Cycle", loc=["cycleId"]))

    @strawberry.field(
        description="The employees who report directly to this one, as GET /employees?manager_id= lists "
        f"them; at most {REPORTS_BOUND}, by id"
    )
    async def reports(self, info: Context) -> list[EmployeeType]:
        rows = await info.context.loaders.owned_by(Employee, "manager_id", bound=REPORTS_BOUND).load(self.id)
        return [EmployeeType.of(e) for e in rows]

    @strawberry.field(description="How many employees report directly to this one (for callers who read the directory)")
    async def reports_count(self, info: Context) -> int:
        return int(await _report_counts(info).load(self.id))

    @staticmethod
    def of(e: Employee) -> EmployeeType:
        return EmployeeType(
            id=e.id,
            external_id=e.external_id,
            email=e.email,
            given_name=e.given_name,
            family_name=e.family_name,
            department_id=e.department_id,
            position_id=e.position_id,
            manager_id=e.manager_id,
            status=e.status,
            hire_date=e.hire_date,
            termination_date=e.termination_date,
            version=e.version,
            _row=e,
        )

    @classmethod
    async def load_nodes(cls, info: Context, keys: list[NodeKey]) -> Sequence[EmployeeType | None]:
        return await by_loader(info.context.loaders.by_id(Employee), keys, EmployeeType.of)

    # kept last in the type: the caller's own work (service/tasks/gql.py)
    @strawberry.field(description=TASKS_DESCRIPTION)
    async def tasks(
        self, info: Context, first: int | None = None, after: str | None = None
    ) -> Connection[TaskType] | None:
        return await employee_tasks(info, self.id, first, after)


@described(rest.Compensation, rest.CompensationRead)
@strawberry.input(description="Pay to set (hr and admin only)")
class CompensationInput:
    base_salary_minor: int | None = strawberry.UNSET
    currency: str | None = strawberry.UNSET
    target_bonus_pct: DecimalString | None = strawberry.UNSET
    target_bonus_minor: int | None = strawberry.UNSET


@described(rest.EmployeeCreate, rest.EmployeeRead)
@strawberry.input(
    description="The fields of an employee to create, or to change (a field left out keeps its value); a bulk row too"
)
class EmployeeInput:
    external_id: str | None = strawberry.UNSET
    email: str | None = strawberry.UNSET
    given_name: str | None = strawberry.UNSET
    family_name: str | None = strawberry.UNSET
    department_id: strawberry.ID | None = ref_field(DepartmentType)
    position_id: strawberry.ID | None = ref_field(PositionType)
    manager_id: strawberry.ID | None = ref_field(EmployeeType)
    status: str | None = enum_field(EmployeeStatusEnum | None, default=strawberry.UNSET)
    hire_date: dt.date | None = strawberry.UNSET
    termination_date: dt.date | None = strawberry.UNSET
    compensation: CompensationInput | None = strawberry.UNSET


@described(rest.DepartmentCreate, rest.DepartmentRead)
@strawberry.input(description="The fields of a department to create, or to change (a field left out keeps its value)")
class DepartmentInput:
    name: str | None = strawberry.UNSET
    parent_id: strawberry.ID | None = ref_field(DepartmentType)
    head_id: strawberry.ID | None = ref_field(EmployeeType)


@described(rest.PositionCreate, rest.PositionRead)
@strawberry.input(description="The fields of a position to create")
class PositionInput:
    name: str | None = strawberry.UNSET
    level: str | None = strawberry.UNSET
    job_family: str | None = strawberry.UNSET


@described(rest.OrganizationUpdate, rest.OrganizationRead)
@strawberry.input(description="The organization's fields to change (a field left out keeps its value)")
class OrganizationInput:
    name: str | None = strawberry.UNSET
    currency: str | None = strawberry.UNSET
    timezone: str | None = strawberry.UNSET
    fiscal_year_start: str | None = strawberry.UNSET


@described(rest.BulkRowResult)
@strawberry.type(name="BulkRowResult")
class BulkRowResultType:
    index: int
    external_id: str | None
    employee_id: uuid.UUID | None = strawberry.field(description="the employee the row created or updated")
    outcome: str = enum_field(BulkRowOutcome)
    errors: list[str]


@described(filters=True)
@strawberry.type
class OrgQuery:
    @strawberry.field(description="The caller's organization")
    async def organization(self, info: Context) -> OrganizationType:
        return OrganizationType.of(await svc.get_organization(info.context.ctx))

    @strawberry.field(description="The organization's departments, a page at a time")
    async def departments(
        self,
        info: Context,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        parent_id: strawberry.ID | None = None,
    ) -> Connection[DepartmentType]:
        params = page_params(first, after, last, before)
        page = await svc.list_departments(info.context.ctx, params, ref(parent_id, DepartmentType, loc=["parentId"]))
        return connection(page, DepartmentType.of, params)

    @strawberry.field
    async def department(self, info: Context, id: strawberry.ID) -> DepartmentType:
        return DepartmentType.of(await svc.get_department(info.context.ctx, ref(id, DepartmentType)))

    @strawberry.field(description="The organization's positions, a page at a time")
    async def positions(
        self,
        info: Context,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[PositionType]:
        params = page_params(first, after, last, before)
        page = await svc.list_positions(info.context.ctx, params)
        return connection(page, PositionType.of, params)

    @strawberry.field
    async def position(self, info: Context, id: strawberry.ID) -> PositionType:
        return PositionType.of(await svc.get_position(info.context.ctx, ref(id, PositionType)))

    @strawberry.field(description="The organization's employees the caller may see, a page at a time")
    async def employees(
        self,
        info: Context,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        department_id: strawberry.ID | None = None,
        manager_id: strawberry.ID | None = None,
        subtree: Annotated[bool, strawberry.argument(description=SUBTREE)] = False,
        status: Annotated[str | None, strawberry.argument(graphql_type=EmployeeStatusEnum | None)] = None,
        external_id: str | None = None,
        q: Annotated[str | None, search_argument("given name, family name, email and external id")] = None,
        order_by: Annotated[list[Any] | None, order_argument(EmployeeOrder)] = None,
    ) -> Connection[EmployeeType]:
        params = page_params(first, after, last, before)
        with list_arguments(params):
            page = await svc.list_employees(
                info.context.ctx,
                params,
                department_id=ref(department_id, DepartmentType, loc=["departmentId"]),
                manager_id=ref(manager_id, EmployeeType, loc=["managerId"]),
                subtree=subtree,
                status=plain(status),
                external_id=external_id,
                q=q,
                sort=sort_of(order_by),
            )
        return connection(page, EmployeeType.of, params)

    @strawberry.field
    async def employee(self, info: Context, id: strawberry.ID) -> EmployeeType:
        return EmployeeType.of(await svc.get_employee(info.context.ctx, ref(id, EmployeeType)))

    @strawberry.field(description="the calling employee, if the token names one")
    async def me(self, info: Context) -> EmployeeType | None:
        emp_id = info.context.ctx.principal.employee_id
        if emp_id is None:
            return None
        return EmployeeType.of(await svc.get_employee(info.context.ctx, emp_id))


@described()
@strawberry.type
class OrgMutation:
    @strawberry.mutation(description="Changes the organization's fields (REST: PATCH /organization)")
    async def update_organization(
        self, info: Context, input: OrganizationInput, expected_version: int | None = None
    ) -> OrganizationType:
        data = validate_input(OrganizationUpdate, input_dict(input))
        return OrganizationType.of(
            await svc.update_organization(info.context.ctx, data, expected=IfMatch.of(expected_version))
        )

    @strawberry.mutation(description="Creates a department")
    async def create_department(self, info: Context, input: DepartmentInput) -> DepartmentType:
        data = validate_input(DepartmentCreate, input_dict(input))
        return DepartmentType.of(await svc.create_department(info.context.ctx, data))

    @strawberry.mutation(description="Changes a department")
    async def update_department(
        self, info: Context, id: strawberry.ID, input: DepartmentInput, expected_version: int | None = None
    ) -> DepartmentType:
        data = validate_input(DepartmentUpdate, input_dict(input))
        return DepartmentType.of(
            await svc.update_department(
                info.context.ctx, ref(id, DepartmentType), data, expected=IfMatch.of(expected_version)
            )
        )

    @strawberry.mutation(description="Creates a position")
    async def create_position(self, info: Context, input: PositionInput) -> PositionType:
        data = validate_input(PositionCreate, input_dict(input))
        return PositionType.of(await svc.create_position(info.context.ctx, data))

    @strawberry.mutation(description="Creates an employee")
    async def create_employee(self, info: Context, input: EmployeeInput) -> EmployeeType:
        data = validate_input(EmployeeCreate, input_dict(input))
        return EmployeeType.of(await svc.create_employee(info.context.ctx, data))

    @strawberry.mutation(description="Changes an employee")
    async def update_employee(
        self, info: Context, id: strawberry.ID, input: EmployeeInput, expected_version: int | None = None
    ) -> EmployeeType:
        data = validate_input(EmployeeUpdate, input_dict(input))
        return EmployeeType.of(
            await svc.update_employee(
                info.context.ctx, ref(id, EmployeeType), data, expected=IfMatch.of(expected_version)
            )
        )

    @strawberry.mutation(
        description="Creates or updates employees by `externalId`, up to 10,000 rows a call; one result per row"
    )
    async def bulk_upsert_employees(
        self, info: Context, rows: list[EmployeeInput], atomic: bool = False
    ) -> list[BulkRowResultType]:
        results = await bulk.bulk_upsert(
            info.context.ctx, [input_dict(r, ("rows", i)) for i, r in enumerate(rows)], atomic
        )
        return [
            BulkRowResultType(
                index=r.index,
                external_id=r.external_id,
                employee_id=r.id,
                outcome=r.outcome,
                errors=[f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in r.errors],
            )
            for r in results
        ]
