"""Who may do what on every incentive route (service/authz/policy.py, incentives
section), as one table: route x caller -> status. A refused call changes nothing, an
allowed write changes something, another organization's admin never sees this
organization's rows, and pay never reaches a caller who may not see it."""

from __future__ import annotations

from functools import partial
from typing import Any

import httpx
import pytest

from tests import authz_matrix
from tests.authz_matrix import Matrix, Route, World, served_routes
from tests.authz_worlds import worlds_of
from tests.conftest import Tenant
from tests.incentives.conftest import (
    act,
    by_employee,
    comp,
    give_scores,
    make_plan,
    nominate,
    quarter,
    results_of,
    run,
    set_employee,
)


async def build_world(team: Tenant, other_tenant: Tenant) -> World:
    """team: boss → lead → (alice, bob); carol → boss; dave → erin. alice has a draft
    (plan D), an approved (plan A) and a finalized (plan F) bonus, and a draft
    nomination (plan N)."""
    t = team
    await t.add_employee("erin", manager="dave")
    cycle = await quarter(t)
    await give_scores(t, cycle, {"alice": 100})
    await set_employee(t, "alice", compensation=comp(123457))
    plans = {}
    for key in ("D", "A", "F"):
        plans[key] = await make_plan(t, cycle, name=f"Plan {key}")
        await run(t, plans[key])
    alice = {k: by_employee(t, await results_of(t, p))["alice"] for k, p in plans.items()}
    await act(t, alice["A"], "approve")
    await act(t, await act(t, alice["F"], "approve"), "finalize")
    nominate_plan = await make_plan(t, cycle, kind="okr_breakthrough", name="Plan N")
    [nomination_id] = await nominate(t, nominate_plan, "alice")
    w = World(tenant=t, other=other_tenant)
    w.ids = {
        "cycle": cycle["id"],
        "alice": t.employees["alice"]["id"],
        "plan_d": plans["D"]["id"],
        "plan_a": plans["A"]["id"],
        "plan_f": plans["F"]["id"],
        "draft": alice["D"]["id"],
        "approved": alice["A"]["id"],
        "final": alice["F"]["id"],
        "nomination": nomination_id,
        "plan_n": nominate_plan["id"],
    }
    return w


@pytest.fixture
async def world(team: Tenant, other_tenant: Tenant) -> World:
    return await build_world(team, other_tenant)


WORLDS = worlds_of(build_world)

CALLERS = [
    "admin",
    "hr",
    "auditor",
    "subject",
    "manager",
    "indirect_manager",
    "manager_elsewhere",
    "other_employee",
    "payroll:read",
    "payroll:ack",
    "kpi:write",
    "other_admin",
    "anonymous",
]
STAFF = ("admin", "hr")
MANAGERS = ("manager", "indirect_manager")
STRANGERS = ("manager_elsewhere", "other_employee")
PERSONS = (*STAFF, "auditor", "subject", *MANAGERS, *STRANGERS)


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


COLLECTION = cells(200, {("payroll:ack", "kpi:write"): 403})
PLAN_READ = cells(200, {("payroll:ack", "kpi:write", "other_admin"): 404})


def plan_write(code: int) -> dict[str, int]:
    return cells(403, {STAFF: code, ("payroll:ack", "kpi:write", "other_admin"): 404})


def draft_read() -> dict[str, int]:
    return cells(404, {(*STAFF, "auditor", *MANAGERS): 200})


def act_on_draft(code: int) -> dict[str, int]:
    return cells(404, {STAFF: code, ("auditor", *MANAGERS): 403})


FINAL_READ = cells(404, {(*STAFF, "auditor", "subject", *MANAGERS, "payroll:read"): 200})
ADJUST = cells(404, {STAFF: 201, ("auditor", "subject", *MANAGERS, "payroll:read"): 403})
PULL = cells(403, {(*STAFF, "payroll:read", "other_admin"): 200})
ACK = cells(403, {(*STAFF, "payroll:ack"): 200, "other_admin": 404})


PAY_KEYS = (
    "amount_minor",
    "amount",
    "total_minor",
    "money",
    "base_salary_minor",
    "target_bonus_minor",
    "target_bonus_pct",
)


def pay_in(node: Any) -> bool:
    """Whether a JSON document holds any pay: a pay key with a value, anywhere."""
    if isinstance(node, dict):
        return any((k in PAY_KEYS and v is not None) or pay_in(v) for k, v in node.items())
    if isinstance(node, list):
        return any(pay_in(v) for v in node)
    return False


def test_pay_detector_finds_nested_pay():
    assert pay_in({"items": [{"inputs": {"money": {}}}]}) and pay_in([{"amount_minor": 0}])
    assert not pay_in({"items": [{"amount_minor": None, "inputs": {"score": {"final": "96"}}}]})


PAY_SEERS = (*STAFF, "subject", "payroll:read", "payroll:ack")


def no_pay_for_others(_w: World, route: Route, caller: str, resp: httpx.Response) -> None:
    """Pay never reaches a caller who may not see it, in any answer."""
    if caller not in PAY_SEERS and resp.content:
        assert not pay_in(resp.json()), f"{route.name} showed pay to {caller}"


P = "/api/v1/incentive-plans"
R = "/api/v1/incentive-results"
ROUTES = [
    Route("plans.list", "GET", P, COLLECTION),
    Route(
        "plans.post",
        "POST",
        P,
        cells(403, {STAFF: 201, "other_admin": 422}),
        lambda w: {"name": "New", "kind": "short_term_bonus", "cycle_id": w.ids["cycle"]},
        probe=P,
        writers=STAFF,
    ),
    Route("plans.get", "GET", P + "/{plan_d}", PLAN_READ, shows=("plan_d",)),
    Route(
        "plans.patch",
        "PATCH",
        P + "/{plan_d}",
        plan_write(200),
        {"name": "Renamed"},
        probe=P + "/{plan_d}",
        writers=STAFF,
    ),
    Route("plans.run", "POST", P + "/{plan_d}/run", plan_write(200), probe=R + "?plan_id={plan_d}", writers=STAFF),
    Route(
        "plans.approve", "POST", P + "/{plan_d}/approve", plan_write(200), probe=R + "?plan_id={plan_d}", writers=STAFF
    ),
    Route(
        "plans.finalize",
        "POST",
        P + "/{plan_a}/finalize",
        plan_write(200),
        probe=R + "?plan_id={plan_a}",
        writers=STAFF,
    ),
    Route("results.list", "GET", R, COLLECTION),
    Route("results.get_draft", "GET", R + "/{draft}", draft_read(), shows=("draft",)),
    Route("results.get_final", "GET", R + "/{final}", FINAL_READ, shows=("final",)),
    Route("results.approve", "POST", R + "/{draft}/approve", act_on_draft(200), probe=R + "/{draft}", writers=STAFF),
    Route("results.decline", "POST", R + "/{draft}/decline", act_on_draft(200), probe=R + "/{draft}", writers=STAFF),
    Route(
        "results.finalize",
        "POST",
        R + "/{approved}/finalize",
        act_on_draft(200),
        probe=R + "/{approved}",
        writers=STAFF,
    ),
    Route(
        "results.adjust",
        "POST",
        R + "/{final}/adjust",
        ADJUST,
        {"amount_minor": 10, "reason": "fix"},
        probe=R + "?plan_id={plan_f}",
        writers=STAFF,
    ),
    Route("nominations.list", "GET", "/api/v1/nominations", COLLECTION),
    Route("nominations.get", "GET", "/api/v1/nominations/{nomination}", draft_read(), shows=("nomination",)),
    Route(
        "nominations.decide",
        "POST",
        "/api/v1/nominations/{nomination}/decline",
        act_on_draft(200),
        {"comment": "not this year"},
        probe="/api/v1/nominations/{nomination}",
        writers=STAFF,
    ),
    Route("payroll.pull", "GET", "/api/v1/payroll/incentive-results", PULL),
    Route(
        "payroll.ack",
        "POST",
        "/api/v1/payroll/incentive-results/{final}/ack",
        ACK,
        {"payroll_reference": "PR-1"},
        probe=R + "/{final}",
        writers=(*STAFF, "payroll:ack"),
    ),
]
MATRIX = Matrix(CALLERS, ROUTES, WORLDS, headers_for, checks=[no_pay_for_others])


def test_table_covers_every_incentive_route_and_caller():
    served = served_routes(
        lambda p: (
            p.startswith(("/api/v1/incentive", "/api/v1/nominations", "/api/v1/payroll"))
            and not p.endswith("/development-plan")
        )  # a development plan route: tests/development/test_authz.py
    )
    # results/{id}/{action} and nominations/{id}/{decision} serve several rows of the table
    assert len(served) == len(ROUTES) - 3
    MATRIX.assert_complete()


@pytest.mark.parametrize(("route", "caller"), MATRIX.cases())
async def test_matrix(client: Any, route: Route, caller: str):
    await MATRIX.check(client, route, caller)


@pytest.mark.parametrize("caller", [c for c in CALLERS if COLLECTION[c] == 200])
async def test_lists_show_exactly_what_the_caller_may_read(world: World, caller: str):
    everything = {world.ids[k] for k in ("draft", "approved", "final", "nomination")}
    visible = {
        "subject": {world.ids["final"]},
        "manager": everything,
        "indirect_manager": everything,
        "payroll:read": {world.ids["final"]},
        "manager_elsewhere": set(),
        "other_employee": set(),
        "other_admin": set(),
    }.get(caller, everything)
    resp = await world.tenant.client.get(R, headers=headers_for(world, caller), params={"limit": 500})
    items = resp.json()["items"]
    assert {i["id"] for i in items if i["employee_id"] == world.ids["alice"] or caller == "other_admin"} == visible
    for item in items:
        assert item["amount_visible"] == (caller in (*STAFF, "subject", "payroll:read"))
        assert (item["amount_minor"] is None) == (not item["amount_visible"] or item["kind"] == "nomination")
    nominations = await world.tenant.client.get("/api/v1/nominations", headers=headers_for(world, caller))
    expected_nominations = {world.ids["nomination"]} & visible
    assert {n["id"] for n in nominations.json()["items"]} == expected_nominations


async def test_plan_parameters_only_for_those_who_may_see_them(world: World):
    t = world.tenant
    path = f"{P}/{world.ids['plan_d']}"
    for caller, shown in (
        ("hr", True),
        ("auditor", True),
        ("payroll:read", True),
        ("subject", False),
        ("manager", False),
    ):
        resp = await t.client.get(path, headers=headers_for(world, caller))
        assert (resp.json()["params"] is not None) == shown, caller


async def test_graphql_follows_the_same_rules(world: World):
    t = world.tenant
    query = """query($id: ID!) { incentiveResult(id: $id) { id amountMinor amountVisible inputs
               plan { name params } employee { id compensation { baseSalaryMinor } } } }"""

    async def ask(caller: str, key: str) -> dict[str, Any]:
        resp = await t.client.post(
            "/graphql", headers=headers_for(world, caller), json={"query": query, "variables": {"id": world.ids[key]}}
        )
        return resp.json()

    rest = (await t.client.get(f"{R}/{world.ids['final']}", headers=t.hr)).json()
    assert rest["amount_minor"] == 148148  # 123457 × 1.2 (rating A)
    hr = (await ask("hr", "final"))["data"]["incentiveResult"]
    assert hr["amountMinor"] == 148148 and hr["plan"]["params"] is not None and "money" in hr["inputs"]
    lead = (await ask("manager", "final"))["data"]["incentiveResult"]
    assert lead["amountMinor"] is None and not lead["amountVisible"] and "money" not in lead["inputs"]
    assert lead["plan"]["params"] is None and lead["employee"]["compensation"] is None
    subject = (await ask("subject", "final"))["data"]["incentiveResult"]
    assert subject["amountMinor"] == 148148
    hidden = await ask("subject", "draft")
    assert hidden["data"] is None and hidden["errors"][0]["extensions"]["status"] == 404
    stranger = await ask("other_employee", "final")
    assert stranger["errors"][0]["extensions"]["status"] == 404
    mutation = """mutation($id: ID!) { approveIncentiveResult(id: $id) { status } }"""
    refused = await t.client.post(
        "/graphql",
        headers=headers_for(world, "manager"),
        json={"query": mutation, "variables": {"id": world.ids["draft"]}},
    )
    assert refused.json()["errors"][0]["extensions"]["status"] == 403
    feed = """{ payrollIncentiveResults(first: 5) { edges { node { databaseId amountMinor } } } }"""
    denied = await t.client.post("/graphql", headers=headers_for(world, "auditor"), json={"query": feed})
    assert denied.json()["errors"][0]["extensions"]["status"] == 403
    allowed = await t.client.post("/graphql", headers=headers_for(world, "payroll:read"), json={"query": feed})
    nodes = [e["node"] for e in allowed.json()["data"]["payrollIncentiveResults"]["edges"]]
    assert nodes == [{"databaseId": world.ids["final"], "amountMinor": 148148}]
