"""The result lifecycle: draft → approved → finalized (draft or approved → declined),
finalized results immutable (409 from the service, and the database refuses the write
too), corrections as adjustments referencing the original, the audit trail without
amounts, `incentive.finalized`, If-Match, and who sees what of a result."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from service.db import database
from tests.conftest import Tenant
from tests.incentives.conftest import (
    act,
    audit_events,
    by_employee,
    comp,
    finalize_plan,
    give_scores,
    make_plan,
    outbox,
    results_of,
    run,
    set_employee,
)


async def bonus(t: Tenant, cycle: dict[str, Any], amounts: dict[str, int] | None = None) -> tuple[dict, dict]:
    """A run plan whose drafts pay each named employee their amount (rating B, × 1.0)."""
    amounts = amounts or {"alice": 1000, "bob": 2000}
    await give_scores(t, cycle, {k: 90 for k in amounts})
    for key, amount in amounts.items():
        await set_employee(t, key, compensation=comp(amount))
    plan = await make_plan(t, cycle)
    await run(t, plan)
    return plan, by_employee(t, await results_of(t, plan))


async def test_walk_the_lifecycle_with_audit_and_event(team, q4):
    t = team
    plan, got = await bonus(t, q4)
    alice = got["alice"]
    assert (alice["status"], alice["version"]) == ("draft", 1)
    approved = await act(t, alice, "approve", comment="checked against the budget")
    assert (approved["status"], approved["version"], approved["decision_comment"]) == (
        "approved",
        2,
        "checked against the budget",
    )
    assert approved["approved_by"] and approved["approved_at"]
    final = await act(t, approved, "finalize")
    assert final["status"] == "finalized" and final["version"] == 3 and final["finalized_at"]
    events = await audit_events(t, alice["id"])
    assert [e.action for e in events] == [
        "incentive_result.created",
        "incentive_result.approved",
        "incentive_result.finalized",
    ]
    assert [(e.before or {}).get("status") for e in events] == [None, "draft", "approved"]
    assert [e.after["status"] for e in events] == ["draft", "approved", "finalized"]
    assert all("1000" not in str(e.before) + str(e.after) for e in events)  # pay stays out of the audit log
    assert events[1].reason == "checked against the budget"
    emitted = await outbox(t)
    assert len(emitted) == 1 and emitted[0]["result_ids"] == [alice["id"]] and emitted[0]["plan_id"] == plan["id"]
    assert emitted[0]["count"] == 1 and emitted[0]["payroll_sequences"] == [1]
    assert "amount" not in str(emitted[0])


async def test_finalized_results_are_immutable(team, q4):
    t = team
    plan, got = await bonus(t, q4)
    await finalize_plan(t, plan)
    alice = (await t.client.get(f"/api/v1/incentive-results/{got['alice']['id']}", headers=t.hr)).json()
    for action in ("approve", "finalize", "decline"):
        resp = await t.client.post(f"/api/v1/incentive-results/{alice['id']}/{action}", headers=t.hr)
        assert resp.status_code == 409, (action, resp.text)
        assert "immutable" in resp.json()["detail"]
        # the problem's own members are never overwritten by the extra ones
        assert (resp.json()["status"], resp.json()["result_status"]) == (409, "finalized")
    report = await run(t, plan)
    assert (report["created"], report["replaced"], report["kept"]) == (0, 0, 2)
    assert (await t.client.post(f"/api/v1/incentive-plans/{plan['id']}/finalize", headers=t.hr)).json()["count"] == 0
    again = (await t.client.get(f"/api/v1/incentive-results/{alice['id']}", headers=t.hr)).json()
    assert again == alice
    assert len(await outbox(t)) == 1


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE incentive_results SET amount_minor = 1 WHERE id = :id",
        "UPDATE incentive_results SET status = 'draft' WHERE id = :id",
        "DELETE FROM incentive_results WHERE id = :id",
    ],
)
async def test_the_database_refuses_to_change_a_finalized_row(team, q4, statement):
    t = team
    plan, got = await bonus(t, q4)
    await act(t, got["bob"], "approve")  # bob stays approved: still writable
    await act(t, await act(t, got["alice"], "approve"), "finalize")
    as_db = {
        "id": got["alice"]["id"]
        if database.engine.dialect.name == "postgresql"
        else got["alice"]["id"].replace("-", "")
    }
    with pytest.raises(DBAPIError, match="immutable"):
        async with database.sessions() as session:
            await session.execute(text(statement), as_db)
            await session.commit()
    writable = {
        "id": got["bob"]["id"] if database.engine.dialect.name == "postgresql" else got["bob"]["id"].replace("-", "")
    }
    async with database.sessions() as session:
        changed = await session.execute(text("UPDATE incentive_results SET reason = 'x' WHERE id = :id"), writable)
        await session.rollback()
    assert changed.rowcount == 1
    again = (await t.client.get(f"/api/v1/incentive-results/{got['alice']['id']}", headers=t.hr)).json()
    assert again["amount_minor"] == 1000 and again["status"] == "finalized"


async def test_decline_and_state_conflicts(team, q4):
    t = team
    _, got = await bonus(t, q4)
    await act(t, got["alice"], "finalize", expect=409)  # a draft is approved first
    declined = await act(t, got["alice"], "decline", comment="not eligible after all")
    assert declined["status"] == "declined" and declined["declined_by"]
    for action in ("approve", "finalize", "decline"):
        await act(t, declined, action, expect=409)
    approved = await act(t, got["bob"], "approve")
    await act(t, approved, "approve", expect=409)
    assert (await act(t, approved, "decline"))["status"] == "declined"
    unknown = await t.client.post(f"/api/v1/incentive-results/{got['bob']['id']}/pay", headers=t.hr)
    assert unknown.status_code == 422


async def test_if_match_on_actions(team, q4):
    t = team
    _, got = await bonus(t, q4)
    path = f"/api/v1/incentive-results/{got['alice']['id']}"
    etag = (await t.client.get(path, headers=t.hr)).headers["etag"]
    assert etag == '"1"'
    stale = await t.client.post(path + "/approve", headers={**t.hr, "If-Match": '"7"'})
    assert stale.status_code == 412
    ok = await t.client.post(path + "/approve", headers={**t.hr, "If-Match": etag})
    assert ok.status_code == 200 and ok.headers["etag"] == '"2"'


async def test_adjustments_reference_the_original_and_walk_the_lifecycle(team, q4):
    t = team
    plan, got = await bonus(t, q4)
    alice = got["alice"]
    path = f"/api/v1/incentive-results/{alice['id']}/adjust"
    early = await t.client.post(path, headers=t.hr, json={"amount_minor": 100, "reason": "typo"})
    assert early.status_code == 409  # a draft is re-run, not adjusted
    await finalize_plan(t, plan)
    for bad, loc in (
        ({"reason": "x"}, ["body"]),
        ({"amount_minor": 0, "reason": "x"}, ["body"]),
        ({"amount_minor": 5, "corrected_amount_minor": 5, "reason": "x"}, ["body"]),
        ({"amount_minor": 5}, ["body", "reason"]),
        ({"amount_minor": 5, "reason": "x", "status": "finalized"}, ["body", "status"]),
    ):
        resp = await t.client.post(path, headers=t.hr, json=bad)
        assert resp.status_code == 422 and loc in [e["loc"] for e in resp.json()["errors"]], resp.text
    first = await t.client.post(path, headers=t.hr, json={"amount_minor": -250, "reason": "overpaid"})
    assert first.status_code == 201, first.text
    adj = first.json()
    assert (adj["kind"], adj["status"], adj["adjusts_id"], adj["amount_minor"], adj["reason"]) == (
        "adjustment",
        "draft",
        alice["id"],
        -250,
        "overpaid",
    )
    assert adj["inputs"]["money"]["previous_total_minor"] == 1000 and adj["inputs"]["money"]["new_total_minor"] == 750
    await act(t, await act(t, adj, "approve"), "finalize")
    # A corrected total counts the original and its adjustments; adjusting an adjustment
    # references the same original.
    second = await t.client.post(
        f"/api/v1/incentive-results/{adj['id']}/adjust",
        headers=t.hr,
        json={"corrected_amount_minor": 1200, "reason": "rating corrected"},
    )
    assert second.status_code == 201, second.text
    assert second.json()["amount_minor"] == 450 and second.json()["adjusts_id"] == alice["id"]
    same = await t.client.post(path, headers=t.hr, json={"corrected_amount_minor": 1200, "reason": "again"})
    assert same.status_code == 409
    listed = await results_of(t, plan, kind="adjustment")
    assert sorted(r["amount_minor"] for r in listed) == [-250, 450]
    original = (await t.client.get(f"/api/v1/incentive-results/{alice['id']}", headers=t.hr)).json()
    assert original["amount_minor"] == 1000 and original["status"] == "finalized"


async def test_bulk_actions_count_and_touch_only_their_state(team, q4):
    t = team
    plan, got = await bonus(t, q4, {"alice": 1000, "bob": 2000, "carol": 3000})
    await act(t, got["carol"], "decline")
    approve = await t.client.post(f"/api/v1/incentive-plans/{plan['id']}/approve", headers=t.hr)
    assert approve.json()["count"] == 2 and set(approve.json()["result_ids"]) == {got["alice"]["id"], got["bob"]["id"]}
    final = await t.client.post(f"/api/v1/incentive-plans/{plan['id']}/finalize", headers=t.hr)
    assert final.json()["count"] == 2
    statuses = {k: r["status"] for k, r in by_employee(t, await results_of(t, plan)).items()}
    assert statuses == {"alice": "finalized", "bob": "finalized", "carol": "declined"}
    event = (await outbox(t))[0]
    assert event["count"] == 2 and event["payroll_sequences"] == [1, 2]


async def test_who_sees_amounts(team, q4):
    """Employees see their own finalized results with amounts; managers see their
    reports' results in every state without amounts or the pay part of the snapshot;
    auditors see everything without pay."""
    t = team
    plan, got = await bonus(t, q4, {"alice": 1000, "bob": 2000, "carol": 3000})
    await act(t, await act(t, got["alice"], "approve"), "finalize")

    async def seen(headers: dict[str, str]) -> dict[str, dict[str, Any]]:
        return by_employee(t, await results_of(t, plan, headers=headers))

    mine = await seen(t.employee("alice"))
    assert set(mine) == {"alice"} and mine["alice"]["amount_minor"] == 1000 and mine["alice"]["amount_visible"]
    assert "money" in mine["alice"]["inputs"]
    assert set(await seen(t.employee("bob"))) == set()  # bob's result is a draft
    lead = await seen(t.employee("lead"))
    assert set(lead) == {"alice", "bob"}
    assert all(r["amount_minor"] is None and r["amount"] is None and not r["amount_visible"] for r in lead.values())
    assert all("money" not in r["inputs"] and "2000" not in str(r) for r in lead.values())
    assert lead["alice"]["inputs"]["score"]["rating"] == "B"
    boss = await seen(t.employee("boss"))
    assert set(boss) == {"alice", "bob", "carol"} and all(r["amount_minor"] is None for r in boss.values())
    auditor = await seen(t.auditor)
    assert set(auditor) == {"alice", "bob", "carol"} and all(r["amount_minor"] is None for r in auditor.values())
    payroll = await seen(t.as_scope("payroll:read"))
    assert set(payroll) == {"alice"} and payroll["alice"]["amount_minor"] == 1000
    hr = await seen(t.hr)
    assert {k: r["amount_minor"] for k, r in hr.items()} == {"alice": 1000, "bob": 2000, "carol": 3000}
