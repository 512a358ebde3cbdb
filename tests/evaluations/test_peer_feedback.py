"""360 feedback: requests, answers by the requested reviewers only, deadlines, declines,
and the anonymity rule (SPEC section 10): the evaluated employee never learns who
answered or what one reviewer said, whether through REST, GraphQL, list filters,
ordering or their own score; they see an aggregate only once enough reviewers answered
(`peer_feedback_min_reviewers`); managers and hr see everything attributed."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from service.db import database
from service.evaluations.models import PeerRequest
from tests.conftest import Tenant
from tests.evaluations.conftest import E, act, answer, ask, get, open_evaluation


async def _world(t: Tenant, cycle: dict[str, Any]) -> dict[str, Any]:
    """alice's evaluation; bob and carol asked by alice, dave and erin by her manager."""
    await t.add_employee("erin", manager="dave")
    ev = await open_evaluation(t, "alice", cycle)
    for who in ("bob", "carol"):
        await ask(t, ev, who, t.employee("alice"))
    for who in ("dave", "erin"):
        await ask(t, ev, who, t.employee("lead"))
    return ev


def _reviewer_ids(t: Tenant) -> list[str]:
    return [t.employees[k]["id"] for k in ("bob", "carol", "dave", "erin")]


async def test_employee_sees_nothing_below_the_threshold_then_only_the_aggregate(team: Tenant, review_cycle):
    t = team
    ev = await _world(t, review_cycle)
    await answer(t, ev, "bob", 5, "Sharp analysis")
    await answer(t, ev, "dave", 2, "Misses deadlines")
    mine = await get(t, f"{E}/{ev['id']}/feedback", t.employee("alice"))
    assert mine["summary"] == {
        "available": False,
        "min_reviewers": 3,
        "answered": None,
        "mean_rating": None,
        "comments": [],
    }
    assert mine["items"] == [] and mine["attributed"] is False
    assert (await get(t, f"{E}/{ev['id']}", t.employee("alice")))["peer_feedback"]["available"] is False

    await answer(t, ev, "erin", 4, "A calm presence")
    mine = await get(t, f"{E}/{ev['id']}/feedback", t.employee("alice"))
    assert mine["summary"]["available"] is True and mine["summary"]["answered"] == 3
    assert mine["summary"]["mean_rating"] == "3.67"
    assert mine["summary"]["comments"] == ["A calm presence", "Misses deadlines", "Sharp analysis"]  # by text
    text = json.dumps(mine) + json.dumps(await get(t, f"{E}/{ev['id']}", t.employee("alice")))
    assert not any(r in text for r in _reviewer_ids(t))

    lead = await get(t, f"{E}/{ev['id']}/feedback", t.employee("lead"))
    assert lead["attributed"] is True
    assert {(f["reviewer_id"], f["rating"]) for f in lead["items"]} == {
        (t.employees["bob"]["id"], 5),
        (t.employees["dave"]["id"], 2),
        (t.employees["erin"]["id"], 4),
    }
    hr = await get(t, f"{E}/{ev['id']}/feedback?reviewer_id={t.employees['dave']['id']}", t.hr)
    assert [f["comments"] for f in hr["items"]] == ["Misses deadlines"]


async def test_threshold_is_an_organization_setting(team: Tenant, review_cycle):
    t = team
    ev = await _world(t, review_cycle)
    await answer(t, ev, "bob", 4)
    resp = await t.client.patch(
        "/api/v1/organization", headers=t.admin, json={"settings": {"peer_feedback_min_reviewers": 1}}
    )
    assert resp.status_code == 200, resp.text
    mine = await get(t, f"{E}/{ev['id']}/feedback", t.employee("alice"))
    assert mine["summary"]["available"] is True and mine["summary"]["mean_rating"] == "4.00"


async def test_employee_sees_requests_anonymised_and_cannot_filter(team: Tenant, review_cycle):
    t = team
    ev = await _world(t, review_cycle)
    await answer(t, ev, "bob", 5)
    decline = await t.client.post(
        f"/api/v1/peer-requests/{(await _request_of(t, ev, 'dave'))['id']}/decline",
        headers=t.employee("dave"),
        json={"reason": "We never worked together"},
    )
    assert decline.status_code == 200 and decline.json()["status"] == "declined"
    listed = (await get(t, f"{E}/{ev['id']}/peer-requests", t.employee("alice")))["items"]
    assert len(listed) == 4
    assert all(
        r["status"] is None and r["rating"] is None and r["submitted_at"] is None and r["declined_at"] is None
        for r in listed
    )
    shown = sorted(r["reviewer_id"] for r in listed if r["reviewer_id"])  # the two alice asked herself
    assert shown == sorted([t.employees["bob"]["id"], t.employees["carol"]["id"]])
    for params in ({"status": "submitted"}, {"reviewer_id": t.employees["bob"]["id"]}):
        resp = await t.client.get(f"{E}/{ev['id']}/peer-requests", headers=t.employee("alice"), params=params)
        assert resp.status_code == 403, resp.text
    resp = await t.client.get(
        f"{E}/{ev['id']}/feedback", headers=t.employee("alice"), params={"reviewer_id": t.employees["bob"]["id"]}
    )
    assert resp.status_code == 403
    inbox = await get(t, "/api/v1/peer-requests?status=submitted", t.employee("alice"))
    assert inbox["items"] == []
    bob_request = await _request_of(t, ev, "bob")
    assert (
        await t.client.get(f"/api/v1/peer-requests/{bob_request['id']}", headers=t.employee("alice"))
    ).status_code == 404
    attributed = (await get(t, f"{E}/{ev['id']}/peer-requests?status=declined", t.employee("boss")))["items"]
    assert [(r["reviewer_id"], r["decline_reason"]) for r in attributed] == [
        (t.employees["dave"]["id"], "We never worked together")
    ]


async def _request_of(t: Tenant, ev: dict[str, Any], reviewer: str) -> dict[str, Any]:
    listed = (await get(t, f"{E}/{ev['id']}/peer-requests?reviewer_id={t.employees[reviewer]['id']}"))["items"]
    return listed[0]


async def test_anonymity_holds_in_graphql(team: Tenant, review_cycle):
    t = team
    ev = await _world(t, review_cycle)
    for who, rating in (("bob", 5), ("carol", 3), ("dave", 4)):
        await answer(t, ev, who, rating, f"note {rating}")
    query = """query($id: ID!) {
      evaluation(id: $id) { id peerFeedback { available answered meanRating comments }
        peerRequests { id reviewerId status rating comments submittedAt } }
      evaluationFeedback(evaluationId: $id) { attributed nodes { reviewerId rating } summary { answered } }
      peerRequests(status: SUBMITTED) { edges { node { id reviewerId } } }
    }"""
    resp = await t.client.post(
        "/graphql", headers=t.employee("alice"), json={"query": query, "variables": {"id": ev["id"]}}
    )
    body = resp.json()
    assert "errors" not in body, body
    data = body["data"]
    assert data["evaluation"]["peerFeedback"]["answered"] == 3
    assert data["evaluation"]["peerFeedback"]["meanRating"] == "4.00"
    assert all(r["status"] is None and r["rating"] is None for r in data["evaluation"]["peerRequests"])
    assert data["evaluationFeedback"] == {"attributed": False, "nodes": [], "summary": {"answered": 3}}
    assert data["peerRequests"]["edges"] == []
    submitted = {t.employees[k]["id"] for k in ("dave",)}  # asked by the manager: never shown to alice
    assert not any(r in json.dumps(body) for r in submitted)
    filtered = await t.client.post(
        "/graphql",
        headers=t.employee("alice"),
        json={
            "query": "query($id: ID!) { evaluationFeedback(evaluationId: $id, reviewerId: $id) { attributed } }",
            "variables": {"id": ev["id"]},
        },
    )
    assert filtered.json()["errors"][0]["extensions"]["status"] == 403

    as_lead = await t.client.post(
        "/graphql", headers=t.employee("lead"), json={"query": query, "variables": {"id": ev["id"]}}
    )
    lead = as_lead.json()["data"]
    assert {r["reviewerId"] for r in lead["evaluationFeedback"]["nodes"]} == {
        t.employees[k]["id"] for k in ("bob", "carol", "dave")
    }
    assert {r["status"] for r in lead["evaluation"]["peerRequests"]} == {"SUBMITTED", "REQUESTED"}


async def test_own_score_explains_peer_ratings_only_anonymously(team: Tenant, review_cycle):
    t = team
    policy = await t.client.post(
        "/api/v1/scoring-policies",
        headers=t.admin,
        json={
            "name": "with peers",
            "scope": {"kind": "organization"},
            "w_kpi": "0",
            "w_okr": "0",
            "w_eval": "1",
            "peer_weight": "0.5",
        },
    )
    assert policy.status_code == 201, policy.text
    ev = await _world(t, review_cycle)
    await act(t, ev, "submit_self", t.employee("alice"), self_review={"rating": 4})
    await act(t, ev, "submit_manager", t.employee("lead"), manager_review={"rating": 4})
    await answer(t, ev, "bob", 5)
    await answer(t, ev, "carol", 5)
    path = f"/api/v1/cycles/{review_cycle['id']}/scores/{t.employees['alice']['id']}"
    # 0.5 x 80 + 0.5 x 100 x mean(5, 5) / 5 = 90: peer ratings feed the component.
    for who in (t.hr, t.employee("lead"), t.employee("alice")):
        assert (await get(t, path, who))["components"]["eval"] == "90.00"
    assert (await get(t, path, t.employee("lead")))["explanation"]["components"]["eval"]["peer_ratings"] == ["5", "5"]
    mine = (await get(t, path, t.employee("alice")))["explanation"]["components"]["eval"]["peer_ratings"]
    assert mine == {"available": False, "min_reviewers": 3}
    await answer(t, ev, "dave", 2)
    mine = (await get(t, path, t.employee("alice")))["explanation"]["components"]["eval"]["peer_ratings"]
    assert mine == {"available": True, "min_reviewers": 3, "count": 3, "mean": "4"}


async def test_only_the_requested_reviewer_answers_once_before_the_deadline(team: Tenant, review_cycle):
    t = team
    ev = await _world(t, review_cycle)
    for who, status in (("alice", 403), ("lead", 403), ("boss", 403)):
        resp = await t.client.post(f"{E}/{ev['id']}/feedback", headers=t.employee(who), json={"rating": 3})
        assert resp.status_code == status, (who, resp.text)
    hr = await t.client.post(f"{E}/{ev['id']}/feedback", headers=t.hr, json={"rating": 3})
    assert hr.status_code == 403
    impersonate = await t.client.post(
        f"{E}/{ev['id']}/feedback",
        headers=t.employee("bob"),
        json={"rating": 3, "reviewer_id": t.employees["carol"]["id"]},
    )
    assert impersonate.status_code == 403
    too_high = await t.client.post(f"{E}/{ev['id']}/feedback", headers=t.employee("bob"), json={"rating": 6})
    assert too_high.status_code == 422 and too_high.json()["errors"][0]["loc"] == ["body", "rating"]
    await answer(t, ev, "bob", 4)
    await answer(t, ev, "bob", 5, expect=409)
    declined = await t.client.post(
        f"/api/v1/peer-requests/{(await _request_of(t, ev, 'bob'))['id']}/decline", headers=t.employee("bob")
    )
    assert declined.status_code == 409
    late = await ask(t, ev, "boss", due_date="2026-01-01", expect=422)
    assert late["errors"][0]["loc"] == ["body", "due_date"]
    assert (await ask(t, ev, "alice", t.employee("lead"), expect=422))["errors"][0]["loc"] == ["body", "reviewer_id"]
    await ask(t, ev, "bob", expect=409)


async def test_deadline_passes(team: Tenant, review_cycle):
    t = team
    ev = await _world(t, review_cycle)
    request = await _request_of(t, ev, "carol")
    async with database.sessions() as session:  # time passes: the deadline is behind us
        row = await session.get(PeerRequest, (t.org_id, uuid.UUID(request["id"])))
        row.due_date = dt.date.today() - dt.timedelta(days=2)
        await session.commit()
    late = await answer(t, ev, "carol", 4, expect=409)
    assert "deadline" in late["detail"]


async def test_feedback_closes_at_calibration_and_reviewers_never_read_the_evaluation(team: Tenant, review_cycle):
    t = team
    ev = await _world(t, review_cycle)
    assert (await t.client.get(f"{E}/{ev['id']}", headers=t.employee("bob"))).status_code == 404
    inbox = await get(t, "/api/v1/peer-requests", t.employee("bob"))
    assert [r["evaluation_id"] for r in inbox["items"]] == [ev["id"]]
    await act(t, ev, "submit_self", t.employee("alice"), self_review={"rating": 4})
    await act(t, ev, "submit_manager", t.employee("lead"), manager_review={"rating": 4})
    await t.client.post(f"/api/v1/cycles/{review_cycle['id']}/transition", headers=t.hr, json={"to": "calibration"})
    cal = await t.client.post(
        "/api/v1/calibrations",
        headers=t.hr,
        json={"cycle_id": review_cycle["id"], "name": "x", "employee_ids": [t.employees["alice"]["id"]]},
    )
    fin = await t.client.post(f"/api/v1/calibrations/{cal.json()['id']}/finalize", headers=t.hr)
    assert fin.status_code == 200, fin.text
    closed = await answer(t, ev, "bob", 4, expect=409)
    assert closed["code"] == "cycle_locked"  # the result is official: 360 feedback is a locked input
    await ask(t, ev, "boss", expect=409)


async def test_the_audit_log_never_shows_the_evaluated_person_their_reviewers(team: Tenant, review_cycle):
    """alice holds `admin` (or `auditor`) as well: the audit log still leaves out every
    event of the 360 requests about her; other events, and others' requests, stay."""
    t = team
    ev = await _world(t, review_cycle)
    await answer(t, ev, "bob", 2, "Misses deadlines")
    declined = await t.client.post(
        f"/api/v1/peer-requests/{(await _request_of(t, ev, 'carol'))['id']}/decline",
        headers=t.employee("carol"),
        json={"reason": "I barely know her"},
    )
    assert declined.status_code == 200, declined.text
    other = await open_evaluation(t, "lead", review_cycle)
    await ask(t, other, "boss", t.hr)
    reviewers = _reviewer_ids(t)
    alice_id = t.employees["alice"]["id"]
    for role in ("admin", "auditor"):
        alice = t.as_("employee", role, emp=alice_id)
        for params in ({"entity_type": "peer_request"}, {"limit": 500}, {"actor": "x"}):
            events = (await t.client.get("/api/v1/audit-events", headers=alice, params=params)).json()["items"]
            text = json.dumps(events)
            assert "Misses deadlines" not in text and "I barely know her" not in text, (role, params)
            about_her = [
                e
                for e in events
                if e["entity_type"] == "peer_request" and alice_id in json.dumps([e["before"], e["after"]])
            ]
            assert about_her == [], (role, params)
            if params.get("entity_type"):
                assert not any(r in text for r in reviewers), (role, params)
        theirs = (
            await t.client.get("/api/v1/audit-events", headers=alice, params={"entity_type": "peer_request"})
        ).json()["items"]
        assert [e["after"]["employee_id"] for e in theirs] == [t.employees["lead"]["id"]]  # lead's request stays
    # an auditor who is not the subject reads them all
    everything = (
        await t.client.get(
            "/api/v1/audit-events", headers=t.auditor, params={"entity_type": "peer_request", "limit": 500}
        )
    ).json()["items"]
    assert len(everything) >= 7 and "Misses deadlines" in json.dumps(everything)
