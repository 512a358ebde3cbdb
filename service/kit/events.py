"""The payloads of domain events: one Pydantic model per event type, the `data` of the
webhook message a receiver gets.

The outbox stores exactly what an event's model dumps and refuses anything else
(`outbox.emit`), and the OpenAPI document's `webhooks` are built from the same models
(service/web/openapi_webhooks.py), so a payload cannot drift from its documented schema
without a test failing.

The kit knows the event types but no domain: each domain declares its payloads in its own
`events` module, as subclasses of `EventPayload` that name their `event_type`, and a class
registers itself here when it is defined. A payload's key is present when the emitting
code sets it: a field with a default that the code leaves alone is absent from the JSON
(`kpi.measurement.created` names `measurement_ids` only for single measurements)."""

from __future__ import annotations

import datetime as dt
import inspect
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema, create_model

from service.kit.glossary import fill_descriptions

EVENT_TYPES = frozenset(
    {
        "objective.submitted",
        "objective.approved",
        "objective.rejected",
        "objective.published",
        "objective.adjusted",
        "objective.closed",
        "checkin.created",
        "kpi.measurement.created",
        "score.updated",
        "score.amended",
        "peer_feedback.requested",
        "peer_feedback.submitted",
        "peer_feedback.declined",
        "self_review.submitted",
        "manager_review.submitted",
        "interview.scheduled",
        "interview.acknowledged",
        "evaluation.finalized",
        "evaluation.acknowledged",
        "calibration.finalized",
        "incentive.finalized",
        "nomination.created",
        "nomination.decided",
        "development_plan.created",
        "development_plan.status_changed",
        "development_plan.item_status_changed",
        "meeting.scheduled",
        "meeting.held",
        "action.overdue",
        "cycle.status_changed",
        "employee.upserted",
    }
)

# Actor ids, wherever a payload names who did something.
ACTOR = "Who did it (the user id of the token's `sub`)"
# A time in a payload as the events have always written it, Python's isoformat
# (`2026-03-02T09:00:00+00:00`): RFC 3339, so receivers' date-time parsers read it.
IsoTime = Annotated[
    dt.datetime,
    PlainSerializer(lambda v: v.isoformat(), return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}, mode="serialization"),
]


def _open_for_receivers(schema: dict[str, Any]) -> None:
    """The documented schema leaves `additionalProperties` open: a receiver is to ignore a
    key it does not know, so that adding one is not a breaking change."""
    schema.pop("additionalProperties", None)


class EventModel(BaseModel):
    """A part of an event payload: closed when built (an unknown key is an error here, not
    a silent addition to the wire format), immutable, its fields described by the shared
    glossary unless they say more themselves."""

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra=_open_for_receivers)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        fill_descriptions(cls)


class EventPayload(EventModel):
    """The `data` of one event type; a subclass that sets `event_type` is that type's one
    model (a second model for the same type is refused when it is defined)."""

    event_type: ClassVar[str]

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if "event_type" in cls.__dict__:
            _register(cls)

    def dump(self) -> dict[str, Any]:
        """The JSON the outbox stores and a receiver gets as `data`."""
        return self.model_dump(mode="json", exclude_unset=True)


class Envelope(BaseModel):
    """What a receiver gets as the body of the webhook's POST: the event type, when the
    event happened, and the payload."""

    model_config = ConfigDict(frozen=True)

    type: str = Field(description="The event type")
    timestamp: dt.datetime = Field(
        description="When the change happened (RFC 3339, UTC, with a `Z`); the same on every retry"
    )
    data: EventPayload = Field(description="The event's payload")


_PAYLOADS: dict[str, type[EventPayload]] = {}
_ENVELOPES: dict[str, type[Envelope]] = {}


def _register(model: type[EventPayload]) -> None:
    event_type = model.event_type
    if event_type not in EVENT_TYPES:
        raise ValueError(f"{model.__name__} names an unknown event type {event_type!r}")
    known = _PAYLOADS.get(event_type)
    if known is not None and (known.__module__, known.__qualname__) != (model.__module__, model.__qualname__):
        raise ValueError(f"{event_type} already has its payload model {known.__name__}, not {model.__name__}")
    _PAYLOADS[event_type] = model
    _ENVELOPES[event_type] = create_model(
        f"{model.__name__}Event",
        __base__=Envelope,
        __doc__=f"The body of the `{event_type}` webhook. {inspect.cleandoc(model.__doc__ or '')}".strip(),
        type=(Literal[event_type], Field(description="The event type")),  # type: ignore[arg-type]
        data=(model, Field(description="The event's payload")),
    )


def payload_model(event_type: str) -> type[EventPayload]:
    """The model of an event type's payload; LookupError when it has none (an unknown
    type, or a domain whose events module was never imported)."""
    if event_type not in EVENT_TYPES:
        raise LookupError(f"unknown event type {event_type}")
    model = _PAYLOADS.get(event_type)
    if model is None:
        raise LookupError(f"the event type {event_type} has no payload model")
    return model


def envelope_model(event_type: str) -> type[Envelope]:
    """The whole message of an event type, as the receiver reads it."""
    payload_model(event_type)
    return _ENVELOPES[event_type]


def registered() -> dict[str, type[EventPayload]]:
    """Every event type with a payload model so far, by type."""
    return dict(sorted(_PAYLOADS.items()))


def dump(event_type: str, payload: EventPayload) -> dict[str, Any]:
    """The JSON of `payload` as an `event_type` event; refuses a payload of another model
    (a dict, a look-alike), so what is stored is always what the schema documents."""
    model = payload_model(event_type)
    if type(payload) is not model:
        raise TypeError(f"a {event_type} payload must be a {model.__name__}, not {type(payload).__name__}")
    return payload.dump()
