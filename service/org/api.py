"""REST routes of the organization module: thin, they call the service."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status

from service.auth.deps import RequestCtx
from service.authz import policy
from service.authz.access import governed_by
from service.kit.etag import IfMatchHeader, etag_of, set_etag
from service.kit.pagination import PageOut, PageParams, page_params
from service.kit.schemas import json_response
from service.org import bulk
from service.org import service as svc
from service.org.schemas import (
    BulkEmployeeRequest,
    BulkEmployeeResponse,
    DepartmentCreate,
    DepartmentRead,
    DepartmentUpdate,
    EmployeeCreate,
    EmployeeRead,
    EmployeeStatus,
    EmployeeUpdate,
    MeRead,
    OrganizationRead,
    OrganizationUpdate,
    PositionCreate,
    PositionRead,
    PositionUpdate,
)
from service.web import lists

router = APIRouter(prefix="/api/v1")
Pages = Annotated[PageParams, Depends(page_params)]


@router.get("/organization", response_model=OrganizationRead, tags=["organization"])
@governed_by(policy.read_organization)
async def get_organization(ctx: RequestCtx, response: Response) -> OrganizationRead:
    """The caller's organization: its name, currency, time zone and settings."""
    org = await svc.get_organization(ctx)
    set_etag(response, org.version)
    return svc.org_read(org)


@router.patch("/organization", response_model=OrganizationRead, tags=["organization"])
@governed_by(policy.update_organization)
async def update_organization(
    ctx: RequestCtx, body: OrganizationUpdate, if_match: IfMatchHeader, response: Response
) -> OrganizationRead:
    """Changes the organization's name or settings (admin, under `If-Match`)."""
    org = await svc.update_organization(ctx, body, if_match)
    set_etag(response, org.version)
    return svc.org_read(org)


@router.get("/me", response_model=MeRead, response_model_exclude_unset=True, tags=["me"])
@governed_by(policy.read_own_view)
async def get_me(ctx: RequestCtx) -> Response:
    """Who is calling: the caller's employee (as `GET /employees/{id}` shows it to them,
    their own pay included), their roles (or an integration client's scopes), their
    manager and how many report to them directly. A token that names no employee gets
    `employee: null` and its roles or scopes."""
    return json_response(await svc.who_am_i(ctx), exclude_unset=True)


# --- departments -------------------------------------------------------------------------


@router.get("/departments", response_model=PageOut[DepartmentRead], tags=["departments"])
@governed_by(policy.read_directory)
async def list_departments(
    ctx: RequestCtx, pages: Pages, parent_id: uuid.UUID | None = None
) -> PageOut[DepartmentRead]:
    """The organization's departments."""
    page = await svc.list_departments(ctx, pages, parent_id)
    return PageOut[DepartmentRead](
        items=[DepartmentRead.model_validate(d) for d in page.items], next_cursor=page.next_cursor
    )


@router.post("/departments", response_model=DepartmentRead, status_code=status.HTTP_201_CREATED, tags=["departments"])
@governed_by(policy.write_directory)
async def create_department(ctx: RequestCtx, body: DepartmentCreate, response: Response) -> DepartmentRead:
    """Creates a department, optionally under a parent department and with a head."""
    dep = await svc.create_department(ctx, body)
    set_etag(response, dep.version)
    response.headers["Location"] = f"/api/v1/departments/{dep.id}"
    return DepartmentRead.model_validate(dep)


@router.get("/departments/{department_id}", response_model=DepartmentRead, tags=["departments"])
@governed_by(policy.read_directory)
async def get_department(ctx: RequestCtx, department_id: uuid.UUID, response: Response) -> DepartmentRead:
    """One department with its parent and head."""
    dep = await svc.get_department(ctx, department_id)
    set_etag(response, dep.version)
    return DepartmentRead.model_validate(dep)


@router.patch("/departments/{department_id}", response_model=DepartmentRead, tags=["departments"])
@governed_by(policy.write_directory)
async def update_department(
    ctx: RequestCtx, department_id: uuid.UUID, body: DepartmentUpdate, if_match: IfMatchHeader, response: Response
) -> DepartmentRead:
    """Changes a department's name, parent or head (under `If-Match`); a parent may not
    be one of its own descendants."""
    dep = await svc.update_department(ctx, department_id, body, if_match)
    set_etag(response, dep.version)
    return DepartmentRead.model_validate(dep)


@router.delete("/departments/{department_id}", status_code=status.HTTP_204_NO_CONTENT, tags=["departments"])
@governed_by(policy.write_directory)
async def delete_department(ctx: RequestCtx, department_id: uuid.UUID, if_match: IfMatchHeader) -> Response:
    """Deletes a department that has no sub-departments and no employees."""
    await svc.delete_department(ctx, department_id, if_match)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- positions -----------------------------------------------------------------------------


@router.get("/positions", response_model=PageOut[PositionRead], tags=["positions"])
@governed_by(policy.read_directory)
async def list_positions(ctx: RequestCtx, pages: Pages) -> PageOut[PositionRead]:
    """The organization's positions."""
    page = await svc.list_positions(ctx, pages)
    return PageOut[PositionRead](
        items=[PositionRead.model_validate(p) for p in page.items], next_cursor=page.next_cursor
    )


@router.post("/positions", response_model=PositionRead, status_code=status.HTTP_201_CREATED, tags=["positions"])
@governed_by(policy.write_directory)
async def create_position(ctx: RequestCtx, body: PositionCreate, response: Response) -> PositionRead:
    """Creates a position (a job, with an optional level)."""
    pos = await svc.create_position(ctx, body)
    set_etag(response, pos.version)
    response.headers["Location"] = f"/api/v1/positions/{pos.id}"
    return PositionRead.model_validate(pos)


@router.get("/positions/{position_id}", response_model=PositionRead, tags=["positions"])
@governed_by(policy.read_directory)
async def get_position(ctx: RequestCtx, position_id: uuid.UUID, response: Response) -> PositionRead:
    """One position."""
    pos = await svc.get_position(ctx, position_id)
    set_etag(response, pos.version)
    return PositionRead.model_validate(pos)


@router.patch("/positions/{position_id}", response_model=PositionRead, tags=["positions"])
@governed_by(policy.write_directory)
async def update_position(
    ctx: RequestCtx, position_id: uuid.UUID, body: PositionUpdate, if_match: IfMatchHeader, response: Response
) -> PositionRead:
    """Changes a position (under `If-Match`)."""
    pos = await svc.update_position(ctx, position_id, body, if_match)
    set_etag(response, pos.version)
    return PositionRead.model_validate(pos)


# --- employees -----------------------------------------------------------------------------


EMPLOYEE_CSV = lists.csv_doc([c.name for c in svc.EMPLOYEE_COLUMNS], [c.name for c in svc.PAY_COLUMNS])


@router.get(
    "/employees",
    response_model=PageOut[EmployeeRead],
    response_model_exclude_unset=True,
    tags=["employees"],
    responses=EMPLOYEE_CSV,
)
@governed_by(policy.read_directory)
async def list_employees(
    ctx: RequestCtx,
    request: Request,
    pages: Pages,
    department_id: uuid.UUID | None = None,
    manager_id: lists.ManagerFilter = None,
    subtree: Annotated[bool, lists.SUBTREE] = False,
    status_: Annotated[EmployeeStatus | None, Query(alias="status")] = None,
    external_id: Annotated[str | None, Query(max_length=200)] = None,
    q: lists.SearchQuery = None,
    sort: Annotated[str | None, lists.sort_query(svc.EMPLOYEE_SORT)] = None,
) -> Response:
    """The directory. `q` searches given name, family name, email and external id."""
    filters: dict[str, Any] = dict(
        department_id=department_id,
        manager_id=manager_id,
        subtree=subtree,
        status=status_,
        external_id=external_id,
        q=q,
        sort=sort,
    )
    if lists.wants_csv(request):
        return lists.csv_response(await svc.export_employees(ctx, cursor=pages.cursor, **filters))
    page = await svc.list_employees(ctx, pages, **filters)
    return json_response(svc.employee_page_read(ctx, page), exclude_unset=True)


@router.post(
    "/employees",
    response_model=EmployeeRead,
    response_model_exclude_unset=True,
    status_code=status.HTTP_201_CREATED,
    tags=["employees"],
)
@governed_by(policy.write_directory)
async def create_employee(ctx: RequestCtx, body: EmployeeCreate, response: Response) -> EmployeeRead:
    """Creates an employee (upserted by `external_id` in bulk instead for an HRIS sync);
    pay only for hr, admin and `employees:write` clients."""
    emp = await svc.create_employee(ctx, body)
    set_etag(response, emp.version)
    response.headers["Location"] = f"/api/v1/employees/{emp.id}"
    return svc.employee_read(emp, await svc.show_compensation(ctx, emp.id))


@router.post("/employees/bulk", response_model=BulkEmployeeResponse, tags=["employees"])
@governed_by(policy.write_directory)
async def bulk_upsert_employees(
    ctx: RequestCtx, body: BulkEmployeeRequest, atomic: bool = False
) -> BulkEmployeeResponse:
    """Creates or updates up to 10,000 employees by `external_id` in one call (an HRIS
    sync): each row's outcome, or with `atomic=true` all or nothing. A re-sync of
    unchanged rows writes nothing."""
    results = await bulk.bulk_upsert(ctx, body.rows, atomic)
    counts = {k: sum(1 for r in results if r.outcome == k) for k in ("created", "updated", "unchanged", "error")}
    return BulkEmployeeResponse(
        results=results,
        created=counts["created"],
        updated=counts["updated"],
        unchanged=counts["unchanged"],
        errors=counts["error"],
    )


@router.get(
    "/employees/{employee_id}", response_model=EmployeeRead, response_model_exclude_unset=True, tags=["employees"]
)
@governed_by(policy.read_directory)
async def get_employee(ctx: RequestCtx, employee_id: uuid.UUID) -> Response:
    """One employee: the directory fields, and their pay for those who may see it (hr,
    admin, the employee themself, payroll and HRIS clients)."""
    emp = await svc.read_employee(ctx, employee_id)
    return json_response(
        svc.employee_read(emp, await svc.show_compensation(ctx, emp.id)), exclude_unset=True, etag=etag_of(emp.version)
    )


@router.patch(
    "/employees/{employee_id}", response_model=EmployeeRead, response_model_exclude_unset=True, tags=["employees"]
)
@governed_by(policy.write_directory)
async def update_employee(
    ctx: RequestCtx, employee_id: uuid.UUID, body: EmployeeUpdate, if_match: IfMatchHeader, response: Response
) -> EmployeeRead:
    """Changes an employee (under `If-Match`); their manager may not be one of their own
    reports."""
    emp = await svc.update_employee(ctx, employee_id, body, if_match)
    set_etag(response, emp.version)
    return svc.employee_read(emp, await svc.show_compensation(ctx, emp.id))
