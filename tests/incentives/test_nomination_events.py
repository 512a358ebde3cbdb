"""A decision on a nomination is an event (`nomination.decided`): approved or declined one
at a time, approved or finalized for a whole plan at once (one event per nomination,
none for payments)."""

from __future__ import annotations

from tests.conftest import Tenant
from tests.incentives.conftest import make_plan, nominate, outbox, run


async def test_single_and_bulk_decisions(team: Tenant, q4):
    t = team
    plan = await make_plan(t, q4, kind="okr_breakthrough", name="Breakthrough")
    alice, bob, carol = await nominate(t, plan, "alice", "bob", "carol")
    resp = await t.client.post(f"/api/v1/nominations/{bob}/decline", headers=t.hr, json={"comment": "next year"})
    assert resp.status_code == 200, resp.text
    resp = await t.client.post(f"/api/v1/nominations/{alice}/approve", headers=t.hr)
    assert resp.status_code == 200, resp.text
    [declined, approved] = await outbox(t, "nomination.decided")
    assert declined == {
        "nomination_id": bob,
        "plan_id": plan["id"],
        "cycle_id": q4["id"],
        "employee_id": t.employees["bob"]["id"],
        "nomination_kind": "promotion_track",
        "kind": "promotion_track",
        "decision": "decline",
        "status": "declined",
        "actor": declined["actor"],
    }
    assert (approved["nomination_id"], approved["decision"]) == (alice, "approve")
    for action in ("approve", "finalize"):  # the plan's bulk steps: carol approved, then alice and carol final
        resp = await t.client.post(f"/api/v1/incentive-plans/{plan['id']}/{action}", headers=t.hr)
        assert resp.status_code == 200, resp.text
    later = [(e["nomination_id"], e["status"]) for e in (await outbox(t, "nomination.decided"))[2:]]
    assert later[0] == (carol, "approved")
    assert sorted(later[1:]) == sorted([(alice, "finalized"), (carol, "finalized")])


async def test_payments_are_not_nominations(team: Tenant, q4):
    t = team
    plan = await make_plan(t, q4, name="Bonus")
    await run(t, plan)
    for action in ("approve", "finalize"):
        resp = await t.client.post(f"/api/v1/incentive-plans/{plan['id']}/{action}", headers=t.hr)
        assert resp.status_code == 200, resp.text
    assert await outbox(t, "nomination.decided") == []
