"""A cycle taken from self review to acknowledged interviews through the API alone:
evaluations opened in bulk, self reviews, 360 feedback, manager reviews, a calibration
with an adjustment, a what-if and an enforced distribution, finalization, interviews
and the employee's signature, with the events each step emits."""

from __future__ import annotations

from tests.conftest import Tenant
from tests.evaluations.conftest import E, act, answer, ask, get, outbox_events, transition
from tests.kpi.conftest import make_cycle


async def test_cycle_from_self_review_to_acknowledged_interviews(team: Tenant):
    t = team
    await t.add_employee("erin", manager="lead")
    ids = {k: v["id"] for k, v in t.employees.items()}
    policy = await t.client.post(
        "/api/v1/scoring-policies",
        headers=t.admin,
        json={
            "name": "eval only",
            "scope": {"kind": "organization"},
            "w_kpi": "0",
            "w_okr": "0",
            "w_eval": "1",
            "distribution": {
                "mode": "enforced",
                "bands": [
                    {"rating": "S", "pct": "0"},
                    {"rating": "A", "pct": "0.34"},
                    {"rating": "B", "pct": "0.66"},
                    {"rating": "C", "pct": "0"},
                    {"rating": "D", "pct": "0"},
                ],
            },
        },
    )
    assert policy.status_code == 201, policy.text
    cycle = await make_cycle(t, status="review")

    bulk = await t.client.post(
        f"{E}/bulk",
        headers=t.hr,
        json={"cycle_id": cycle["id"], "employee_ids": [ids["alice"], ids["bob"], ids["erin"]]},
    )
    assert bulk.status_code == 201 and bulk.json()["created"] == 3, bulk.text
    evs = {e["employee_id"]: e for e in (await get(t, f"{E}?cycle_id={cycle['id']}"))["items"]}
    alice, bob, erin = evs[ids["alice"]], evs[ids["bob"]], evs[ids["erin"]]
    assert {e["status"] for e in evs.values()} == {"not_started"}

    # Self reviews: a draft first, then submitted.
    draft = await t.client.patch(
        f"{E}/{alice['id']}",
        headers=t.employee("alice"),
        json={"self_review": {"rating": 4, "comments": "Shipped the live-stream show"}},
    )
    assert draft.status_code == 200 and draft.json()["status"] == "not_started", draft.text
    assert (await get(t, f"{E}/{alice['id']}", t.employee("lead")))["self_review"] is None  # draft: not yet
    await act(t, alice, "submit_self", t.employee("alice"))
    assert (await get(t, f"{E}/{alice['id']}", t.employee("lead")))["self_review"]["rating"] == 4
    for who, ev in (("bob", bob), ("erin", erin)):
        await act(t, ev, "submit_self", t.employee(who), self_review={"rating": 3})

    # 360: alice asks two colleagues, her manager a third; all answer.
    await ask(t, alice, "bob", t.employee("alice"), due_date="2099-01-01")
    await ask(t, alice, "carol", t.employee("alice"))
    await ask(t, alice, "dave", t.employee("lead"))
    for reviewer, rating in (("bob", 5), ("carol", 4), ("dave", 4)):
        await answer(t, alice, reviewer, rating, f"{reviewer} says: great")
    mine = await get(t, f"{E}/{alice['id']}/feedback", t.employee("alice"))
    assert mine["attributed"] is False and mine["items"] == []
    assert mine["summary"]["answered"] == 3 and mine["summary"]["mean_rating"] == "4.33"
    assert ids["bob"] not in str(mine)

    # Manager reviews by the direct manager.
    for ev, rating in ((alice, 5), (bob, 4), (erin, 3)):
        done = await act(
            t,
            ev,
            "submit_manager",
            t.employee("lead"),
            manager_review={
                "rating": rating,
                "comments": "Solid quarter",
                "competencies": [{"name": "Ownership", "rating": rating}],
            },
        )
        assert done["status"] == "manager_review" and done["manager_review"]["reviewer_id"] == ids["lead"]

    # Calibration: the cycle enters calibration, a session over the three.
    await transition(t, cycle, "calibration")
    session = await t.client.post(
        "/api/v1/calibrations",
        headers=t.hr,
        json={"cycle_id": cycle["id"], "name": "Lead's team", "employee_ids": [ids["alice"], ids["bob"], ids["erin"]]},
    )
    assert session.status_code == 201, session.text
    cal = session.json()
    adj = await t.client.post(
        f"/api/v1/calibrations/{cal['id']}/adjustments",
        headers=t.hr,
        json={"employee_id": ids["erin"], "delta": "12.5", "reason": "Carried the team through the migration"},
    )
    assert adj.status_code == 201 and adj.json()["author"], adj.text
    dist = await get(t, f"/api/v1/calibrations/{cal['id']}/distribution")
    finals = {e["employee_id"]: e["final"] for e in dist["employees"]}
    assert finals == {ids["alice"]: "100.00", ids["bob"]: "80.00", ids["erin"]: "72.50"}
    what_if = await t.client.post(
        f"/api/v1/calibrations/{cal['id']}/simulate",
        headers=t.hr,
        json={"adjustments": [{"employee_id": ids["bob"], "delta": "-20"}]},
    )
    assert {e["employee_id"]: e["final"] for e in what_if.json()["employees"]}[ids["bob"]] == "60.00"
    assert await get(t, f"/api/v1/calibrations/{cal['id']}/distribution") == dist  # nothing saved

    final = await t.client.post(f"/api/v1/calibrations/{cal['id']}/finalize", headers=t.hr)
    assert final.status_code == 200 and final.json()["status"] == "finalized", final.text
    # Enforced A 34%, B 66% of three: round(1.02)=1 A, then B for the other two.
    score = await get(t, f"/api/v1/cycles/{cycle['id']}/scores/{ids['alice']}")
    assert score["rating"] == "A" and "distribution_enforced" in score["flags"]
    assert (await get(t, f"/api/v1/cycles/{cycle['id']}/scores/{ids['erin']}"))["final"] == "72.50"

    # Finalize, interview, signature.
    for ev in (alice, bob, erin):
        assert (await get(t, f"{E}/{ev['id']}"))["status"] == "calibrated"
        done = await act(t, ev, "finalize", t.employee("lead"))
        assert done["status"] == "finalized"
    assert (await get(t, f"{E}/{alice['id']}", t.employee("alice")))["final_rating"] == "A"
    for who, ev in (("alice", alice), ("bob", bob), ("erin", erin)):
        planned = await t.client.post(
            "/api/v1/interviews",
            headers=t.employee("lead"),
            json={"evaluation_id": ev["id"], "scheduled_at": "2026-12-15T10:00:00Z", "plan": "Walk through the year"},
        )
        assert planned.status_code == 201 and planned.json()["status"] == "planned", planned.text
        interview = planned.json()
        held = await t.client.patch(
            f"/api/v1/interviews/{interview['id']}",
            headers=t.employee("lead"),
            json={"notes": "Good talk", "outcome": "Rating explained; growth plan agreed"},
        )
        assert held.json()["status"] == "held"
        if who == "bob":  # acknowledging the evaluation signs its interviews too
            signed = await act(t, ev, "acknowledge", t.employee(who), comment="Agreed")
            assert signed["status"] == "acknowledged"
        else:
            resp = await t.client.post(
                f"/api/v1/interviews/{interview['id']}/acknowledge", headers=t.employee(who), json={"comment": "Agreed"}
            )
            assert resp.status_code == 200 and resp.json()["acknowledged_by"], resp.text
        signed_interview = await get(t, f"/api/v1/interviews/{interview['id']}", t.employee(who))
        assert signed_interview["status"] == "acknowledged" and signed_interview["acknowledged_at"]
        edit = await t.client.patch(
            f"/api/v1/interviews/{interview['id']}", headers=t.employee("lead"), json={"outcome": "rewritten"}
        )
        assert edit.status_code == 409
    statuses = {e["status"] for e in (await get(t, f"{E}?cycle_id={cycle['id']}"))["items"]}
    assert statuses == {"acknowledged"}

    assert len(await outbox_events(t, "evaluation.finalized")) == 3
    assert len(await outbox_events(t, "evaluation.acknowledged")) == 3
    [calibrated] = await outbox_events(t, "calibration.finalized")
    assert {r["employee_id"]: r["rating"] for r in calibrated["results"]} == {
        ids["alice"]: "A",
        ids["bob"]: "B",
        ids["erin"]: "B",
    }
