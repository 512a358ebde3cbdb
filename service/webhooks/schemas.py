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


class WebhookRead(Output):
    """A webhook subscription: where the organization's events of the chosen types are
    sent, signed (Standard Webhooks)."""

    id: uuid.UUID
    url: str = Field(
        description="Where events are POSTed: an http or https URL, at most 2,048 characters; private and loopback "
        "addresses only when the organization allows them (`webhooks_allow_private`)"
    )
    events: list[str] = Field(description="The event types sent to it (`employee.upserted`...), at least one")
    active: bool = Field(description="Whether events are sent to it; false when a caller or the service disabled it")
    description: str | None
    disabled_at: dt.datetime | None = Field(description="when the subscription was disabled")
    disabled_reason: str | None = Field(
        description="why it was disabled: by a caller, by a 410 answer, or after sustained failure"
    )
    secret_rotated_at: dt.datetime | None = Field(
        description="When the signing secret was last rotated (null when never)"
    )
    previous_secret_expires_at: dt.datetime | None = Field(
        description="until then the previous secret signs alongside the new one"
    )
    created_at: dt.datetime
    updated_at: dt.datetime


class WebhookCreate(Input):
    described_like = (WebhookRead,)

    url: Url
    events: Events
    active: bool = True
    description: str | None = Field(None, max_length=500)

    _events = field_validator("events")(_dedupe)


class WebhookUpdate(Input):
    described_like = (WebhookRead,)

    url: Url | None = None
    events: Events | None = None
    active: bool | None = None
    description: str | None = Field(None, max_length=500)

    _events = field_validator("events")(_dedupe)


class WebhookCreated(WebhookRead):
    secret: str = Field(description="the signing secret (`whsec_...`); shown only in this answer")


class SecretRotated(Output):
    """The answer to a secret rotation: the new secret, shown once."""

    described_like = (WebhookRead,)

    id: uuid.UUID
    secret: str = Field(description="the new signing secret; shown only in this answer")
    secret_rotated_at: dt.datetime
    previous_secret_expires_at: dt.datetime | None


class DeliveryRead(Output):
    """One event's delivery to one subscription, over all its attempts."""

    id: uuid.UUID
    webhook_id: str = Field(description="the `webhook-id` header, the same on every attempt")
    subscription_id: uuid.UUID = Field(description="The webhook subscription's id")
    event_id: uuid.UUID = Field(description="The event's id (the payload's `id`)")
    event_type: str = Field(description="The event's type (`employee.upserted`...)")
    status: DeliveryStatus = Field(
        description="`pending` (not sent yet or to be retried), `succeeded` (a 2xx answer), `failed` (the last "
        "attempt failed, another is due) or `dead` (no attempt left, or a 410)"
    )
    attempts: int = Field(description="How many attempts were made so far")
    next_attempt_at: dt.datetime | None = Field(description="When the next attempt is due (null when none is)")
    last_attempt_at: dt.datetime | None = Field(description="When the last attempt was made (null before the first)")
    last_status_code: int | None = Field(
        description="The HTTP status of the last answer (null before the first attempt or when none came)"
    )
    last_error: str | None = Field(
        description="Why the last attempt failed (a timeout, a refused connection, a non-2xx status); null on success"
    )
    last_response_excerpt: str | None = Field(description="at most 1,000 characters of the last answer")
    succeeded_at: dt.datetime | None = Field(description="When an attempt succeeded (null until one does)")
    created_at: dt.datetime


class DeliveryAttemptRead(Output):
    """One HTTP attempt of a delivery."""

    attempt: int = Field(description="Its number, from 1")
    attempted_at: dt.datetime = Field(description="When it was made")
    status_code: int | None = Field(description="The HTTP status of the answer (null when none came)")
    error: str | None = Field(description="Why it failed (null when it succeeded)")
    response_excerpt: str | None = Field(description="At most 1,000 characters of the answer's body")
    duration_ms: int = Field(description="How long it took, in milliseconds")


class DeliveryDetail(DeliveryRead):
    """A delivery with every attempt made."""

    attempt_log: list[DeliveryAttemptRead] = Field(description="Every attempt, oldest first")
