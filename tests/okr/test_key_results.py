"""Key results through the API: the SPEC section 4 rules as users see them (computed by
service.scoring.okr), kinds and their validation, check-ins, grades."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.okr.conftest import (
    act,
    check_in,
    get,
    make_cycle,
    make_kr,
    make_objective,
    publish,
)


@pytest.fixture
async def draft(team, cycle, company):
    return await make_objective(team, cycle, "alice", level="individual", parent_id=company["id"], type="aspirational")


def kr_url(kr):
    return f"/api/v1/key-results/{kr['id']}"


async def test_decreasing_metric(team, draft):
    kr = await make_kr(team, draft, title="Delivery complaints per 1000 orders", start=8, target=5)
    assert kr["direction"] == "decrease" and kr["current"] == "8" and kr["progress"] == "0.0000"
    await check_in(team, kr, value="6.5")
    got = await get(team, kr_url(kr))
    assert got["current"] == "6.5" and got["progress"] == "0.5000" and got["score"] == "0.5000"


@pytest.mark.parametrize(
    "start,target,value,progress",
    [
        ("0", "50000", "60000", "1.0000"),  # past target: clamped to 1
        ("0", "50000", "-10", "0.0000"),  # the wrong direction: clamped to 0
        ("8", "5", "4", "1.0000"),  # decreasing, past target
        ("8", "5", "9", "0.0000"),  # decreasing, wrong direction
        ("0", "50000", "36000", "0.7200"),
        ("20", "100", "90", "0.8750"),
        ("0", "3", "1", "0.3333"),  # shown rounded half-up to 4 places
        ("0", "3", "2", "0.6667"),
    ],
)
async def test_metric_progress_is_clamped(team, draft, start, target, value, progress):
    kr = await make_kr(team, draft, start=start, target=target)
    await check_in(team, kr, value=value)
    got = await get(team, kr_url(kr))
    assert got["progress"] == progress and got["current"] == value


async def test_target_equal_to_start_is_refused(team, draft):
    resp = await team.client.post(
        "/api/v1/key-results",
        headers=team.hr,
        json={"objective_id": draft["id"], "title": "Flat", "kind": "metric", "start": "5", "target": 5.0},
    )
    assert resp.status_code == 422
    assert resp.headers["content-type"].startswith("application/problem+json")
    kr = await make_kr(team, draft, start="0", target="10")
    patch = await team.client.patch(kr_url(kr), headers=team.hr, json={"target": "0"})
    assert patch.status_code == 422
    patch = await team.client.patch(kr_url(kr), headers=team.hr, json={"start": "10"})
    assert patch.status_code == 422
    assert (await get(team, kr_url(kr)))["target"] == "10"


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "metric", "start": "0"},  # no target
        {"kind": "metric", "start": "0", "target": "NaN"},
        {"kind": "metric", "start": "0", "target": "1", "milestones": [{"title": "a"}]},
        {"kind": "boolean", "start": "0", "target": "1"},
        {"kind": "milestone"},  # no milestone
        {"kind": "milestone", "milestones": []},
        {"kind": "milestone", "milestones": [{"title": "a", "weight": 0}]},
        {"kind": "boolean", "weight": "0"},
        {"kind": "boolean", "weight": "-1"},
        {"kind": "boolean", "mystery": 1},  # unknown fields: 422
        {"kind": "percent"},
    ],
)
async def test_key_result_validation(team, draft, body):
    resp = await team.client.post(
        "/api/v1/key-results", headers=team.hr, json={"objective_id": draft["id"], "title": "KR", **body}
    )
    assert resp.status_code == 422, resp.text


async def test_decimals_accept_numbers_and_strings(team, draft):
    kr = await make_kr(team, draft, start=0.1, target="0.30", weight=2.5)
    assert kr["start"] == "0.1" and kr["target"] == "0.30" and kr["weight"] == "2.5"
    await check_in(team, kr, value=0.2)
    assert (await get(team, kr_url(kr)))["progress"] == "0.5000"


async def test_milestone_weights_and_check_ins(team, draft):
    kr = await make_kr(
        team,
        draft,
        kind="milestone",
        start=None,
        target=None,
        title="Launch the store",
        milestones=[
            {"title": "Design", "weight": 1, "done": True},
            {"title": "Build", "weight": "1", "done": True},
            {"title": "Launch", "weight": 2},
        ],
    )
    assert kr["progress"] == "0.5000"
    assert [m["weight"] for m in kr["milestones"]] == ["1", "1", "2"]
    await check_in(team, kr, milestone=2, done=True, note="live")
    got = await get(team, kr_url(kr))
    assert got["progress"] == "1.0000" and got["milestones"][2]["done"] is True
    await check_in(team, kr, milestone=0, done=False)
    assert (await get(team, kr_url(kr)))["progress"] == "0.7500"
    await check_in(team, kr, expect=422, milestone=3, done=True)
    await check_in(team, kr, expect=422, done=True)  # which milestone?
    await check_in(team, kr, expect=422, value="1")
    await check_in(team, kr, status="at_risk")  # a status-only update is fine


async def test_boolean_follows_latest_check_in(team, draft):
    kr = await make_kr(team, draft, kind="boolean", start=None, target=None, title="Go live on marketplace")
    assert kr["progress"] == "0.0000" and kr["done"] is False
    await check_in(team, kr, done=True)
    assert (await get(team, kr_url(kr)))["score"] == "1.0000"
    old = (dt.datetime.now(dt.UTC) - dt.timedelta(days=3)).isoformat()
    await check_in(team, kr, done=False, checked_in_at=old)  # older news does not win
    assert (await get(team, kr_url(kr)))["done"] is True
    await check_in(team, kr, done=False)
    assert (await get(team, kr_url(kr)))["score"] == "0.0000"
    await check_in(team, kr, expect=422, value="1")


async def test_ties_in_check_in_time_go_to_the_latest_created(team, draft):
    kr = await make_kr(team, draft, start="0", target="100")
    at = "2026-03-02T09:00:00Z"
    await check_in(team, kr, value="30", checked_in_at=at)
    await check_in(team, kr, value="20", checked_in_at=at)
    got = await get(team, kr_url(kr))
    assert got["current"] == "20" and got["progress"] == "0.2000"
    await check_in(team, kr, value="90", checked_in_at="2026-03-01T09:00:00Z")  # earlier: ignored
    assert (await get(team, kr_url(kr)))["current"] == "20"


async def test_check_in_validation(team, draft):
    kr = await make_kr(team, draft, start="0", target="10")
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
    await check_in(team, kr, expect=422, value="1", checked_in_at=future)
    soon = (dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)).isoformat()
    await check_in(team, await make_kr(team, draft), value="1", checked_in_at=soon)  # within the skew
    await check_in(team, kr, expect=422)  # a metric needs a value
    await check_in(team, kr, expect=422, value="1", confidence=11)
    await check_in(team, kr, expect=422, value="1", status="great")
    await check_in(team, kr, expect=422, value="1", done=True)
    await check_in(team, kr, expect=422, value="1", author="someone")
    made = await check_in(
        team, kr, headers=team.employee("alice"), value="4", confidence=6, status="at_risk", note="slow week"
    )
    assert made["author_employee_id"] == team.employees["alice"]["id"] and made["value"] == "4"
    await check_in(team, kr, value="5", checked_in_at="2026-01-05T10:00:00Z")  # a late report of an old week
    listed = await get(team, f"{kr_url(kr)}/check-ins?limit=1")
    assert [c["value"] for c in listed["items"]] == ["4"] and listed["next_cursor"]
    rest = await get(team, f"{kr_url(kr)}/check-ins?cursor={listed['next_cursor']}")
    assert [c["value"] for c in rest["items"]] == ["5"] and rest["next_cursor"] is None
    got = await get(team, kr_url(kr))
    assert got["status"] == "at_risk" and got["confidence"] == 6 and got["current"] == "4"


async def test_objective_score_is_the_weighted_mean(team, cycle, company):
    """Appendix A, objective 1: 0.72 (w 2), 0.5 (w 1), 0.5 (w 1) → 0.6100."""
    obj = await make_objective(team, cycle, "alice", level="individual", parent_id=company["id"], type="aspirational")
    empty = await get(team, f"/api/v1/objectives/{obj['id']}")
    assert empty["score"] is None and empty["progress"] is None and empty["flags"] == ["not_scored"]
    live = await make_kr(team, obj, title="Live-stream sales", start="0", target="50000", weight=2)
    complaints = await make_kr(team, obj, title="Delivery complaints", start="8", target="5")
    await make_kr(
        team,
        obj,
        kind="milestone",
        start=None,
        target=None,
        title="New warehouse",
        milestones=[
            {"title": "a", "weight": 1, "done": True},
            {"title": "b", "weight": 1, "done": True},
            {"title": "c", "weight": 2},
        ],
    )
    await check_in(team, live, value="36000")
    await check_in(team, complaints, value="6.5")
    got = await get(team, f"/api/v1/objectives/{obj['id']}")
    assert got["score"] == "0.6100" and got["progress"] == "0.6100" and got["flags"] == []


async def test_pace_against_the_cycle(team):
    past = await make_cycle(team, start="2025-01-01", end="2025-12-31")
    future = await make_cycle(team, start="2030-01-01", end="2030-12-31")
    for cyc, behind, ahead in ((past, "off_track", "on_track"), (future, "on_track", "on_track")):
        obj = await make_objective(team, cyc, "boss")
        slow = await make_kr(team, obj, start="0", target="100")
        done = await make_kr(team, obj, start="0", target="100")
        await check_in(team, slow, value="10", status="on_track")
        await check_in(team, done, value="100")
        got = await get(team, kr_url(slow))
        assert got["pace"] == behind and got["status"] == "on_track"  # neither overrides the other
        assert (await get(team, kr_url(done)))["pace"] == ahead
    half = await make_cycle(
        team,
        start=(dt.date.today() - dt.timedelta(days=50)).isoformat(),
        end=(dt.date.today() + dt.timedelta(days=50)).isoformat(),
    )
    obj = await make_objective(team, half, "boss")
    kr = await make_kr(team, obj, start="0", target="100")
    for value, pace in (("36", "on_track"), ("30", "at_risk"), ("20", "off_track")):
        await check_in(team, kr, value=value)
        assert (await get(team, kr_url(kr)))["pace"] == pace, value


async def test_grade_once_closed(team, cycle, company):
    obj = await make_objective(team, cycle, "alice", level="individual", parent_id=company["id"])
    kr = await make_kr(team, obj, start="0", target="10")
    await make_kr(team, obj, start="0", target="10", title="Second")
    await check_in(team, kr, value="4")
    await publish(team, obj)
    url = kr_url(kr)
    boss = team.employee("boss")
    not_closed = await team.client.patch(url, headers=boss, json={"grade": "0.9", "grade_reason": "great"})
    assert not_closed.status_code == 409
    await act(team, obj, "close", headers=team.employee("lead"))
    no_reason = await team.client.patch(url, headers=boss, json={"grade": "0.9"})
    assert no_reason.status_code == 422
    out_of_range = await team.client.patch(url, headers=boss, json={"grade": "1.2", "grade_reason": "x"})
    assert out_of_range.status_code == 422
    for who in (team.employee("alice"), team.employee("carol"), team.auditor):
        denied = await team.client.patch(url, headers=who, json={"grade": "1", "grade_reason": "mine"})
        assert denied.status_code == 403
    mixed = await team.client.patch(url, headers=boss, json={"grade": "0.9", "grade_reason": "r", "title": "x"})
    assert mixed.status_code == 409
    edit = await team.client.patch(url, headers=team.hr, json={"title": "renamed"})
    assert edit.status_code == 409
    ok = await team.client.patch(url, headers=boss, json={"grade": "0.9", "grade_reason": "blocked by a supplier"})
    assert ok.status_code == 200, ok.text
    body = ok.json()
    assert body["grade"] == "0.9" and body["score"] == "0.9000" and body["progress"] == "0.4000"
    assert body["grade_reason"] == "blocked by a supplier" and body["graded_by"]
    objective = await get(team, f"/api/v1/objectives/{obj['id']}")
    assert objective["score"] == "0.4500" and objective["progress"] == "0.2000"
    by_hr = await team.client.patch(url, headers=team.hr, json={"grade": "0.8", "grade_reason": "calibrated"})
    assert by_hr.status_code == 200
    revisions = (await get(team, f"/api/v1/objectives/{obj['id']}/revisions"))["items"]
    graded = [r for r in revisions if r["action"] == "key_result.graded"]
    assert [r["changes"]["grade"]["after"] for r in graded] == ["0.9", "0.8"]
    assert graded[0]["reason"] == "blocked by a supplier" and graded[0]["key_result_id"] == kr["id"]
    await check_in(team, kr, expect=409, value="5")


async def test_check_in_rights(team, cycle, company):
    await team.add_employee("erin", manager="dave")
    obj = await make_objective(team, cycle, "alice", level="individual", parent_id=company["id"])
    kr = await make_kr(team, obj, owner_id=team.employees["erin"]["id"])
    for who in ("alice", "lead", "boss", "erin", "dave"):  # owner, managers, KR owner, KR owner's manager
        await check_in(team, kr, headers=team.employee(who), value="1")
    await check_in(team, kr, headers=team.hr, value="1")
    await check_in(team, kr, headers=team.admin, value="1")
    for who in ("bob", "carol"):
        await check_in(team, kr, headers=team.employee(who), expect=403, value="1")
    await check_in(team, kr, headers=team.auditor, expect=403, value="1")
    await check_in(team, kr, headers=team.as_scope("kpi:write"), expect=404, value="1")
    # the KR owner may report progress but not change the plan
    resp = await team.client.patch(kr_url(kr), headers=team.employee("erin"), json={"title": "mine now"})
    assert resp.status_code == 403
    listed = await get(team, f"{kr_url(kr)}/check-ins", headers=team.employee("bob"))
    assert len(listed["items"]) == 7


async def test_list_key_results_by_objective(team, draft, company):
    a = await make_kr(team, draft, title="A")
    b = await make_kr(team, draft, title="B")
    listed = await get(team, f"/api/v1/key-results?objective_id={draft['id']}")
    assert [k["id"] for k in listed["items"]] == [a["id"], b["id"]]
    everything = await get(team, "/api/v1/key-results", headers=team.employee("carol"))
    assert {a["id"], b["id"]} <= {k["id"] for k in everything["items"]}
    missing = await team.client.get("/api/v1/key-results?objective_id=" + company["cycle_id"], headers=team.hr)
    assert missing.status_code == 404


async def test_delete_key_result_with_check_ins(team, draft):
    kr = await make_kr(team, draft)
    await check_in(team, kr, value="3")
    stale = await team.client.delete(kr_url(kr), headers={**team.hr, "If-Match": '"99"'})
    assert stale.status_code == 412
    resp = await team.client.delete(kr_url(kr), headers={**team.hr, "If-Match": f'"{1}"'})
    assert resp.status_code == 204
    assert (await team.client.get(kr_url(kr), headers=team.hr)).status_code == 404
