"""Who gets which tasks (GET /api/v1/me/tasks), as a table run by tests/authz_matrix.py:
every caller may ask (anonymous: 401), and what each one gets is exactly the work the
workflows wait for them to do: checked cell by cell (`shows_exactly`), with the
harness's own checks (problem+json refusals, nothing of this organization shown to
another organization's admin, nothing changed by asking)."""

from __future__ import annotations

from functools import partial
from typing import Any

import httpx
import pytest

from tests import authz_matrix
from tests.authz_matrix import Matrix, Route, World
from tests.authz_worlds import worlds_of
from tests.conftest import Tenant
from tests.evaluations.conftest import ask, open_evaluation
from tests.okr.conftest import act, make_cycle
from tests.tasks.test_tasks import ready_objective

PEOPLE = {"alice": "alice", "lead": "lead", "boss": "boss", "bob": "bob", "carol": "carol"}
CALLERS = [
    "admin",
    "hr",
    "auditor",
    "hr_person",  # hr who is also an employee (dave)
    *PEOPLE,
    "other_admin",
    "anonymous",
    "employees:write",
    "kpi:write",
    "payroll:read",
    "payroll:ack",
    "webhooks",
    "scim",
]


async def build_world(tenant: Tenant, other: Tenant) -> World:
    """alice submitted an objective (lead and boss may approve it, and hr); her evaluation
    is not started (her self review) and bob is asked for peer feedback on it."""
    cycle = await make_cycle(tenant, status="review")
    obj = await ready_objective(tenant, cycle, "alice", "Grow ARR")
    await act(tenant, obj, "submit", tenant.employee("alice"))
    ev = await open_evaluation(tenant, "alice", cycle)
    req = await ask(tenant, ev, "bob", tenant.employee("lead"))
    w = World(tenant=tenant, other=other)
    w.ids = {"org": str(tenant.org_id), "obj": obj["id"], "ev": ev["id"], "req": req["id"]}
    w.ids.update({k: v["id"] for k, v in tenant.employees.items()})
    return w


WORLDS = worlds_of(build_world)


def headers_for(w: World, caller: str) -> dict[str, str]:
    if caller == "hr_person":
        return w.tenant.as_("hr", emp=w.ids["dave"])
    return authz_matrix.headers_for(w, caller, PEOPLE)


# caller -> the subjects (names of the world's ids) of their tasks; everyone else: none
SUBJECTS: dict[str, set[str]] = {
    "lead": {"obj"},  # direct manager
    "boss": {"obj"},  # indirect manager
    "hr_person": {"obj"},  # hr approve anyone's
    "alice": {"ev"},  # her self review; never the request about her
    "bob": {"req"},  # the reviewer
}


def shows_exactly(w: World, route: Route, caller: str, resp: httpx.Response) -> None:
    if resp.status_code != 200:
        return
    got = {x["subject"]["id"] for x in resp.json()["items"]}
    assert got == {w.ids[k] for k in SUBJECTS.get(caller, set())}, f"{caller}: {resp.json()['items']}"
    if caller == "alice":  # the evaluated person never learns who reviews her
        assert w.ids["bob"] not in resp.text and "Bob" not in resp.text


cells = partial(authz_matrix.cells, CALLERS)
ROUTES = [Route("me.tasks", "GET", "/api/v1/me/tasks", cells(200, {}), probe="/api/v1/objectives/{obj}")]
MATRIX = Matrix(CALLERS, ROUTES, WORLDS, headers_for, checks=[shows_exactly])


def test_table_covers_every_route_and_caller():
    MATRIX.assert_complete()
    served = authz_matrix.served_routes(lambda p: p.startswith("/api/v1/me/tasks"))
    assert served == {(r.method, r.path) for r in ROUTES}


@pytest.mark.parametrize(("route", "caller"), MATRIX.cases())
async def test_matrix(client: Any, route: Route, caller: str):
    await MATRIX.check(client, route, caller)
