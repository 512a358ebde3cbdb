"""Helpers of the meeting tests: meetings scheduled through the API."""

from __future__ import annotations

from typing import Any

from tests.conftest import Tenant

MEETINGS = "/api/v1/meetings"
WEEKLY = "FREQ=WEEKLY;BYDAY=MO"


async def schedule(
    t: Tenant, headers: dict[str, str] | None = None, expect: int = 201, **fields: Any
) -> dict[str, Any]:
    body = {
        "kind": "one_on_one",
        "title": "Lead and Alice",
        "attendee_ids": [t.employees["alice"]["id"], t.employees["lead"]["id"]],
        "starts_at": "2027-01-04T09:00:00+01:00",
        "duration_minutes": 30,
        "timezone": "Europe/Paris",
        "rrule": WEEKLY,
        **fields,
    }
    resp = await t.client.post(MEETINGS, headers=headers or t.hr, json=body)
    assert resp.status_code == expect, resp.text
    return resp.json()
