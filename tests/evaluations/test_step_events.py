"""Every evaluation step is an event: 360 feedback requested, submitted and declined
(never with the reviewer's identity, the requester, the rating or the text), the self and
manager reviews submitted, an interview scheduled and acknowledged."""

from __future__ import annotations

import json

from sqlalchemy import select

from service.db import database
from service.kit.models import OutboxEvent
from tests.conftest import Tenant
from tests.evaluations.conftest import act, answer, ask, get, open_evaluation, outbox_events
from tests.evaluations.test_interviews_and_reviews import IV, finalized

PEER = ("peer_feedback.requested", "peer_feedback.submitted", "peer_feedback.declined")


async def _stored(t: Tenant, event_type: str) -> list[str]:
    """The payloads as the outbox stores them, as text."""
    async with database.sessions() as s:
        rows = await s.execute(
            select(OutboxEvent.payload).where(OutboxEvent.org_id == t.org_id, OutboxEvent.event_type == event_type)
        )
        return [json.dumps(r[0]) for r in rows]


async def test_peer_feedback_events_never_name_the_reviewer(team: Tenant, review_cycle):
    t = team
    ev = await open_evaluation(t, "alice", review_cycle)
    asked = {who: await ask(t, ev, who, t.employee("lead"), due_date="2099-01-31") for who in ("bob", "dave")}
    await answer(t, ev, "bob", 5, "Sharp analysis of the churn numbers")
    declined = await t.client.post(
        f"/api/v1/peer-requests/{asked['dave']['id']}/decline",
        headers=t.employee("dave"),
        json={"reason": "We never worked together"},
    )
    assert declined.status_code == 200, declined.text

    requested = await outbox_events(t, "peer_feedback.requested")
    assert sorted(p["request_id"] for p in requested) == sorted(r["id"] for r in asked.values())
    assert requested[0] == {
        "request_id": requested[0]["request_id"],
        "evaluation_id": ev["id"],
        "employee_id": t.employees["alice"]["id"],
        "cycle_id": review_cycle["id"],
        "status": "requested",
        "due_date": "2099-01-31",
    }
    [submitted] = await outbox_events(t, "peer_feedback.submitted")
    [gone] = await outbox_events(t, "peer_feedback.declined")
    common = {k: v for k, v in requested[0].items() if k not in ("request_id", "status")}
    for payload, status in ((submitted, "submitted"), (gone, "declined")):
        # an answer or a refusal names no request: alice knows whom she asked
        assert payload == {**common, "status": status}

    secrets = [t.employees[k][f] for k in ("bob", "dave", "lead") for f in ("id", "given_name")]
    secrets += ["Sharp analysis", "never worked together", "Test"]
    stored = [text for kind in PEER for text in await _stored(t, kind)]
    assert len(stored) == 4
    for text in stored:
        assert not [s for s in secrets if s in text], text
        assert '"rating"' not in text and '"actor"' not in text and '"reviewer' not in text


async def test_review_submissions_emit_their_events(team: Tenant, review_cycle):
    t = team
    ev = await open_evaluation(t, "alice", review_cycle)
    await act(t, ev, "submit_self", t.employee("alice"), self_review={"rating": 4, "comments": "ok"})
    await act(t, ev, "submit_manager", t.employee("lead"), manager_review={"rating": 3})
    [self_review] = await outbox_events(t, "self_review.submitted")
    [manager_review] = await outbox_events(t, "manager_review.submitted")
    stored = await get(t, f"/api/v1/evaluations/{ev['id']}")
    for payload, status in ((self_review, "self_review"), (manager_review, "manager_review")):
        assert (payload["evaluation_id"], payload["employee_id"], payload["cycle_id"], payload["status"]) == (
            ev["id"],
            t.employees["alice"]["id"],
            review_cycle["id"],
            status,
        )
        assert payload["submitted_at"] and payload["actor"]
    assert self_review["actor"] != manager_review["actor"]
    assert stored["status"] == "manager_review"
    # a refused step emits nothing
    await act(t, ev, "submit_self", t.employee("alice"), expect=409)
    assert len(await outbox_events(t, "self_review.submitted")) == 1


async def test_interview_scheduled_and_acknowledged(team: Tenant):
    t = team
    cycle, ev = await finalized(t)
    made = await t.client.post(
        IV,
        headers=t.employee("lead"),
        json={"evaluation_id": ev["id"], "scheduled_at": "2026-12-10T09:30:00+01:00", "plan": "Year in review"},
    )
    assert made.status_code == 201, made.text
    iv = made.json()
    notes = await t.client.patch(f"{IV}/{iv['id']}", headers=t.employee("lead"), json={"notes": "room 4"})
    assert notes.status_code == 200, notes.text
    moved = await t.client.patch(
        f"{IV}/{iv['id']}",
        headers=t.employee("lead"),
        json={"scheduled_at": "2026-12-11T10:00:00Z", "outcome": "Meets expectations"},
    )
    assert moved.status_code == 200, moved.text
    scheduled = await outbox_events(t, "interview.scheduled")
    assert [p["scheduled_at"] for p in scheduled] == ["2026-12-10T08:30:00+00:00", "2026-12-11T10:00:00+00:00"]
    assert {(p["interview_id"], p["evaluation_id"], p["interviewer_id"], p["cycle_id"]) for p in scheduled} == {
        (iv["id"], ev["id"], t.employees["lead"]["id"], cycle["id"])
    }
    signed = await t.client.post(f"{IV}/{iv['id']}/acknowledge", headers=t.employee("alice"), json={})
    assert signed.status_code == 200, signed.text
    [ack] = await outbox_events(t, "interview.acknowledged")
    assert (ack["interview_id"], ack["employee_id"]) == (iv["id"], t.employees["alice"]["id"])
    assert ack["acknowledged_at"] and ack["actor"]
    # the first signature on a finalized evaluation acknowledges it too: one event each
    assert [p["evaluation_id"] for p in await outbox_events(t, "evaluation.acknowledged")] == [ev["id"]]
