"""Who may do what on every development plan route (service/authz/policy.py, development
section), as one table: route x caller -> status. The plan is alice's; lead is her direct
manager, boss her indirect one, bob (a colleague outside her chain) owns the plan, dave
manages someone else and carol is another employee. A refused call changes nothing, an
allowed write changes something, another organization's admin never sees this
organization's ids, and a permitted read shows what the route is about."""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest

from tests import authz_matrix
from tests.authz_matrix import Matrix, Route, World, served_routes
from tests.authz_worlds import worlds_of
from tests.conftest import Tenant
from tests.development.conftest import DP, nominations
from tests.kpi.conftest import make_cycle

CALLERS = [
    "admin",
    "hr",
    "auditor",
    "subject",
    "manager",
    "indirect_manager",
    "owner",
    "manager_elsewhere",
    "other_employee",
    "kpi:write",
    "employees:write",
    "other_admin",
    "anonymous",
]
EMPLOYEES = {
    "subject": "alice",
    "manager": "lead",
    "indirect_manager": "boss",
    "owner": "bob",
    "manager_elsewhere": "dave",
    "other_employee": "carol",
}
CLIENTS = ("kpi:write", "employees:write")
STAFF = ("admin", "hr")
MANAGERS = ("manager", "indirect_manager")
WRITERS = (*STAFF, *MANAGERS, "owner")
READERS = (*WRITERS, "auditor", "subject")


def headers_for(w: World, caller: str) -> dict[str, str]:
    return authz_matrix.headers_for(w, caller, EMPLOYEES)


cells = partial(authz_matrix.cells, CALLERS)


async def build_world(team: Tenant, other: Tenant) -> World:
    """alice's plan, owned by bob, with one item; alice's draft nomination without a plan."""
    t = team
    await t.add_employee("erin", manager="dave")
    cycle = await make_cycle(t, status="review")
    resp = await t.client.post(
        DP,
        headers=t.hr,
        json={
            "employee_id": t.employees["alice"]["id"],
            "owner_id": t.employees["bob"]["id"],
            "cycle_id": cycle["id"],
            "title": "Grow into a lead role",
            "status": "active",
            "items": [{"kind": "training", "title": "Negotiation course", "due_date": "2027-02-01"}],
        },
    )
    assert resp.status_code == 201, resp.text
    plan = resp.json()
    [nomination] = await nominations(t, cycle, "alice", status="draft")
    w = World(tenant=t, other=other)
    w.ids = {
        "org": str(t.org_id),
        **{k: v["id"] for k, v in t.employees.items()},
        "cycle": cycle["id"],
        "plan": plan["id"],
        "item": plan["items"][0]["id"],
        "nomination": nomination,
    }
    return w


COLLECTION = cells(200, {CLIENTS: 403})
READ = cells(404, {READERS: 200})
CREATE = cells(404, {(*STAFF, *MANAGERS): 201, ("auditor", "subject"): 403, "other_admin": 422})
WRITE = cells(404, {WRITERS: 200, ("auditor", "subject"): 403})
ADD = cells(404, {WRITERS: 201, ("auditor", "subject"): 403})
ITEM_STATUS = cells(404, {(*WRITERS, "subject"): 200, "auditor": 403})
NOMINATION = cells(404, {(*STAFF, *MANAGERS): 201, "auditor": 403})

PLAN = DP + "/{plan}"
ITEM = PLAN + "/items/{item}"
ROUTES = [
    Route("plans.list", "GET", DP, COLLECTION),
    Route(
        "plans.post",
        "POST",
        DP,
        CREATE,
        body={"employee_id": "{alice}", "title": "Lead the Q1 launch"},
        probe=DP + "?employee_id={alice}",
        writers=(*STAFF, *MANAGERS),
    ),
    Route("plans.get", "GET", PLAN, READ, shows=("plan", "alice", "item")),
    Route("plans.patch", "PATCH", PLAN, WRITE, body={"goals": ["Present at the offsite"]}, probe=PLAN, writers=WRITERS),
    Route(
        "items.post",
        "POST",
        PLAN + "/items",
        ADD,
        body={"kind": "mentoring", "title": "Weekly 1:1"},
        probe=PLAN,
        writers=WRITERS,
    ),
    Route(
        "items.patch_status",
        "PATCH",
        ITEM,
        ITEM_STATUS,
        body={"status": "in_progress"},
        probe=PLAN,
        writers=(*WRITERS, "subject"),
    ),
    Route(
        "items.patch",
        "PATCH",
        ITEM,
        WRITE,
        body={"title": "Advanced negotiation"},
        probe=PLAN,
        writers=WRITERS,
    ),
    Route(
        "nominations.development_plan",
        "POST",
        "/api/v1/nominations/{nomination}/development-plan",
        NOMINATION,
        probe=DP + "?nomination_id={nomination}",
        writers=(*STAFF, *MANAGERS),
    ),
]


def test_table_covers_every_route_and_caller():
    served = served_routes(lambda p: p.startswith(DP) or p.endswith("/development-plan"))
    table = {
        (
            r.method,
            r.path.replace("{plan}", "{development_plan_id}")
            .replace("{item}", "{item_id}")
            .replace("{nomination}", "{nomination_id}"),
        )
        for r in ROUTES
    }
    assert served == table
    MATRIX.assert_complete()


WORLDS = worlds_of(build_world)
MATRIX = Matrix(CALLERS, ROUTES, WORLDS, headers_for, probe_ignores=("updated_at",))


@pytest.mark.parametrize(("route", "caller"), MATRIX.cases())
async def test_matrix(client: Any, route: Route, caller: str):
    await MATRIX.check(client, route, caller)


@pytest.mark.parametrize("caller", [c for c in CALLERS if COLLECTION[c] == 200])
async def test_lists_show_exactly_what_the_caller_may_read(client: Any, caller: str):
    w = await WORLDS.shared(client)
    resp = await w.tenant.client.get(DP, headers=headers_for(w, caller))
    assert resp.status_code == 200, resp.text
    ids = [p["id"] for p in resp.json()["items"]]
    assert ids == ([w.ids["plan"]] if caller in READERS else []), caller
