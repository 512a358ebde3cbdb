"""The committed `webhooks` of openapi/openapi.json as a receiver reads them: what checks
an outbox event against the schema documented for its type."""

from __future__ import annotations

import datetime as dt
import functools
import json
import uuid
from pathlib import Path
from typing import Any

import jsonschema_rs
from sqlalchemy import select

from service.db import database
from service.kit import events
from service.kit.models import OutboxEvent
from service.webhooks.delivery import payload_body

DOCUMENT = Path(__file__).resolve().parents[2] / "openapi" / "openapi.json"


@functools.cache
def document() -> dict[str, Any]:
    return json.loads(DOCUMENT.read_text())


@functools.cache
def validator(event_type: str) -> Any:
    """The JSON Schema validator of the body a receiver gets for `event_type`."""
    doc = document()
    schema = doc["webhooks"][event_type]["post"]["requestBody"]["content"]["application/json"]["schema"]
    return jsonschema_rs.validator_for({**schema, "components": doc["components"]})


def problems(event_type: str, created_at: dt.datetime, payload: dict[str, Any]) -> list[str]:
    """What is wrong with an event as the receiver would get it: the body against the
    documented schema, and the payload against its model (no unknown key; the stored JSON
    is what the model dumps, byte for byte once serialized)."""
    body = json.loads(payload_body(event_type, created_at, payload))
    found = [f"{event_type}: {e.message} at {list(e.instance_path)}" for e in validator(event_type).iter_errors(body)]
    model = events.payload_model(event_type)
    try:
        dumped = model.model_validate(payload).dump()
    except ValueError as exc:
        return [*found, f"{event_type}: {exc}"]
    if json.dumps(dumped, sort_keys=True) != json.dumps(payload, sort_keys=True):
        found.append(f"{event_type}: stored {payload} but the model dumps {dumped}")
    return found


async def outbox_problems(org_id: uuid.UUID) -> list[str]:
    """`problems` of every event an organization's outbox holds."""
    async with database.sessions() as session:
        rows = (await session.execute(select(OutboxEvent).where(OutboxEvent.org_id == org_id))).scalars().all()
    return [p for row in rows for p in problems(row.event_type, row.created_at, row.payload)]
