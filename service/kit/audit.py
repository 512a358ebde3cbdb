"""The append-only audit log: every mutation records actor, action, entity, before/after."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from asgi_correlation_id import correlation_id
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from service.kit.models import AuditEvent
from service.principal import Principal
from service.types import new_id, utcnow


def _row(
    principal: Principal,
    action: str,
    entity_type: str,
    entity_id: Any,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    reason: str | None,
) -> dict[str, Any]:
    return {
        "org_id": principal.org_id,
        "id": new_id(),
        "actor": principal.actor,
        "actor_kind": principal.kind,
        "action": action,
        "entity_type": entity_type,
        "entity_id": str(entity_id),
        "before": before,
        "after": after,
        "reason": reason,
        "request_id": correlation_id.get(),
        "at": utcnow(),
    }


async def record(
    session: AsyncSession,
    principal: Principal,
    action: str,
    entity_type: str,
    entity_id: Any,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str | None = None,
) -> None:
    await session.execute(
        insert(AuditEvent).values(_row(principal, action, entity_type, entity_id, before, after, reason))
    )


async def record_many(
    session: AsyncSession,
    principal: Principal,
    action: str,
    entity_type: str,
    changes: Iterable[tuple[Any, dict[str, Any] | None, dict[str, Any] | None]],
) -> None:
    """One set-based INSERT for a bulk operation's per-row audit entries."""
    rows = [_row(principal, action, entity_type, eid, b, a, None) for eid, b, a in changes]
    if rows:
        await session.execute(insert(AuditEvent), rows)
