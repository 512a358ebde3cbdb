"""Queries of the webhooks API, each scoped to one organization. (The delivery engine's
queries, which span organizations, live with it in delivery.py.)"""

from __future__ import annotations

import uuid

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.webhooks.models import WebhookDelivery, WebhookDeliveryAttempt, WebhookSubscription


def subscriptions(org_id: uuid.UUID) -> Select[WebhookSubscription]:
    return select(WebhookSubscription).where(WebhookSubscription.org_id == org_id)


async def get_subscription(session: AsyncSession, org_id: uuid.UUID, sub_id: uuid.UUID) -> WebhookSubscription | None:
    return await session.get(WebhookSubscription, (org_id, sub_id))


def deliveries(org_id: uuid.UUID, sub_id: uuid.UUID) -> Select[WebhookDelivery]:
    return select(WebhookDelivery).where(WebhookDelivery.org_id == org_id, WebhookDelivery.subscription_id == sub_id)


async def get_delivery(
    session: AsyncSession, org_id: uuid.UUID, sub_id: uuid.UUID, delivery_id: uuid.UUID
) -> WebhookDelivery | None:
    return (
        await session.execute(deliveries(org_id, sub_id).where(WebhookDelivery.id == delivery_id))
    ).scalar_one_or_none()


async def attempts(session: AsyncSession, org_id: uuid.UUID, delivery_id: uuid.UUID) -> list[WebhookDeliveryAttempt]:
    rows = await session.execute(
        select(WebhookDeliveryAttempt)
        .where(WebhookDeliveryAttempt.org_id == org_id, WebhookDeliveryAttempt.delivery_id == delivery_id)
        .order_by(WebhookDeliveryAttempt.id)
    )
    return list(rows.scalars().all())
