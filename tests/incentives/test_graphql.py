"""The GraphQL adapter of incentives: the same use cases as REST (plans, runs, the
lifecycle, adjustments, nominations, the payroll feed and acknowledgements), money as
`MinorUnits` beyond 32 bits, and validation errors shaped like REST's."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import insert

from service.db import database
from service.incentives.models import IncentiveResult
from tests.conftest import Tenant
from tests.incentives.conftest import comp, give_scores, set_employee


async def gql(t: Tenant, query: str, headers: dict[str, str] | None = None, **variables: Any) -> dict[str, Any]:
    resp = await t.client.post("/graphql", headers=headers or t.hr, json={"query": query, "variables": variables})
    assert resp.status_code == 200, resp.text
    return resp.json()


CREATE = """mutation($input: IncentivePlanInput!) { create_incentive_plan(input: $input) {
            id kind currency params version cycle { id name } } }"""


async def test_plan_run_lifecycle_and_payroll_over_graphql(team, q4):
    t = team
    await give_scores(t, q4, {"alice": 100})
    big = 5_000_000_000  # beyond GraphQL's 32-bit Int
    await set_employee(t, "alice", compensation=comp(big))
    created = await gql(
        t,
        CREATE,
        input={
            "name": "Big bonus",
            "kind": "short_term_bonus",
            "cycle_id": q4["id"],
            "params": {"pool_minor": 6_000_000_000},
        },
    )
    plan = created["data"]["create_incentive_plan"]
    assert plan["kind"] == "short_term_bonus" and plan["params"]["pool_minor"] == 6_000_000_000
    assert plan["cycle"]["id"] == q4["id"] and plan["currency"] == "USD"
    ran = await gql(
        t,
        """mutation($id: UUID!) { run_incentive_plan(id: $id) { created total_minor skipped
                          result_ids pool } }""",
        id=plan["id"],
    )
    report = ran["data"]["run_incentive_plan"]
    assert report["created"] == 1 and report["total_minor"] == 6_000_000_000  # 5e9 × 1.2 = 6e9: the pool
    result_id = report["result_ids"][0]
    approved = await gql(
        t,
        """mutation($id: UUID!) { approve_incentive_result(id: $id, comment: "ok") {
                               status decision_comment } }""",
        id=result_id,
    )
    assert approved["data"]["approve_incentive_result"] == {"status": "approved", "decision_comment": "ok"}
    final = await gql(
        t, """mutation($id: UUID!) { finalize_incentive_plan_results(id: $id) { count result_ids } }""", id=plan["id"]
    )
    assert final["data"]["finalize_incentive_plan_results"] == {"count": 1, "result_ids": [result_id]}
    again = await gql(t, """mutation($id: UUID!) { finalize_incentive_result(id: $id) { status } }""", id=result_id)
    assert again["errors"][0]["extensions"]["status"] == 409
    adjusted = await gql(
        t,
        """mutation($id: UUID!, $input: IncentiveAdjustmentInput!) {
                               adjust_incentive_result(id: $id, input: $input) {
                                 kind amount_minor adjusts_id status } }""",
        id=result_id,
        input={"amount_minor": -3_000_000_000, "reason": "split payment"},
    )
    assert adjusted["data"]["adjust_incentive_result"] == {
        "kind": "adjustment",
        "amount_minor": -3_000_000_000,
        "adjusts_id": result_id,
        "status": "draft",
    }
    feed = await gql(
        t,
        """{ payroll_incentive_results(first: 10) { edges { cursor node { id sequence amount_minor
                            amount plan employee_external_id } } page_info { has_next_page end_cursor } } }""",
        headers=t.as_scope("payroll:read"),
    )
    conn = feed["data"]["payroll_incentive_results"]
    assert [e["node"]["amount"] for e in conn["edges"]] == ["60000000.00"]
    assert conn["edges"][0]["node"]["amount_minor"] == 6_000_000_000 and conn["page_info"]["has_next_page"] is False
    assert conn["page_info"]["end_cursor"] == conn["edges"][0]["cursor"]
    ack = await gql(
        t,
        """mutation($id: UUID!) { acknowledge_incentive_result(id: $id, payroll_reference: "PR-9") {
                          payroll_reference } }""",
        headers=t.as_scope("payroll:ack"),
        id=result_id,
    )
    assert ack["data"]["acknowledge_incentive_result"]["payroll_reference"] == "PR-9"
    listed = await gql(
        t,
        """query($p: UUID!) { incentive_results(plan_id: $p, first: 10) { nodes { id kind
                             payroll { payroll_reference } employee { id } } } }""",
        p=plan["id"],
    )
    nodes = listed["data"]["incentive_results"]["nodes"]
    assert {(n["kind"], (n["payroll"] or {}).get("payroll_reference")) for n in nodes} == {
        ("payment", "PR-9"),
        ("adjustment", None),
    }
    assert all(n["employee"]["id"] == t.employees["alice"]["id"] for n in nodes)


async def test_validation_errors_name_the_field(team, q4):
    t = team
    bad = await gql(
        t, CREATE, input={"name": "x", "kind": "short_term_bonus", "cycle_id": q4["id"], "params": {"basis": "luck"}}
    )
    ext = bad["errors"][0]["extensions"]
    assert ext["status"] == 422 and ext["errors"][0]["loc"] == ["body", "params", "basis"]
    unknown_kind = await gql(t, CREATE, input={"name": "x", "kind": "lottery", "cycle_id": q4["id"]})
    assert unknown_kind["errors"][0]["extensions"]["status"] == 422
    refused = await gql(
        t, CREATE, headers=t.employee("alice"), input={"name": "x", "kind": "short_term_bonus", "cycle_id": q4["id"]}
    )
    assert refused["errors"][0]["extensions"]["status"] == 403
    listed = await gql(t, "{ incentive_plans(first: 5) { nodes { id } } }")
    assert listed["data"]["incentive_plans"]["nodes"] == []


async def test_nominations_over_graphql(team, q4):
    t = team
    plan = (await gql(t, CREATE, input={"name": "Talent", "kind": "okr_breakthrough", "cycle_id": q4["id"]}))["data"][
        "create_incentive_plan"
    ]
    nomination_id = uuid.uuid4()
    now = dt.datetime.now(dt.UTC)
    async with database.sessions() as session:  # a nomination as a run writes it
        await session.execute(
            insert(IncentiveResult).values(
                org_id=t.org_id,
                id=nomination_id,
                plan_id=uuid.UUID(plan["id"]),
                employee_id=uuid.UUID(t.employees["bob"]["id"]),
                kind="nomination",
                status="draft",
                nomination="training",
                period_start=dt.date(2026, 10, 1),
                period_end=dt.date(2026, 12, 31),
                inputs={},
                created_by="test",
                version=1,
                created_at=now,
                updated_at=now,
            )
        )
        await session.commit()
    listed = await gql(
        t, """{ nominations(kind: "training", first: 5) { nodes { id kind status employee { id } } } }"""
    )
    assert listed["data"]["nominations"]["nodes"] == [
        {"id": str(nomination_id), "kind": "training", "status": "draft", "employee": {"id": t.employees["bob"]["id"]}}
    ]
    decided = await gql(
        t,
        """mutation($id: UUID!) { decide_nomination(id: $id, decision: "approve",
                              comment: "strong quarter") { status decision_comment approved_by } }""",
        id=str(nomination_id),
    )
    assert decided["data"]["decide_nomination"]["status"] == "approved"
    assert decided["data"]["decide_nomination"]["decision_comment"] == "strong quarter"
    wrong = await gql(
        t,
        """mutation($id: UUID!) { decide_nomination(id: $id, decision: "promote") { status } }""",
        id=str(nomination_id),
    )
    assert wrong["errors"][0]["extensions"]["status"] == 404
