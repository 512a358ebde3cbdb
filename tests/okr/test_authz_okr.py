"""Who may do what on every OKR route (SPEC section 10 and service/authz/policy.py), as
one table: route × caller → status. A refused call changes nothing; an allowed write
changes something; another organization's admin never sees a thing of this one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests import authz_matrix
from tests.authz_matrix import Matrix, World
from tests.authz_worlds import SharedWorlds
from tests.conftest import Tenant, make_team, new_tenant
from tests.okr.conftest import act, check_in, make_cycle, make_kr, make_objective

CALLERS = ["admin", "hr", "auditor", "owner", "manager", "elsewhere", "other", "other_admin", "anonymous", "client"]


EMPLOYEES = {
    "owner": "alice",
    "manager": "lead",
    "elsewhere": "dave",  # manages erin, not alice
    "other": "bob",
}


def headers_for(w: World, caller: str) -> dict[str, str]:
    return authz_matrix.headers_for(w, "kpi:write" if caller == "client" else caller, EMPLOYEES)


async def build_world(team: Tenant, other: Tenant, state: str = "draft") -> World:
    """The public objective is walked to `state` (the state a route needs)."""
    await team.add_employee("erin", manager="dave")
    cycle = await make_cycle(team)
    company = await make_objective(team, cycle, "boss", title="Company")
    await make_kr(team, company)
    await make_kr(team, company, title="Second")
    for step in ("submit", "approve", "publish"):
        await act(team, company, step)
    w = World(tenant=team, other=other)
    for key, visibility in (("pub", "public"), ("priv", "private")):
        obj = await make_objective(
            team,
            cycle,
            "alice",
            level="individual",
            parent_id=company["id"],
            visibility=visibility,
            title=f"Alice {visibility}",
        )
        kr = await make_kr(team, obj)
        # the second key results have owners: alice on her public objective, and bob on
        # her private one (which he may not read, so neither may he read his key result)
        owner = team.employees["alice" if visibility == "public" else "bob"]["id"]
        await make_kr(team, obj, title="Second", owner_id=owner)
        await check_in(team, kr, value="10")
        w.ids[key] = obj["id"]
        w.ids[key + "_kr"] = kr["id"]
    w.ids.update(cycle=cycle["id"], alice=team.employees["alice"]["id"], company=company["id"])
    for step in STEPS[state]:
        await act(team, {"id": w.ids["pub"]}, step)
    return w


@pytest.fixture
async def world(team: Tenant, other_tenant: Tenant) -> World:
    return await build_world(team, other_tenant)


async def _world_in(client: Any, state: Any) -> World:
    return await build_world(await make_team(await new_tenant(client)), await new_tenant(client, "Other Org"), state)


WORLDS = SharedWorlds(_world_in)


PEOPLE = ("admin", "hr", "auditor", "owner", "manager", "elsewhere", "other")
PLANNERS = ("admin", "hr", "owner", "manager")


def cells(default: int, **by_caller: int) -> dict[str, int]:
    return authz_matrix.cells(CALLERS, default, by_caller)


def group(names: tuple[str, ...], code: int) -> dict[str, int]:
    return {n: code for n in names}


LIST = cells(200, client=403)
READ_PUB = cells(200, other_admin=404, client=404)
READ_PRIV = cells(404, **group(("admin", "hr", "auditor", "owner", "manager"), 200))
MAP = cells(200, client=403, other_admin=404)  # another organization's cycle is not found


def write_pub(code: int) -> dict[str, int]:
    return cells(403, **group(PLANNERS, code), other_admin=404, client=404)


def write_priv(code: int) -> dict[str, int]:
    return cells(404, **group(PLANNERS, code), auditor=403)


def action(allowed: tuple[str, ...], private: bool = False) -> dict[str, int]:
    base = write_priv(403) if private else write_pub(403)
    return {**base, **group(allowed, 200)}


CREATE = cells(403, **group(PLANNERS, 201), other_admin=422)

# route state: how far the public objective is walked before the call
STEPS = {
    "draft": [],
    "submitted": ["submit"],
    "approved": ["submit", "approve"],
    "published": ["submit", "approve", "publish"],
    "closed": ["submit", "approve", "publish", "close"],
}


@dataclass(frozen=True)
class Route(authz_matrix.Route):
    state: str = "draft"  # how far the public objective is walked before the call
    writes: bool = True  # False: the route only reads, whatever its method

    def world_key(self) -> str:
        return self.state

    def reads_only(self) -> bool:
        return not self.writes

    def changes(self, caller: str) -> bool:
        return self.expected[caller] < 300  # every allowed call of a probed route changes it


def _new_objective(w: World) -> dict[str, Any]:
    return {"title": "New", "level": "individual", "owner_id": w.ids["alice"], "cycle_id": w.ids["cycle"]}


OBJ = "/api/v1/objectives/{pub}"
PRIV = "/api/v1/objectives/{priv}"
KR = "/api/v1/key-results/{pub_kr}"
PKR = "/api/v1/key-results/{priv_kr}"

ROUTES = [
    Route("objectives.list", "GET", "/api/v1/objectives", LIST, writes=False),
    Route(
        "objectives.post",
        "POST",
        "/api/v1/objectives",
        CREATE,
        _new_objective,
        probe="/api/v1/objectives?owner_id={alice}",
    ),
    Route("objective.get", "GET", OBJ, READ_PUB, writes=False),
    Route("objective.get.private", "GET", PRIV, READ_PRIV, writes=False),
    Route("objective.patch", "PATCH", OBJ, write_pub(200), {"title": "Renamed"}, probe=OBJ),
    Route("objective.patch.private", "PATCH", PRIV, write_priv(200), {"title": "Renamed"}, probe=PRIV),
    Route("objective.delete", "DELETE", OBJ, write_pub(204), probe=OBJ),
    Route("objective.delete.private", "DELETE", PRIV, write_priv(204), probe=PRIV),
    Route("objective.alignment", "GET", OBJ + "/alignment", READ_PUB, writes=False),
    Route("objective.alignment.private", "GET", PRIV + "/alignment", READ_PRIV, writes=False),
    Route(
        "cycle.strategy_map", "GET", "/api/v1/cycles/{cycle}/strategy-map", MAP, writes=False, shows=("company", "pub")
    ),
    Route("objective.revisions", "GET", OBJ + "/revisions", READ_PUB, state="published", writes=False),
    Route("objective.revisions.private", "GET", PRIV + "/revisions", READ_PRIV, writes=False),
    Route("objective.submit", "POST", OBJ + "/submit", action(("admin", "hr", "owner")), {}, probe=OBJ),
    Route("objective.submit.private", "POST", PRIV + "/submit", action(("admin", "hr", "owner"), True), {}, probe=PRIV),
    Route(
        "objective.approve",
        "POST",
        OBJ + "/approve",
        action(("admin", "hr", "manager")),
        {},
        state="submitted",
        probe=OBJ,
    ),
    Route(
        "objective.reject",
        "POST",
        OBJ + "/reject",
        action(("admin", "hr", "manager")),
        {"comment": "not yet"},
        state="submitted",
        probe=OBJ,
    ),
    Route("objective.publish", "POST", OBJ + "/publish", action(PLANNERS), None, state="approved", probe=OBJ),
    Route(
        "objective.close", "POST", OBJ + "/close", action(("admin", "hr", "manager")), {}, state="published", probe=OBJ
    ),
    Route(
        "okr-lint.saved",
        "POST",
        "/api/v1/okr-lint",
        cells(200, other_admin=404, client=403),
        {"objective_id": "{pub}"},
        writes=False,
    ),
    Route(
        "okr-lint.saved.private",
        "POST",
        "/api/v1/okr-lint",
        {**READ_PRIV, "client": 403},
        {"objective_id": "{priv}"},
        writes=False,
    ),
    Route(
        "okr-lint.draft",
        "POST",
        "/api/v1/okr-lint",
        cells(200, client=403),
        {"level": "company", "key_results": [{"title": "x", "kind": "boolean"}]},
        writes=False,
    ),
    Route("key-results.list", "GET", "/api/v1/key-results", LIST, writes=False),
    Route(
        "key-results.post",
        "POST",
        "/api/v1/key-results",
        CREATE,
        {"objective_id": "{pub}", "title": "New KR", "kind": "boolean"},
        probe="/api/v1/key-results?objective_id={pub}",
    ),
    Route(
        "key-results.post.private",
        "POST",
        "/api/v1/key-results",
        {**CREATE, "elsewhere": 422, "other": 422},
        {"objective_id": "{priv}", "title": "New KR", "kind": "boolean"},
        probe="/api/v1/key-results?objective_id={priv}",
    ),
    Route("key-result.get", "GET", KR, READ_PUB, writes=False),
    Route("key-result.get.private", "GET", PKR, READ_PRIV, writes=False),
    Route("key-result.patch", "PATCH", KR, write_pub(200), {"title": "Renamed KR"}, probe=KR),
    Route("key-result.patch.private", "PATCH", PKR, write_priv(200), {"title": "Renamed KR"}, probe=PKR),
    Route("key-result.delete", "DELETE", KR, write_pub(204), probe=KR),
    Route(
        "key-result.grade",
        "PATCH",
        KR,
        action(("admin", "hr", "manager")),
        {"grade": "0.5", "grade_reason": "fair"},
        state="closed",
        probe=KR,
    ),
    Route("check-ins.list", "GET", KR + "/check-ins", READ_PUB, writes=False),
    Route("check-ins.list.private", "GET", PKR + "/check-ins", READ_PRIV, writes=False),
    Route("check-ins.post", "POST", KR + "/check-ins", write_pub(201), {"value": "20"}, probe=KR + "/check-ins"),
    Route(
        "check-ins.post.private", "POST", PKR + "/check-ins", write_priv(201), {"value": "20"}, probe=PKR + "/check-ins"
    ),
    # several at once: each item as the single POST, the first refusal's status for all
    Route(
        "check-ins.bulk",
        "POST",
        "/api/v1/check-ins/bulk",
        write_pub(201),
        {"items": [{"key_result_id": "{pub_kr}", "value": "20"}, {"key_result_id": "{pub_kr}", "value": "30"}]},
        probe=KR + "/check-ins",
    ),
    Route(
        "check-ins.bulk.private",
        "POST",
        "/api/v1/check-ins/bulk",
        write_priv(201),
        {"items": [{"key_result_id": "{priv_kr}", "value": "20"}]},
        probe=PKR + "/check-ins",
    ),
    Route(
        "check-ins.bulk.mixed",
        "POST",
        "/api/v1/check-ins/bulk",
        write_pub(201),  # those refused the public one first get its 403, not the private one's 404
        {"items": [{"key_result_id": "{pub_kr}", "value": "20"}, {"key_result_id": "{priv_kr}", "value": "20"}]},
        probe=PKR + "/check-ins",
    ),
]
MATRIX = Matrix(CALLERS, ROUTES, WORLDS, headers_for, probe_as="hr")


def test_table_is_complete():
    MATRIX.assert_complete()


@pytest.mark.parametrize(("route", "caller"), MATRIX.cases())
async def test_matrix(client: Any, route: Route, caller: str):
    await MATRIX.check(client, route, caller)


async def test_lists_show_only_what_the_caller_may_read(world: World):
    w = world
    for caller, sees_private in (
        ("owner", True),
        ("manager", True),
        ("auditor", True),
        ("other", False),
        ("elsewhere", False),
    ):
        items = (await w.tenant.client.get("/api/v1/objectives", headers=headers_for(w, caller))).json()["items"]
        ids = {o["id"] for o in items}
        assert w.ids["pub"] in ids and (w.ids["priv"] in ids) == sees_private, caller
    foreign = (await w.tenant.client.get("/api/v1/objectives", headers=w.other.admin)).json()
    assert foreign == {"items": [], "next_cursor": None}
    foreign_krs = (await w.tenant.client.get("/api/v1/key-results", headers=w.other.admin)).json()
    assert foreign_krs == {"items": [], "next_cursor": None}
