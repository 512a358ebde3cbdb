"""Every query of the KPI module, each scoped to one organization. Lists start from a
statement already restricted to what the caller may read."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any, cast

from sqlalchemy import CursorResult, Select, delete, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.cycles.models import Cycle
from service.kit import hierarchy
from service.kit.chunks import chunks  # noqa: F401  (repo.chunks, for the module's callers)
from service.kpi.models import (
    KpiAssignment,
    KpiDefinition,
    KpiMeasurement,
    KpiTemplate,
    KpiTemplateItem,
)
from service.org.models import Employee

CHUNK = 5000


# --- definitions and templates ---------------------------------------------------------


def definitions(org_id: uuid.UUID) -> Select[Any]:
    return select(KpiDefinition).where(KpiDefinition.org_id == org_id)


async def get_definition(session: AsyncSession, org_id: uuid.UUID, def_id: uuid.UUID) -> KpiDefinition | None:
    return await session.get(KpiDefinition, (org_id, def_id))


async def definition_by_code(session: AsyncSession, org_id: uuid.UUID, code: str) -> KpiDefinition | None:
    res = await session.execute(definitions(org_id).where(KpiDefinition.code == code))
    return res.scalar_one_or_none()


async def definitions_by_id(
    session: AsyncSession, org_id: uuid.UUID, ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, KpiDefinition]:
    wanted = list({i for i in ids if i is not None})
    found: dict[uuid.UUID, KpiDefinition] = {}
    for chunk in chunks(wanted):
        res = await session.execute(definitions(org_id).where(KpiDefinition.id.in_(chunk)))
        found.update({d.id: d for d in res.scalars()})
    return found


async def definition_in_use(
    session: AsyncSession, org_id: uuid.UUID, def_id: uuid.UUID, closed_only: bool = False
) -> bool:
    stmt = select(KpiAssignment.id).where(KpiAssignment.org_id == org_id, KpiAssignment.definition_id == def_id)
    if closed_only:
        stmt = stmt.join(Cycle, (Cycle.org_id == KpiAssignment.org_id) & (Cycle.id == KpiAssignment.cycle_id)).where(
            Cycle.status == "closed"
        )
    elif (
        await session.execute(
            select(KpiTemplateItem.id)
            .where(KpiTemplateItem.org_id == org_id, KpiTemplateItem.definition_id == def_id)
            .limit(1)
        )
    ).first():
        return True
    return (await session.execute(stmt.limit(1))).first() is not None


def templates(org_id: uuid.UUID) -> Select[Any]:
    return select(KpiTemplate).where(KpiTemplate.org_id == org_id)


async def get_template(session: AsyncSession, org_id: uuid.UUID, tpl_id: uuid.UUID) -> KpiTemplate | None:
    return await session.get(KpiTemplate, (org_id, tpl_id))


async def template_items(
    session: AsyncSession, org_id: uuid.UUID, tpl_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[KpiTemplateItem]]:
    out: dict[uuid.UUID, list[KpiTemplateItem]] = {t: [] for t in tpl_ids}
    if not tpl_ids:
        return out
    res = await session.execute(
        select(KpiTemplateItem)
        .where(KpiTemplateItem.org_id == org_id, KpiTemplateItem.template_id.in_(list(tpl_ids)))
        .order_by(KpiTemplateItem.template_id, KpiTemplateItem.ordinal)
    )
    for item in res.scalars():
        out.setdefault(item.template_id, []).append(item)
    return out


async def delete_template_items(session: AsyncSession, org_id: uuid.UUID, tpl_id: uuid.UUID) -> None:
    await session.execute(
        delete(KpiTemplateItem).where(KpiTemplateItem.org_id == org_id, KpiTemplateItem.template_id == tpl_id)
    )


# --- assignments -------------------------------------------------------------------------


def assignments(org_id: uuid.UUID) -> Select[Any]:
    return select(KpiAssignment).where(KpiAssignment.org_id == org_id)


def visible_assignments(org_id: uuid.UUID, everything: bool, employee_id: uuid.UUID | None) -> Select[Any]:
    """Assignments the caller may read: all of the organization, or their own and those of
    their direct and indirect reports (one recursive subquery, however large the subtree)."""
    stmt = assignments(org_id)
    if everything:
        return stmt
    if employee_id is None:
        return stmt.where(literal(False))
    reports = hierarchy.reports_of(org_id, employee_id, "kpi_reports")
    return stmt.where(or_(KpiAssignment.employee_id == employee_id, KpiAssignment.employee_id.in_(reports)))


async def get_assignment(session: AsyncSession, org_id: uuid.UUID, asg_id: uuid.UUID) -> KpiAssignment | None:
    return await session.get(KpiAssignment, (org_id, asg_id))


async def find_assignment(
    session: AsyncSession, org_id: uuid.UUID, employee_id: uuid.UUID, cycle_id: uuid.UUID, definition_id: uuid.UUID
) -> KpiAssignment | None:
    res = await session.execute(
        assignments(org_id).where(
            KpiAssignment.employee_id == employee_id,
            KpiAssignment.cycle_id == cycle_id,
            KpiAssignment.definition_id == definition_id,
        )
    )
    return res.scalar_one_or_none()


async def existing_pairs(
    session: AsyncSession,
    org_id: uuid.UUID,
    cycle_id: uuid.UUID,
    employee_ids: Sequence[uuid.UUID],
    definition_ids: Sequence[uuid.UUID],
) -> dict[tuple[uuid.UUID, uuid.UUID], uuid.UUID]:
    """(employee, definition) → assignment id, for the given employees in one cycle."""
    found: dict[tuple[uuid.UUID, uuid.UUID], uuid.UUID] = {}
    if not definition_ids:
        return found
    for chunk in chunks(list(employee_ids)):
        res = await session.execute(
            select(KpiAssignment.employee_id, KpiAssignment.definition_id, KpiAssignment.id).where(
                KpiAssignment.org_id == org_id,
                KpiAssignment.cycle_id == cycle_id,
                KpiAssignment.employee_id.in_(chunk),
                KpiAssignment.definition_id.in_(list(definition_ids)),
            )
        )
        found.update({(e, d): i for e, d, i in res})
    return found


async def existing_employee_ids(session: AsyncSession, org_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    found: set[uuid.UUID] = set()
    for chunk in chunks(list(set(ids))):
        res = await session.execute(select(Employee.id).where(Employee.org_id == org_id, Employee.id.in_(chunk)))
        found.update(r[0] for r in res)
    return found


async def cycles_by_id(session: AsyncSession, org_id: uuid.UUID, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Cycle]:
    wanted = list({i for i in ids if i is not None})
    found: dict[uuid.UUID, Cycle] = {}
    for chunk in chunks(wanted):
        res = await session.execute(select(Cycle).where(Cycle.org_id == org_id, Cycle.id.in_(chunk)))
        found.update({c.id: c for c in res.scalars()})
    return found


# --- measurements --------------------------------------------------------------------------


def measurements(org_id: uuid.UUID, assignment_id: uuid.UUID) -> Select[Any]:
    return select(KpiMeasurement).where(KpiMeasurement.org_id == org_id, KpiMeasurement.assignment_id == assignment_id)


async def measurements_of(
    session: AsyncSession, org_id: uuid.UUID, assignment_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[KpiMeasurement]]:
    """Every measurement of the given assignments, grouped, in (measured_at, created_at) order."""
    out: dict[uuid.UUID, list[KpiMeasurement]] = {a: [] for a in assignment_ids}
    for chunk in chunks(list(dict.fromkeys(assignment_ids))):
        res = await session.execute(
            select(KpiMeasurement)
            .where(KpiMeasurement.org_id == org_id, KpiMeasurement.assignment_id.in_(chunk))
            .order_by(KpiMeasurement.measured_at, KpiMeasurement.created_at, KpiMeasurement.id)
        )
        for m in res.scalars():
            out.setdefault(m.assignment_id, []).append(m)
    return out


async def measurements_on(
    session: AsyncSession, org_id: uuid.UUID, assignment_id: uuid.UUID, day: Any
) -> list[KpiMeasurement]:
    res = await session.execute(
        measurements(org_id, assignment_id)
        .where(KpiMeasurement.measured_at == day)
        .order_by(KpiMeasurement.created_at, KpiMeasurement.id)
    )
    return list(res.scalars())


async def measurement_by_source_key(
    session: AsyncSession, org_id: uuid.UUID, assignment_id: uuid.UUID, source_key: str
) -> KpiMeasurement | None:
    res = await session.execute(measurements(org_id, assignment_id).where(KpiMeasurement.source_key == source_key))
    return res.scalar_one_or_none()


async def delete_measurements(session: AsyncSession, org_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> None:
    for chunk in chunks(list(ids)):
        await session.execute(
            delete(KpiMeasurement).where(KpiMeasurement.org_id == org_id, KpiMeasurement.id.in_(chunk))
        )


async def delete_measurements_of(session: AsyncSession, org_id: uuid.UUID, assignment_id: uuid.UUID) -> int:
    # a DELETE's result is a CursorResult (with a rowcount), which the stubs of `execute` do not say
    res = cast(
        CursorResult[Any],
        await session.execute(
            delete(KpiMeasurement).where(KpiMeasurement.org_id == org_id, KpiMeasurement.assignment_id == assignment_id)
        ),
    )
    return res.rowcount or 0
