"""Who may read which brief and pre-fill a review meeting, as one table run by
tests/authz_matrix.py: route x caller -> status. The world is tests/briefs/conftest.py's
(alice's objective, KPIs, evaluation and review meetings; lead her direct manager, boss
her indirect one, dave a manager of no one in it, carol another employee, bob a
colleague in her department), with an interview of alice and a later review meeting.

A team brief is for any person (what it lists is filtered by what they may read, shown
in tests/briefs/test_briefs.py); a one-on-one, interview or review meeting brief reads
like the person's other subject data; pre-filling is editing the meeting."""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest

from tests import authz_matrix
from tests.authz_matrix import Matrix, Route, World, served_routes
from tests.authz_worlds import worlds_of
from tests.briefs.conftest import build_scene
from tests.conftest import Tenant

CALLERS = [
    "admin",
    "hr",
    "auditor",
    "subject",
    "manager",
    "indirect_manager",
    "manager_elsewhere",
    "other_employee",
    "colleague",
    "kpi:write",
    "employees:write",
    "other_admin",
    "anonymous",
]
EMPLOYEES = {
    "subject": "alice",
    "manager": "lead",
    "indirect_manager": "boss",
    "manager_elsewhere": "dave",
    "other_employee": "carol",
    "colleague": "bob",
}
CLIENTS = ("kpi:write", "employees:write")
STAFF = ("admin", "hr")
MANAGERS = ("manager", "indirect_manager")
READERS = (*STAFF, "auditor", "subject", *MANAGERS)


async def build_world(tenant: Tenant, other: Tenant) -> World:
    s = await build_scene(tenant)
    t = tenant
    iv = await t.client.post(
        "/api/v1/interviews", headers=t.employee("lead"), json={"evaluation_id": s["ev"], "plan": "Talk"}
    )
    assert iv.status_code == 201, iv.text
    meeting = await t.client.post(
        "/api/v1/review-meetings",
        headers=t.employee("lead"),
        json={"subject": {"kind": "evaluation", "id": s["ev"]}, "result_data": {"typed": 1}},
    )
    assert meeting.status_code == 201, meeting.text
    w = World(tenant=tenant, other=other)
    w.ids = {"org": str(tenant.org_id), **s.ids, "iv": iv.json()["id"], "meeting": meeting.json()["id"]}
    return w


WORLDS = worlds_of(build_world)


def headers_for(w: World, caller: str) -> dict[str, str]:
    return authz_matrix.headers_for(w, caller, EMPLOYEES)


cells = partial(authz_matrix.cells, CALLERS)
TEAM = cells(200, {CLIENTS: 403, "other_admin": 404})
PERSON = cells(404, {READERS: 200})
PREFILL = cells(404, {(*STAFF, *MANAGERS): 200, ("subject", "auditor"): 403})
ROUTES = [
    Route("team_brief", "GET", "/api/v1/departments/{dep}/team-brief", TEAM, shows=("lead", "alice", "bob")),
    Route("one_on_one_brief", "GET", "/api/v1/employees/{alice}/one-on-one-brief", PERSON, shows=("alice", "obj")),
    Route("interview_brief", "GET", "/api/v1/interviews/{iv}/brief", PERSON, shows=("iv", "ev")),
    Route("review_meeting_brief", "GET", "/api/v1/review-meetings/{meeting}/brief", PERSON, shows=("earlier", "obj")),
    Route(
        "review_meeting_prefill",
        "POST",
        "/api/v1/review-meetings/{meeting}/prefill",
        PREFILL,
        probe="/api/v1/review-meetings/{meeting}",
        writers=(*STAFF, *MANAGERS),
    ),
]
MATRIX = Matrix(CALLERS, ROUTES, WORLDS, headers_for, probe_ignores=("updated_at",))


def test_table_covers_every_route_and_caller():
    MATRIX.assert_complete()
    # a meeting's brief is in the meetings' table (tests/meetings/test_authz.py)
    served = served_routes(
        lambda p: (p.endswith("brief") and not p.startswith("/api/v1/meetings/")) or p.endswith("/prefill")
    )
    table = {
        (
            r.method,
            r.path.replace("{dep}", "{department_id}")
            .replace("{alice}", "{employee_id}")
            .replace("{iv}", "{interview_id}")
            .replace("{meeting}", "{meeting_id}"),
        )
        for r in ROUTES
    }
    assert served == table


@pytest.mark.parametrize(("route", "caller"), MATRIX.cases())
async def test_matrix(client: Any, route: Route, caller: str):
    await MATRIX.check(client, route, caller)
