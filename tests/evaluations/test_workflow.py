"""The evaluation status machine (SPEC section 9): every transition, every refusal (wrong
state 409, wrong person 403/404, bad input 422, stale If-Match 412, closed cycle 409),
drafts and who sees them, bulk creation, and the manager rating counting in the score
only once submitted (SPEC section 6)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Tenant
from tests.evaluations.conftest import (
    E,
    act,
    get,
    open_evaluation,
    outbox_events,
    reviewed,
    transition,
)
from tests.kpi.conftest import close_cycle, make_cycle


async def test_transitions_in_order_and_refusals_out_of_order(team: Tenant, review_cycle):
    t = team
    ev = await open_evaluation(t, "alice", review_cycle)
    assert ev["status"] == "not_started" and ev["self_review"] is None
    for action, who in (("submit_manager", "lead"), ("finalize", "lead"), ("acknowledge", "alice")):
        body = await act(t, ev, action, t.employee(who), expect=409)
        assert body["evaluation_status"] == "not_started"
    missing = await act(t, ev, "submit_self", t.employee("alice"), expect=422)
    assert missing["errors"][0]["loc"] == ["body", "self_review", "rating"]
    ev = await act(t, ev, "submit_self", t.employee("alice"), self_review={"rating": 3, "comments": "Fine"})
    assert ev["status"] == "self_review" and ev["self_review"]["submitted_at"]
    await act(t, ev, "submit_self", t.employee("alice"), expect=409)
    no_rating = await act(t, ev, "submit_manager", t.employee("lead"), expect=422)
    assert no_rating["errors"][0]["loc"] == ["body", "manager_review", "rating"]
    ev = await act(t, ev, "submit_manager", t.employee("lead"), manager_review={"rating": 4, "comments": "Good"})
    assert ev["status"] == "manager_review"
    await act(t, ev, "submit_manager", t.employee("lead"), expect=409)
    await act(t, ev, "finalize", t.employee("lead"), expect=409)  # calibration comes first
    await act(t, ev, "acknowledge", t.employee("alice"), expect=409)


async def test_who_does_each_step(team: Tenant, review_cycle):
    t = team
    ev = await open_evaluation(t, "alice", review_cycle)
    for headers, status in ((t.employee("lead"), 403), (t.hr, 403), (t.employee("bob"), 404)):
        await act(t, ev, "submit_self", headers, expect=status, self_review={"rating": 3})
    await act(t, ev, "submit_self", t.employee("alice"), self_review={"rating": 3})
    # The direct manager or hr writes the manager review; the indirect manager and the
    # employee may not; an hr person never reviews themself.
    for headers, status in ((t.employee("boss"), 403), (t.employee("alice"), 403), (t.auditor, 403)):
        await act(t, ev, "submit_manager", headers, expect=status, manager_review={"rating": 3})
    hr_alice = t.as_("hr", "employee", emp=t.employees["alice"]["id"])
    await act(t, ev, "submit_manager", hr_alice, expect=403, manager_review={"rating": 5})
    done = await act(t, ev, "submit_manager", t.hr, manager_review={"rating": 3})
    assert done["manager_review"]["reviewer_id"] is None and done["status"] == "manager_review"


async def test_drafts_are_private_until_submitted(team: Tenant, review_cycle):
    t = team
    ev = await open_evaluation(t, "alice", review_cycle)
    url = f"{E}/{ev['id']}"
    resp = await t.client.patch(url, headers=t.employee("alice"), json={"self_review": {"rating": 2}})
    assert resp.status_code == 200
    resp = await t.client.patch(
        url,
        headers=t.employee("lead"),
        json={"manager_review": {"rating": 4, "competencies": [{"name": "Teamwork", "rating": 5}]}},
    )
    assert resp.status_code == 200, resp.text
    assert (await get(t, url, t.employee("lead")))["self_review"] is None
    assert (await get(t, url, t.employee("boss")))["manager_review"]["rating"] == 4
    assert (await get(t, url, t.employee("alice")))["manager_review"] is None
    assert (await get(t, url, t.hr))["self_review"]["rating"] == 2
    score = f"/api/v1/cycles/{review_cycle['id']}/scores/{t.employees['alice']['id']}"
    assert (await get(t, score))["components"]["eval"] is None  # a draft does not count
    await act(t, ev, "submit_self", t.employee("alice"))
    await act(t, ev, "submit_manager", t.employee("lead"))
    mine = await get(t, url, t.employee("alice"))
    assert mine["manager_review"]["rating"] == 4 and mine["manager_review"]["competencies"][0]["name"] == "Teamwork"
    assert (await get(t, score))["components"]["eval"] == "80.00"
    late = await t.client.patch(url, headers=t.employee("alice"), json={"self_review": {"rating": 5}})
    assert late.status_code == 409
    late = await t.client.patch(url, headers=t.employee("lead"), json={"manager_review": {"rating": 5}})
    assert late.status_code == 409


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"self_review": {"rating": 6}}, ["body", "self_review", "rating"]),
        ({"self_review": {"rating": 0}}, ["body", "self_review", "rating"]),
        ({"self_review": {"rating": 3, "mood": "great"}}, ["body", "self_review", "mood"]),
        ({"status": "finalized"}, ["body", "status"]),
    ],
)
async def test_bad_drafts_are_422(team: Tenant, review_cycle, body: dict[str, Any], loc: list[Any]):
    ev = await open_evaluation(team, "alice", review_cycle)
    resp = await team.client.patch(f"{E}/{ev['id']}", headers=team.employee("alice"), json=body)
    assert resp.status_code == 422, resp.text
    assert loc in [e["loc"] for e in resp.json()["errors"]]
    assert (await get(team, f"{E}/{ev['id']}"))["self_review"] is None


async def test_rating_scale_follows_the_policy(team: Tenant, review_cycle):
    t = team
    resp = await t.client.post(
        "/api/v1/scoring-policies",
        headers=t.admin,
        json={
            "name": "ten",
            "scope": {"kind": "organization"},
            "w_kpi": "0.5",
            "w_okr": "0.3",
            "w_eval": "0.2",
            "rating_scale": 10,
        },
    )
    assert resp.status_code == 201, resp.text
    ev = await open_evaluation(t, "alice", review_cycle)
    await act(t, ev, "submit_self", t.employee("alice"), self_review={"rating": 9})
    await act(t, ev, "submit_manager", t.employee("lead"), expect=422, manager_review={"rating": 11})
    await act(t, ev, "submit_manager", t.employee("lead"), manager_review={"rating": 7})
    score = await get(t, f"/api/v1/cycles/{review_cycle['id']}/scores/{t.employees['alice']['id']}")
    assert score["components"]["eval"] == "70.00"


async def test_if_match_and_closed_cycles(team: Tenant):
    t = team
    cycle = await make_cycle(t, status="review")
    ev = await open_evaluation(t, "alice", cycle)
    url = f"{E}/{ev['id']}"
    etag = (await t.client.get(url, headers=t.hr)).headers["etag"]
    ok = await t.client.patch(
        url, headers={**t.employee("alice"), "If-Match": etag}, json={"self_review": {"comments": "v1"}}
    )
    assert ok.status_code == 200 and ok.headers["etag"] != etag
    stale = await t.client.patch(
        url, headers={**t.employee("alice"), "If-Match": etag}, json={"self_review": {"comments": "v2"}}
    )
    assert stale.status_code == 412
    stale = await t.client.post(
        f"{url}/submit_self", headers={**t.employee("alice"), "If-Match": etag}, json={"self_review": {"rating": 3}}
    )
    assert stale.status_code == 412
    assert (await get(t, url))["status"] == "not_started"
    await close_cycle(t, cycle)
    closed = await t.client.patch(url, headers=t.employee("alice"), json={"self_review": {"comments": "v3"}})
    assert closed.status_code == 409
    await act(t, ev, "submit_self", t.employee("alice"), expect=409, self_review={"rating": 3})
    again = await t.client.post(
        E, headers=t.hr, json={"employee_id": t.employees["bob"]["id"], "cycle_id": cycle["id"]}
    )
    assert again.status_code == 409


async def test_create_refusals(team: Tenant, review_cycle):
    t = team
    await open_evaluation(t, "alice", review_cycle)
    dup = await open_evaluation(t, "alice", review_cycle, expect=409)
    assert dup["errors"][0]["loc"] == ["body", "employee_id"]
    unknown = await t.client.post(
        E, headers=t.hr, json={"employee_id": "00000000-0000-7000-8000-000000000001", "cycle_id": review_cycle["id"]}
    )
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["loc"] == ["body", "employee_id"]
    no_cycle = await t.client.post(
        E,
        headers=t.hr,
        json={"employee_id": t.employees["bob"]["id"], "cycle_id": "00000000-0000-7000-8000-000000000001"},
    )
    assert no_cycle.status_code == 422 and no_cycle.json()["errors"][0]["loc"] == ["body", "cycle_id"]
    await open_evaluation(t, "bob", review_cycle, headers=t.employee("boss"))  # an indirect manager may
    await open_evaluation(t, "carol", review_cycle, headers=t.employee("lead"), expect=403)  # not lead's


async def test_bulk_by_department_and_whole_cycle_is_idempotent(team: Tenant, review_cycle):
    t = team
    dep = (await t.client.post("/api/v1/departments", headers=t.hr, json={"name": "Ops"})).json()
    sub = (
        await t.client.post("/api/v1/departments", headers=t.hr, json={"name": "Ops East", "parent_id": dep["id"]})
    ).json()
    for who, d in (("alice", dep), ("bob", sub)):
        r = await t.client.patch(
            f"/api/v1/employees/{t.employees[who]['id']}", headers=t.hr, json={"department_id": d["id"]}
        )
        assert r.status_code == 200
    first = await t.client.post(
        f"{E}/bulk", headers=t.hr, json={"cycle_id": review_cycle["id"], "department_id": dep["id"]}
    )
    assert first.status_code == 201 and first.json()["created"] == 2
    both = await t.client.post(f"{E}/bulk", headers=t.hr, json={"cycle_id": review_cycle["id"]})
    assert both.json()["created"] == 4 and both.json()["skipped"] == 2 and len(both.json()["evaluation_ids"]) == 6
    again = await t.client.post(f"{E}/bulk", headers=t.hr, json={"cycle_id": review_cycle["id"]})
    assert again.status_code == 200 and again.json()["created"] == 0
    assert sorted(again.json()["evaluation_ids"]) == sorted(both.json()["evaluation_ids"])
    listed = await get(t, f"{E}?cycle_id={review_cycle['id']}&department_id={dep['id']}")
    assert [e["employee_id"] for e in listed["items"]] == [t.employees["alice"]["id"]]
    by_manager = await get(t, f"{E}?cycle_id={review_cycle['id']}&manager_id={t.employees['lead']['id']}")
    assert {e["employee_id"] for e in by_manager["items"]} == {t.employees["alice"]["id"], t.employees["bob"]["id"]}
    bad = await t.client.post(
        f"{E}/bulk", headers=t.hr, json={"cycle_id": review_cycle["id"], "department_id": dep["id"], "employee_ids": []}
    )
    assert bad.status_code == 422
    unknown = await t.client.post(
        f"{E}/bulk",
        headers=t.hr,
        json={"cycle_id": review_cycle["id"], "employee_ids": ["00000000-0000-7000-8000-000000000001"]},
    )
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["loc"] == ["body", "employee_ids"]


async def test_status_filter_and_pages(team: Tenant, review_cycle):
    t = team
    await reviewed(t, "alice", review_cycle, "lead")
    for who in ("bob", "carol", "dave"):
        await open_evaluation(t, who, review_cycle)
    done = await get(t, f"{E}?status=manager_review")
    assert [e["employee_id"] for e in done["items"]] == [t.employees["alice"]["id"]]
    page1 = await get(t, f"{E}?limit=2")
    page2 = await get(t, f"{E}?limit=2&cursor={page1['next_cursor']}")
    ids = [e["id"] for e in page1["items"] + page2["items"]]
    assert len(ids) == 4 and len(set(ids)) == 4 and page2["next_cursor"] is None
    assert (await t.client.get(f"{E}?status=done", headers=t.hr)).status_code == 422


async def test_finalize_records_the_result_and_emits(team: Tenant):
    t = team
    cycle = await make_cycle(t, status="review")
    ev = await reviewed(t, "alice", cycle, "lead", manager_rating=5)
    await transition(t, cycle, "calibration")
    cal = (
        await t.client.post(
            "/api/v1/calibrations",
            headers=t.hr,
            json={"cycle_id": cycle["id"], "name": "c", "employee_ids": [t.employees["alice"]["id"]]},
        )
    ).json()
    assert (await t.client.post(f"/api/v1/calibrations/{cal['id']}/finalize", headers=t.hr)).status_code == 200
    done = await act(t, ev, "finalize", t.employee("lead"))
    assert done["status"] == "finalized" and done["final_score"] == "100.00" and done["final_rating"] == "A"
    assert done["calibration"]["calibration_id"] == cal["id"]
    [event] = await outbox_events(t, "evaluation.finalized")
    assert event["evaluation_id"] == ev["id"] and event["rating"] == "A" and event["final_score"] == "100.00"
    no_interview = await act(t, ev, "acknowledge", t.employee("alice"), expect=409)
    assert "interview" in no_interview["detail"]
    assert await outbox_events(t, "evaluation.acknowledged") == []
    audit = await get(t, f"/api/v1/audit-events?entity_type=evaluation&entity_id={ev['id']}", t.admin)
    actions = {a["action"] for a in audit["items"]}
    assert {
        "evaluation.created",
        "evaluation.submit_self",
        "evaluation.submit_manager",
        "evaluation.calibrated",
        "evaluation.finalize",
    } <= actions
