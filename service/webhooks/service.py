"""Webhook use cases: subscriptions, secret rotation, the delivery log and redelivery.
Services flush, never commit. Delivery itself is the engine's (delivery.py)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from service.auth.context import Ctx
from service.authz import policy
from service.authz.enforce import require
from service.config import get_settings
from service.errors import Conflict, NotFound, ValidationFailed
from service.kit import audit
from service.kit.changes import audited, refuse_nulls, set_fields
from service.kit.etag import IfMatch
from service.kit.pagination import Page, PageParams, paginate
from service.observability import current_traceparent
from service.org.service import org_settings
from service.types import new_id, utcnow
from service.webhooks import repository as repo
from service.webhooks import signing, urls
from service.webhooks.models import WebhookDelivery, WebhookDeliveryAttempt, WebhookSubscription
from service.webhooks.schemas import WebhookCreate, WebhookRead, WebhookUpdate


def snapshot(sub: WebhookSubscription) -> dict[str, Any]:
    """What the audit log keeps: never the secret."""
    return WebhookRead.model_validate(sub).model_dump(mode="json")


async def _check_url(ctx: Ctx, url: str) -> str:
    allow_private = bool((await org_settings(ctx)).get("webhooks_allow_private"))
    try:
        return str(await urls.check(url, allow_private))
    except urls.UnsafeUrl as exc:
        raise ValidationFailed.field("url", f"url {exc}") from exc


async def list_webhooks(ctx: Ctx, params: PageParams) -> Page[WebhookSubscription]:
    require(policy.read_webhooks(ctx.principal), "webhooks")
    return await paginate(ctx.session, repo.subscriptions(ctx.org_id), WebhookSubscription.id, params)


async def get_webhook(ctx: Ctx, sub_id: uuid.UUID) -> WebhookSubscription:
    if not policy.read_webhooks(ctx.principal).allowed:
        raise NotFound("webhook not found")
    sub = await repo.get_subscription(ctx.session, ctx.org_id, sub_id)
    if sub is None:
        raise NotFound("webhook not found")
    return sub


async def create_webhook(ctx: Ctx, data: WebhookCreate) -> tuple[WebhookSubscription, str]:
    """The new subscription and its secret, which the caller sees this once."""
    require(policy.manage_webhooks(ctx.principal), "webhooks")
    url = await _check_url(ctx, data.url)
    secret = signing.generate_secret()
    now = utcnow()
    sub = WebhookSubscription(
        org_id=ctx.org_id,
        id=new_id(),
        url=url,
        events=data.events,
        active=data.active,
        description=data.description,
        secret=signing.seal(secret),
        consecutive_dead=0,
        created_by=ctx.principal.actor,
        created_at=now,
        updated_at=now,
        disabled_at=None if data.active else now,
        disabled_reason=None if data.active else "disabled by a caller",
    )
    ctx.session.add(sub)
    await ctx.session.flush()
    await audit.record(ctx.session, ctx.principal, "webhook.created", "webhook", sub.id, None, snapshot(sub))
    return sub, secret


async def update_webhook(
    ctx: Ctx, sub_id: uuid.UUID, data: WebhookUpdate, expected: IfMatch | None = None
) -> WebhookSubscription:
    sub = await get_webhook(ctx, sub_id)
    require(policy.manage_webhooks(ctx.principal), "webhook")
    async with audited(ctx, sub, "webhook.updated", snapshot, expected):
        changes = data.model_dump(exclude_unset=True)
        refuse_nulls(changes, ("url", "events", "active"))
        if "url" in changes:
            changes["url"] = await _check_url(ctx, changes["url"])
        if changes.get("active") is True and not sub.active:
            # Enabling again gives the endpoint a clean slate; its pending deliveries resume.
            sub.disabled_at, sub.disabled_reason = None, None
            sub.consecutive_dead, sub.failing_since = 0, None
        elif changes.get("active") is False and sub.active:
            sub.disabled_at, sub.disabled_reason = utcnow(), "disabled by a caller"
        set_fields(sub, changes)
    return sub


async def delete_webhook(ctx: Ctx, sub_id: uuid.UUID, expected: IfMatch | None = None) -> None:
    """Deletes the subscription with its delivery log (the foreign keys cascade)."""
    sub = await get_webhook(ctx, sub_id)
    require(policy.manage_webhooks(ctx.principal), "webhook")
    async with audited(ctx, sub, "webhook.deleted", snapshot, expected):
        await ctx.session.delete(sub)


async def rotate_secret(
    ctx: Ctx, sub_id: uuid.UUID, expected: IfMatch | None = None
) -> tuple[WebhookSubscription, str]:
    """A new secret signs from now on; the one it replaces keeps signing alongside for
    the grace period (`WEBHOOK_SECRET_GRACE_SECONDS`), so receivers can switch at their
    pace. Rotating again within the grace period drops the oldest secret."""
    sub = await get_webhook(ctx, sub_id)
    require(policy.manage_webhooks(ctx.principal), "webhook")
    secret = signing.generate_secret()
    async with audited(ctx, sub, "webhook.secret_rotated", snapshot, expected):
        now = utcnow()
        grace = dt.timedelta(seconds=get_settings().webhook_secret_grace_seconds)
        sub.previous_secret = sub.secret if grace > dt.timedelta(0) else None
        sub.previous_secret_expires_at = now + grace if grace > dt.timedelta(0) else None
        sub.secret = signing.seal(secret)
        sub.secret_rotated_at = now
    return sub, secret


# --- the delivery log ---------------------------------------------------------------------


async def list_deliveries(
    ctx: Ctx, sub_id: uuid.UUID, params: PageParams, status: str | None = None
) -> Page[WebhookDelivery]:
    await get_webhook(ctx, sub_id)
    stmt = repo.deliveries(ctx.org_id, sub_id)
    if status is not None:
        stmt = stmt.where(WebhookDelivery.status == status)
    return await paginate(ctx.session, stmt, WebhookDelivery.id, params)


async def get_delivery(
    ctx: Ctx, sub_id: uuid.UUID, delivery_id: uuid.UUID
) -> tuple[WebhookDelivery, list[WebhookDeliveryAttempt]]:
    await get_webhook(ctx, sub_id)
    delivery = await repo.get_delivery(ctx.session, ctx.org_id, sub_id, delivery_id)
    if delivery is None:
        raise NotFound("delivery not found")
    return delivery, await repo.attempts(ctx.session, ctx.org_id, delivery.id)


async def redeliver(ctx: Ctx, sub_id: uuid.UUID, delivery_id: uuid.UUID) -> WebhookDelivery:
    """Send a delivery again, whatever its state, with the same `webhook-id` (receivers
    that deduplicate see the same message) and the retry schedule started afresh. An
    attempt in flight loses its claim: its outcome is not recorded."""
    sub = await get_webhook(ctx, sub_id)
    require(policy.manage_webhooks(ctx.principal), "webhook")
    delivery = await repo.get_delivery(ctx.session, ctx.org_id, sub_id, delivery_id)
    if delivery is None:
        raise NotFound("delivery not found")
    if not sub.active:
        raise Conflict("the webhook is disabled; enable it before redelivering")
    delivery.status = "pending"
    delivery.schedule_step = 0
    delivery.next_attempt_at = utcnow()
    delivery.claimed_until = None
    delivery.claim_token = None
    delivery.traceparent = current_traceparent() or delivery.traceparent  # joins this request's trace
    await ctx.session.flush()
    await audit.record(
        ctx.session,
        ctx.principal,
        "webhook.redelivery_requested",
        "webhook_delivery",
        delivery.id,
        None,
        {"subscription_id": str(sub.id), "event_id": str(delivery.event_id)},
    )
    return delivery
