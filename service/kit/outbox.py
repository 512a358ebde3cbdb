"""The transactional outbox: a domain event is a row written in the same transaction as
the change, so an event exists exactly when its change committed."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from service.kit.models import OutboxEvent
from service.types import new_id, utcnow

EVENT_TYPES = frozenset(
    {
        "objective.published",
        "objective.closed",
        "checkin.created",
        "kpi.measurement.created",
        "score.updated",
        "score.amended",
        "evaluation.finalized",
        "evaluation.acknowledged",
        "calibration.finalized",
        "incentive.finalized",
        "employee.upserted",
    }
)


async def emit(session: AsyncSession, org_id: uuid.UUID, event_type: str, payload: dict[str, Any]) -> uuid.UUID:
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type}")
    event_id = new_id()
    await session.execute(
        insert(OutboxEvent).values(
            org_id=org_id, id=event_id, event_type=event_type, payload=payload, created_at=utcnow()
        )
    )
    return event_id
