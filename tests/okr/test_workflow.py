"""The objective workflow: each transition, the state it needs, who may take it, the
lint gate on submit, the history it leaves, and the events and audit entries."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from service.db import database
from service.kit.models import AuditEvent, OutboxEvent
from tests.okr.conftest import act, check_in, get, make_kr, make_objective


@pytest.fixture
async def ready(team, cycle, company):
    """alice's draft, aligned and with two key results: it passes the lint."""
    obj = await make_objective(
        team, cycle, "alice", level="individual", parent_id=company["id"], title="Faster checkout"
    )
    await make_kr(team, obj, title="Cut checkout time from 90s to 45s", start="90", target="45")
    await make_kr(team, obj, title="Ship one-click pay", kind="boolean", start=None, target=None)
    return obj


async def test_happy_path_by_the_right_people(team, ready):
    alice, lead, boss = team.employee("alice"), team.employee("lead"), team.employee("boss")
    assert (await act(team, ready, "submit", headers=alice))["status"] == "submitted"
    assert (await act(team, ready, "approve", headers=boss))["status"] == "approved"  # indirect manager
    assert (await act(team, ready, "publish", headers=alice))["status"] == "published"
    assert (await act(team, ready, "close", headers=lead, comment="quarter over"))["status"] == "closed"
    revisions = (await get(team, f"/api/v1/objectives/{ready['id']}/revisions"))["items"]
    assert [(r["action"], r["changes"]["status"]["after"]) for r in revisions] == [
        ("submitted", "submitted"),
        ("approved", "approved"),
        ("published", "published"),
        ("closed", "closed"),
    ]
    assert revisions[-1]["reason"] == "quarter over"
    assert revisions[0]["actor_employee_id"] == team.employees["alice"]["id"]


async def test_reject_needs_a_comment_and_returns_to_draft(team, ready):
    await act(team, ready, "submit", headers=team.employee("alice"))
    await act(team, ready, "reject", headers=team.employee("lead"), expect=422)
    await act(team, ready, "reject", headers=team.employee("lead"), expect=422, comment="   ")
    out = await act(team, ready, "reject", headers=team.employee("lead"), comment="Make it measurable")
    assert out["status"] == "draft" and out["rejection_comment"] == "Make it measurable"
    edit = await team.client.patch(
        f"/api/v1/objectives/{ready['id']}", headers=team.employee("alice"), json={"title": "Faster checkout, measured"}
    )
    assert edit.status_code == 200 and edit.json()["rejection_comment"] == "Make it measurable"
    await act(team, ready, "submit", headers=team.employee("alice"))
    approved = await act(team, ready, "approve", headers=team.employee("lead"))
    assert approved["rejection_comment"] is None
    revisions = (await get(team, f"/api/v1/objectives/{ready['id']}/revisions"))["items"]
    assert [r["action"] for r in revisions] == ["submitted", "rejected", "submitted", "approved"]
    assert revisions[1]["reason"] == "Make it measurable"
    assert revisions[1]["changes"] == {"status": {"before": "submitted", "after": "draft"}}


STATES = ["draft", "submitted", "approved", "published", "closed"]
ALLOWED_FROM = {
    "submit": "draft",
    "approve": "submitted",
    "reject": "submitted",
    "publish": "approved",
    "close": "published",
}
PATH = ["submit", "approve", "publish", "close"]


@pytest.mark.parametrize("action", list(ALLOWED_FROM))
@pytest.mark.parametrize("state", STATES)
async def test_wrong_state_is_409(team, ready, action, state):
    for step in PATH[: STATES.index(state)]:
        await act(team, ready, step)
    expected = 200 if ALLOWED_FROM[action] == state else 409
    body = await act(team, ready, action, expect=expected, comment="because")
    if expected == 409:
        assert body["status"] == 409 and body["requires"] == ALLOWED_FROM[action]
        assert (await get(team, f"/api/v1/objectives/{ready['id']}"))["status"] == state


ACTORS = ["owner", "direct_manager", "indirect_manager", "hr", "admin", "auditor", "peer", "manager_elsewhere"]
MAY = {
    "submit": {"owner", "hr", "admin"},
    "approve": {"direct_manager", "indirect_manager", "hr", "admin"},
    "reject": {"direct_manager", "indirect_manager", "hr", "admin"},
    "publish": {"owner", "direct_manager", "indirect_manager", "hr", "admin"},
    "close": {"direct_manager", "indirect_manager", "hr", "admin"},
}


def actor_headers(team, who):
    return {
        "owner": lambda: team.employee("alice"),
        "direct_manager": lambda: team.employee("lead"),
        "indirect_manager": lambda: team.employee("boss"),
        "hr": lambda: team.hr,
        "admin": lambda: team.admin,
        "auditor": lambda: team.auditor,
        "peer": lambda: team.employee("bob"),
        "manager_elsewhere": lambda: team.employee("dave"),
    }[who]()


@pytest.mark.parametrize("action", list(MAY))
@pytest.mark.parametrize("who", ACTORS)
async def test_who_may_act(team, ready, action, who):
    await team.add_employee("erin", manager="dave")
    for step in PATH[: PATH.index(action) if action in PATH else 1]:
        await act(team, ready, step)
    expected = 200 if who in MAY[action] else 403
    await act(team, ready, action, headers=actor_headers(team, who), expect=expected, comment="ok")


async def test_private_objective_actions_hide_from_strangers(team, ready):
    await team.client.patch(f"/api/v1/objectives/{ready['id']}", headers=team.hr, json={"visibility": "private"})
    await act(team, ready, "submit", headers=team.employee("bob"), expect=404)
    await act(team, ready, "submit", headers=team.auditor, expect=403)
    await act(team, ready, "submit", headers=team.as_scope("kpi:write"), expect=404)
    other = await act(team, ready, "submit", headers=team.employee("carol"), expect=404)
    assert other["status"] == 404


async def test_submit_with_lint_errors_is_refused(team, cycle):
    obj = await make_objective(team, cycle, "alice", level="individual", title="Lonely")
    await make_kr(team, obj, title="Help the team")
    body = await act(team, obj, "submit", headers=team.employee("alice"), expect=422)
    codes = {(f["code"], f["severity"]) for f in body["findings"]}
    assert codes == {
        ("too_few_key_results", "error"),
        ("not_aligned", "error"),
        ("activity_not_outcome", "warning"),
        ("due_date_missing", "warning"),
    }
    assert all(set(f) == {"code", "severity", "message", "path"} for f in body["findings"])
    assert body["errors"] and body["status"] == 422
    assert (await get(team, f"/api/v1/objectives/{obj['id']}"))["status"] == "draft"
    # warnings alone do not block
    company = await make_objective(team, cycle, "boss", title="Top")
    await team.client.patch(f"/api/v1/objectives/{obj['id']}", headers=team.hr, json={"parent_id": company["id"]})
    await make_kr(team, obj, title="Reach 50 NPS", start="30", target="50")
    ok = await act(team, obj, "submit", headers=team.employee("alice"))
    assert ok["status"] == "submitted"


async def _events(org_id, kind):
    async with database.sessions() as s:
        rows = await s.execute(select(OutboxEvent).where(OutboxEvent.org_id == org_id, OutboxEvent.event_type == kind))
        return [r.payload for r in rows.scalars()]


async def _audit(org_id, entity_id):
    async with database.sessions() as s:
        rows = await s.execute(
            select(AuditEvent.action)
            .where(AuditEvent.org_id == org_id, AuditEvent.entity_id == str(entity_id))
            .order_by(AuditEvent.at)
        )
        return [r[0] for r in rows]


async def test_events_and_audit(team, ready):
    for step in ("submit", "approve", "publish"):
        await act(team, ready, step)
    published = await _events(team.org_id, "objective.published")
    assert [p["objective_id"] for p in published][-1] == ready["id"]
    assert published[-1]["owner_id"] == team.employees["alice"]["id"]
    kr = (await get(team, f"/api/v1/key-results?objective_id={ready['id']}"))["items"][0]
    made = await check_in(team, kr, headers=team.employee("alice"), value="60", status="on_track")
    checkins = await _events(team.org_id, "checkin.created")
    assert checkins[-1]["check_in_id"] == made["id"] and checkins[-1]["value"] == "60"
    assert checkins[-1]["objective_id"] == ready["id"]
    await act(team, ready, "close")
    assert [p["objective_id"] for p in await _events(team.org_id, "objective.closed")] == [ready["id"]]
    assert await _audit(team.org_id, ready["id"]) == [
        "objective.created",
        "objective.submitted",
        "objective.approved",
        "objective.published",
        "objective.closed",
    ]
    assert await _audit(team.org_id, kr["id"]) == ["key_result.created"]
    assert await _audit(team.org_id, made["id"]) == ["check_in.created"]
    # nothing is emitted for a refused action
    await act(team, ready, "close", expect=409)
    assert len(await _events(team.org_id, "objective.closed")) == 1
    assert uuid.UUID(ready["id"])


async def test_calibration_closes_what_is_still_published(team, ready, cycle):
    for step in ("submit", "approve", "publish"):
        await act(team, ready, step)
    draft = await make_objective(team, cycle, "bob", level="individual", title="Never submitted")
    for to in ("review", "calibration"):
        resp = await team.client.post(f"/api/v1/cycles/{cycle['id']}/transition", headers=team.hr, json={"to": to})
        assert resp.status_code == 200, resp.text
    assert (await get(team, f"/api/v1/objectives/{ready['id']}"))["status"] == "closed"
    assert (await get(team, f"/api/v1/objectives/{draft['id']}"))["status"] == "draft"
    revisions = (await get(team, f"/api/v1/objectives/{ready['id']}/revisions"))["items"]
    assert revisions[-1]["action"] == "closed" and "calibration" in revisions[-1]["reason"]
    closed = [p["objective_id"] for p in await _events(team.org_id, "objective.closed")]
    assert ready["id"] in closed and draft["id"] not in closed
    # the manager grades during calibration; the cycle is not closed yet
    kr = (await get(team, f"/api/v1/key-results?objective_id={ready['id']}"))["items"][0]
    graded = await team.client.patch(
        f"/api/v1/key-results/{kr['id']}",
        headers=team.employee("lead"),
        json={"grade": "0.7", "grade_reason": "good effort"},
    )
    assert graded.status_code == 200, graded.text


async def test_nobody_approves_or_rejects_their_own_objective(team, cycle):
    """Four eyes: HR (or admin) who owns an objective cannot approve or reject it; another
    HR person or the owner's manager can."""
    from tests.okr.conftest import act, make_kr, make_objective

    t = team
    hr_owner = t.as_("hr", "employee", emp=t.employees["lead"]["id"])
    obj = await make_objective(t, cycle, "lead", level="company")
    await make_kr(t, obj)
    await make_kr(t, obj, title="Launch the app", kind="boolean", start=None, target=None)
    await act(t, obj, "submit", headers=hr_owner)
    assert (await act(t, obj, "approve", headers=hr_owner, expect=403))["status"] == 403
    assert (await act(t, obj, "reject", headers=hr_owner, expect=403, comment="no"))["status"] == 403
    admin_owner = t.as_("admin", emp=t.employees["lead"]["id"])
    await act(t, obj, "approve", headers=admin_owner, expect=403)
    approved = await act(t, obj, "approve", headers=t.employee("boss"))
    assert approved["status"] == "approved"
