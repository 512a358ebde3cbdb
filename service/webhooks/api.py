"""REST routes of webhooks: thin, they call the service."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from service.auth.deps import RequestCtx
from service.authz import policy
from service.authz.access import governed_by
from service.kit.etag import IfMatchHeader, set_etag
from service.kit.pagination import PageOut, PageParams, page_params
from service.webhooks import service as svc
from service.webhooks.schemas import (
    DeliveryAttemptRead,
    DeliveryDetail,
    DeliveryRead,
    DeliveryStatus,
    SecretRotated,
    WebhookCreate,
    WebhookCreated,
    WebhookRead,
    WebhookUpdate,
)

router = APIRouter(prefix="/api/v1", tags=["webhooks"])
Pages = Annotated[PageParams, Depends(page_params)]


def _no_store(response: Response) -> None:
    """Answers that carry a secret must not be kept by caches along the way."""
    response.headers["Cache-Control"] = "no-store"


@router.get("/webhooks", response_model=PageOut[WebhookRead])
@governed_by(policy.read_webhooks)
async def list_webhooks(ctx: RequestCtx, pages: Pages) -> PageOut[WebhookRead]:
    """Webhook subscriptions: their URL, events and state (admin, auditors and
    `webhooks` clients)."""
    page = await svc.list_webhooks(ctx, pages)
    return PageOut[WebhookRead](items=[WebhookRead.model_validate(s) for s in page.items], next_cursor=page.next_cursor)


@router.post("/webhooks", response_model=WebhookCreated, status_code=status.HTTP_201_CREATED)
@governed_by(policy.manage_webhooks)
async def create_webhook(ctx: RequestCtx, body: WebhookCreate, response: Response) -> WebhookCreated:
    """Subscribes a URL to event types. The answer carries the signing `secret`, once."""
    sub, secret = await svc.create_webhook(ctx, body)
    set_etag(response, sub.version)
    _no_store(response)
    response.headers["Location"] = f"/api/v1/webhooks/{sub.id}"
    return WebhookCreated(**WebhookRead.model_validate(sub).model_dump(), secret=secret)


@router.get("/webhooks/{webhook_id}", response_model=WebhookRead)
@governed_by(policy.read_webhooks)
async def get_webhook(ctx: RequestCtx, webhook_id: uuid.UUID, response: Response) -> WebhookRead:
    """One webhook subscription; its secret is never shown again."""
    sub = await svc.get_webhook(ctx, webhook_id)
    set_etag(response, sub.version)
    return WebhookRead.model_validate(sub)


@router.patch("/webhooks/{webhook_id}", response_model=WebhookRead)
@governed_by(policy.manage_webhooks)
async def update_webhook(
    ctx: RequestCtx, webhook_id: uuid.UUID, body: WebhookUpdate, if_match: IfMatchHeader, response: Response
) -> WebhookRead:
    """Changes a webhook subscription's URL, events or state (under `If-Match`)."""
    sub = await svc.update_webhook(ctx, webhook_id, body, if_match)
    set_etag(response, sub.version)
    return WebhookRead.model_validate(sub)


@router.delete("/webhooks/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT)
@governed_by(policy.manage_webhooks)
async def delete_webhook(ctx: RequestCtx, webhook_id: uuid.UUID, if_match: IfMatchHeader) -> Response:
    """Deletes a webhook subscription with its delivery log."""
    await svc.delete_webhook(ctx, webhook_id, if_match)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/webhooks/{webhook_id}/rotate-secret", response_model=SecretRotated)
@governed_by(policy.manage_webhooks)
async def rotate_webhook_secret(
    ctx: RequestCtx, webhook_id: uuid.UUID, if_match: IfMatchHeader, response: Response
) -> SecretRotated:
    """A new secret, shown once; the previous one keeps signing alongside for a grace period."""
    sub, secret = await svc.rotate_secret(ctx, webhook_id, if_match)
    set_etag(response, sub.version)
    _no_store(response)
    return SecretRotated(
        id=sub.id,
        secret=secret,
        secret_rotated_at=sub.secret_rotated_at,
        previous_secret_expires_at=sub.previous_secret_expires_at,
    )


@router.get("/webhooks/{webhook_id}/deliveries", response_model=PageOut[DeliveryRead])
@governed_by(policy.read_webhooks)
async def list_webhook_deliveries(
    ctx: RequestCtx,
    webhook_id: uuid.UUID,
    pages: Pages,
    status_: Annotated[DeliveryStatus | None, Query(alias="status")] = None,
) -> PageOut[DeliveryRead]:
    """The deliveries of a webhook, newest last: each attempt's status and answer."""
    page = await svc.list_deliveries(ctx, webhook_id, pages, status_)
    return PageOut[DeliveryRead](
        items=[DeliveryRead.model_validate(d) for d in page.items], next_cursor=page.next_cursor
    )


@router.get("/webhooks/{webhook_id}/deliveries/{delivery_id}", response_model=DeliveryDetail)
@governed_by(policy.read_webhooks)
async def get_webhook_delivery(ctx: RequestCtx, webhook_id: uuid.UUID, delivery_id: uuid.UUID) -> DeliveryDetail:
    """One delivery with the log of its attempts (status codes, short answer excerpts)."""
    delivery, attempts = await svc.get_delivery(ctx, webhook_id, delivery_id)
    return DeliveryDetail(
        **DeliveryRead.model_validate(delivery).model_dump(),
        attempt_log=[DeliveryAttemptRead.model_validate(a) for a in attempts],
    )


@router.post(
    "/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver",
    response_model=DeliveryRead,
    status_code=status.HTTP_202_ACCEPTED,
)
@governed_by(policy.manage_webhooks)
async def redeliver_webhook_delivery(ctx: RequestCtx, webhook_id: uuid.UUID, delivery_id: uuid.UUID) -> DeliveryRead:
    """Queues the delivery again (same `webhook-id`, fresh retry schedule)."""
    return DeliveryRead.model_validate(await svc.redeliver(ctx, webhook_id, delivery_id))
