"""REST routes of a data subject's rights: thin, they call the service."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from starlette.responses import StreamingResponse

from service.auth.deps import RequestCtx
from service.authz import policy
from service.authz.access import governed_by
from service.privacy import service as svc
from service.privacy.schemas import EraseRequest, ErasureRead, SubjectExport

router = APIRouter(prefix="/api/v1")


@router.get("/employees/{employee_id}/export", response_model=SubjectExport, tags=["privacy"])
@governed_by(policy.export_subject_data)
async def export_employee(ctx: RequestCtx, employee_id: uuid.UUID) -> StreamingResponse:
    """Everything held about one person, for an access request (hr and admin): one JSON
    document, streamed section by section from one snapshot. Peer feedback they received
    names no reviewer. Each export is recorded in the audit log (`employee.exported`)."""
    export = await svc.export_employee(ctx, employee_id)
    return StreamingResponse(
        export.body,
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{export.filename}"', "Cache-Control": "no-store"},
    )


@router.post("/employees/{employee_id}/erase", response_model=ErasureRead, tags=["privacy"])
@governed_by(policy.erase_subject_data)
async def erase_employee(ctx: RequestCtx, employee_id: uuid.UUID, body: EraseRequest) -> ErasureRead:
    """Pseudonymizes a person everywhere (admin), once the organization's retention after
    their termination is over (`settings.retention_days_after_termination`); before that,
    409 with `possible_from`. Numbers that payroll, scores of record and other people's
    records depend on are kept (docs/data-protection.md). Asking again answers the same
    and changes nothing."""
    done = await svc.erase_employee(ctx, employee_id, body.reason)
    return ErasureRead(employee_id=done.employee_id, erased_at=done.erased_at)
