"""GraphQL adapter of the organization module: thin, calls the same services as REST."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Annotated, Any

import strawberry
from sqlalchemy import Select

from service.auth.context import Ctx
from service.authz import policy
from service.graphql.common import (
    SUBTREE,
    VERSION,
    Connection,
    Context,
    DecimalString,
    connection,
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


@strawberry.type
class OrgSettingsType:
    okr_max_objectives: int
    okr_min_krs: int
    okr_max_krs: int
    peer_feedback_min_reviewers: int
    webhooks_allow_private: bool


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


@strawberry.type(name="Compensation")
class CompensationType:
    base_salary_minor: int | None
    currency: str | None
    target_bonus_pct: DecimalString | None
    target_bonus_minor: int | None


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


@strawberry.input
class CompensationInput:
    base_salary_minor: int | None = strawberry.UNSET
    currency: str | None = strawberry.UNSET
    target_bonus_pct: DecimalString | None = strawberry.UNSET
    target_bonus_minor: int | None = strawberry.UNSET


@strawberry.input
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


@strawberry.input
class DepartmentInput:
    name: str | None = strawberry.UNSET
    parent_id: strawberry.ID | None = ref_field(DepartmentType)
    head_id: strawberry.ID | None = ref_field(EmployeeType)


@strawberry.input
class PositionInput:
    name: str | None = strawberry.UNSET
    level: str | None = strawberry.UNSET
    job_family: str | None = strawberry.UNSET


@strawberry.input
class OrganizationInput:
    name: str | None = strawberry.UNSET
    currency: str | None = strawberry.UNSET
    timezone: str | None = strawberry.UNSET
    fiscal_year_start: str | None = strawberry.UNSET


@strawberry.type(name="BulkRowResult")
class BulkRowResultType:
    index: int
    external_id: str | None
    employee_id: uuid.UUID | None = strawberry.field(description="the employee the row created or updated")
    outcome: str = enum_field(BulkRowOutcome)
    errors: list[str]


@strawberry.type
class OrgQuery:
    @strawberry.field
    async def organization(self, info: Context) -> OrganizationType:
        return OrganizationType.of(await svc.get_organization(info.context.ctx))

    @strawberry.field
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

    @strawberry.field
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

    @strawberry.field
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


@strawberry.type
class OrgMutation:
    @strawberry.mutation
    async def update_organization(
        self, info: Context, input: OrganizationInput, expected_version: int | None = None
    ) -> OrganizationType:
        data = validate_input(OrganizationUpdate, input_dict(input))
        return OrganizationType.of(
            await svc.update_organization(info.context.ctx, data, expected=IfMatch.of(expected_version))
        )

    @strawberry.mutation
    async def create_department(self, info: Context, input: DepartmentInput) -> DepartmentType:
        data = validate_input(DepartmentCreate, input_dict(input))
        return DepartmentType.of(await svc.create_department(info.context.ctx, data))

    @strawberry.mutation
    async def update_department(
        self, info: Context, id: strawberry.ID, input: DepartmentInput, expected_version: int | None = None
    ) -> DepartmentType:
        data = validate_input(DepartmentUpdate, input_dict(input))
        return DepartmentType.of(
            await svc.update_department(
                info.context.ctx, ref(id, DepartmentType), data, expected=IfMatch.of(expected_version)
            )
        )

    @strawberry.mutation
    async def create_position(self, info: Context, input: PositionInput) -> PositionType:
        data = validate_input(PositionCreate, input_dict(input))
        return PositionType.of(await svc.create_position(info.context.ctx, data))

    @strawberry.mutation
    async def create_employee(self, info: Context, input: EmployeeInput) -> EmployeeType:
        data = validate_input(EmployeeCreate, input_dict(input))
        return EmployeeType.of(await svc.create_employee(info.context.ctx, data))

    @strawberry.mutation
    async def update_employee(
        self, info: Context, id: strawberry.ID, input: EmployeeInput, expected_version: int | None = None
    ) -> EmployeeType:
        data = validate_input(EmployeeUpdate, input_dict(input))
        return EmployeeType.of(
            await svc.update_employee(
                info.context.ctx, ref(id, EmployeeType), data, expected=IfMatch.of(expected_version)
            )
        )

    @strawberry.mutation
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
