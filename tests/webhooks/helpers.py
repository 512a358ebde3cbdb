"""Helpers of the webhook tests: subscribing, emitting outbox events, running the engine."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from service.db import database
from service.kit import outbox
from service.kit.events import EventPayload
from service.org.events import EmployeeUpserted
from service.webhooks.delivery import Dispatcher
from tests.conftest import Tenant


class LoopbackOnly(httpx.AsyncHTTPTransport):
    """The engine's transport in tests: any request to anything but 127.0.0.1 fails the test."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host != "127.0.0.1":
            raise AssertionError(f"test traffic must stay on 127.0.0.1, not {request.url.host}")
        return await super().handle_async_request(request)


async def allow_private(t: Tenant, allowed: bool = True) -> None:
    resp = await t.client.patch(
        "/api/v1/organization", headers=t.admin, json={"settings": {"webhooks_allow_private": allowed}}
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["settings"]["webhooks_allow_private"] is allowed


async def subscribe(
    t: Tenant, url: str, events: list[str] | None = None, headers: dict[str, str] | None = None, **fields: Any
) -> dict[str, Any]:
    resp = await t.client.post(
        "/api/v1/webhooks",
        headers=headers or t.admin,
        json={"url": url, "events": events or ["employee.upserted"], **fields},
    )
    assert resp.status_code == 201, resp.text
    return resp.json()


async def emit(
    org_id: uuid.UUID, event_type: str = "employee.upserted", payload: EventPayload | None = None
) -> uuid.UUID:
    """An event in the outbox, committed, as a domain change would write it (by default an
    `employee.upserted` naming one new employee id)."""
    if payload is None:
        payload = EmployeeUpserted(employee_ids=[uuid.uuid4()], created=1, updated=0)
    async with database.sessions() as session:
        event_id = await outbox.emit(session, org_id, event_type, payload)
        await session.commit()
    return event_id


async def deliveries(t: Tenant, sub_id: str) -> list[dict[str, Any]]:
    resp = await t.client.get(f"/api/v1/webhooks/{sub_id}/deliveries", headers=t.admin, params={"limit": 500})
    assert resp.status_code == 200, resp.text
    return resp.json()["items"]


async def delivery(t: Tenant, sub_id: str, delivery_id: str) -> dict[str, Any]:
    resp = await t.client.get(f"/api/v1/webhooks/{sub_id}/deliveries/{delivery_id}", headers=t.admin)
    assert resp.status_code == 200, resp.text
    return resp.json()


async def webhook(t: Tenant, sub_id: str) -> dict[str, Any]:
    resp = await t.client.get(f"/api/v1/webhooks/{sub_id}", headers=t.admin)
    assert resp.status_code == 200, resp.text
    return resp.json()


async def drain(dispatcher: Dispatcher, until: Callable[[], Awaitable[bool]], within: float = 15.0) -> None:
    """Run engine rounds until `until()` holds."""
    deadline = time.monotonic() + within
    while True:
        await dispatcher.run_once()
        if await until():
            return
        if time.monotonic() > deadline:
            raise AssertionError("the engine did not reach the expected state in time")
        await asyncio.sleep(0.01)


def all_settled(
    t: Tenant, sub_id: str, statuses: tuple[str, ...] = ("succeeded", "dead"), count: int = 1
) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        items = await deliveries(t, sub_id)
        return len(items) >= count and all(d["status"] in statuses for d in items)

    return check
