"""Use cases of a data subject's rights: the export (an access request), the erasure and
the retention job that erases everyone past the organization's retention. Services flush,
never commit; REST calls them, the job commits one person at a time."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import uuid
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import Select, select

from service.auth.context import Ctx
from service.authz import policy
from service.authz.enforce import require
from service.db import database
from service.kit import audit
from service.org import service as org_svc
from service.org.models import Employee, Organization
from service.principal import Principal
from service.privacy import erase as erasure
from service.privacy.export import document
from service.types import utcnow

log = structlog.get_logger("service.privacy")
RETENTION_ACTOR = "system:retention"
RETENTION_REASON = "retention period after termination is over"


@dataclass(frozen=True)
class Export:
    filename: str
    body: AsyncIterator[bytes]


async def export_employee(ctx: Ctx, emp_id: uuid.UUID) -> Export:
    """The person's document, read while it is sent. The caller's rights are checked and
    the export is audited (`employee.exported`) before a byte is written, so a refusal is
    still a problem+json answer. A GET's own session is read-only (service/db.py), so the
    audit entry is committed in a session of its own: an export that was started is on
    record even if the download breaks off."""
    emp = await org_svc.get_employee(ctx, emp_id)
    require(policy.export_subject_data(ctx.principal), "employee")
    now = utcnow()
    async with database.sessions() as session:
        await audit.record(session, ctx.principal, "employee.exported", "employee", emp.id)
        await session.commit()
    return Export(f"employee-{emp.id}.json", document(ctx.org_id, emp.id, now))


async def erase_employee(ctx: Ctx, emp_id: uuid.UUID, reason: str) -> erasure.Erasure:
    emp = await org_svc.get_employee(ctx, emp_id)
    require(policy.erase_subject_data(ctx.principal), "employee")
    return await erasure.erase(ctx, emp, reason)


# --- the retention job ---------------------------------------------------------------------------


def _due(org: Organization, today: dt.date) -> Select[Any]:
    """The statement of the organization's employees past retention and not erased yet."""
    cutoff = today - dt.timedelta(days=erasure.retention_days(org))
    return (
        select(Employee.id)
        .where(
            Employee.org_id == org.id,
            Employee.status == "terminated",
            Employee.termination_date.is_not(None),
            Employee.termination_date <= cutoff,
            Employee.erased_at.is_(None),
        )
        .order_by(Employee.id)
    )


async def _erase_one(principal: Principal, emp_id: uuid.UUID, today: dt.date) -> bool:
    """Erases one person in a transaction of its own; False when someone else just did."""
    async with database.sessions() as session:
        emp = await session.get(Employee, (principal.org_id, emp_id))
        if emp is None or emp.erased_at is not None:
            return False
        await erasure.erase(Ctx(session=session, principal=principal), emp, RETENTION_REASON, today=today)
        await session.commit()
    return True


async def apply_retention(today: dt.date | None = None, org_ids: Collection[uuid.UUID] | None = None) -> dict[str, int]:
    """Erases, in every organization (or those of `org_ids`), each employee whose retention is over: one set-based
    selection per organization, then one transaction per person (a failure is logged,
    leaves the others erased and is tried again next round). Idempotent: erased people are not selected
    again. Answers how many were erased per organization (those with none are left out)."""
    today = today or utcnow().date()
    out: dict[str, int] = {}
    async with database.sessions() as session:
        which = select(Organization).order_by(Organization.id)
        if org_ids is not None:
            which = which.where(Organization.id.in_(list(org_ids)))
        orgs = list((await session.execute(which)).scalars())
        due = {org.id: list((await session.execute(_due(org, today))).scalars()) for org in orgs}
    for org_id, emp_ids in due.items():
        principal = Principal(sub=RETENTION_ACTOR, org_id=org_id, kind="person", roles=frozenset({"admin"}))
        for emp_id in emp_ids:
            try:
                erased = await _erase_one(principal, emp_id, today)
            except Exception:  # one person's failure must not keep the others' data
                log.exception("retention_erasure_failed", org_id=str(org_id), employee_id=str(emp_id))
                continue
            if erased:
                out[str(org_id)] = out.get(str(org_id), 0) + 1
    if out:
        log.info("retention_applied", erased=sum(out.values()), organizations=len(out))
    return out


async def retention_rounds(stop: asyncio.Event, interval: float, org_ids: Collection[uuid.UUID] | None = None) -> None:
    """`apply_retention` every `interval` seconds until `stop` is set (the worker; every
    organization unless `org_ids` names some). A failed round is logged and retried at the
    next; erasures already committed stay."""
    while not stop.is_set():
        try:
            await apply_retention(org_ids=org_ids)
        except Exception:  # the worker must keep delivering webhooks
            log.exception("retention_round_failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
