"""Calibration sessions (SPEC section 7): membership, adjustments (mandatory reason and
author, audited, live in the scores, locked by finalization), the distribution report,
what-if simulation (nothing saved), and finalization applying the enforced forced
distribution of SPEC Appendix A (S, A, A, B, B, B, B, B, C, C with the tie rule)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tests.conftest import Tenant
from tests.evaluations.conftest import get, outbox_events, reviewed, transition
from tests.kpi.conftest import make_cycle

C = "/api/v1/calibrations"
GUIDELINE = {
    "mode": "enforced",
    "bands": [
        {"rating": "S", "pct": "0.10"},
        {"rating": "A", "pct": "0.20"},
        {"rating": "B", "pct": "0.50"},
        {"rating": "C", "pct": "0.15"},
        {"rating": "D", "pct": "0.05"},
    ],
}
# SPEC Appendix A: ten finals and the ratings the enforced distribution gives them.
FINALS = ["112", "101", "101", "96", "90", "88", "85", "79", "70", "55"]
ENFORCED = ["S", "A", "A", "B", "B", "B", "B", "B", "C", "C"]


async def eval_only_policy(t: Tenant, distribution: dict[str, Any] | None = None) -> None:
    body: dict[str, Any] = {
        "name": "eval",
        "scope": {"kind": "organization"},
        "w_kpi": "0",
        "w_okr": "0",
        "w_eval": "1",
    }
    if distribution:
        body["distribution"] = distribution
    resp = await t.client.post("/api/v1/scoring-policies", headers=t.admin, json=body)
    assert resp.status_code == 201, resp.text


async def ten_reviewed(t: Tenant, cycle: dict[str, Any]) -> list[str]:
    """Ten reports of lead, each with manager rating 5 (100 points)."""
    keys = [f"p{n}" for n in range(10)]
    for key in keys:
        await t.add_employee(key, manager="lead")
        await reviewed(t, key, cycle, "lead", manager_rating=5)
    return [t.employees[k]["id"] for k in keys]


async def session(t: Tenant, cycle: dict[str, Any], expect: int = 201, **body: Any) -> dict[str, Any]:
    resp = await t.client.post(C, headers=t.hr, json={"cycle_id": cycle["id"], "name": "Ops", **body})
    assert resp.status_code == expect, resp.text
    return resp.json()


async def adjust(
    t: Tenant,
    cal: dict[str, Any],
    employee_id: str,
    delta: str,
    reason: str = "Calibrated",
    headers: dict[str, str] | None = None,
    expect: int = 201,
) -> dict[str, Any]:
    resp = await t.client.post(
        f"{C}/{cal['id']}/adjustments",
        headers=headers or t.hr,
        json={"employee_id": employee_id, "delta": delta, "reason": reason},
    )
    assert resp.status_code == expect, resp.text
    return resp.json()


async def test_appendix_a_forced_distribution_is_enforced_at_finalization(team: Tenant):
    t = team
    await eval_only_policy(t, GUIDELINE)
    cycle = await make_cycle(t, status="review")
    people = await ten_reviewed(t, cycle)
    await transition(t, cycle, "calibration")
    cal = await session(t, cycle, employee_ids=people)
    for emp, final in zip(people, FINALS, strict=True):
        await adjust(t, cal, emp, str(Decimal(final) - 100), reason=f"Calibrated to {final}")
    report = await get(t, f"{C}/{cal['id']}/distribution")
    assert [report_final(report, e) for e in people] == [f"{f}.00" for f in FINALS]
    bands = {b["rating"]: (b["allowed"], b["actual"]) for b in report["bands"]}
    # Allowed from cumulative counts 1, 3, 8, 10, 10; actual from the bands S>=110 A>=95 B>=80 C>=60 D.
    assert bands == {"S": (1, 1), "A": (2, 3), "B": (5, 3), "C": (2, 2), "D": (0, 1)}
    assert [member(report, e)["enforced_rating"] for e in people] == ENFORCED
    assert report["groups"][0]["mode"] == "enforced" and report["simulated"] is False

    final = await t.client.post(f"{C}/{cal['id']}/finalize", headers=t.hr)
    assert final.status_code == 200 and final.json()["finalized_at"], final.text
    for emp, rating in zip(people, ENFORCED, strict=True):
        score = await get(t, f"/api/v1/cycles/{cycle['id']}/scores/{emp}")
        assert score["rating"] == rating
        assert score["explanation"]["computed_rating"] is not None
    d_person = await get(t, f"/api/v1/cycles/{cycle['id']}/scores/{people[-1]}")
    assert d_person["rating"] == "C" and "distribution_enforced" in d_person["flags"]
    assert d_person["explanation"]["computed_rating"] == "D"
    after = await get(t, f"{C}/{cal['id']}/distribution")
    assert {b["rating"]: b["actual"] for b in after["bands"]} == {"S": 1, "A": 2, "B": 5, "C": 2, "D": 0}
    assert [member(after, e)["computed_rating"] for e in people][-1] == "D"
    [event] = await outbox_events(t, "calibration.finalized")
    assert [r["rating"] for r in event["results"]] == ENFORCED and event["calibration_id"] == cal["id"]
    evs = await get(t, f"/api/v1/evaluations?cycle_id={cycle['id']}&status=calibrated&limit=50")
    assert len(evs["items"]) == 10
    assert {e["calibration"]["rating"] for e in evs["items"]} == set(ENFORCED)
    # Locked.
    await adjust(t, cal, people[0], "1", expect=409)
    assert (await t.client.post(f"{C}/{cal['id']}/finalize", headers=t.hr)).status_code == 409


def member(report: dict[str, Any], employee_id: str) -> dict[str, Any]:
    return next(e for e in report["employees"] if e["employee_id"] == employee_id)


def report_final(report: dict[str, Any], employee_id: str) -> str:
    return member(report, employee_id)["final"]


async def test_adjustments_need_a_reason_count_live_and_are_audited(team: Tenant):
    t = team
    await eval_only_policy(t)
    cycle = await make_cycle(t, status="review")
    await reviewed(t, "alice", cycle, "lead", manager_rating=4)
    alice = t.employees["alice"]["id"]
    cal = await session(t, cycle, employee_ids=[alice])
    for reason in ("", "   "):
        bad = await adjust(t, cal, alice, "1", reason=reason, expect=422)
        assert bad["errors"][0]["loc"] == ["body", "reason"]
    assert (await adjust(t, cal, alice, "0", expect=422))["errors"][0]["loc"] == ["body", "delta"]
    missing = await t.client.post(
        f"{C}/{cal['id']}/adjustments", headers=t.hr, json={"employee_id": alice, "delta": "1"}
    )
    assert missing.status_code == 422
    outsider = await adjust(t, cal, t.employees["bob"]["id"], "1", expect=422)
    assert outsider["errors"][0]["loc"] == ["body", "employee_id"]
    a = await adjust(t, cal, alice, "-2.5", reason="Peer group comparison")
    assert a["delta"] == "-2.5" and a["author"] and a["reason"] == "Peer group comparison"
    score = await get(t, f"/api/v1/cycles/{cycle['id']}/scores/{alice}")
    assert (score["final"], score["calibration_delta"]) == ("77.50", "-2.50")
    assert score["explanation"]["calibration"][0]["reason"] == "Peer group comparison"
    audit = await get(t, f"/api/v1/audit-events?entity_type=calibration_adjustment&entity_id={a['id']}", t.admin)
    [entry] = audit["items"]
    assert entry["reason"] == "Peer group comparison" and entry["after"]["delta"] == "-2.5"
    listed = await get(t, f"{C}/{cal['id']}/adjustments?employee_id={alice}", t.auditor)
    assert [x["id"] for x in listed["items"]] == [a["id"]]
    hr_alice = t.as_("hr", "employee", emp=alice)
    await adjust(t, cal, alice, "5", headers=hr_alice, expect=403)  # never one's own score


async def test_simulation_saves_nothing(team: Tenant):
    t = team
    await eval_only_policy(t, GUIDELINE)
    cycle = await make_cycle(t, status="review")
    await reviewed(t, "alice", cycle, "lead", manager_rating=4)
    await reviewed(t, "bob", cycle, "lead", manager_rating=3)
    ids = [t.employees[k]["id"] for k in ("alice", "bob")]
    cal = await session(t, cycle, employee_ids=ids)
    before = await get(t, f"{C}/{cal['id']}/distribution")
    sim = await t.client.post(
        f"{C}/{cal['id']}/simulate",
        headers=t.hr,
        json={"adjustments": [{"employee_id": ids[1], "delta": "40", "reason": "what if"}]},
    )
    assert sim.status_code == 200, sim.text
    body = sim.json()
    assert body["simulated"] is True and member(body, ids[1])["final"] == "100.00"
    assert member(body, ids[1])["rating"] == "A" and member(body, ids[1])["enforced_rating"] == "A"
    assert await get(t, f"{C}/{cal['id']}/distribution") == before
    assert (await get(t, f"{C}/{cal['id']}/adjustments"))["items"] == []
    assert (await get(t, f"/api/v1/cycles/{cycle['id']}/scores/{ids[1]}"))["final"] == "60.00"
    bad = await t.client.post(
        f"{C}/{cal['id']}/simulate",
        headers=t.hr,
        json={"adjustments": [{"employee_id": t.employees["carol"]["id"], "delta": "1"}]},
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == ["body", "adjustments", 0, "employee_id"]


async def test_advisory_report_without_enforcement(team: Tenant):
    t = team
    await eval_only_policy(t, {**GUIDELINE, "mode": "advisory"})
    cycle = await make_cycle(t, status="review")
    for who, rating in (("alice", 5), ("bob", 5), ("carol", 5)):
        await reviewed(t, who, cycle, "boss" if who == "carol" else "lead", manager_rating=rating)
    ids = [t.employees[k]["id"] for k in ("alice", "bob", "carol")]
    await transition(t, cycle, "calibration")
    cal = await session(t, cycle, employee_ids=ids)
    report = await get(t, f"{C}/{cal['id']}/distribution")
    assert {b["rating"]: (b["allowed"], b["actual"]) for b in report["bands"]}["A"] == (1, 3)
    assert all(e["enforced_rating"] is None for e in report["employees"])
    assert (await t.client.post(f"{C}/{cal['id']}/finalize", headers=t.hr)).status_code == 200
    for emp in ids:
        score = await get(t, f"/api/v1/cycles/{cycle['id']}/scores/{emp}")
        assert score["rating"] == "A" and "distribution_enforced" not in score["flags"]


async def test_membership_and_finalization_refusals(team: Tenant):
    t = team
    await eval_only_policy(t)
    cycle = await make_cycle(t, status="active")
    alice, bob = t.employees["alice"]["id"], t.employees["bob"]["id"]
    refused = await session(t, cycle, employee_ids=[alice], expect=409)
    assert refused["cycle_status"] == "active"
    await transition(t, cycle, "review")
    await reviewed(t, "alice", cycle, "lead")
    none = await session(t, cycle, expect=422)
    assert none["errors"]
    dep = (await t.client.post("/api/v1/departments", headers=t.hr, json={"name": "Team"})).json()
    for who in ("alice", "bob"):
        await t.client.patch(
            f"/api/v1/employees/{t.employees[who]['id']}", headers=t.hr, json={"department_id": dep["id"]}
        )
    cal = await session(t, cycle, department_id=dep["id"])
    assert sorted(cal["employee_ids"]) == sorted([alice, bob]) and cal["status"] == "open"
    clash = await session(t, cycle, employee_ids=[bob], expect=409)
    assert bob in str(clash["errors"])
    early = await t.client.post(f"{C}/{cal['id']}/finalize", headers=t.hr)
    assert early.status_code == 409 and early.json()["cycle_status"] == "review"
    await transition(t, cycle, "calibration")
    not_ready = await t.client.post(f"{C}/{cal['id']}/finalize", headers=t.hr)
    assert not_ready.status_code == 409 and bob in not_ready.text and alice not in not_ready.text
    stale = await t.client.post(f"{C}/{cal['id']}/finalize", headers={**t.hr, "If-Match": '"99"'})
    assert stale.status_code == 412
    await reviewed(t, "bob", cycle, "lead")
    member_hr = t.as_("hr", "employee", emp=bob)
    assert (await t.client.post(f"{C}/{cal['id']}/finalize", headers=member_hr)).status_code == 403
    listed = await get(t, f"{C}?cycle_id={cycle['id']}&status=open")
    assert [c["id"] for c in listed["items"]] == [cal["id"]]
    assert (await t.client.post(f"{C}/{cal['id']}/finalize", headers=t.hr)).status_code == 200
    assert (await get(t, f"{C}?status=open"))["items"] == []


async def test_a_finalized_calibration_is_immutable_in_the_database(team: Tenant):
    """Besides the API's refusals, the database refuses UPDATE and DELETE of a finalized
    session, its members and its adjustments (migration 0011); an open session's rows
    still change. The append-only tables refuse TRUNCATE on PostgreSQL."""
    import uuid

    from sqlalchemy import delete, text, update

    from service.db import database
    from service.evaluations.models import (
        CalibrationAdjustment,
        CalibrationMember,
        CalibrationSession,
    )
    from tests.conftest import BACKEND

    t = team
    await eval_only_policy(t)
    cycle = await make_cycle(t, status="review")
    await reviewed(t, "alice", cycle, "lead", manager_rating=4)
    alice = t.employees["alice"]["id"]
    cal = await session(t, cycle, employee_ids=[alice])
    await adjust(t, cal, alice, "-2.5", reason="Peer group comparison")
    sid = uuid.UUID(cal["id"])

    async def refused(stmt: Any) -> bool:
        async with database.sessions() as s:
            try:
                result = await s.execute(stmt)
                await s.rollback()  # an open session's change is allowed; nothing is kept
                return result.rowcount == 0
            except Exception as exc:  # the trigger's refusal, whatever the driver calls it
                assert "immutable" in str(exc) or "append-only" in str(exc), exc
                return True

    tables = (CalibrationSession, CalibrationMember, CalibrationAdjustment)
    for model in tables:  # open: the database lets these through
        key = model.id if model is CalibrationSession else model.session_id
        assert not await refused(update(model).where(model.org_id == t.org_id, key == sid).values(id=model.id))
    await transition(t, cycle, "calibration")
    fin = await t.client.post(f"{C}/{cal['id']}/finalize", headers=t.hr)
    assert fin.status_code == 200, fin.text
    for model in tables:
        key = model.id if model is CalibrationSession else model.session_id
        assert await refused(update(model).where(model.org_id == t.org_id, key == sid).values(id=model.id))
        assert await refused(delete(model).where(model.org_id == t.org_id, key == sid))
    if BACKEND == "postgresql":
        for table in ("audit_events", "score_records", "incentive_results"):
            assert await refused(text(f"TRUNCATE {table} CASCADE"))
