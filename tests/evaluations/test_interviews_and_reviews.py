"""Performance interviews (the employee's acknowledgement is a signature: time and
principal recorded, immutable) and review meetings (summary, result data, gap, cause
analysis, improvement plan with owners and due dates) on objectives, cycles and
evaluations."""

from __future__ import annotations

from typing import Any

from tests.conftest import Tenant
from tests.evaluations.conftest import (
    act,
    get,
    open_evaluation,
    outbox_events,
    reviewed,
    transition,
)
from tests.kpi.conftest import make_cycle

IV = "/api/v1/interviews"
RM = "/api/v1/review-meetings"


async def finalized(t: Tenant) -> tuple[dict[str, Any], dict[str, Any]]:
    cycle = await make_cycle(t, status="review")
    ev = await reviewed(t, "alice", cycle, "lead")
    await transition(t, cycle, "calibration")
    cal = (
        await t.client.post(
            "/api/v1/calibrations",
            headers=t.hr,
            json={"cycle_id": cycle["id"], "name": "c", "employee_ids": [t.employees["alice"]["id"]]},
        )
    ).json()
    assert (await t.client.post(f"/api/v1/calibrations/{cal['id']}/finalize", headers=t.hr)).status_code == 200
    return cycle, await act(t, ev, "finalize", t.employee("lead"))


async def test_signature_is_recorded_and_immutable(team: Tenant):
    t = team
    cycle, ev = await finalized(t)
    resp = await t.client.post(
        IV,
        headers=t.employee("lead"),
        json={"evaluation_id": ev["id"], "scheduled_at": "2026-12-10T09:30:00+01:00", "plan": "Year in review"},
    )
    assert resp.status_code == 201, resp.text
    iv = resp.json()
    assert iv["scheduled_at"] == "2026-12-10T08:30:00Z" and iv["interviewer_id"] == t.employees["lead"]["id"]
    assert iv["status"] == "planned"
    early = await t.client.post(f"{IV}/{iv['id']}/acknowledge", headers=t.employee("alice"))
    assert early.status_code == 409 and "outcome" in early.json()["detail"]
    await t.client.patch(f"{IV}/{iv['id']}", headers=t.employee("lead"), json={"outcome": "Promotion track"})
    for headers in (t.employee("lead"), t.hr, t.employee("boss")):
        assert (await t.client.post(f"{IV}/{iv['id']}/acknowledge", headers=headers)).status_code == 403
    signed = await t.client.post(
        f"{IV}/{iv['id']}/acknowledge", headers=t.employee("alice"), json={"comment": "I agree with the outcome"}
    )
    assert signed.status_code == 200, signed.text
    body = signed.json()
    assert body["status"] == "acknowledged" and body["acknowledged_at"]
    assert body["acknowledged_by"] and body["acknowledgement_comment"] == "I agree with the outcome"
    again = await t.client.post(
        f"{IV}/{iv['id']}/acknowledge", headers=t.employee("alice"), json={"comment": "changed my mind"}
    )
    assert again.status_code == 409
    for patch in ({"outcome": "Demotion"}, {"notes": "x"}, {"scheduled_at": "2027-01-01T00:00:00Z"}):
        resp = await t.client.patch(f"{IV}/{iv['id']}", headers=t.hr, json=patch)
        assert resp.status_code == 409, patch
    stored = await get(t, f"{IV}/{iv['id']}")
    assert (stored["outcome"], stored["acknowledged_at"], stored["acknowledgement_comment"]) == (
        "Promotion track",
        body["acknowledged_at"],
        "I agree with the outcome",
    )
    evaluation = await get(t, f"/api/v1/evaluations/{ev['id']}", t.employee("alice"))
    assert evaluation["status"] == "acknowledged" and evaluation["acknowledged_at"] == body["acknowledged_at"]
    [event] = await outbox_events(t, "evaluation.acknowledged")
    assert event["evaluation_id"] == ev["id"]
    more = await t.client.post(IV, headers=t.employee("lead"), json={"evaluation_id": ev["id"]})
    assert more.status_code == 409
    audit = await get(t, f"/api/v1/audit-events?entity_type=interview&entity_id={iv['id']}", t.admin)
    assert "interview.acknowledged" in {a["action"] for a in audit["items"]}


async def test_acknowledging_needs_a_finalized_evaluation(team: Tenant, review_cycle):
    t = team
    ev = await open_evaluation(t, "alice", review_cycle)
    iv = (
        await t.client.post(
            IV, headers=t.employee("lead"), json={"evaluation_id": ev["id"], "outcome": "Mid-year check"}
        )
    ).json()
    resp = await t.client.post(f"{IV}/{iv['id']}/acknowledge", headers=t.employee("alice"))
    assert resp.status_code == 409 and resp.json()["evaluation_status"] == "not_started"
    bad = await t.client.post(
        IV, headers=t.employee("lead"), json={"evaluation_id": ev["id"], "interviewer_id": ev["id"]}
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == ["body", "interviewer_id"]
    unknown = await t.client.post(IV, headers=t.employee("lead"), json={"evaluation_id": t.employees["bob"]["id"]})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["loc"] == ["body", "evaluation_id"]
    listed = await get(t, f"{IV}?evaluation_id={ev['id']}", t.employee("alice"))
    assert [i["id"] for i in listed["items"]] == [iv["id"]]


async def test_review_meetings_on_each_subject(team: Tenant, review_cycle):
    t = team
    ev = await open_evaluation(t, "alice", review_cycle)
    plan = [
        {"action": "Weekly conversion review", "owner_id": t.employees["alice"]["id"], "due_date": "2027-01-15"},
        {
            "action": "A/B test the checkout",
            "owner_id": t.employees["bob"]["id"],
            "due_date": "2027-02-01",
            "status": "in_progress",
        },
    ]
    resp = await t.client.post(
        RM,
        headers=t.employee("lead"),
        json={
            "subject": {"kind": "evaluation", "id": ev["id"]},
            "title": "Q4 review",
            "held_on": "2026-12-20",
            "summary": "Strong GMV, weak conversion",
            "result_data": {"gmv": "1185000", "conversion": "0.031"},
            "gap": "Conversion 0.031 against 0.035",
            "cause_analysis": "Checkout friction on mobile",
            "improvement_plan": plan,
        },
    )
    assert resp.status_code == 201, resp.text
    m = resp.json()
    assert m["employee_id"] == t.employees["alice"]["id"] and m["improvement_plan"][0]["status"] == "open"
    assert m["result_data"] == {"gmv": "1185000", "conversion": "0.031"}
    assert (await get(t, f"{RM}/{m['id']}", t.employee("alice")))["gap"].startswith("Conversion")
    assert (await t.client.get(f"{RM}/{m['id']}", headers=t.employee("bob"))).status_code == 404  # an owner only
    patched = await t.client.patch(
        f"{RM}/{m['id']}",
        headers=t.employee("boss"),
        json={"improvement_plan": plan[:1], "cause_analysis": "Mobile checkout and slow pages"},
    )
    assert patched.status_code == 200 and len(patched.json()["improvement_plan"]) == 1

    cycle_meeting = await t.client.post(
        RM, headers=t.hr, json={"subject": {"kind": "cycle", "id": review_cycle["id"]}, "summary": "Company review"}
    )
    assert cycle_meeting.status_code == 201 and cycle_meeting.json()["employee_id"] is None
    cid = cycle_meeting.json()["id"]
    assert (await t.client.get(f"{RM}/{cid}", headers=t.employee("boss"))).status_code == 404
    assert (await t.client.get(f"{RM}/{cid}", headers=t.auditor)).status_code == 200
    refused = await t.client.post(
        RM, headers=t.employee("boss"), json={"subject": {"kind": "cycle", "id": review_cycle["id"]}}
    )
    assert refused.status_code == 403

    obj = await t.client.post(
        "/api/v1/objectives",
        headers=t.hr,
        json={
            "title": "Grow online",
            "level": "individual",
            "owner_id": t.employees["alice"]["id"],
            "cycle_id": review_cycle["id"],
        },
    )
    assert obj.status_code == 201, obj.text
    own = await t.client.post(
        RM,
        headers=t.employee("alice"),
        json={"subject": {"kind": "objective", "id": obj.json()["id"]}, "summary": "Retro"},
    )
    assert own.status_code == 201 and own.json()["employee_id"] == t.employees["alice"]["id"]
    not_mine = await t.client.post(
        RM, headers=t.employee("bob"), json={"subject": {"kind": "objective", "id": obj.json()["id"]}}
    )
    assert not_mine.status_code == 403

    bad_owner = await t.client.post(
        RM,
        headers=t.hr,
        json={
            "subject": {"kind": "evaluation", "id": ev["id"]},
            "improvement_plan": [{**plan[0], "owner_id": ev["id"]}],
        },
    )
    assert bad_owner.status_code == 422
    assert bad_owner.json()["errors"][0]["loc"] == ["body", "improvement_plan", 0, "owner_id"]
    bad_kind = await t.client.post(RM, headers=t.hr, json={"subject": {"kind": "team", "id": ev["id"]}})
    assert bad_kind.status_code == 422
    by_subject = await get(t, f"{RM}?subject_kind=evaluation&subject_id={ev['id']}")
    assert [x["id"] for x in by_subject["items"]] == [m["id"]]
    mine = await get(t, RM, t.employee("alice"))
    assert {x["id"] for x in mine["items"]} == {m["id"], own.json()["id"]}
