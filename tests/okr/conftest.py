"""Helpers of the OKR tests: a cycle, objectives and key results made through the API,
and the workflow walked by the callers allowed to walk it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Tenant


async def make_cycle(
    t: Tenant,
    start: str = "2026-01-01",
    end: str = "2026-12-31",
    status: str | None = "active",
    name: str = "FY",
    **extra: Any,
) -> dict[str, Any]:
    resp = await t.client.post(
        "/api/v1/cycles",
        headers=t.hr,
        json={"name": name, "cadence": "custom", "start_date": start, "end_date": end, **extra},
    )
    assert resp.status_code == 201, resp.text
    cycle = resp.json()
    path = {
        "active": ["active"],
        "review": ["active", "review"],
        "closed": ["active", "review", "calibration", "closed"],
    }.get(status or "", [])
    for to in path:
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


async def make_objective(
    t: Tenant,
    cycle: dict[str, Any],
    owner: str,
    headers: dict[str, str] | None = None,
    expect: int = 201,
    **fields: Any,
) -> dict[str, Any]:
    body = {
        "title": f"Objective of {owner}",
        "level": "company",
        "owner_id": t.employees[owner]["id"],
        "cycle_id": cycle["id"],
        **fields,
    }
    resp = await t.client.post("/api/v1/objectives", headers=headers or t.hr, json=body)
    assert resp.status_code == expect, resp.text
    return resp.json()


async def make_kr(
    t: Tenant, objective: dict[str, Any], headers: dict[str, str] | None = None, expect: int = 201, **fields: Any
) -> dict[str, Any]:
    body = {
        "objective_id": objective["id"],
        "title": "Grow revenue",
        "kind": "metric",
        "start": "0",
        "target": "100",
        **fields,
    }
    resp = await t.client.post("/api/v1/key-results", headers=headers or t.hr, json=body)
    assert resp.status_code == expect, resp.text
    return resp.json()


async def act(
    t: Tenant,
    objective: dict[str, Any],
    action: str,
    headers: dict[str, str] | None = None,
    expect: int = 200,
    comment: str | None = None,
) -> Any:
    body = {"comment": comment} if comment is not None else {}
    resp = await t.client.post(f"/api/v1/objectives/{objective['id']}/{action}", headers=headers or t.hr, json=body)
    assert resp.status_code == expect, resp.text
    return resp.json()


async def publish(t: Tenant, objective: dict[str, Any]) -> dict[str, Any]:
    for action in ("submit", "approve", "publish"):
        out = await act(t, objective, action)
    return out


async def check_in(
    t: Tenant, kr: dict[str, Any], headers: dict[str, str] | None = None, expect: int = 201, **fields: Any
) -> Any:
    resp = await t.client.post(f"/api/v1/key-results/{kr['id']}/check-ins", headers=headers or t.hr, json=fields)
    assert resp.status_code == expect, resp.text
    return resp.json()


async def get(t: Tenant, path: str, headers: dict[str, str] | None = None) -> Any:
    resp = await t.client.get(path, headers=headers or t.hr)
    assert resp.status_code == 200, resp.text
    return resp.json()


@pytest.fixture
async def cycle(team: Tenant) -> dict[str, Any]:
    return await make_cycle(team)


@pytest.fixture
async def company(team: Tenant, cycle: dict[str, Any]) -> dict[str, Any]:
    """A published company objective owned by boss, with two key results."""
    obj = await make_objective(team, cycle, "boss", title="Win the online market")
    await make_kr(team, obj, title="Reach 1M online revenue", start="0", target="1000000")
    await make_kr(team, obj, title="Launch the app", kind="boolean", start=None, target=None)
    return await publish(team, obj)
