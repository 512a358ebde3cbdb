"""Measurements of one assignment: list, record (idempotent on `source_key`), and the
date-keyed upsert and delete that BI tools and data pipelines use.

A change emits one `kpi.measurement.created` event and one audit entry; a request that
changes nothing (the same value re-sent) writes neither.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from service.auth.context import Ctx
from service.authz import policy
from service.authz.enforce import require
from service.kit import audit, outbox
from service.kit.etag import IfMatch, check_version
from service.kit.pagination import Page, PageParams, paginate
from service.kpi import repository as repo
from service.kpi.events import KpiMeasurementCreated
from service.kpi.models import KpiAssignment, KpiMeasurement
from service.kpi.schemas import KpiMeasurementCreate, KpiMeasurementPut, KpiMeasurementRead
from service.kpi.service import ensure_open, get_assignment
from service.types import new_id

EVENT = "kpi.measurement.created"


def measurement_snapshot(m: KpiMeasurement) -> dict[str, Any]:
    return KpiMeasurementRead.model_validate(m).model_dump(mode="json", exclude={"created_at", "updated_at"})


async def list_measurements(
    ctx: Ctx,
    asg_id: uuid.UUID,
    params: PageParams,
    measured_from: dt.date | None = None,
    measured_to: dt.date | None = None,
) -> Page[KpiMeasurement]:
    row, _ = await get_assignment(ctx, asg_id)
    stmt = repo.measurements(ctx.org_id, row.id)
    if measured_from is not None:
        stmt = stmt.where(KpiMeasurement.measured_at >= measured_from)
    if measured_to is not None:
        stmt = stmt.where(KpiMeasurement.measured_at <= measured_to)
    return await paginate(ctx.session, stmt, KpiMeasurement.id, params)


async def recordable(ctx: Ctx, asg_id: uuid.UUID) -> KpiAssignment:
    """The assignment a measurement goes to: 404 unless visible, 403 unless the caller may
    report actuals for its subject, 409 `cycle_locked` when its cycle is closed or the
    employee's result there is official."""
    row, rel = await get_assignment(ctx, asg_id)
    require(policy.record_kpi_measurement(ctx.principal, rel), "KPI assignment")
    await ensure_open(ctx, row)
    return row


async def _announce(ctx: Ctx, m: KpiMeasurement, outcome: str) -> None:
    await outbox.emit(
        ctx.session,
        ctx.org_id,
        EVENT,
        KpiMeasurementCreated(
            count=1,
            created=int(outcome == "created"),
            updated=int(outcome == "updated"),
            assignment_ids=[m.assignment_id],
            measurement_ids=[m.id],
        ),
    )


async def create_measurement(ctx: Ctx, asg_id: uuid.UUID, data: KpiMeasurementCreate) -> tuple[KpiMeasurement, str]:
    """Records a measurement; with a `source_key` already known on the assignment it
    updates that measurement instead (or leaves it alone when nothing differs).
    Returns the measurement and the outcome: created, updated or unchanged."""
    row = await recordable(ctx, asg_id)
    if data.source_key is not None:
        existing = await repo.measurement_by_source_key(ctx.session, ctx.org_id, row.id, data.source_key)
        if existing is not None:
            changes = {"value": data.value, "measured_at": data.measured_at}
            if data.source is not None:
                changes["source"] = data.source
            return existing, await _update(ctx, existing, changes)
    m = KpiMeasurement(
        org_id=ctx.org_id,
        id=new_id(),
        assignment_id=row.id,
        value=data.value,
        measured_at=data.measured_at,
        source=data.source,
        source_key=data.source_key,
        recorded_by=ctx.principal.actor,
    )
    ctx.session.add(m)
    await ctx.session.flush()
    await audit.record(
        ctx.session, ctx.principal, "kpi_measurement.created", "kpi_measurement", m.id, None, measurement_snapshot(m)
    )
    await _announce(ctx, m, "created")
    return m, "created"


async def _update(ctx: Ctx, m: KpiMeasurement, changes: dict[str, Any]) -> str:
    if all(getattr(m, k) == v for k, v in changes.items()):
        return "unchanged"
    before = measurement_snapshot(m)
    for key, value in changes.items():
        setattr(m, key, value)
    m.recorded_by = ctx.principal.actor
    await ctx.session.flush()
    await audit.record(
        ctx.session, ctx.principal, "kpi_measurement.updated", "kpi_measurement", m.id, before, measurement_snapshot(m)
    )
    await _announce(ctx, m, "updated")
    return "updated"


async def put_measurement(
    ctx: Ctx, asg_id: uuid.UUID, day: dt.date, data: KpiMeasurementPut, expected: IfMatch | None = None
) -> tuple[KpiMeasurement, str]:
    """Makes `value` the one measurement of that day: creates it, or updates the day's
    first measurement and removes any others, so PUT twice leaves one row. If-Match is
    checked against the day's first measurement."""
    row = await recordable(ctx, asg_id)
    rows = await repo.measurements_on(ctx.session, ctx.org_id, row.id, day)
    if not rows:
        m = KpiMeasurement(
            org_id=ctx.org_id,
            id=new_id(),
            assignment_id=row.id,
            value=data.value,
            measured_at=day,
            source=data.source,
            recorded_by=ctx.principal.actor,
        )
        ctx.session.add(m)
        await ctx.session.flush()
        await audit.record(
            ctx.session,
            ctx.principal,
            "kpi_measurement.created",
            "kpi_measurement",
            m.id,
            None,
            measurement_snapshot(m),
        )
        await _announce(ctx, m, "created")
        return m, "created"
    keep, extra = rows[0], rows[1:]
    check_version(expected, keep.version)
    if extra:
        await repo.delete_measurements(ctx.session, ctx.org_id, [m.id for m in extra])
        await audit.record_many(
            ctx.session,
            ctx.principal,
            "kpi_measurement.deleted",
            "kpi_measurement",
            [(m.id, measurement_snapshot(m), None) for m in extra],
        )
    changes: dict[str, Any] = {"value": data.value}
    if data.source is not None:
        changes["source"] = data.source
    outcome = await _update(ctx, keep, changes)
    return keep, "updated" if extra and outcome == "unchanged" else outcome


async def delete_measurements_on(ctx: Ctx, asg_id: uuid.UUID, day: dt.date, expected: IfMatch | None = None) -> int:
    """Removes every measurement of that day; deleting nothing is not an error."""
    row = await recordable(ctx, asg_id)
    rows = await repo.measurements_on(ctx.session, ctx.org_id, row.id, day)
    if not rows:
        return 0
    check_version(expected, rows[0].version)
    snapshots = [(m.id, measurement_snapshot(m), None) for m in rows]
    await repo.delete_measurements(ctx.session, ctx.org_id, [m.id for m in rows])
    await audit.record_many(ctx.session, ctx.principal, "kpi_measurement.deleted", "kpi_measurement", snapshots)
    return len(rows)
