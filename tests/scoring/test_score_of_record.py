"""The score of record (SPEC section 9, service/scoring/records.py): stored at
finalization, answered by the scores API, read by evaluations and incentive runs, never
moved by later changes of policy, KPI definitions or a reopened child; amended only by
HR with a reason, as a new version, with correction results for what was paid."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from service.db import database
from service.scoring.models import ScoreSnapshot
from tests.conftest import Tenant, bearer, make_team, new_tenant
from tests.incentives.conftest import (
    by_employee,
    comp,
    finalize_plan,
    give_scores,
    make_plan,
    outbox,
    quarter,
    results_of,
    run,
    set_employee,
)
from tests.org.test_graphql_org import gql, ok
from tests.scoring.test_locked_periods import assert_locked, build, transition
from tests.test_scoring_policies import make_policy


def score_url(cycle_id: str, employee_id: str) -> str:
    return f"/api/v1/cycles/{cycle_id}/scores/{employee_id}"


async def score(t: Tenant, cycle_id: str, key: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    resp = await t.client.get(score_url(cycle_id, t.employees[key]["id"]), headers=headers or t.hr)
    assert resp.status_code == 200, resp.text
    return resp.json()


async def amend(
    t: Tenant, cycle_id: str, key: str, expect: int = 201, headers: dict[str, str] | None = None, **body: Any
) -> dict[str, Any]:
    resp = await t.client.post(
        f"/api/v1/cycles/{cycle_id}/amendments",
        headers=headers or t.hr,
        json={"employee_id": t.employees[key]["id"], **body},
    )
    assert resp.status_code == expect, resp.text
    return resp.json()


# --- finalization and what reads the record ----------------------------------------------------


async def test_live_until_official_then_the_record(team: Tenant):
    t = team
    q4 = await quarter(t)
    await give_scores(t, q4, {"alice": 90})
    live = await score(t, q4["id"], "alice")
    assert (live["official"], live["finalized_at"], live["record_version"]) == (False, None, None)
    assert (
        await t.client.get(score_url(q4["id"], t.employees["alice"]["id"]) + "/versions", headers=t.hr)
    ).json() == []
    await transition(t, q4["id"], "review", "calibration", "closed")
    official = await score(t, q4["id"], "alice")
    assert official["official"] is True and official["record_version"] == 1 and official["finalized_at"]
    same = {k: v for k, v in official.items() if k not in ("official", "finalized_at", "record_version")}
    assert same == {k: v for k, v in live.items() if k not in ("official", "finalized_at", "record_version")}
    (v1,) = (await t.client.get(score_url(q4["id"], t.employees["alice"]["id"]) + "/versions", headers=t.hr)).json()
    assert v1["source"] == "cycle_closed" and v1["final"] == "90.00" and v1["rating"] == "B"
    # GraphQL answers the same record
    data = ok(
        await gql(
            t,
            "query($c: ID!, $e: ID!) { score(cycleId: $c, employeeId: $e) { official "
            "recordVersion final rating } scoreVersions(cycleId: $c, employeeId: $e) { source } }",
            c=q4["id"],
            e=t.employees["alice"]["id"],
        )
    )
    assert data["score"] == {"official": True, "recordVersion": 1, "final": "90.00", "rating": "B"}
    assert data["scoreVersions"] == [{"source": "CYCLE_CLOSED"}]


async def test_incentive_run_and_scores_agree_after_finalization(team: Tenant):
    t = team
    q4 = await quarter(t)
    finals = {"boss": 112, "lead": 101, "alice": 90, "bob": 79, "carol": 55}
    await give_scores(t, q4, finals)
    for key in finals:
        await set_employee(t, key, compensation=comp(100000))
    await transition(t, q4["id"], "review", "calibration", "closed")
    plan = await make_plan(t, q4, params={"basis": "score", "multiplier_cap": "2"})
    await run(t, plan)
    results = by_employee(t, await results_of(t, plan))
    assert set(results) == set(finals)
    for key in finals:
        s = await score(t, q4["id"], key)
        inputs = results[key]["inputs"]["score"]
        assert inputs["official"] is True and inputs["record_version"] == s["record_version"] == 1
        assert (inputs["final_rounded"], inputs["rating"]) == (s["final"], s["rating"])
        assert results[key]["amount_minor"] == finals[key] * 1000  # 100000 × final / 100


async def test_record_survives_policy_definition_and_reopened_child(client: Any):
    """alice's Q4 result is official (her calibration session finalized, the cycle still
    in calibration). A new policy version, a KPI definition's changed aggregation and
    December reopened change what a live computation says; the record stays."""
    w = await build(await make_team(await new_tenant(client)), "calibration")
    t = w.t
    record = await score(t, w.ids["q4"], "alice")
    assert record["official"] is True
    policy = await make_policy(t, {"kind": "organization"})  # after pinning: never used by Q4
    edited = await t.client.patch(
        f"/api/v1/scoring-policies/{policy['id']}", headers=t.admin, json={"w_kpi": "1", "w_okr": "0", "w_eval": "0"}
    )
    assert edited.status_code == 200, edited.text
    sales = (await t.client.get("/api/v1/kpi-definitions", headers=t.hr, params={"code": "SALES"})).json()["items"][0]
    changed = await t.client.patch(f"/api/v1/kpi-definitions/{sales['id']}", headers=t.hr, json={"aggregation": "max"})
    assert changed.status_code == 200, changed.text  # Q4 is not closed: the library may change
    await transition(t, w.ids["dec"], "review", "active")  # December reopened
    assert_locked(
        await t.client.post(
            f"/api/v1/key-results/{w.ids['dec_kr']}/check-ins", headers=t.employee("alice"), json={"value": "100"}
        )
    )
    after = await score(t, w.ids["q4"], "alice")
    assert after == record
    # the live computation has moved (KPI actual: sum 120 → max 90), the record has not
    job = await t.client.post(f"/api/v1/cycles/{w.ids['q4']}/scores/recompute", headers=t.hr)
    assert job.status_code == 200, job.text
    # the recompute stores the score as shown (the record), while the live one has moved
    from service.auth.context import Ctx
    from service.cycles.models import Cycle
    from service.principal import Principal
    from service.scoring import service as scoring

    async with database.sessions() as session:
        stored = (
            await session.execute(
                select(ScoreSnapshot.final, ScoreSnapshot.official).where(
                    ScoreSnapshot.org_id == t.org_id,
                    ScoreSnapshot.cycle_id == uuid.UUID(w.ids["q4"]),
                    ScoreSnapshot.employee_id == uuid.UUID(w.ids["alice"]),
                )
            )
        ).one()
        ctx = Ctx(
            session=session, principal=Principal(sub="t", org_id=t.org_id, kind="person", roles=frozenset({"hr"}))
        )
        cycle = await session.get(Cycle, (t.org_id, uuid.UUID(w.ids["q4"])))
        (live,) = await scoring.score_employees(
            ctx, cycle, await scoring.population(ctx, cycle, [uuid.UUID(w.ids["alice"])]), explain=False
        )
    assert stored.official and stored.final.quantize(Decimal("0.01")) == Decimal(record["final"])
    assert live.result.final.quantize(Decimal("0.01")) != Decimal(record["final"])
    # the evaluation, the calibration report and the scores API agree on the record
    ev = (await t.client.get(f"/api/v1/evaluations/{w.ids['ev']}", headers=t.hr)).json()
    assert ev["calibration"]["final"] == record["final"]
    dist = (await t.client.get(f"/api/v1/calibrations/{w.ids['cal']}/distribution", headers=t.hr)).json()
    (member,) = dist["employees"]
    assert (member["final"], member["rating"]) == (record["final"], record["rating"])


async def test_an_employee_reads_their_record_with_anonymous_peer_ratings(client: Any):
    w = await build(await make_team(await new_tenant(client)), "calibration")
    t = w.t
    mine = await score(t, w.ids["q4"], "alice", t.employee("alice"))
    hr = await score(t, w.ids["q4"], "alice")
    assert isinstance(hr["explanation"]["components"]["eval"]["peer_ratings"], list)
    assert mine["explanation"]["components"]["eval"]["peer_ratings"]["available"] is False
    assert mine["final"] == hr["final"] and mine["official"] is True


# --- amendments ---------------------------------------------------------------------------


async def _paid_quarter(t: Tenant) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """SPEC Appendix A's bonus: target 240000, employed 61 of 92 days; alice scored 90 (B),
    Q4 closed, the bonus plan run and paid: 240000 × 1.0 × 61 / 92 → 159130."""
    q4 = await quarter(t)
    await give_scores(t, q4, {"alice": 90, "bob": 100})
    await set_employee(t, "alice", hire_date="2026-11-01", compensation=comp(240000))
    await set_employee(t, "bob", compensation=comp(100000))
    await transition(t, q4["id"], "review", "calibration", "closed")
    plan = await make_plan(t, q4)
    await run(t, plan)
    await finalize_plan(t, plan)
    paid = by_employee(t, await results_of(t, plan))
    assert paid["alice"]["amount_minor"] == 159130 and paid["alice"]["status"] == "finalized"
    return q4, plan, paid


async def test_amendment_writes_a_version_and_a_correction_to_the_minor_unit(team: Tenant):
    t = team
    q4, plan, paid = await _paid_quarter(t)
    body = await amend(t, q4["id"], "alice", rating="A", reason="The Q4 GMV feed missed a region")
    assert body["previous_version"] == 1
    s = body["score"]
    assert (s["record_version"], s["rating"], s["final"], s["source"]) == (2, "A", "90.00", "amendment")
    assert "amended" in s["flags"] and s["reason"] == "The Q4 GMV feed missed a region"
    assert s["changes"] == {"rating": {"before": "B", "after": "A"}}
    (correction,) = body["corrections"]
    # A: 240000 × 1.2 × 61 / 92 = 190956.52… → 190957; the correction is 190957 − 159130
    assert (correction["action"], correction["amount_minor"], correction["plan_id"]) == (
        "adjustment_created",
        31827,
        plan["id"],
    )
    results = await results_of(t, plan)
    (adj,) = [r for r in results if r["kind"] == "adjustment"]
    assert adj["id"] == correction["result_id"] and adj["adjusts_id"] == paid["alice"]["id"]
    assert (adj["amount_minor"], adj["status"]) == (31827, "draft")
    assert adj["inputs"]["amendment"]["after"]["rating"] == "A"
    before = adj["inputs"]["amendment"]["before"]
    assert (before["record_version"], Decimal(before["final"]), before["rating"]) == (1, 90, "B")
    original = [r for r in results if r["id"] == paid["alice"]["id"]][0]
    assert original == paid["alice"]  # the paid result is untouched
    # bob's result had nothing to do with it
    assert sum(1 for r in results if r["employee_id"] == t.employees["bob"]["id"]) == 1

    current = await score(t, q4["id"], "alice")
    assert (current["record_version"], current["rating"], current["official"]) == (2, "A", True)
    versions = (await t.client.get(score_url(q4["id"], t.employees["alice"]["id"]) + "/versions", headers=t.hr)).json()
    assert [(v["record_version"], v["rating"], v["source"]) for v in versions] == [
        (1, "B", "cycle_closed"),
        (2, "A", "amendment"),
    ]
    assert versions[0]["finalized_at"] == versions[1]["finalized_at"]

    # a second amendment: the final goes to 75, the rating follows the bands (C: 0.6)
    again = await amend(t, q4["id"], "alice", final="75", reason="Returns were booked twice")
    assert (again["score"]["rating"], again["score"]["final"], again["previous_version"]) == ("C", "75.00", 2)
    # C: 240000 × 0.6 × 61 / 92 = 95478.26… → 95478 = 159130 + 31827 − 95479
    assert again["corrections"][0]["amount_minor"] == -95479
    total = sum(r["amount_minor"] for r in await results_of(t, plan) if r["employee_id"] == t.employees["alice"]["id"])
    assert total == 95478

    events = await outbox(t, "score.amended")
    assert [(e["version"], e["previous"]["rating"], e["rating"]) for e in events] == [(2, "B", "A"), (3, "A", "C")]
    assert events[0]["correction_ids"] == [correction["result_id"]]
    audit = (
        await t.client.get("/api/v1/audit-events", headers=t.auditor, params={"entity_type": "score_record"})
    ).json()["items"]
    assert sorted((e["action"], e["reason"]) for e in audit) == [
        ("score.amended", "Returns were booked twice"),
        ("score.amended", "The Q4 GMV feed missed a region"),
    ]


async def test_a_pooled_plan_is_corrected_at_the_run_s_scale(team: Tenant):
    """SPEC Appendix A's pool: raws 150000, 100000, 70001 share 300000 as 140624, 93750,
    65626. alice amended from B to A: her raw becomes 180000, and both amounts are taken
    at the run's scale 300000 / 320001: 168749 − 140625 = 28124."""
    t = team
    q4 = await quarter(t)
    await give_scores(t, q4, {"alice": 85, "bob": 85, "carol": 85})
    for key, target in (("alice", 150000), ("bob", 100000), ("carol", 70001)):
        await set_employee(t, key, compensation=comp(target))
    await transition(t, q4["id"], "review", "calibration", "closed")
    plan = await make_plan(t, q4, params={"pool_minor": 300000})
    await run(t, plan)
    await finalize_plan(t, plan)
    paid = by_employee(t, await results_of(t, plan))
    assert [paid[k]["amount_minor"] for k in ("alice", "bob", "carol")] == [140624, 93750, 65626]
    body = await amend(t, q4["id"], "alice", rating="A", reason="Calibration note lost")
    assert [(c["action"], c["amount_minor"]) for c in body["corrections"]] == [("adjustment_created", 28124)]


async def test_amendment_refusals(team: Tenant):
    t = team
    q4, _plan, _paid = await _paid_quarter(t)
    alice = t.employees["alice"]["id"]
    for headers, status in (
        (t.employee("lead"), 403),
        (t.employee("alice"), 403),
        (t.auditor, 403),
        (t.employee("carol"), 404),
        (t.as_scope("payroll:read"), 404),
        (bearer(t.token(["hr"], emp=alice)), 403),
    ):  # nobody amends their own score
        await amend(t, q4["id"], "alice", status, headers, rating="A", reason="why not")
    await amend(t, q4["id"], "alice", 422, rating="Z", reason="no such band")
    await amend(t, q4["id"], "alice", 422, reason="nothing to change")
    await amend(t, q4["id"], "alice", 422, rating="A", reason="   ")
    await amend(t, q4["id"], "alice", 422, rating="A", reason="x", delta="5")
    same = await amend(t, q4["id"], "alice", 409, rating="B", reason="the same")
    assert "changes nothing" in same["detail"]
    versions = (await t.client.get(score_url(q4["id"], alice) + "/versions", headers=t.hr)).json()
    assert len(versions) == 1  # nothing was written
    # a live result is not amended: change its inputs instead
    open_cycle = await quarter(t)
    await give_scores(t, open_cycle, {"alice": 50})
    await amend(t, open_cycle["id"], "alice", 409, rating="A", reason="too early")


async def test_amend_through_graphql(team: Tenant):
    t = team
    q4, plan, _paid = await _paid_quarter(t)
    data = ok(
        await gql(
            t,
            """mutation($c: ID!, $i: ScoreAmendmentInput!) { amendScore(cycleId: $c, input: $i) {
                previousVersion score { recordVersion rating final source reason }
                corrections { action amountMinor planId } } }""",
            c=q4["id"],
            i={"employeeId": t.employees["alice"]["id"], "rating": "A", "reason": "Late evidence"},
        )
    )
    got = data["amendScore"]
    assert got["previousVersion"] == 1
    assert got["score"] == {
        "recordVersion": 2,
        "rating": "A",
        "final": "90.00",
        "source": "AMENDMENT",
        "reason": "Late evidence",
    }
    assert got["corrections"] == [{"action": "ADJUSTMENT_CREATED", "amountMinor": 31827, "planId": plan["id"]}]
    refused = await gql(
        t,
        """mutation($c: ID!, $i: ScoreAmendmentInput!) { amendScore(cycleId: $c, input: $i)
                              { previousVersion } }""",
        t.employee("lead"),
        c=q4["id"],
        i={"employeeId": t.employees["alice"]["id"], "rating": "S", "reason": "x"},
    )
    assert refused["errors"][0]["extensions"]["status"] == 403


async def test_records_are_immutable_in_the_database(team: Tenant):
    from sqlalchemy import delete, update

    from service.scoring.models import ScoreRecord

    t = team
    q4 = await quarter(t)
    await give_scores(t, q4, {"alice": 90})
    await transition(t, q4["id"], "review", "calibration", "closed")
    for stmt in (
        update(ScoreRecord).where(ScoreRecord.org_id == t.org_id).values(rating="S"),
        delete(ScoreRecord).where(ScoreRecord.org_id == t.org_id),
    ):
        async with database.sessions() as session:
            try:
                await session.execute(stmt)
                await session.commit()
            except Exception as exc:  # the trigger's refusal, whatever the driver calls it
                assert "immutable" in str(exc)
            else:
                raise AssertionError(f"the database accepted {stmt}")
    assert (await score(t, q4["id"], "alice"))["rating"] == "B"


async def test_cycles_closed_before_records_existed_get_them_once(team: Tenant):
    """`python -m service finalize-closed-cycles` (and the demo's past quarters): a cycle
    closed without records (closed before the upgrade) gets them, once."""
    from sqlalchemy import update

    from service.auth.context import Ctx
    from service.cycles.models import Cycle
    from service.principal import Principal
    from service.scoring import records

    t = team
    q4 = await quarter(t)
    await give_scores(t, q4, {"alice": 90, "bob": 100})
    async with database.sessions() as session:  # what an earlier release left behind
        await session.execute(
            update(Cycle).where(Cycle.org_id == t.org_id, Cycle.id == uuid.UUID(q4["id"])).values(status="closed")
        )
        await session.commit()
    assert (await score(t, q4["id"], "alice"))["official"] is False
    for expected in (len(t.employees), 0):
        async with database.sessions() as session:
            ctx = Ctx(
                session=session,
                principal=Principal(sub="t", org_id=t.org_id, kind="person", roles=frozenset({"admin"})),
            )
            assert await records.finalize_closed(ctx) == expected
            await session.commit()
    official = await score(t, q4["id"], "alice")
    assert (official["official"], official["final"], official["rating"]) == (True, "90.00", "B")
