"""Who may do what on every KPI route (service/authz/policy.py, KPI section), as one
table: route x caller -> status. A refused call changes nothing, an allowed write
changes something, another organization's admin never sees this organization's rows,
and a permitted list shows exactly what the caller may read."""

from __future__ import annotations

import uuid
from functools import partial
from typing import Any

import pytest

from tests import authz_matrix
from tests.authz_matrix import Matrix, Route, World, served_routes
from tests.authz_worlds import worlds_of
from tests.conftest import Tenant
from tests.kpi.conftest import make_assignment, make_cycle, make_definition, measure


async def build_world(team: Tenant, other_tenant: Tenant) -> World:
    """team: boss → lead → (alice, bob); carol → boss; dave → erin. The KPI is alice's."""
    await team.add_employee("erin", manager="dave")
    cycle = await make_cycle(team)
    gmv = await make_definition(team, "GMV", "higher_is_better", "sum")
    nps = await make_definition(team, "NPS", "higher_is_better", "last")
    asg = await make_assignment(team, "alice", cycle, gmv, method="ratio", target=100)
    m = await measure(team, asg, 5, "2026-10-02")
    pos = (await team.client.post("/api/v1/positions", headers=team.hr, json={"name": "Spec"})).json()
    tpl = await team.client.post(
        "/api/v1/kpi-templates",
        headers=team.hr,
        json={"position_id": pos["id"], "items": [{"definition_id": nps["id"], "method": "ratio", "target": 10}]},
    )
    assert tpl.status_code == 201, tpl.text
    placed = await team.client.patch(
        f"/api/v1/employees/{team.employees['alice']['id']}", headers=team.hr, json={"position_id": pos["id"]}
    )
    assert placed.status_code == 200, placed.text
    w = World(tenant=team, other=other_tenant)
    w.ids = {
        "org": str(team.org_id),
        "alice": team.employees["alice"]["id"],
        "alice_ext": team.employees["alice"]["external_id"],
        "cycle": cycle["id"],
        "gmv": gmv["id"],
        "nps": nps["id"],
        "asg": asg["id"],
        "meas": m["id"],
        "pos": pos["id"],
        "tpl": tpl.json()["id"],
    }
    return w


CALLERS = [
    "admin",
    "hr",
    "auditor",
    "subject",
    "manager",
    "indirect_manager",
    "manager_elsewhere",
    "other_employee",
    "kpi:write",
    "employees:write",
    "payroll:read",
    "other_admin",
    "anonymous",
]
PERSONS = ("admin", "hr", "auditor", "subject", "manager", "indirect_manager", "manager_elsewhere", "other_employee")
OTHER_SCOPES = ("employees:write", "payroll:read")
CLIENTS = ("kpi:write", *OTHER_SCOPES)
STAFF = ("admin", "hr")
MANAGERS = ("manager", "indirect_manager")
READERS = (*STAFF, "auditor", "subject", *MANAGERS, "kpi:write")
HIDDEN = ("manager_elsewhere", "other_employee", *OTHER_SCOPES, "other_admin")


@pytest.fixture
async def world(team: Tenant, other_tenant: Tenant) -> World:
    return await build_world(team, other_tenant)


WORLDS = worlds_of(build_world)


EMPLOYEES = {
    "subject": "alice",
    "manager": "lead",
    "indirect_manager": "boss",
    "manager_elsewhere": "dave",
    "other_employee": "bob",
}


def headers_for(w: World, caller: str) -> dict[str, str]:
    return authz_matrix.headers_for(w, caller, EMPLOYEES)


cells = partial(authz_matrix.cells, CALLERS)


LIBRARY_LIST = cells(200, {OTHER_SCOPES: 403})
LIBRARY_ITEM = cells(200, {(*OTHER_SCOPES, "other_admin"): 404})
LIBRARY_POST = cells(403, {(*STAFF, "other_admin"): 201})
LIBRARY_PATCH = cells(403, {STAFF: 200, (*OTHER_SCOPES, "other_admin"): 404})
TEMPLATE_LIST = cells(200, {CLIENTS: 403})
TEMPLATE_ITEM = cells(200, {(*CLIENTS, "other_admin"): 404})
TEMPLATE_POST = cells(403, {STAFF: 201, "other_admin": 422})
TEMPLATE_PATCH = cells(403, {STAFF: 200, (*CLIENTS, "other_admin"): 404})
TEMPLATE_APPLY = cells(403, {(*STAFF, *MANAGERS): 201, (*CLIENTS, "other_admin"): 404})
TEMPLATES_RESOLVED_APPLY = cells(403, {(*STAFF, *MANAGERS): 201, "other_admin": 422})
ASSIGNMENT_LIST = cells(200, {OTHER_SCOPES: 403})
ASSIGNMENT_POST = cells(403, {(*STAFF, *MANAGERS): 201, "other_admin": 422})
ASSIGNMENT_READ = cells(404, {READERS: 200})


def assignment_write(code: int) -> dict[str, int]:
    return cells(404, {(*STAFF, *MANAGERS): code, ("subject", "auditor", "kpi:write"): 403})


def measurement_write(code: int) -> dict[str, int]:
    return cells(404, {(*STAFF, *MANAGERS, "kpi:write"): code, ("subject", "auditor"): 403})


BULK = cells(403, {(*STAFF, "kpi:write", "other_admin"): 200})


def _new_definition(_w: World) -> dict[str, Any]:
    return {
        "code": f"K{uuid.uuid4().hex[:8]}",
        "name": "New KPI",
        "direction": "higher_is_better",
        "aggregation": "sum",
    }


A = "/api/v1/kpi-assignments/{asg}"
ROUTES = [
    Route("defs.list", "GET", "/api/v1/kpi-definitions", LIBRARY_LIST, shows=("gmv",)),
    Route(
        "defs.post",
        "POST",
        "/api/v1/kpi-definitions",
        LIBRARY_POST,
        _new_definition,
        probe="/api/v1/kpi-definitions",
        writers=STAFF,
    ),
    Route("defs.get", "GET", "/api/v1/kpi-definitions/{gmv}", LIBRARY_ITEM, shows=("gmv",)),
    Route(
        "defs.patch",
        "PATCH",
        "/api/v1/kpi-definitions/{gmv}",
        LIBRARY_PATCH,
        {"name": "Renamed"},
        probe="/api/v1/kpi-definitions/{gmv}",
        writers=STAFF,
    ),
    Route("templates.list", "GET", "/api/v1/kpi-templates", TEMPLATE_LIST, shows=("tpl",)),
    Route(
        "templates.post",
        "POST",
        "/api/v1/kpi-templates",
        TEMPLATE_POST,
        lambda w: {"position_id": w.ids["pos"], "items": []},
        probe="/api/v1/kpi-templates",
        writers=STAFF,
    ),
    Route("templates.get", "GET", "/api/v1/kpi-templates/{tpl}", TEMPLATE_ITEM, shows=("tpl",)),
    Route(
        "templates.patch",
        "PATCH",
        "/api/v1/kpi-templates/{tpl}",
        TEMPLATE_PATCH,
        {"name": "Renamed"},
        probe="/api/v1/kpi-templates/{tpl}",
        writers=STAFF,
    ),
    Route(
        "templates.apply",
        "POST",
        "/api/v1/kpi-templates/{tpl}/apply",
        TEMPLATE_APPLY,
        lambda w: {"cycle_id": w.ids["cycle"], "employee_ids": [w.ids["alice"]]},
        probe="/api/v1/kpi-assignments?employee_id={alice}",
        writers=(*STAFF, *MANAGERS),
    ),
    Route(
        "templates.apply_resolved",
        "POST",
        "/api/v1/kpi-templates/apply",
        TEMPLATES_RESOLVED_APPLY,
        lambda w: {"cycle_id": w.ids["cycle"], "employee_ids": [w.ids["alice"]]},
        probe="/api/v1/kpi-assignments?employee_id={alice}",
        writers=(*STAFF, *MANAGERS),
    ),
    Route("assignments.list", "GET", "/api/v1/kpi-assignments", ASSIGNMENT_LIST),
    Route(
        "assignments.post",
        "POST",
        "/api/v1/kpi-assignments",
        ASSIGNMENT_POST,
        lambda w: {
            "employee_id": w.ids["alice"],
            "cycle_id": w.ids["cycle"],
            "definition_id": w.ids["nps"],
            "method": "ratio",
            "target": 1,
        },
        probe="/api/v1/kpi-assignments?employee_id={alice}",
        writers=(*STAFF, *MANAGERS),
    ),
    Route("assignments.get", "GET", A, ASSIGNMENT_READ, shows=("asg", "gmv")),
    Route("assignments.patch", "PATCH", A, assignment_write(200), {"weight": 3}, probe=A, writers=(*STAFF, *MANAGERS)),
    Route(
        "assignments.delete",
        "DELETE",
        A,
        assignment_write(204),
        probe="/api/v1/kpi-assignments?employee_id={alice}",
        writers=(*STAFF, *MANAGERS),
    ),
    Route("measurements.list", "GET", A + "/measurements", ASSIGNMENT_READ, shows=("meas",)),
    Route(
        "measurements.post",
        "POST",
        A + "/measurements",
        measurement_write(201),
        {"value": 7, "measured_at": "2026-10-03"},
        probe=A + "/measurements",
        writers=(*STAFF, *MANAGERS, "kpi:write"),
    ),
    Route(
        "measurements.put",
        "PUT",
        A + "/measurements/2026-10-04",
        measurement_write(201),
        {"value": 9},
        probe=A + "/measurements",
        writers=(*STAFF, *MANAGERS, "kpi:write"),
    ),
    Route(
        "measurements.delete",
        "DELETE",
        A + "/measurements/2026-10-02",
        measurement_write(204),
        probe=A + "/measurements",
        writers=(*STAFF, *MANAGERS, "kpi:write"),
    ),
    Route(
        "measurements.bulk",
        "POST",
        "/api/v1/kpi-measurements/bulk",
        BULK,
        lambda w: {
            "rows": [
                {"assignment_id": w.ids["asg"], "value": 1, "measured_at": "2026-10-05"},
                {
                    "employee_external_id": w.ids["alice_ext"],
                    "kpi_code": "GMV",
                    "cycle_id": w.ids["cycle"],
                    "value": 2,
                    "measured_at": "2026-10-06",
                },
            ]
        },
        probe=A + "/measurements",
        writers=(*STAFF, "kpi:write"),
    ),
]
MATRIX = Matrix(CALLERS, ROUTES, WORLDS, headers_for)


def test_table_covers_every_kpi_route_and_caller():
    assert len(served_routes(lambda path: "/kpi" in path)) == len(ROUTES)
    MATRIX.assert_complete()


@pytest.mark.parametrize(("route", "caller"), MATRIX.cases())
async def test_matrix(client: Any, route: Route, caller: str):
    await MATRIX.check(client, route, caller)


@pytest.mark.parametrize("caller", [c for c in CALLERS if ASSIGNMENT_LIST[c] == 200])
async def test_assignment_list_shows_exactly_what_the_caller_may_read(world: World, caller: str):
    resp = await world.tenant.client.get("/api/v1/kpi-assignments", headers=headers_for(world, caller))
    ids = [a["id"] for a in resp.json()["items"]]
    assert ids == ([world.ids["asg"]] if caller in READERS else []), caller


async def test_employee_sees_own_and_managers_see_subtree_in_lists(world: World):
    t = world.tenant
    cycle = {"id": world.ids["cycle"]}
    d = {"id": world.ids["nps"]}
    bob = await make_assignment(t, "bob", cycle, d, method="ratio", target=1)
    carol = await make_assignment(t, "carol", cycle, d, method="ratio", target=1)
    erin = await make_assignment(t, "erin", cycle, d, method="ratio", target=1)

    async def listed(who: str) -> set[str]:
        resp = await t.client.get("/api/v1/kpi-assignments", headers=t.employee(who))
        return {a["id"] for a in resp.json()["items"]}

    assert await listed("bob") == {bob["id"]}
    assert await listed("lead") == {world.ids["asg"], bob["id"]}
    assert await listed("boss") == {world.ids["asg"], bob["id"], carol["id"]}
    assert await listed("dave") == {erin["id"]}
    assert await listed("erin") == {erin["id"]}
    filtered = await t.client.get(
        "/api/v1/kpi-assignments", headers=t.employee("boss"), params={"employee_id": world.ids["alice"]}
    )
    assert [a["id"] for a in filtered.json()["items"]] == [world.ids["asg"]]


async def test_kpi_client_reads_what_it_needs_and_nothing_else(world: World):
    t, ids = world.tenant, world.ids
    h = t.as_scope("kpi:write")
    assert (await t.client.get(f"/api/v1/cycles/{ids['cycle']}", headers=h)).status_code == 200
    assert (await t.client.get("/api/v1/cycles", headers=h)).status_code == 200
    assert (await t.client.get("/api/v1/employees", headers=h)).status_code == 403
    emp = await t.client.get(f"/api/v1/employees/{ids['alice']}", headers=h)
    assert emp.status_code == 404 and "compensation" not in emp.text
    assert (
        await t.client.post(
            "/api/v1/cycles",
            headers=h,
            json={"name": "x", "cadence": "annual", "start_date": "2027-01-01", "end_date": "2027-12-31"},
        )
    ).status_code == 403
    assert (
        await t.client.patch(f"/api/v1/employees/{ids['alice']}", headers=h, json={"given_name": "X"})
    ).status_code == 404
    query = (
        """query($id: ID!) { kpiAssignment(id: $id) { databaseId points employee { id compensation { currency } } } }"""
    )
    resp = await t.client.post("/graphql", headers=h, json={"query": query, "variables": {"id": ids["asg"]}})
    data = resp.json()["data"]["kpiAssignment"]
    assert data["databaseId"] == ids["asg"] and data["employee"] is None


async def test_employee_cannot_report_own_measurements_in_graphql(world: World):
    t = world.tenant
    mutation = """mutation($id: ID!) { recordKpiMeasurement(assignmentId: $id,
                  input: {value: "1", measuredAt: "2026-10-09"}) { id } }"""
    resp = await t.client.post(
        "/graphql", headers=t.employee("alice"), json={"query": mutation, "variables": {"id": world.ids["asg"]}}
    )
    assert resp.json()["errors"][0]["extensions"]["status"] == 403
    hidden = await t.client.post(
        "/graphql", headers=t.employee("bob"), json={"query": mutation, "variables": {"id": world.ids["asg"]}}
    )
    assert hidden.json()["errors"][0]["extensions"]["status"] == 404
