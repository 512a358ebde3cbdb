"""Helpers of the KPI tests: a quarter, definitions, assignments and measurements made
through the API, and a peek at the outbox."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from service.db import database
from service.kit.models import OutboxEvent
from tests.conftest import Tenant

Q4 = ("2026-10-01", "2026-12-31")


async def make_cycle(
    t: Tenant, start: str = Q4[0], end: str = Q4[1], name: str = "Q4", status: str = "active"
) -> dict[str, Any]:
    resp = await t.client.post(
        "/api/v1/cycles", headers=t.hr, json={"name": name, "cadence": "custom", "start_date": start, "end_date": end}
    )
    assert resp.status_code == 201, resp.text
    cycle = resp.json()
    order = ["planning", "active", "review", "calibration", "closed"]
    for to in order[1 : order.index(status) + 1]:
        r = await t.client.post(f"/api/v1/cycles/{cycle['id']}/transition", headers=t.hr, json={"to": to})
        assert r.status_code == 200, r.text
        cycle = r.json()
    return cycle


async def close_cycle(t: Tenant, cycle: dict[str, Any]) -> None:
    order = ["planning", "active", "review", "calibration", "closed"]
    current = (await t.client.get(f"/api/v1/cycles/{cycle['id']}", headers=t.hr)).json()["status"]
    for to in order[order.index(current) + 1 :]:
        r = await t.client.post(f"/api/v1/cycles/{cycle['id']}/transition", headers=t.hr, json={"to": to})
        assert r.status_code == 200, r.text


async def make_definition(
    t: Tenant, code: str, direction: str = "higher_is_better", aggregation: str = "sum", **extra: Any
) -> dict[str, Any]:
    resp = await t.client.post(
        "/api/v1/kpi-definitions",
        headers=t.hr,
        json={
            "code": code,
            "name": code.replace("_", " ").title(),
            "direction": direction,
            "aggregation": aggregation,
            **extra,
        },
    )
    assert resp.status_code == 201, resp.text
    return resp.json()


async def make_assignment(
    t: Tenant,
    employee: str,
    cycle: dict[str, Any],
    definition: dict[str, Any],
    headers: dict[str, str] | None = None,
    expect: int = 201,
    **params: Any,
) -> dict[str, Any]:
    body = {
        "employee_id": t.employees[employee]["id"],
        "cycle_id": cycle["id"],
        "definition_id": definition["id"],
        **params,
    }
    resp = await t.client.post("/api/v1/kpi-assignments", headers=headers or t.hr, json=body)
    assert resp.status_code == expect, resp.text
    return resp.json()


async def measure(
    t: Tenant,
    assignment: dict[str, Any],
    value: Any,
    day: str,
    headers: dict[str, str] | None = None,
    expect: int = 201,
    **extra: Any,
) -> dict[str, Any]:
    resp = await t.client.post(
        f"/api/v1/kpi-assignments/{assignment['id']}/measurements",
        headers=headers or t.hr,
        json={"value": value, "measured_at": day, **extra},
    )
    assert resp.status_code == expect, resp.text
    return resp.json()


async def read(t: Tenant, assignment: dict[str, Any]) -> dict[str, Any]:
    resp = await t.client.get(f"/api/v1/kpi-assignments/{assignment['id']}", headers=t.hr)
    assert resp.status_code == 200, resp.text
    return resp.json()


async def outbox_events(t: Tenant, event_type: str = "kpi.measurement.created") -> list[dict[str, Any]]:
    async with database.sessions() as session:
        rows = await session.execute(
            select(OutboxEvent.payload)
            .where(OutboxEvent.org_id == t.org_id, OutboxEvent.event_type == event_type)
            .order_by(OutboxEvent.id)
        )
        return [r[0] for r in rows]


async def count_rows(model: Any, *where: Any) -> int:
    async with database.sessions() as session:
        return (await session.execute(select(func.count()).select_from(model).where(*where))).scalar_one()


@pytest.fixture
async def quarter(team: Tenant) -> dict[str, Any]:
    return await make_cycle(team)


async def make_position(t: Tenant, name: str, level: str | None = None) -> dict[str, Any]:
    """A position, with a level when one is given."""
    body = {"name": name} if level is None else {"name": name, "level": level}
    resp = await t.client.post("/api/v1/positions", headers=t.hr, json=body)
    assert resp.status_code == 201, resp.text
    return resp.json()


async def place(t: Tenant, key: str, **fields: Any) -> None:
    """Moves an employee (a department, a position)."""
    resp = await t.client.patch(f"/api/v1/employees/{t.employees[key]['id']}", headers=t.hr, json=fields)
    assert resp.status_code == 200, resp.text
