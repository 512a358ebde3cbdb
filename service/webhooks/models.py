"""Tables of webhooks: subscriptions, one delivery per (subscription, outbox event), and
the log of every attempt made for a delivery.

A delivery row is the unit of work of the delivery engine (service/webhooks/delivery.py):
its id is the `webhook-id` sent on every attempt, its body is frozen at fan-out so every
retry sends the same bytes, and `claimed_until`/`claim_token` are the lease a worker holds
while it delivers (an expired lease makes the row due again: at-least-once).
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, TenantMixin, Versioned
from service.org.models import Timestamps
from service.types import UtcDateTime, utcnow

DELIVERY_STATUSES = ("pending", "failed", "succeeded", "dead")
# pending: not tried yet (or redelivery asked); failed: the last attempt failed and a retry
# is scheduled at next_attempt_at; succeeded: a 2xx was received; dead: no more attempts.
DUE_STATUSES = ("pending", "failed")


class WebhookSubscription(TenantMixin, Timestamps, Versioned, Base):
    """An endpoint and the event types it receives.

    The signing secret is kept server-side because HMAC needs the secret itself (a hash
    would not do); it is returned only in the answers to creation and rotation, never
    logged, and encrypted at rest when `WEBHOOK_SECRET_KEY` is set.
    """

    __tablename__ = "webhook_subscriptions"

    url: Mapped[str] = mapped_column(String(2048))
    events: Mapped[list[str]] = mapped_column(JSON)
    description: Mapped[str | None] = mapped_column(String(500), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    secret: Mapped[str] = mapped_column(String(500))
    previous_secret: Mapped[str | None] = mapped_column(String(500), nullable=True)
    previous_secret_expires_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    secret_rotated_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    disabled_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # Health, kept by the delivery engine: dead deliveries in a row, and since when every
    # attempt has failed (both reset by a success); either past its limit disables.
    consecutive_dead: Mapped[int] = mapped_column(Integer, default=0)
    failing_since: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_by: Mapped[str] = mapped_column(String(200))

    __table_args__ = (ForeignKeyConstraint(["org_id"], ["organizations.id"]),)


class WebhookDelivery(TenantMixin, Base):
    """One event for one subscription, with its retry state and latest outcome.

    It copies the event's body instead of referencing the outbox row, so outbox rows can
    be pruned without touching the delivery log.
    """

    __tablename__ = "webhook_deliveries"

    subscription_id: Mapped[uuid.UUID] = mapped_column()
    event_id: Mapped[uuid.UUID] = mapped_column()
    event_type: Mapped[str] = mapped_column(String(60))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Position in the retry schedule; a manual redelivery starts the schedule again.
    schedule_step: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    claimed_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    claim_token: Mapped[str | None] = mapped_column(String(64), nullable=True)
    last_attempt_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    last_response_excerpt: Mapped[str | None] = mapped_column(Text, nullable=True)
    succeeded_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    # the event's `traceparent`: the delivery span is a child of the span that wrote it
    traceparent: Mapped[str | None] = mapped_column(String(55), nullable=True)

    __table_args__ = (
        ForeignKeyConstraint(["org_id"], ["organizations.id"]),
        ForeignKeyConstraint(
            ["org_id", "subscription_id"],
            ["webhook_subscriptions.org_id", "webhook_subscriptions.id"],
            ondelete="CASCADE",
            name="fk_webhook_deliveries_subscription",
        ),
        UniqueConstraint("org_id", "subscription_id", "event_id"),
        # which organizations have due deliveries (across organizations, no row locks)
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        # one organization's due deliveries, soonest first: the claim (one shard on Citus)
        Index("ix_webhook_deliveries_org_due", "org_id", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_org_subscription", "org_id", "subscription_id", "id"),
    )

    @property
    def webhook_id(self) -> str:
        """The `webhook-id` header: fixed for the delivery, so receivers can deduplicate."""
        return f"msg_{self.id.hex}"


class WebhookDeliveryAttempt(TenantMixin, Base):
    """The log of one HTTP attempt: the answer's status and at most a short excerpt."""

    __tablename__ = "webhook_delivery_attempts"

    delivery_id: Mapped[uuid.UUID] = mapped_column()
    subscription_id: Mapped[uuid.UUID] = mapped_column()
    attempt: Mapped[int] = mapped_column(Integer)
    attempted_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    response_excerpt: Mapped[str | None] = mapped_column(Text, nullable=True)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        ForeignKeyConstraint(["org_id"], ["organizations.id"]),
        ForeignKeyConstraint(
            ["org_id", "delivery_id"],
            ["webhook_deliveries.org_id", "webhook_deliveries.id"],
            ondelete="CASCADE",
            name="fk_webhook_delivery_attempts_delivery",
        ),
        Index("ix_webhook_delivery_attempts_org_delivery", "org_id", "delivery_id", "id"),
    )
