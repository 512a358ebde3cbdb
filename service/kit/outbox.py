"""The transactional outbox: a domain event is a row written in the same transaction as
the change, so an event exists exactly when its change committed. Its payload is the
event type's model (service/kit/events.py), stored as that model dumps it. While tracing is
on, it keeps the writer's `traceparent`, so its webhook deliveries join the writer's trace."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from service.kit import events
from service.kit.events import EVENT_TYPES, EventPayload
from service.kit.models import OutboxEvent
from service.observability import current_traceparent
from service.types import new_id, utcnow

__all__ = ["EVENT_TYPES", "emit", "emit_many"]

CHUNK = 2000


async def emit(session: AsyncSession, org_id: uuid.UUID, event_type: str, payload: EventPayload) -> uuid.UUID:
    """Write `event_type` with `payload`, which must be an instance of that type's model:
    an unknown type, a type without a model or a payload of another model raises, so no
    event reaches a receiver in a shape its schema does not document."""
    data = events.dump(event_type, payload)
    event_id = new_id()
    await session.execute(
        insert(OutboxEvent).values(
            org_id=org_id,
            id=event_id,
            event_type=event_type,
            payload=data,
            created_at=utcnow(),
            traceparent=current_traceparent(),
        )
    )
    return event_id


async def emit_many(
    session: AsyncSession, org_id: uuid.UUID, event_type: str, payloads: Sequence[EventPayload]
) -> list[uuid.UUID]:
    """`emit` for many events of one type at once: one multi-row insert per 2,000 events,
    each payload checked against the type's model as `emit` checks it."""
    now = utcnow()
    traceparent = current_traceparent()
    ids = [new_id() for _ in payloads]
    rows: list[dict[str, Any]] = [
        {
            "org_id": org_id,
            "id": event_id,
            "event_type": event_type,
            "payload": events.dump(event_type, p),
            "created_at": now,
            "traceparent": traceparent,
        }
        for event_id, p in zip(ids, payloads, strict=True)
    ]
    for start in range(0, len(rows), CHUNK):
        await session.execute(insert(OutboxEvent), rows[start : start + CHUNK])
    return ids
