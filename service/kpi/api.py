"""REST routes of the KPI module: thin, they call the services."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from service.auth.deps import RequestCtx
from service.authz import policy
from service.authz.access import governed_by
from service.kit.etag import IfMatchHeader, set_etag
from service.kit.pagination import PageOut, PageParams, page_params
from service.kpi import bulk, measurements, templates
from service.kpi import service as svc
from service.kpi.schemas import (
    BulkMeasurementRequest,
    BulkMeasurementResponse,
    KpiAssignmentCreate,
    KpiAssignmentRead,
    KpiAssignmentUpdate,
    KpiDefinitionCreate,
    KpiDefinitionRead,
    KpiDefinitionUpdate,
    KpiMeasurementCreate,
    KpiMeasurementPut,
    KpiMeasurementRead,
    KpiTemplateApply,
    KpiTemplateApplyResult,
    KpiTemplateCreate,
    KpiTemplateRead,
    KpiTemplateResolvedApplyResult,
    KpiTemplateUpdate,
    Perspective,
)
from service.org.levels import LEVEL_MAX_LENGTH
from service.web import lists

router = APIRouter(prefix="/api/v1")
Pages = Annotated[PageParams, Depends(page_params)]
LevelQuery = Annotated[
    str | None,
    Query(
        max_length=LEVEL_MAX_LENGTH,
        description="Only the templates of this position level, any spelling (matched normalized)",
    ),
]


# --- definitions -----------------------------------------------------------------------------


@router.get("/kpi-definitions", response_model=PageOut[KpiDefinitionRead], tags=["kpi-definitions"])
@governed_by(policy.read_kpi_library)
async def list_kpi_definitions(
    ctx: RequestCtx, pages: Pages, code: str | None = None, perspective: Perspective | None = None
) -> PageOut[KpiDefinitionRead]:
    """The organization's KPI library, optionally one code or perspective."""
    page = await svc.list_definitions(ctx, pages, code, perspective)
    return PageOut[KpiDefinitionRead](
        items=[KpiDefinitionRead.model_validate(d) for d in page.items], next_cursor=page.next_cursor
    )


@router.post(
    "/kpi-definitions", response_model=KpiDefinitionRead, status_code=status.HTTP_201_CREATED, tags=["kpi-definitions"]
)
@governed_by(policy.manage_kpi_library)
async def create_kpi_definition(ctx: RequestCtx, body: KpiDefinitionCreate, response: Response) -> KpiDefinitionRead:
    """Adds a KPI to the library: its code, name, unit, direction, aggregation and
    perspective."""
    d = await svc.create_definition(ctx, body)
    set_etag(response, d.version)
    response.headers["Location"] = f"/api/v1/kpi-definitions/{d.id}"
    return KpiDefinitionRead.model_validate(d)


@router.get("/kpi-definitions/{definition_id}", response_model=KpiDefinitionRead, tags=["kpi-definitions"])
@governed_by(policy.read_kpi_library)
async def get_kpi_definition(ctx: RequestCtx, definition_id: uuid.UUID, response: Response) -> KpiDefinitionRead:
    """One KPI definition."""
    d = await svc.get_definition(ctx, definition_id)
    set_etag(response, d.version)
    return KpiDefinitionRead.model_validate(d)


@router.patch("/kpi-definitions/{definition_id}", response_model=KpiDefinitionRead, tags=["kpi-definitions"])
@governed_by(policy.manage_kpi_library)
async def update_kpi_definition(
    ctx: RequestCtx, definition_id: uuid.UUID, body: KpiDefinitionUpdate, if_match: IfMatchHeader, response: Response
) -> KpiDefinitionRead:
    """Changes a KPI definition (under `If-Match`)."""
    d = await svc.update_definition(ctx, definition_id, body, if_match)
    set_etag(response, d.version)
    return KpiDefinitionRead.model_validate(d)


# --- templates -------------------------------------------------------------------------------


@router.get("/kpi-templates", response_model=PageOut[KpiTemplateRead], tags=["kpi-templates"])
@governed_by(policy.read_kpi_templates)
async def list_kpi_templates(
    ctx: RequestCtx, pages: Pages, position_id: uuid.UUID | None = None, level: LevelQuery = None
) -> PageOut[KpiTemplateRead]:
    """KPI templates: the KPIs each position (or each position level) carries, with
    their default parameters."""
    page = await templates.list_templates(ctx, pages, position_id, level)
    items = await templates.items_of(ctx, page.items)
    return PageOut[KpiTemplateRead](
        items=[templates.template_read(t, items[t.id]) for t in page.items], next_cursor=page.next_cursor
    )


@router.post(
    "/kpi-templates", response_model=KpiTemplateRead, status_code=status.HTTP_201_CREATED, tags=["kpi-templates"]
)
@governed_by(policy.manage_kpi_library)
async def create_kpi_template(ctx: RequestCtx, body: KpiTemplateCreate, response: Response) -> KpiTemplateRead:
    """Creates the KPI template of a position, or of a position level (`level`: it applies
    to every position of that level that has no template of its own)."""
    t, items = await templates.create_template(ctx, body)
    set_etag(response, t.version)
    response.headers["Location"] = f"/api/v1/kpi-templates/{t.id}"
    return templates.template_read(t, items)


@router.get("/kpi-templates/{template_id}", response_model=KpiTemplateRead, tags=["kpi-templates"])
@governed_by(policy.read_kpi_templates)
async def get_kpi_template(ctx: RequestCtx, template_id: uuid.UUID, response: Response) -> KpiTemplateRead:
    """One position template with its items."""
    t = await templates.get_template(ctx, template_id)
    set_etag(response, t.version)
    return templates.template_read(t, (await templates.items_of(ctx, [t]))[t.id])


@router.patch("/kpi-templates/{template_id}", response_model=KpiTemplateRead, tags=["kpi-templates"])
@governed_by(policy.manage_kpi_library)
async def update_kpi_template(
    ctx: RequestCtx, template_id: uuid.UUID, body: KpiTemplateUpdate, if_match: IfMatchHeader, response: Response
) -> KpiTemplateRead:
    """Changes a position template's items (under `If-Match`); assignments already made
    keep theirs."""
    t, items = await templates.update_template(ctx, template_id, body, if_match)
    set_etag(response, t.version)
    return templates.template_read(t, items)


@router.post("/kpi-templates/{template_id}/apply", response_model=KpiTemplateApplyResult, tags=["kpi-templates"])
@governed_by(policy.manage_kpi_assignment)
async def apply_kpi_template(
    ctx: RequestCtx, template_id: uuid.UUID, body: KpiTemplateApply, response: Response
) -> KpiTemplateApplyResult:
    """Creates one assignment per template item and employee; pairs that already exist in
    the cycle are skipped, so applying twice creates nothing new. With `effective_from`
    (a move) the new assignments start that day and the employees' assignments from other
    templates that this one does not carry end the day before (`ended`)."""
    result = await templates.apply_template(ctx, template_id, body)
    if result.created:
        response.status_code = status.HTTP_201_CREATED
    return result


@router.post("/kpi-templates/apply", response_model=KpiTemplateResolvedApplyResult, tags=["kpi-templates"])
@governed_by(policy.manage_kpi_assignment)
async def apply_resolved_kpi_templates(
    ctx: RequestCtx, body: KpiTemplateApply, response: Response
) -> KpiTemplateResolvedApplyResult:
    """Gives each employee the KPIs of the templates that apply to them: their
    position's templates, or, when the position has none, its level's. Employees no
    template applies to are listed in `unmatched_employee_ids`. Idempotent like applying
    one template; `effective_from` makes it a move, as there."""
    result = await templates.apply_resolved(ctx, body)
    if result.created:
        response.status_code = status.HTTP_201_CREATED
    return result


# --- assignments -----------------------------------------------------------------------------


@router.get("/kpi-assignments", response_model=PageOut[KpiAssignmentRead], tags=["kpi-assignments"])
@governed_by(policy.list_kpi_assignments)
async def list_kpi_assignments(
    ctx: RequestCtx,
    pages: Pages,
    employee_id: uuid.UUID | None = None,
    cycle_id: uuid.UUID | None = None,
    definition_id: uuid.UUID | None = None,
    perspective: Annotated[
        Perspective | None, Query(description="the balanced-scorecard perspective of the KPI definition")
    ] = None,
    department_id: Annotated[uuid.UUID | None, Query(description="the assigned employee's department")] = None,
    manager_id: lists.ManagerFilter = None,
    subtree: Annotated[bool, lists.SUBTREE] = False,
    q: lists.SearchQuery = None,
    sort: Annotated[str | None, lists.sort_query(svc.ASSIGNMENT_SORT)] = None,
    include_child_cycles: Annotated[bool, lists.CHILD_CYCLES] = False,
) -> PageOut[KpiAssignmentRead]:
    """The assignments the caller may read. `q` searches the KPI definition's name and
    code; the sort keys `name`, `code` and `perspective` are the definition's,
    `family_name` and `given_name` the employee's."""
    page = await svc.list_assignments(
        ctx,
        pages,
        employee_id=employee_id,
        cycle_id=cycle_id,
        definition_id=definition_id,
        perspective=perspective,
        department_id=department_id,
        manager_id=manager_id,
        subtree=subtree,
        q=q,
        sort=sort,
        include_child_cycles=include_child_cycles,
    )
    views = await svc.load_views(ctx, page.items)
    return PageOut[KpiAssignmentRead](items=[svc.assignment_read(v) for v in views], next_cursor=page.next_cursor)


@router.post(
    "/kpi-assignments", response_model=KpiAssignmentRead, status_code=status.HTTP_201_CREATED, tags=["kpi-assignments"]
)
@governed_by(policy.manage_kpi_assignment)
async def create_kpi_assignment(ctx: RequestCtx, body: KpiAssignmentCreate, response: Response) -> KpiAssignmentRead:
    """Assigns a KPI to an employee for a cycle with its threshold, target, stretch and
    weight."""
    row = await svc.create_assignment(ctx, body)
    set_etag(response, row.version)
    response.headers["Location"] = f"/api/v1/kpi-assignments/{row.id}"
    return svc.assignment_read(await svc.load_view(ctx, row))


@router.get("/kpi-assignments/{assignment_id}", response_model=KpiAssignmentRead, tags=["kpi-assignments"])
@governed_by(policy.read_kpi_assignment)
async def get_kpi_assignment(ctx: RequestCtx, assignment_id: uuid.UUID, response: Response) -> KpiAssignmentRead:
    """One KPI assignment with its parameters, actual and points."""
    row, _ = await svc.get_assignment(ctx, assignment_id)
    set_etag(response, row.version)
    return svc.assignment_read(await svc.load_view(ctx, row))


@router.patch("/kpi-assignments/{assignment_id}", response_model=KpiAssignmentRead, tags=["kpi-assignments"])
@governed_by(policy.manage_kpi_assignment)
async def update_kpi_assignment(
    ctx: RequestCtx, assignment_id: uuid.UUID, body: KpiAssignmentUpdate, if_match: IfMatchHeader, response: Response
) -> KpiAssignmentRead:
    """Changes a KPI assignment's parameters or weight (under `If-Match`) while its
    cycle is open."""
    row = await svc.update_assignment(ctx, assignment_id, body, if_match)
    set_etag(response, row.version)
    return svc.assignment_read(await svc.load_view(ctx, row))


@router.delete("/kpi-assignments/{assignment_id}", status_code=status.HTTP_204_NO_CONTENT, tags=["kpi-assignments"])
@governed_by(policy.manage_kpi_assignment)
async def delete_kpi_assignment(ctx: RequestCtx, assignment_id: uuid.UUID, if_match: IfMatchHeader) -> Response:
    """Removes a KPI assignment and its measurements while its cycle is open."""
    await svc.delete_assignment(ctx, assignment_id, if_match)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- measurements ----------------------------------------------------------------------------


@router.get(
    "/kpi-assignments/{assignment_id}/measurements",
    response_model=PageOut[KpiMeasurementRead],
    tags=["kpi-measurements"],
)
@governed_by(policy.read_kpi_assignment)
async def list_kpi_measurements(
    ctx: RequestCtx,
    assignment_id: uuid.UUID,
    pages: Pages,
    measured_from: dt.date | None = None,
    measured_to: dt.date | None = None,
) -> PageOut[KpiMeasurementRead]:
    """The measurements of a KPI assignment, optionally between two dates."""
    page = await measurements.list_measurements(ctx, assignment_id, pages, measured_from, measured_to)
    return PageOut[KpiMeasurementRead](
        items=[KpiMeasurementRead.model_validate(m) for m in page.items], next_cursor=page.next_cursor
    )


@router.post(
    "/kpi-assignments/{assignment_id}/measurements",
    response_model=KpiMeasurementRead,
    status_code=status.HTTP_201_CREATED,
    tags=["kpi-measurements"],
    responses={200: {"description": "the source_key was known: updated or unchanged"}},
)
@governed_by(policy.record_kpi_measurement)
async def create_kpi_measurement(
    ctx: RequestCtx, assignment_id: uuid.UUID, body: KpiMeasurementCreate, response: Response
) -> KpiMeasurementRead:
    """Records a measurement of a KPI assignment (idempotent on `source_key`)."""
    m, outcome = await measurements.create_measurement(ctx, assignment_id, body)
    if outcome != "created":
        response.status_code = status.HTTP_200_OK
    set_etag(response, m.version)
    return KpiMeasurementRead.model_validate(m)


@router.put(
    "/kpi-assignments/{assignment_id}/measurements/{measured_at}",
    response_model=KpiMeasurementRead,
    tags=["kpi-measurements"],
    responses={201: {"description": "the day had no measurement"}},
)
@governed_by(policy.record_kpi_measurement)
async def put_kpi_measurement(
    ctx: RequestCtx,
    assignment_id: uuid.UUID,
    measured_at: dt.date,
    body: KpiMeasurementPut,
    if_match: IfMatchHeader,
    response: Response,
) -> KpiMeasurementRead:
    """Sets the value of that day: PUT twice leaves one measurement with the last value."""
    m, outcome = await measurements.put_measurement(ctx, assignment_id, measured_at, body, if_match)
    if outcome == "created":
        response.status_code = status.HTTP_201_CREATED
    set_etag(response, m.version)
    return KpiMeasurementRead.model_validate(m)


@router.delete(
    "/kpi-assignments/{assignment_id}/measurements/{measured_at}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["kpi-measurements"],
)
@governed_by(policy.record_kpi_measurement)
async def delete_kpi_measurements(
    ctx: RequestCtx, assignment_id: uuid.UUID, measured_at: dt.date, if_match: IfMatchHeader
) -> Response:
    """Removes that day's measurements; 204 also when there was none."""
    await measurements.delete_measurements_on(ctx, assignment_id, measured_at, if_match)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/kpi-measurements/bulk", response_model=BulkMeasurementResponse, tags=["kpi-measurements"])
@governed_by(policy.bulk_ingest_kpi_measurements)
async def ingest_kpi_measurements_bulk(
    ctx: RequestCtx, body: BulkMeasurementRequest, atomic: bool = False
) -> BulkMeasurementResponse:
    """Many measurements, each addressed by `assignment_id` or by (`employee_external_id`,
    `kpi_code`, `cycle_id`); idempotent on `source_key`. With `?atomic=true` nothing is
    applied when any row is invalid (422 with the per-row errors)."""
    results = await bulk.bulk_ingest(ctx, body.rows, atomic)
    counts = {k: sum(1 for r in results if r.outcome == k) for k in ("created", "updated", "unchanged", "error")}
    return BulkMeasurementResponse(
        results=results,
        created=counts["created"],
        updated=counts["updated"],
        unchanged=counts["unchanged"],
        errors=counts["error"],
    )
