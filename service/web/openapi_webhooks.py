"""The OpenAPI document's top-level `webhooks` (OpenAPI 3.1): the messages the service
POSTs to a subscription's URL, one entry per event type, built from the payload models the
outbox writes (service/kit/events.py), so the contract and the wire cannot drift apart.

Each entry is a `post` operation that a receiver implements:
- the body is the event's envelope, a component named after its payload
  (`ObjectivePublishedEvent`: `type`, `timestamp`, and `data`, the `ObjectivePublished`
  payload), exactly as service/webhooks/delivery.py `payload_body` writes it;
- the three Standard Webhooks headers as required header parameters;
- operationId `on_<event type>` (`on_objective_published`), tag `webhooks`;
- a 2xx answer acknowledges the message; any other answer, or none, fails the attempt.

FastAPI's own `app.webhooks` router would need a handler function per event type to say
the same; these entries are data, generated from the registry, and a component name that
two schemas claim stops the document from being built.
"""

from __future__ import annotations

import inspect
from typing import Any

from pydantic.json_schema import models_json_schema

# Each domain's payload models register themselves when their module is imported.
from service.cycles import events as cycles_events
from service.development import events as development_events
from service.evaluations import events as evaluations_events
from service.incentives import events as incentives_events
from service.kit import events
from service.kit.events import EVENT_TYPES
from service.kpi import events as kpi_events
from service.meetings import events as meetings_events
from service.okr import events as okr_events
from service.org import events as org_events
from service.scoring import events as scoring_events

TAG = "webhooks"
REF = "#/components/schemas/"
EVENT_MODULES = (
    cycles_events,
    development_events,
    evaluations_events,
    incentives_events,
    kpi_events,
    meetings_events,
    okr_events,
    org_events,
    scoring_events,
)

HEADERS: list[dict[str, Any]] = [
    {
        "name": "webhook-id",
        "in": "header",
        "required": True,
        "description": "The message's id (`msg_...`): the same on every retry and redelivery of the event to "
        "this subscription, so a receiver deduplicates on it",
        "schema": {"type": "string", "example": "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"},
    },
    {
        "name": "webhook-timestamp",
        "in": "header",
        "required": True,
        "description": "When this attempt was sent, in Unix seconds; a receiver refuses a message far from its "
        "own clock (the Standard Webhooks libraries allow 5 minutes)",
        "schema": {"type": "integer", "example": 1764410531},
    },
    {
        "name": "webhook-signature",
        "in": "header",
        "required": True,
        "description": "`v1,<base64 HMAC-SHA256 of {webhook-id}.{webhook-timestamp}.{body}>`, keyed with the "
        "base64-decoded part of the subscription's secret after `whsec_`; during a secret rotation's grace "
        "period two signatures separated by a space (new, then old). Accept the message when one matches.",
        "schema": {"type": "string", "example": "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4="},
    },
]
RESPONSES: dict[str, Any] = {
    "2XX": {"description": "Received: any 2xx answer acknowledges the message (its body is ignored)"},
    "410": {"description": "Gone: the delivery stops and the subscription is disabled"},
    "default": {
        "description": "Any other answer, a redirect, or none within 15 seconds fails the attempt; it is "
        "retried on the Standard Webhooks schedule (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h), honouring "
        "`Retry-After` on a 429, 502 or 504"
    },
}


def operation_id(event_type: str) -> str:
    """`objective.published` -> `on_objective_published`."""
    return "on_" + event_type.replace(".", "_")


def _operation(event_type: str) -> dict[str, Any]:
    payload = events.payload_model(event_type)
    envelope = events.envelope_model(event_type)
    return {
        "operationId": operation_id(event_type),
        "tags": [TAG],
        "summary": f"The {event_type} event",
        "description": f"{inspect.cleandoc(payload.__doc__ or '')}\n\nPOSTed to every active subscription "
        f"to `{event_type}`, signed with its secret; `data` is a `{payload.__name__}`.",
        "parameters": [dict(h) for h in HEADERS],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": REF + envelope.__name__}}},
        },
        "responses": RESPONSES,
        "security": [],
    }


def declare_webhooks(document: dict[str, Any]) -> dict[str, Any]:
    """Add `webhooks` and their schemas to `document`; every event type must have its
    payload model, and its schemas' names must be free (or name the same schema)."""
    missing = sorted(EVENT_TYPES - set(events.registered()))
    if missing:
        raise RuntimeError(f"event types without a payload model: {missing}")
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    _, top = models_json_schema(
        [(events.envelope_model(t), "serialization") for t in sorted(EVENT_TYPES)], ref_template=REF + "{model}"
    )
    for name, schema in top.get("$defs", {}).items():
        if schemas.get(name, schema) != schema:
            raise RuntimeError(f"the component name {name} is taken by another schema")
        schemas[name] = schema
    taken = {op.get("operationId") for item in document.get("paths", {}).values() for op in item.values()}
    hooks = {}
    for event_type in sorted(EVENT_TYPES):
        operation = _operation(event_type)
        if operation["operationId"] in taken:
            raise RuntimeError(f"operation id {operation['operationId']} is already a route's")
        hooks[event_type] = {"post": operation}
    document["webhooks"] = hooks
    return document
