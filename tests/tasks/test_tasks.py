"""Work waiting for the caller (GET /api/v1/me/tasks): each kind appears for the person
the workflow waits for and only them, and disappears once they act; the reviewer of a
peer request sees whom it is about and the evaluated person never sees who reviews them;
other organizations, callers without an employee and anonymous callers; the order, the
paging and the cost in statements."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from tests.conftest import Tenant, make_org, new_tenant, statement_hook
from tests.evaluations.conftest import act as ev_act
from tests.evaluations.conftest import answer, ask, open_evaluation, transition
from tests.okr.conftest import act, check_in, make_cycle, make_kr, make_objective
from tests.tasks.conftest import TASKS, hr_person, kinds, tasks

PEOPLE = ("boss", "lead", "alice", "bob", "carol", "dave")


async def everyone(t: Tenant, **extra: dict[str, str]) -> dict[str, set[tuple[str, str]]]:
    """Each person's tasks (and those of extra callers)."""
    callers = {k: t.employee(k) for k in PEOPLE} | extra
    return {k: await kinds(t, h) for k, h in callers.items()}


async def ready_objective(t: Tenant, cycle: dict[str, Any], owner: str, title: str) -> dict[str, Any]:
    """A company objective of `owner` with two key results: it passes the lint."""
    obj = await make_objective(t, cycle, owner, title=title)
    await make_kr(t, obj, title="Grow revenue from 0 to 100")
    await make_kr(t, obj, title="Sign ten new accounts", start="0", target="10")
    return obj


# --- objective_approval ---------------------------------------------------------------------


async def test_a_submitted_objective_waits_for_whoever_may_approve_it(team: Tenant):
    cycle = await make_cycle(team)
    obj = await ready_objective(team, cycle, "alice", "Grow ARR")
    draft = await ready_objective(team, cycle, "bob", "Still a draft")
    assert all(("objective_approval", obj["id"]) not in v for v in (await everyone(team)).values())

    await act(team, obj, "submit", team.employee("alice"))
    hr_dave = hr_person(team, "dave")
    seen = await everyone(team, hr_dave=hr_dave)
    task = ("objective_approval", obj["id"])
    # the direct and the indirect manager, and hr (who may approve anyone's); never the owner
    assert {k for k, v in seen.items() if task in v} == {"lead", "boss", "hr_dave"}
    assert all(("objective_approval", draft["id"]) not in v for v in seen.values())
    item = next(x for x in await tasks(team, team.employee("lead")) if x["subject"]["id"] == obj["id"])
    assert item == {
        "kind": "objective_approval",
        "subject": {"kind": "objective", "id": obj["id"]},
        "title": "Approve objective 'Grow ARR'",
        "due": None,
        "cycle_id": cycle["id"],
        "links": {"rest": f"POST /api/v1/objectives/{obj['id']}/approve"},
    }

    method, path = item["links"]["rest"].split(" ", 1)  # the link is the call that acts
    resp = await team.client.request(method, path, headers=team.employee("boss"), json={})
    assert resp.status_code == 200, resp.text
    assert all(task not in v for v in (await everyone(team, hr_dave=hr_dave)).values())


async def test_hr_is_not_asked_to_approve_their_own_objective(team: Tenant):
    cycle = await make_cycle(team)
    own = await ready_objective(team, cycle, "dave", "Hire a team")
    await act(team, own, "submit", team.employee("dave"))
    assert ("objective_approval", own["id"]) not in await kinds(team, hr_person(team, "dave"))
    assert ("objective_approval", own["id"]) in await kinds(team, hr_person(team, "carol"))


async def test_a_rejected_objective_and_a_closed_cycle_leave_nothing_to_approve(team: Tenant):
    cycle = await make_cycle(team)
    rejected = await ready_objective(team, cycle, "alice", "Rejected")
    kept = await ready_objective(team, cycle, "bob", "Stuck in a closed cycle")
    for obj, owner in ((rejected, "alice"), (kept, "bob")):
        await act(team, obj, "submit", team.employee(owner))
    assert {("objective_approval", rejected["id"]), ("objective_approval", kept["id"])} <= await kinds(
        team, team.employee("lead")
    )
    await act(team, rejected, "reject", team.employee("lead"), comment="Not measurable")
    assert ("objective_approval", rejected["id"]) not in await kinds(team, team.employee("lead"))
    for to in ("review", "calibration", "closed"):  # approving would answer 409 cycle_locked
        await transition(team, cycle, to)
    assert await kinds(team, team.employee("lead")) == set()
    await act(team, kept, "approve", team.employee("lead"), expect=409)


async def test_an_official_result_locks_its_inputs_out_of_the_list(team: Tenant):
    cycle = await make_cycle(team, status="review")
    alices = await ready_objective(team, cycle, "alice", "Grow ARR")
    bobs = await ready_objective(team, cycle, "bob", "Cut churn")
    for obj, owner in ((alices, "alice"), (bobs, "bob")):
        await act(team, obj, "submit", team.employee(owner))
    ev = await open_evaluation(team, "alice", cycle)
    await ev_act(team, ev, "submit_self", team.employee("alice"), self_review={"rating": 4})
    await ev_act(team, ev, "submit_manager", team.employee("lead"), manager_review={"rating": 4})
    await transition(team, cycle, "calibration")
    session = await team.client.post(
        "/api/v1/calibrations",
        headers=team.hr,
        json={"cycle_id": cycle["id"], "name": "Q4", "employee_ids": [team.employees["alice"]["id"]]},
    )
    assert {("objective_approval", alices["id"]), ("objective_approval", bobs["id"])} <= await kinds(
        team, team.employee("lead")
    )
    fin = await team.client.post(f"/api/v1/calibrations/{session.json()['id']}/finalize", headers=team.hr)
    assert fin.status_code == 200, fin.text  # alice's result is official: her inputs are locked
    assert await kinds(team, team.employee("lead")) == {("objective_approval", bobs["id"])}
    resp = await team.client.post(f"/api/v1/objectives/{alices['id']}/approve", headers=team.employee("lead"))
    assert resp.status_code == 409 and resp.json()["code"] == "cycle_locked"


# --- peer feedback, self and manager reviews ------------------------------------------------


async def test_the_review_workflow_hands_the_work_on(team: Tenant):
    cycle = await make_cycle(team, status="review", name="FY2026")
    ev = await open_evaluation(team, "alice", cycle)
    review = ("self_review", ev["id"])
    assert {k for k, v in (await everyone(team)).items() if review in v} == {"alice"}
    mine = next(x for x in await tasks(team, team.employee("alice")) if x["kind"] == "self_review")
    assert mine["title"] == "Self review for FY2026"
    assert mine["links"]["rest"] == f"POST /api/v1/evaluations/{ev['id']}/submit_self"
    assert mine["subject"] == {"kind": "evaluation", "id": ev["id"]}

    await ev_act(team, ev, "submit_self", team.employee("alice"), self_review={"rating": 4})
    seen = await everyone(team, hr=team.hr)
    # the direct manager writes the manager review: not the indirect one, not hr
    assert {k for k, v in seen.items() if ("manager_review", ev["id"]) in v} == {"lead"}
    assert all(review not in v for v in seen.values())
    item = next(x for x in await tasks(team, team.employee("lead")) if x["kind"] == "manager_review")
    assert item["title"] == "Manager review of Alice Test for FY2026"
    assert item["links"]["rest"] == f"POST /api/v1/evaluations/{ev['id']}/submit_manager"

    await ev_act(team, ev, "submit_manager", team.employee("lead"), manager_review={"rating": 4})
    assert all(x[1] != ev["id"] for v in (await everyone(team)).values() for x in v)


async def test_a_peer_request_names_the_evaluated_person_to_the_reviewer_only(team: Tenant):
    cycle = await make_cycle(team, status="review")
    ev = await open_evaluation(team, "alice", cycle)
    due = (dt.date.today() + dt.timedelta(days=5)).isoformat()
    req = await ask(team, ev, "bob", team.employee("lead"), due_date=due)
    own = await ask(team, ev, "carol", team.employee("alice"))  # one alice asked herself

    seen = await everyone(team)
    assert {k for k, v in seen.items() if ("peer_feedback", req["id"]) in v} == {"bob"}
    assert {k for k, v in seen.items() if ("peer_feedback", own["id"]) in v} == {"carol"}
    item = next(x for x in await tasks(team, team.employee("bob")) if x["kind"] == "peer_feedback")
    assert item == {
        "kind": "peer_feedback",
        "subject": {"kind": "peer_request", "id": req["id"]},
        "title": "Peer feedback for Alice Test",
        "due": due,
        "cycle_id": cycle["id"],
        "links": {"rest": f"POST /api/v1/evaluations/{ev['id']}/feedback"},
    }
    # the evaluated person's own list: her self review, nothing naming a reviewer
    alice = await team.client.get(TASKS, headers=team.employee("alice"))
    assert [x["kind"] for x in alice.json()["items"]] == ["self_review"]
    for reviewer in ("bob", "carol"):
        assert team.employees[reviewer]["id"] not in alice.text
        assert reviewer.title() not in alice.text
    assert req["id"] not in alice.text and own["id"] not in alice.text

    await answer(team, ev, "bob", 4, "Great partner")
    assert ("peer_feedback", req["id"]) not in await kinds(team, team.employee("bob"))
    declined = await team.client.post(f"/api/v1/peer-requests/{own['id']}/decline", headers=team.employee("carol"))
    assert declined.status_code == 200, declined.text
    assert await kinds(team, team.employee("carol")) == set()


async def test_feedback_closes_with_calibration(team: Tenant):
    cycle = await make_cycle(team, status="review")
    ev = await open_evaluation(team, "alice", cycle)
    req = await ask(team, ev, "bob", team.employee("lead"))
    await ev_act(team, ev, "submit_self", team.employee("alice"), self_review={"rating": 4})
    assert ("peer_feedback", req["id"]) in await kinds(team, team.employee("bob"))
    await ev_act(team, ev, "submit_manager", team.employee("lead"), manager_review={"rating": 4})
    assert ("peer_feedback", req["id"]) in await kinds(team, team.employee("bob"))  # still open for feedback
    session = await team.client.post(
        "/api/v1/calibrations",
        headers=team.hr,
        json={"cycle_id": cycle["id"], "name": "Q4", "employee_ids": [team.employees["alice"]["id"]]},
    )
    await transition(team, cycle, "calibration")
    fin = await team.client.post(f"/api/v1/calibrations/{session.json()['id']}/finalize", headers=team.hr)
    assert fin.status_code == 200, fin.text
    assert ("peer_feedback", req["id"]) not in await kinds(team, team.employee("bob"))  # calibrated: closed
    await answer(team, ev, "bob", 4, expect=409)


# --- interviews and calibrations ------------------------------------------------------------


async def calibrated(team: Tenant, name: str = "FY2026") -> tuple[dict[str, Any], dict[str, Any], str]:
    """alice's evaluation reviewed, the cycle in calibration, an open session over her."""
    cycle = await make_cycle(team, status="review", name=name)
    ev = await open_evaluation(team, "alice", cycle)
    await ev_act(team, ev, "submit_self", team.employee("alice"), self_review={"rating": 4})
    await ev_act(team, ev, "submit_manager", team.employee("lead"), manager_review={"rating": 4})
    await transition(team, cycle, "calibration")
    resp = await team.client.post(
        "/api/v1/calibrations",
        headers=team.hr,
        json={"cycle_id": cycle["id"], "name": "Ops", "employee_ids": [team.employees["alice"]["id"]]},
    )
    assert resp.status_code == 201, resp.text
    return cycle, ev, resp.json()["id"]


async def test_an_open_calibration_waits_for_hr_and_admin(team: Tenant):
    cycle, _, session = await calibrated(team)
    task = ("calibration", session)
    hr_dave, admin_carol = hr_person(team, "dave"), team.as_("admin", emp=team.employees["carol"]["id"])
    auditor_boss = team.as_("auditor", emp=team.employees["boss"]["id"])
    seen = await everyone(team, hr_dave=hr_dave, admin_carol=admin_carol, auditor_boss=auditor_boss)
    assert {k for k, v in seen.items() if task in v} == {"hr_dave", "admin_carol"}
    item = next(x for x in await tasks(team, hr_dave) if x["kind"] == "calibration")
    assert item["title"] == "Calibrate 'Ops' for FY2026"
    assert item["links"]["rest"] == f"POST /api/v1/calibrations/{session}/finalize"
    assert item["cycle_id"] == cycle["id"]
    fin = await team.client.post(f"/api/v1/calibrations/{session}/finalize", headers=hr_dave)
    assert fin.status_code == 200, fin.text
    assert task not in await kinds(team, hr_dave)


async def test_an_interview_outcome_waits_for_the_employees_signature(team: Tenant):
    _, ev, session = await calibrated(team)
    assert (await team.client.post(f"/api/v1/calibrations/{session}/finalize", headers=team.hr)).status_code == 200
    planned = await team.client.post(
        "/api/v1/interviews", headers=team.employee("lead"), json={"evaluation_id": ev["id"], "plan": "Talk"}
    )
    assert planned.status_code == 201, planned.text
    await ev_act(team, ev, "finalize", team.employee("lead"))
    assert not any(k == "interview_acknowledgement" for k, _ in await kinds(team, team.employee("alice")))

    held = await team.client.patch(
        f"/api/v1/interviews/{planned.json()['id']}", headers=team.employee("lead"), json={"outcome": "Growth plan"}
    )
    assert held.status_code == 200, held.text
    task = ("interview_acknowledgement", planned.json()["id"])
    assert {k for k, v in (await everyone(team)).items() if task in v} == {"alice"}
    item = next(x for x in await tasks(team, team.employee("alice")) if x["kind"] == task[0])
    assert item["title"] == "Acknowledge the outcome of your performance interview for FY2026"
    method, path = item["links"]["rest"].split(" ", 1)
    assert (await team.client.request(method, path, headers=team.employee("alice"), json={})).status_code == 200
    assert task not in await kinds(team, team.employee("alice"))


async def test_an_outcome_before_finalization_is_not_yet_to_acknowledge(team: Tenant):
    cycle = await make_cycle(team, status="review")
    ev = await open_evaluation(team, "alice", cycle)
    resp = await team.client.post(
        "/api/v1/interviews",
        headers=team.employee("lead"),
        json={"evaluation_id": ev["id"], "plan": "Talk", "outcome": "Early"},
    )
    assert resp.status_code == 201, resp.text
    assert ("interview_acknowledgement", resp.json()["id"]) not in await kinds(team, team.employee("alice"))


# --- check-ins ------------------------------------------------------------------------------


async def published_kr(team: Tenant, cycle: dict[str, Any], **kr: Any) -> dict[str, Any]:
    obj = await ready_objective(team, cycle, "alice", "Grow ARR")
    extra = await make_kr(team, obj, title="Win three partners", start="0", target="3", **kr)
    for action in ("submit", "approve", "publish"):
        await act(team, obj, action)
    return extra


def ago(days: int) -> str:
    return (dt.datetime.now(dt.UTC) - dt.timedelta(days=days)).isoformat()


async def test_a_key_result_without_a_recent_check_in_waits_for_its_owner(team: Tenant):
    start = (dt.date.today() - dt.timedelta(days=60)).isoformat()
    cycle = await make_cycle(team, start=start, end=(dt.date.today() + dt.timedelta(days=30)).isoformat())
    kr = await published_kr(team, cycle)
    bobs = await published_kr(team, cycle, owner_id=team.employees["bob"]["id"])
    assert await kinds(team, team.employee("alice")) == set()  # created today: nothing owed yet

    last = dt.datetime.now(dt.UTC) - dt.timedelta(days=10)
    await check_in(team, kr, team.employee("alice"), value="1", checked_in_at=last.isoformat())
    await check_in(team, bobs, team.employee("bob"), value="1", checked_in_at=ago(3))
    items = [x for x in await tasks(team, team.employee("alice")) if x["kind"] == "check_in_overdue"]
    assert [x["subject"] for x in items] == [{"kind": "key_result", "id": kr["id"]}]
    assert items[0]["due"] == (last.date() + dt.timedelta(days=7)).isoformat()
    assert items[0]["title"] == "Check in on key result 'Win three partners'"
    assert items[0]["links"]["rest"] == f"POST /api/v1/key-results/{kr['id']}/check-ins"
    assert {k for k, v in (await everyone(team)).items() if ("check_in_overdue", kr["id"]) in v} == {"alice"}
    assert await kinds(team, team.employee("bob")) == set()  # bob's own key result is fresh

    # bob owns a key result of alice's objective: his check-in is owed, not hers
    await check_in(team, bobs, team.employee("bob"), value="2", checked_in_at=ago(9))
    old = await team.client.get(f"/api/v1/key-results/{bobs['id']}/check-ins", headers=team.hr)
    assert len(old.json()["items"]) == 2
    assert await kinds(team, team.employee("bob")) == set()  # the latest check-in counts (3 days ago)

    # the organization's cadence
    slow = await team.client.patch(
        "/api/v1/organization", headers=team.admin, json={"settings": {"check_in_cadence_days": 14}}
    )
    assert slow.status_code == 200 and slow.json()["settings"]["check_in_cadence_days"] == 14
    assert await kinds(team, team.employee("alice")) == set()
    await team.client.patch("/api/v1/organization", headers=team.admin, json={"settings": {"check_in_cadence_days": 2}})
    assert await kinds(team, team.employee("bob")) == {("check_in_overdue", bobs["id"])}

    await check_in(team, bobs, team.employee("bob"), value="3")
    assert await kinds(team, team.employee("bob")) == set()


async def test_no_check_in_yet_counts_from_the_cycle_start_and_only_active_cycles_count(team: Tenant):
    start = dt.date.today() - dt.timedelta(days=20)
    cycle = await make_cycle(team, start=start.isoformat(), end=(dt.date.today() + dt.timedelta(days=30)).isoformat())
    kr = await published_kr(team, cycle)
    await team.client.patch("/api/v1/organization", headers=team.admin, json={"settings": {"check_in_cadence_days": 1}})
    due = {x["subject"]["id"]: x["due"] for x in await tasks(team, team.employee("alice"))}
    # created today, after the cycle started: the first check-in is owed a cadence later
    assert kr["id"] not in due
    await check_in(team, kr, team.employee("alice"), value="1", checked_in_at=ago(5))
    assert kr["id"] in {x["subject"]["id"] for x in await tasks(team, team.employee("alice"))}
    await transition(team, cycle, "review")  # the period is over: no check-ins are owed
    assert await kinds(team, team.employee("alice")) == set()


async def test_the_cadence_setting_is_validated(tenant: Tenant):
    for bad in (0, 93, "weekly"):
        resp = await tenant.client.patch(
            "/api/v1/organization", headers=tenant.admin, json={"settings": {"check_in_cadence_days": bad}}
        )
        assert resp.status_code == 422, resp.text
        assert resp.headers["content-type"].startswith("application/problem+json")
    org = await tenant.client.get("/api/v1/organization", headers=tenant.admin)
    assert org.json()["settings"]["check_in_cadence_days"] == 7


# --- who gets a list ------------------------------------------------------------------------


async def test_callers_without_an_employee_get_an_empty_list_and_anonymous_401(team: Tenant):
    cycle = await make_cycle(team)
    obj = await ready_objective(team, cycle, "alice", "Grow ARR")
    await act(team, obj, "submit", team.employee("alice"))
    _, _, session = await calibrated(team)
    for headers in (team.admin, team.hr, team.auditor, team.as_scope("employees:write"), team.as_scope("scim")):
        resp = await team.client.get(TASKS, headers=headers)
        assert resp.status_code == 200, resp.text
        assert resp.json() == {"items": [], "next_cursor": None}
    assert ("calibration", session) in await kinds(team, hr_person(team, "dave"))  # the same role, with an employee
    anonymous = await team.client.get(TASKS)
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"].startswith("application/problem+json")


async def test_another_organization_sees_nothing(team: Tenant, client: Any):
    cycle = await make_cycle(team)
    obj = await ready_objective(team, cycle, "alice", "Grow ARR")
    await act(team, obj, "submit", team.employee("alice"))
    assert await kinds(team, team.employee("lead"))
    other = await new_tenant(client, "Elsewhere")
    # a token of another organization naming this organization's employee
    stray = other.as_("hr", emp=team.employees["lead"]["id"])
    resp = await client.get(TASKS, headers=stray)
    assert resp.status_code == 200 and resp.json() == {"items": [], "next_cursor": None}
    await other.add_employee("zed")
    resp = await client.get(TASKS, headers=other.as_("admin", emp=other.employees["zed"]["id"]))
    assert resp.status_code == 200 and resp.json()["items"] == []
    assert obj["id"] not in resp.text


# --- order, paging, bad input ---------------------------------------------------------------


async def busy_lead(team: Tenant, n: int) -> dict[str, Any]:
    """lead with `n` objectives to approve, a dated peer request and an undated one, a
    manager review; returns the cycle."""
    cycle = await make_cycle(team, status="active", name="FY")
    await team.client.patch("/api/v1/organization", headers=team.admin, json={"settings": {"okr_max_objectives": 50}})
    for i in range(n):
        obj = await ready_objective(team, cycle, "alice" if i % 2 else "bob", f"Objective {i}")
        await act(team, obj, "submit", team.employee("alice" if i % 2 else "bob"))
    ev = await open_evaluation(team, "carol", cycle)
    late = (dt.date.today() + dt.timedelta(days=9)).isoformat()
    soon = (dt.date.today() + dt.timedelta(days=2)).isoformat()
    await ask(team, ev, "lead", due_date=late)
    ev2 = await open_evaluation(team, "dave", cycle)
    await ask(team, ev2, "lead", due_date=soon)
    ev3 = await open_evaluation(team, "alice", cycle)
    await ev_act(team, ev3, "submit_self", team.employee("alice"), self_review={"rating": 3})
    return cycle


async def test_sorted_by_due_then_kind_then_subject_and_paged_with_cursors(team: Tenant):
    await busy_lead(team, 5)
    lead = team.employee("lead")
    whole = await tasks(team, lead)
    assert len(whole) == 8
    soon = (dt.date.today() + dt.timedelta(days=2)).isoformat()
    late = (dt.date.today() + dt.timedelta(days=9)).isoformat()
    assert [(x["kind"], x["due"]) for x in whole[:2]] == [("peer_feedback", soon), ("peer_feedback", late)]
    assert all(x["due"] is None for x in whole[2:])  # no date last
    undated = [(x["kind"], x["subject"]["id"]) for x in whole[2:]]
    assert [k for k, _ in undated] == ["manager_review"] + ["objective_approval"] * 5  # then by kind
    assert undated[1:] == sorted(undated[1:])  # then by subject id

    pages, cursor = [], None
    while True:
        resp = await team.client.get(TASKS, headers=lead, params={"limit": 3, **({"cursor": cursor} if cursor else {})})
        assert resp.status_code == 200, resp.text
        pages.append(resp.json()["items"])
        cursor = resp.json()["next_cursor"]
        if cursor is None:
            break
    assert [len(p) for p in pages] == [3, 3, 2]
    assert [x for p in pages for x in p] == whole


@pytest.mark.parametrize(
    ("params", "loc"),
    [
        ({"limit": 0}, ["query", "limit"]),
        ({"limit": 501}, ["query", "limit"]),
        ({"cursor": "not-a-cursor"}, ["query", "cursor"]),
        ({"kind": "calibration"}, ["query", "kind"]),
    ],
)
async def test_bad_input_is_a_422_problem(team: Tenant, params: dict[str, Any], loc: list[str]):
    resp = await team.client.get(TASKS, headers=team.employee("lead"), params=params)
    assert resp.status_code == 422, resp.text
    body = resp.json()
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert loc in [e["loc"] for e in body["errors"]], body


async def test_a_cursor_of_another_list_is_refused(team: Tenant):
    emps = await team.client.get("/api/v1/employees", headers=team.hr, params={"limit": 1})
    cursor = emps.json()["next_cursor"]
    resp = await team.client.get(TASKS, headers=team.employee("lead"), params={"cursor": cursor})
    assert resp.status_code == 422, resp.text


async def test_the_cost_is_a_fixed_number_of_statements(client: Any):
    async def count(n: int) -> tuple[int, int]:
        t = Tenant(org_id=await make_org(), client=client)
        from tests.conftest import make_team

        await make_team(t)
        await busy_lead(t, n)
        seen: list[str] = []
        with statement_hook(seen.append):
            resp = await client.get(TASKS, headers=t.employee("lead"), params={"limit": 500})
        assert resp.status_code == 200
        return len(resp.json()["items"]), len([s for s in seen if s.lstrip().upper().startswith(("SELECT", "WITH"))])

    few, many = await count(1), await count(12)
    assert (few[0], many[0]) == (4, 15)
    assert few[1] == many[1], (few, many)
    assert many[1] <= 11, many  # one statement per kind at most, plus the organization and its cycles


async def test_nothing_is_written(team: Tenant):
    await busy_lead(team, 2)
    seen: list[str] = []
    with statement_hook(seen.append):
        resp = await team.client.get(TASKS, headers=team.employee("lead"))
    assert resp.status_code == 200
    writes = [s for s in seen if s.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]
    assert writes == [], json.dumps(writes)
