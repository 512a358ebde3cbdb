"""Who may do what on every evaluation, 360, calibration, interview and review-meeting
route (service/authz/policy.py, evaluation section), as one table: route x caller ->
status. The subject is alice; lead is her direct manager, boss her indirect one, dave
manages someone else, carol is another employee, bob a colleague asked for 360 feedback
on alice. A refused call changes nothing, an allowed write changes something, another
organization's admin never sees this organization's ids, and a permitted read shows
what the route is about."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import pytest

from tests import authz_matrix
from tests.authz_matrix import Matrix, World, served_routes
from tests.authz_worlds import SharedWorlds
from tests.conftest import Tenant, make_team, new_tenant
from tests.evaluations.conftest import E, act, ask, open_evaluation, transition
from tests.kpi.conftest import make_cycle

CALLERS = [
    "admin",
    "hr",
    "auditor",
    "subject",
    "manager",
    "indirect_manager",
    "manager_elsewhere",
    "other_employee",
    "reviewer",
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
    "reviewer": "bob",
}
CLIENTS = ("kpi:write", "employees:write")
STAFF = ("admin", "hr")
MANAGERS = ("manager", "indirect_manager")
READERS = (*STAFF, "auditor", "subject", *MANAGERS)
STRANGERS = ("manager_elsewhere", "other_employee", "reviewer", *CLIENTS, "other_admin")
PERSONS = (*READERS, "manager_elsewhere", "other_employee", "reviewer")


def headers_for(w: World, caller: str) -> dict[str, str]:
    return authz_matrix.headers_for(w, caller, EMPLOYEES)


cells = partial(authz_matrix.cells, CALLERS)


# --- the world, built per route as far as the route needs ---------------------------------------


async def base(team: Tenant, other: Tenant) -> World:
    await team.add_employee("erin", manager="dave")
    w = World(tenant=team, other=other)
    w.ids = {"org": str(team.org_id), **{k: v["id"] for k, v in team.employees.items()}}
    return w


async def stage_open(w: World) -> None:
    """A cycle in review; alice's evaluation not started; bob asked by lead."""
    t = w.tenant
    cycle = await make_cycle(t, status="review")
    ev = await open_evaluation(t, "alice", cycle)
    req = await ask(t, ev, "bob", t.employee("lead"))
    w.ids.update(cycle=cycle["id"], ev=ev["id"], req=req["id"])


async def stage_fresh(w: World) -> None:
    """A cycle in review where alice has nothing yet."""
    cycle = await make_cycle(w.tenant, status="review")
    w.ids.update(cycle=cycle["id"])


async def stage_self(w: World) -> None:
    await stage_open(w)
    await act(w.tenant, {"id": w.ids["ev"]}, "submit_self", w.tenant.employee("alice"), self_review={"rating": 4})


async def _reviewed(w: World) -> None:
    await stage_self(w)
    await act(w.tenant, {"id": w.ids["ev"]}, "submit_manager", w.tenant.employee("lead"), manager_review={"rating": 4})
    await transition(w.tenant, {"id": w.ids["cycle"]}, "calibration")


async def stage_session(w: World) -> None:
    """The cycle in calibration, alice reviewed, an open session over her."""
    await _reviewed(w)
    t = w.tenant
    resp = await t.client.post(
        "/api/v1/calibrations",
        headers=t.hr,
        json={"cycle_id": w.ids["cycle"], "name": "Session", "employee_ids": [w.ids["alice"]]},
    )
    assert resp.status_code == 201, resp.text
    w.ids["cal"] = resp.json()["id"]


async def stage_calibrated(w: World) -> None:
    await stage_session(w)
    resp = await w.tenant.client.post(f"/api/v1/calibrations/{w.ids['cal']}/finalize", headers=w.tenant.hr)
    assert resp.status_code == 200, resp.text


async def stage_finalized(w: World) -> None:
    """Alice's evaluation finalized, an interview with its outcome recorded."""
    await stage_calibrated(w)
    t = w.tenant
    await act(t, {"id": w.ids["ev"]}, "finalize", t.employee("lead"))
    await _interview(w, outcome="Agreed a growth plan")


async def _interview(w: World, **fields: Any) -> None:
    t = w.tenant
    resp = await t.client.post(
        "/api/v1/interviews", headers=t.employee("lead"), json={"evaluation_id": w.ids["ev"], "plan": "Talk", **fields}
    )
    assert resp.status_code == 201, resp.text
    w.ids["iv"] = resp.json()["id"]


async def stage_interview(w: World) -> None:
    await stage_open(w)
    await _interview(w)


async def stage_meeting(w: World) -> None:
    await stage_open(w)
    t = w.tenant
    resp = await t.client.post(
        "/api/v1/review-meetings",
        headers=t.employee("lead"),
        json={"subject": {"kind": "evaluation", "id": w.ids["ev"]}, "summary": "Q4 review"},
    )
    assert resp.status_code == 201, resp.text
    w.ids["meeting"] = resp.json()["id"]


# --- expectations --------------------------------------------------------------------------

COLLECTION = cells(200, {CLIENTS: 403})
READ = cells(404, {READERS: 200})
SELF_WRITE = cells(404, {"subject": 200, ("auditor", *STAFF, *MANAGERS): 403})
MANAGER_WRITE = cells(404, {(*STAFF, "manager"): 200, ("auditor", "subject", "indirect_manager"): 403})
CREATE_EVAL = cells(403, {(*STAFF, *MANAGERS): 201, "other_admin": 422})
BULK = cells(403, {STAFF: 201, "other_admin": 422})
ASK = cells(404, {(*STAFF, *MANAGERS, "subject"): 201, "auditor": 403})
ANSWER = cells(404, {"reviewer": 201, READERS: 403})
REQUEST_READ = cells(404, {(*STAFF, "auditor", *MANAGERS, "reviewer"): 200})
DECLINE = cells(404, {"reviewer": 200, (*STAFF, "auditor", *MANAGERS): 403})
CAL_LIST = cells(403, {(*STAFF, "auditor", "other_admin"): 200})
CAL_CREATE = cells(403, {STAFF: 201, "other_admin": 422})
CAL_READ = cells(404, {(*STAFF, "auditor"): 200})
CAL_WRITE = cells(404, {STAFF: 201, "auditor": 403})
CAL_ACT = cells(404, {STAFF: 200, "auditor": 403})
INTERVIEW_CREATE = cells(422, {(*STAFF, *MANAGERS): 201, ("subject", "auditor"): 403})
INTERVIEW_WRITE = cells(404, {(*STAFF, *MANAGERS): 200, ("subject", "auditor"): 403})
MEETING_CREATE = cells(422, {(*STAFF, *MANAGERS): 201, ("subject", "auditor"): 403})
SCORES_LIST = cells(200, {("other_admin", "employees:write"): 404})
RECOMPUTE = cells(403, {STAFF: 200, ("other_admin", "employees:write"): 404})
AMEND = cells(404, {STAFF: 201, ("auditor", "subject", *MANAGERS): 403})


Stage = Callable[[World], Awaitable[None]]


@dataclass(frozen=True)
class Route(authz_matrix.Route):
    stage: Stage = stage_open  # how far the world is built before the call

    def world_key(self) -> Stage:
        return self.stage


EV = E + "/{ev}"
ROUTES = [
    Route("evaluations.list", "GET", E, COLLECTION, stage=stage_open),
    Route(
        "evaluations.post",
        "POST",
        E,
        CREATE_EVAL,
        stage=stage_fresh,
        body=lambda w: {"employee_id": w.ids["alice"], "cycle_id": w.ids["cycle"]},
        probe=E + "?cycle_id={cycle}",
        writers=(*STAFF, *MANAGERS),
    ),
    Route(
        "evaluations.bulk",
        "POST",
        E + "/bulk",
        BULK,
        stage=stage_fresh,
        body=lambda w: {"cycle_id": w.ids["cycle"], "employee_ids": [w.ids["alice"]]},
        probe=E + "?cycle_id={cycle}",
        writers=STAFF,
    ),
    Route("evaluations.get", "GET", EV, READ, stage=stage_open, shows=("ev", "alice")),
    Route(
        "evaluations.patch_self",
        "PATCH",
        EV,
        SELF_WRITE,
        stage=stage_open,
        body={"self_review": {"rating": 3, "comments": "draft"}},
        probe=EV,
        writers=("subject",),
    ),
    Route(
        "evaluations.patch_manager",
        "PATCH",
        EV,
        MANAGER_WRITE,
        stage=stage_open,
        body={"manager_review": {"rating": 3}},
        probe=EV,
        writers=(*STAFF, "manager"),
    ),
    Route(
        "evaluations.submit_self",
        "POST",
        EV + "/submit_self",
        SELF_WRITE,
        stage=stage_open,
        body={"self_review": {"rating": 4}},
        probe=EV,
        writers=("subject",),
    ),
    Route(
        "evaluations.submit_manager",
        "POST",
        EV + "/submit_manager",
        MANAGER_WRITE,
        stage=stage_self,
        body={"manager_review": {"rating": 4}},
        probe=EV,
        writers=(*STAFF, "manager"),
    ),
    Route(
        "evaluations.finalize",
        "POST",
        EV + "/finalize",
        MANAGER_WRITE,
        stage=stage_calibrated,
        probe=EV,
        writers=(*STAFF, "manager"),
    ),
    Route(
        "evaluations.acknowledge",
        "POST",
        EV + "/acknowledge",
        SELF_WRITE,
        stage=stage_finalized,
        body={"comment": "Agreed"},
        probe=EV,
        writers=("subject",),
    ),
    Route("peer_requests.list", "GET", EV + "/peer-requests", READ, stage=stage_open, shows=("req",)),
    Route(
        "peer_requests.post",
        "POST",
        EV + "/peer-requests",
        ASK,
        stage=stage_open,
        body=lambda w: {"reviewer_id": w.ids["carol"]},
        probe=EV + "/peer-requests",
        writers=(*STAFF, *MANAGERS, "subject"),
    ),
    Route("feedback.list", "GET", EV + "/feedback", READ, stage=stage_open),
    Route(
        "feedback.post",
        "POST",
        EV + "/feedback",
        ANSWER,
        stage=stage_open,
        body={"rating": 4, "comments": "Helpful"},
        probe=EV + "/feedback",
        writers=("reviewer",),
    ),
    Route("inbox.list", "GET", "/api/v1/peer-requests", COLLECTION, stage=stage_open),
    Route("inbox.get", "GET", "/api/v1/peer-requests/{req}", REQUEST_READ, stage=stage_open, shows=("req", "bob")),
    Route(
        "inbox.decline",
        "POST",
        "/api/v1/peer-requests/{req}/decline",
        DECLINE,
        stage=stage_open,
        body={"reason": "Not enough contact"},
        probe=EV + "/peer-requests",
        writers=("reviewer",),
    ),
    Route("calibrations.list", "GET", "/api/v1/calibrations", CAL_LIST, stage=stage_session),
    Route(
        "calibrations.post",
        "POST",
        "/api/v1/calibrations",
        CAL_CREATE,
        stage=stage_open,
        body=lambda w: {"cycle_id": w.ids["cycle"], "name": "Ops", "employee_ids": [w.ids["alice"]]},
        probe="/api/v1/calibrations?cycle_id={cycle}",
        writers=STAFF,
    ),
    Route(
        "calibrations.get", "GET", "/api/v1/calibrations/{cal}", CAL_READ, stage=stage_session, shows=("cal", "alice")
    ),
    Route("adjustments.list", "GET", "/api/v1/calibrations/{cal}/adjustments", CAL_READ, stage=stage_session),
    Route(
        "adjustments.post",
        "POST",
        "/api/v1/calibrations/{cal}/adjustments",
        CAL_WRITE,
        stage=stage_session,
        body=lambda w: {"employee_id": w.ids["alice"], "delta": "-2.5", "reason": "Calibrated down"},
        probe="/api/v1/calibrations/{cal}/adjustments",
        writers=STAFF,
    ),
    Route(
        "calibrations.distribution",
        "GET",
        "/api/v1/calibrations/{cal}/distribution",
        CAL_READ,
        stage=stage_session,
        shows=("alice",),
    ),
    Route(
        "calibrations.simulate",
        "POST",
        "/api/v1/calibrations/{cal}/simulate",
        CAL_ACT,
        stage=stage_session,
        body=lambda w: {"adjustments": [{"employee_id": w.ids["alice"], "delta": 5}]},
        probe="/api/v1/calibrations/{cal}/distribution",
    ),
    Route(
        "calibrations.finalize",
        "POST",
        "/api/v1/calibrations/{cal}/finalize",
        CAL_ACT,
        stage=stage_session,
        probe="/api/v1/calibrations/{cal}",
        writers=STAFF,
    ),
    Route("interviews.list", "GET", "/api/v1/interviews", COLLECTION, stage=stage_interview),
    Route(
        "interviews.post",
        "POST",
        "/api/v1/interviews",
        INTERVIEW_CREATE,
        stage=stage_open,
        body=lambda w: {"evaluation_id": w.ids["ev"], "plan": "Plan"},
        probe="/api/v1/interviews?evaluation_id={ev}",
        writers=(*STAFF, *MANAGERS),
    ),
    Route("interviews.get", "GET", "/api/v1/interviews/{iv}", READ, stage=stage_interview, shows=("iv",)),
    Route(
        "interviews.patch",
        "PATCH",
        "/api/v1/interviews/{iv}",
        INTERVIEW_WRITE,
        stage=stage_interview,
        body={"notes": "Noted"},
        probe="/api/v1/interviews/{iv}",
        writers=(*STAFF, *MANAGERS),
    ),
    Route(
        "interviews.acknowledge",
        "POST",
        "/api/v1/interviews/{iv}/acknowledge",
        SELF_WRITE,
        stage=stage_finalized,
        body={"comment": "Signed"},
        probe="/api/v1/interviews/{iv}",
        writers=("subject",),
    ),
    Route("meetings.list", "GET", "/api/v1/review-meetings", COLLECTION, stage=stage_meeting),
    Route(
        "meetings.post",
        "POST",
        "/api/v1/review-meetings",
        MEETING_CREATE,
        stage=stage_open,
        body=lambda w: {"subject": {"kind": "evaluation", "id": w.ids["ev"]}, "gap": "Conversion below target"},
        probe="/api/v1/review-meetings?subject_id={ev}",
        writers=(*STAFF, *MANAGERS),
    ),
    Route("meetings.get", "GET", "/api/v1/review-meetings/{meeting}", READ, stage=stage_meeting, shows=("meeting",)),
    Route(
        "meetings.patch",
        "PATCH",
        "/api/v1/review-meetings/{meeting}",
        INTERVIEW_WRITE,
        stage=stage_meeting,
        body={"cause_analysis": "Traffic dropped"},
        probe="/api/v1/review-meetings/{meeting}",
        writers=(*STAFF, *MANAGERS),
    ),
    # scores and the score of record (alice's result is official once her calibration is finalized)
    Route("scores.list", "GET", "/api/v1/cycles/{cycle}/scores", SCORES_LIST, stage=stage_calibrated),
    Route("scores.get", "GET", "/api/v1/cycles/{cycle}/scores/{alice}", READ, stage=stage_calibrated, shows=("alice",)),
    Route(
        "scores.versions",
        "GET",
        "/api/v1/cycles/{cycle}/scores/{alice}/versions",
        READ,
        stage=stage_calibrated,
        shows=("alice", "cal"),
    ),
    Route(
        "scores.amend",
        "POST",
        "/api/v1/cycles/{cycle}/amendments",
        AMEND,
        stage=stage_calibrated,
        body=lambda w: {"employee_id": w.ids["alice"], "final": "70", "reason": "A KPI actual was wrong"},
        probe="/api/v1/cycles/{cycle}/scores/{alice}/versions",
        writers=STAFF,
    ),
    Route(
        "scores.recompute",
        "POST",
        "/api/v1/cycles/{cycle}/scores/recompute",
        RECOMPUTE,
        stage=stage_calibrated,
        probe="/api/v1/audit-events?entity_type=cycle&entity_id={cycle}",
        writers=STAFF,
    ),
]
MINE = (
    "/evaluations",
    "/peer-requests",
    "/calibrations",
    "/interviews",
    "/review-meetings",
    "/cycles/{cycle_id}/scores",
    "/cycles/{cycle_id}/amendments",
)


def test_table_covers_every_route_and_caller():
    # the briefs of interviews and review meetings have their own table (tests/briefs/test_authz.py)
    served = served_routes(
        lambda p: any(p.startswith("/api/v1" + x) for x in MINE) and not p.endswith(("/brief", "/prefill"))
    )
    table = {
        (
            r.method,
            r.path.replace("{ev}", "{evaluation_id}")
            .replace("{req}", "{request_id}")
            .replace("{cal}", "{calibration_id}")
            .replace("{iv}", "{interview_id}")
            .replace("{meeting}", "{meeting_id}")
            .replace("{cycle}", "{cycle_id}")
            .replace("{alice}", "{employee_id}"),
        )
        for r in ROUTES
    }
    actions = {
        ("POST", "/api/v1/evaluations/{evaluation_id}/" + a)
        for a in ("submit_self", "submit_manager", "finalize", "acknowledge")
    }
    assert served == (table - actions) | {("POST", "/api/v1/evaluations/{evaluation_id}/{action}")}
    assert actions <= table
    MATRIX.assert_complete()


async def _staged(client: Any, stage: Any) -> World:
    w = await base(await make_team(await new_tenant(client)), await new_tenant(client, "Other Org"))
    await stage(w)
    return w


WORLDS = SharedWorlds(_staged)
# A probe's answer is compared without its `updated_at`.
MATRIX = Matrix(CALLERS, ROUTES, WORLDS, headers_for, probe_ignores=("updated_at",))


@pytest.mark.parametrize(("route", "caller"), MATRIX.cases())
async def test_matrix(client: Any, route: Route, caller: str):
    await MATRIX.check(client, route, caller)


@pytest.mark.parametrize("caller", [c for c in CALLERS if COLLECTION[c] == 200])
async def test_lists_show_exactly_what_the_caller_may_read(team: Tenant, other_tenant: Tenant, caller: str):
    w = await base(team, other_tenant)
    await stage_meeting(w)
    await _interview(w)
    t, h = w.tenant, headers_for(w, caller)
    may_read = caller in READERS
    for path, key in ((E, "ev"), ("/api/v1/interviews", "iv"), ("/api/v1/review-meetings", "meeting")):
        ids = [i["id"] for i in (await t.client.get(path, headers=h)).json()["items"]]
        assert ids == ([w.ids[key]] if may_read else []), (caller, path)
    inbox = [i["id"] for i in (await t.client.get("/api/v1/peer-requests", headers=h)).json()["items"]]
    sees_request = caller in (*STAFF, "auditor", *MANAGERS, "reviewer")
    assert inbox == ([w.ids["req"]] if sees_request else []), caller
