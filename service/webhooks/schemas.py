"""REST models of webhooks. The signing secret appears only in `WebhookCreated` and
`SecretRotated`, the answers to the two calls that make a secret."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, WithJsonSchema, field_validator

from service.kit.outbox import EVENT_TYPES
from service.kit.schemas import Input, Output


def _known_event(value: str) -> str:
    if value not in EVENT_TYPES:
        raise ValueError(f"unknown event type; one of: {', '.join(sorted(EVENT_TYPES))}")
    return value


EventType = Annotated[
    str, AfterValidator(_known_event), WithJsonSchema({"type": "string", "enum": sorted(EVENT_TYPES)})
]
Events = Annotated[list[EventType], Field(min_length=1, max_length=len(EVENT_TYPES))]
Url = Annotated[str, Field(min_length=1, max_length=2048, examples=["https://example.com/hooks/perf"])]
DeliveryStatus = Literal["pending", "failed", "succeeded", "dead"]


def _dedupe(events: list[str] | None) -> list[str] | None:
    return None if events is None else list(dict.fromkeys(events))


class WebhookCreate(Input):
    url: Url
    events: Events
    active: bool = True
    description: str | None = Field(None, max_length=500)

    _events = field_validator("events")(_dedupe)


class WebhookUpdate(Input):
    url: Url | None = None
    events: Events | None = None
    active: bool | None = None
    description: str | None = Field(None, max_length=500)

    _events = field_validator("events")(_dedupe)


class WebhookRead(Output):
    id: uuid.UUID
    url: str
    events: list[str]
    active: bool
    description: str | None
    disabled_at: dt.datetime | None = Field(description="when the subscription was disabled")
    disabled_reason: str | None = Field(
        description="why it was disabled: by a caller, by a 410 answer, or after sustained failure"
    )
    secret_rotated_at: dt.datetime | None
    previous_secret_expires_at: dt.datetime | None = Field(
        description="until then the previous secret signs alongside the new one"
    )
    created_at: dt.datetime
    updated_at: dt.datetime


class WebhookCreated(WebhookRead):
    secret: str = Field(description="the signing secret (`whsec_...`); shown only in this answer")


class SecretRotated(Output):
    id: uuid.UUID
    secret: str = Field(description="the new signing secret; shown only in this answer")
    secret_rotated_at: dt.datetime
    previous_secret_expires_at: dt.datetime | None


class DeliveryRead(Output):
    id: uuid.UUID
    webhook_id: str = Field(description="the `webhook-id` header, the same on every attempt")
    subscription_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: dt.datetime | None
    last_attempt_at: dt.datetime | None
    last_status_code: int | None
    last_error: str | None
    last_response_excerpt: str | None = Field(description="at most 1,000 characters of the last answer")
    succeeded_at: dt.datetime | None
    created_at: dt.datetime


class DeliveryAttemptRead(Output):
    attempt: int
    attempted_at: dt.datetime
    status_code: int | None
    error: str | None
    response_excerpt: str | None
    duration_ms: int


class DeliveryDetail(DeliveryRead):
    attempt_log: list[DeliveryAttemptRead]
