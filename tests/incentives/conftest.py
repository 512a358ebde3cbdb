"""Helpers of the incentive tests: scores made through the API (one ratio KPI per
employee, so the final score is the KPI's points: 100 × actual / target), plans, runs
and the lifecycle walked by HR, and peeks at the outbox and the audit log."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from sqlalchemy import insert, select

from service.db import database
from service.incentives.models import IncentiveResult
from service.kit.models import AuditEvent, OutboxEvent
from tests.conftest import Tenant
from tests.kpi.conftest import make_assignment, make_cycle, make_definition, measure

Q4 = ("2026-10-01", "2026-12-31")  # 92 days


async def quarter(t: Tenant, status: str = "active") -> dict[str, Any]:
    return await make_cycle(t, *Q4, name="Q4", status=status)


async def give_scores(t: Tenant, cycle: dict[str, Any], finals: dict[str, Any]) -> None:
    """Each named employee's final score becomes the given points (0 to 120): one ratio
    KPI with target 100 and the points as its actual; no other component is present."""
    code = f"SCORE_{cycle['id'][:8]}"
    existing = await t.client.get("/api/v1/kpi-definitions", headers=t.hr, params={"code": code})
    items = existing.json()["items"]
    definition = items[0] if items else await make_definition(t, code, "higher_is_better", "last")
    for key, points in finals.items():
        asg = await make_assignment(t, key, cycle, definition, method="ratio", target=100)
        await measure(t, asg, str(points), cycle["start_date"])


async def make_plan(
    t: Tenant,
    cycle: dict[str, Any],
    kind: str = "short_term_bonus",
    expect: int = 201,
    headers: dict[str, str] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    body = {"name": fields.pop("name", f"{kind} plan"), "kind": kind, "cycle_id": cycle["id"], **fields}
    resp = await t.client.post("/api/v1/incentive-plans", headers=headers or t.hr, json=body)
    assert resp.status_code == expect, resp.text
    return resp.json()


async def run(t: Tenant, plan: dict[str, Any], expect: int = 200) -> dict[str, Any]:
    resp = await t.client.post(f"/api/v1/incentive-plans/{plan['id']}/run", headers=t.hr)
    assert resp.status_code == expect, resp.text
    return resp.json()


async def results_of(
    t: Tenant, plan: dict[str, Any], headers: dict[str, str] | None = None, **params: Any
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {"plan_id": plan["id"], "limit": 500, **params}
        if cursor:
            query["cursor"] = cursor
        resp = await t.client.get("/api/v1/incentive-results", headers=headers or t.hr, params=query)
        assert resp.status_code == 200, resp.text
        out.extend(resp.json()["items"])
        cursor = resp.json()["next_cursor"]
        if not cursor:
            return out


def by_employee(t: Tenant, results: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Results keyed by the employee's fixture key (payments and nominations only)."""
    keys = {e["id"]: k for k, e in t.employees.items()}
    return {keys[r["employee_id"]]: r for r in results if r["kind"] != "adjustment"}


async def act(
    t: Tenant,
    result: dict[str, Any],
    action: str,
    expect: int = 200,
    headers: dict[str, str] | None = None,
    **body: Any,
) -> dict[str, Any]:
    resp = await t.client.post(
        f"/api/v1/incentive-results/{result['id']}/{action}", headers=headers or t.hr, json=body or None
    )
    assert resp.status_code == expect, resp.text
    return resp.json()


async def finalize_plan(t: Tenant, plan: dict[str, Any]) -> dict[str, Any]:
    for action in ("approve", "finalize"):
        resp = await t.client.post(f"/api/v1/incentive-plans/{plan['id']}/{action}", headers=t.hr)
        assert resp.status_code == 200, resp.text
    return resp.json()


async def pull_all(
    t: Tenant, headers: dict[str, str], cursor: str | None = None, limit: int = 2, **params: Any
) -> tuple[list[dict[str, Any]], str | None]:
    """Walk the payroll feed from `cursor` to its end; answers the items and the resume cursor."""
    items: list[dict[str, Any]] = []
    while True:
        query: dict[str, Any] = {"limit": limit, **params}
        if cursor:
            query["cursor"] = cursor
        resp = await t.client.get("/api/v1/payroll/incentive-results", headers=headers, params=query)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        items.extend(body["items"])
        cursor = body["resume_cursor"]
        if body["next_cursor"] is None:
            return items, cursor


async def nominate(
    t: Tenant, plan: dict[str, Any], *who: str, kind: str = "promotion_track", status: str = "draft"
) -> list[str]:
    """Nominations on `plan` (draft promotion-track ones unless told), written as an
    okr_breakthrough run writes them (without the scores and objectives a run would need)."""
    now, ids = dt.datetime.now(dt.UTC), []
    async with database.sessions() as session:
        for key in who:
            ids.append(uuid.uuid4())
            await session.execute(
                insert(IncentiveResult).values(
                    org_id=t.org_id,
                    id=ids[-1],
                    plan_id=uuid.UUID(plan["id"]),
                    employee_id=uuid.UUID(t.employees[key]["id"]),
                    kind="nomination",
                    status=status,
                    nomination=kind,
                    period_start=dt.date(2026, 10, 1),
                    period_end=dt.date(2026, 12, 31),
                    inputs={"score": {"rating": "A"}},
                    created_by="test",
                    version=1,
                    created_at=now,
                    updated_at=now,
                )
            )
        await session.commit()
    return [str(i) for i in ids]


async def outbox(t: Tenant, event_type: str = "incentive.finalized") -> list[dict[str, Any]]:
    async with database.sessions() as session:
        rows = await session.execute(
            select(OutboxEvent.payload)
            .where(OutboxEvent.org_id == t.org_id, OutboxEvent.event_type == event_type)
            .order_by(OutboxEvent.id)
        )
        return [r[0] for r in rows]


async def audit_events(t: Tenant, entity_id: str) -> list[AuditEvent]:
    async with database.sessions() as session:
        rows = await session.execute(
            select(AuditEvent)
            .where(AuditEvent.org_id == t.org_id, AuditEvent.entity_id == entity_id)
            .order_by(AuditEvent.at, AuditEvent.id)
        )
        return list(rows.scalars())


@pytest.fixture
async def q4(team: Tenant) -> dict[str, Any]:
    return await quarter(team)


async def set_employee(t: Tenant, key: str, **fields: Any) -> dict[str, Any]:
    """PATCH an employee as HR (e.g. `compensation={...}`, `hire_date=...`)."""
    resp = await t.client.patch(f"/api/v1/employees/{t.employees[key]['id']}", headers=t.hr, json=fields)
    assert resp.status_code == 200, resp.text
    t.employees[key] = resp.json()
    return resp.json()


def comp(target_bonus_minor: int | None = None, currency: str = "USD", **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"currency": currency, **extra}
    if target_bonus_minor is not None:
        out["target_bonus_minor"] = target_bonus_minor
    return out
