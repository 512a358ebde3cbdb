"""Tables of the shared kit: audit log, outbox, idempotency keys."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, ForeignKeyConstraint, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, TenantMixin
from service.types import UtcDateTime, utcnow


class AuditEvent(TenantMixin, Base):
    """Append-only: a database trigger refuses DELETE and every UPDATE but a redaction (one
    that sets `redacted_at` and leaves who, what, which entity and when as they were: the
    erasure of a person's data, docs/data-protection.md)."""

    __tablename__ = "audit_events"

    actor: Mapped[str] = mapped_column(String(200))
    actor_kind: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(60))
    entity_type: Mapped[str] = mapped_column(String(60))
    entity_id: Mapped[str] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    request_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    redacted_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)

    __table_args__ = (
        ForeignKeyConstraint(["org_id"], ["organizations.id"]),
        Index("ix_audit_events_org_entity", "org_id", "entity_type", "entity_id"),
        Index("ix_audit_events_org_at", "org_id", "at"),
    )


class OutboxEvent(TenantMixin, Base):
    """A domain event written in the same transaction as the change that caused it."""

    __tablename__ = "outbox_events"

    event_type: Mapped[str] = mapped_column(String(60))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    published_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # the W3C `traceparent` of the request or job that wrote the event, while tracing is on
    traceparent: Mapped[str | None] = mapped_column(String(55), nullable=True)

    __table_args__ = (
        ForeignKeyConstraint(["org_id"], ["organizations.id"]),
        # the oldest unpublished event of all (`outbox_lag_seconds`)
        Index("ix_outbox_events_unpublished", "published_at", "created_at"),
        # one organization's unpublished events, oldest first: the relay's claim, which is
        # made per organization so that on Citus it routes to one shard
        Index("ix_outbox_events_org_unpublished", "org_id", "published_at", "created_at"),
    )


class IdempotencyRecord(Base):
    """The first response to a POST with an `Idempotency-Key`, replayed for repeats."""

    __tablename__ = "idempotency_keys"

    org_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    principal: Mapped[str] = mapped_column(String(200), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    response_headers: Mapped[dict[str, str] | None] = mapped_column(JSON, nullable=True)
    response_body: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
