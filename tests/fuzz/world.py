"""The organization the fuzzers work in: people, a cycle with OKRs, KPIs and an
evaluation, all made through the API, and the ids the fuzzers aim at."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.conftest import Tenant, bearer, make_org
from tests.okr.conftest import check_in, make_cycle, make_kr, make_objective

TOKEN_TTL = 86400  # a long `make fuzz` run outlives the default access-token lifetime


@dataclass
class World:
    tenant: Tenant
    hr: dict[str, str]
    employee: dict[str, str]
    # Path parameter name -> ids of real resources the fuzzers substitute for random ones.
    ids: dict[str, list[str]] = field(default_factory=dict)

    def add(self, name: str, value: Any) -> None:
        self.ids.setdefault(name, []).append(str(value))


async def _post(t: Tenant, path: str, body: dict[str, Any], expect: int = 201) -> dict[str, Any]:
    resp = await t.client.post(path, headers=t.hr, json=body)
    assert resp.status_code == expect, (path, resp.status_code, resp.text)
    return resp.json()


async def build_world(client: httpx.AsyncClient) -> World:
    t = Tenant(org_id=await make_org("Fuzz Org"), client=client)
    dept = await _post(t, "/api/v1/departments", {"name": "Sales"})
    pos = await _post(t, "/api/v1/positions", {"name": "Account executive", "level": "3"})
    await t.add_employee(
        "boss",
        department_id=dept["id"],
        position_id=pos["id"],
        compensation={"base_salary_minor": 12000000, "currency": "USD"},
    )
    await t.add_employee("alice", manager="boss", department_id=dept["id"], position_id=pos["id"])
    await t.add_employee("bob", manager="boss")
    world = World(
        tenant=t,
        hr=bearer(t.token(["hr"], ttl=TOKEN_TTL)),
        employee=bearer(t.token(["employee"], emp=t.employees["alice"]["id"], ttl=TOKEN_TTL)),
    )
    world.add("department_id", dept["id"])
    world.add("position_id", pos["id"])
    for key in ("boss", "alice", "bob"):
        world.add("employee_id", t.employees[key]["id"])

    cycle = await make_cycle(t)
    world.add("cycle_id", cycle["id"])
    objective = await make_objective(t, cycle, "alice", level="individual", title="Grow the pipeline")
    world.add("objective_id", objective["id"])
    kr = await make_kr(t, objective, title="Qualified leads", start="0", target="100")
    await make_kr(t, objective, title="Demos booked", start="0", target="20")
    world.add("key_result_id", kr["id"])
    await check_in(t, kr, value="10", confidence=7)

    definition = await _post(
        t,
        "/api/v1/kpi-definitions",
        {"code": "revenue", "name": "Revenue", "direction": "higher_is_better", "aggregation": "sum"},
    )
    world.add("definition_id", definition["id"])
    assignment = await _post(
        t,
        "/api/v1/kpi-assignments",
        {
            "employee_id": t.employees["alice"]["id"],
            "cycle_id": cycle["id"],
            "definition_id": definition["id"],
            "method": "banded",
            "threshold": "50",
            "target": "100",
            "stretch": "150",
            "weight": "1",
        },
    )
    world.add("assignment_id", assignment["id"])
    await _post(
        t, f"/api/v1/kpi-assignments/{assignment['id']}/measurements", {"value": "40", "measured_at": "2026-03-01"}
    )
    template = await _post(
        t,
        "/api/v1/kpi-templates",
        {
            "position_id": pos["id"],
            "items": [
                {"definition_id": definition["id"], "weight": "1", "threshold": "50", "target": "100", "stretch": "150"}
            ],
        },
    )
    world.add("template_id", template["id"])

    evaluation = await _post(
        t, "/api/v1/evaluations", {"employee_id": t.employees["alice"]["id"], "cycle_id": cycle["id"]}
    )
    world.add("evaluation_id", evaluation["id"])
    world.add("measured_at", "2026-03-01")
    world.add("org", uuid.UUID(str(t.org_id)))
    return world
