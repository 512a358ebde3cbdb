"""Freshness of stored scores per cycle (`ScoreFreshness`): the inputs' version and the
version the stored rows are complete for. (The write-side hooks that keep them fresh
are added here next.)"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from service.scoring.models import ScoreFreshness
from service.types import utcnow

_F = ScoreFreshness.__table__.c


async def state(session: AsyncSession, org_id: uuid.UUID, cycle_id: uuid.UUID) -> tuple[int, int] | None:
    """(version, complete_version) of the cycle, or None when it never had stored scores."""
    row = (
        await session.execute(
            select(_F.version, _F.complete_version).where(_F.org_id == org_id, _F.cycle_id == cycle_id)
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def begin(session: AsyncSession, org_id: uuid.UUID, cycle_id: uuid.UUID) -> int:
    """The version a recompute of the cycle computes (making the cycle's row if it has none)."""
    found = await state(session, org_id, cycle_id)
    if found is not None:
        return found[0]
    session.add(ScoreFreshness(org_id=org_id, cycle_id=cycle_id, version=1, complete_version=0, updated_at=utcnow()))
    await session.flush()
    return 1


async def complete(session: AsyncSession, org_id: uuid.UUID, cycle_id: uuid.UUID, version: int) -> bool:
    """Every employee of the cycle is stored at `version`: reads may use the rows, unless
    the inputs moved on since (then a newer job completes them)."""
    result = await session.execute(
        update(ScoreFreshness)
        .where(_F.org_id == org_id, _F.cycle_id == cycle_id, _F.version == version)
        .values(complete_version=version, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


async def bump(session: AsyncSession, org_id: uuid.UUID, cycle_ids: Sequence[uuid.UUID]) -> None:
    """The inputs of many employees of these cycles changed: their stored rows are no
    longer complete until a recompute of the new version finishes."""
    if cycle_ids:
        await session.execute(
            update(ScoreFreshness)
            .where(_F.org_id == org_id, _F.cycle_id.in_(list(cycle_ids)))
            .values(version=_F.version + 1, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
