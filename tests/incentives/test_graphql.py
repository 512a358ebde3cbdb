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


CREATE = """mutation($input: IncentivePlanInput!) { createIncentivePlan(input: $input) {
            id databaseId kind currency params version cycle { databaseId name } } }"""


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
            "kind": "SHORT_TERM_BONUS",
            "cycleId": q4["id"],
            "params": {"pool_minor": 6_000_000_000},
        },
    )
    plan = created["data"]["createIncentivePlan"]
    assert plan["kind"] == "SHORT_TERM_BONUS" and plan["params"]["pool_minor"] == 6_000_000_000
    assert plan["cycle"]["databaseId"] == q4["id"] and plan["currency"] == "USD"
    ran = await gql(  # a plan named by its global id
        t,
        """mutation($id: ID!) { runIncentivePlan(id: $id) { created totalMinor skipped
                          resultIds pool } }""",
        id=plan["id"],
    )
    report = ran["data"]["runIncentivePlan"]
    assert report["created"] == 1 and report["totalMinor"] == 6_000_000_000  # 5e9 × 1.2 = 6e9: the pool
    result_id = report["resultIds"][0]
    approved = await gql(  # a result named by its UUID
        t,
        """mutation($id: ID!) { approveIncentiveResult(id: $id, comment: "ok") {
                               status decisionComment } }""",
        id=result_id,
    )
    assert approved["data"]["approveIncentiveResult"] == {"status": "APPROVED", "decisionComment": "ok"}
    final = await gql(
        t, """mutation($id: ID!) { finalizeIncentivePlanResults(id: $id) { count resultIds } }""", id=plan["id"]
    )
    assert final["data"]["finalizeIncentivePlanResults"] == {"count": 1, "resultIds": [result_id]}
    again = await gql(t, """mutation($id: ID!) { finalizeIncentiveResult(id: $id) { status } }""", id=result_id)
    assert again["errors"][0]["extensions"]["status"] == 409
    adjusted = await gql(
        t,
        """mutation($id: ID!, $input: IncentiveAdjustmentInput!) {
                               adjustIncentiveResult(id: $id, input: $input) {
                                 kind amountMinor adjustsId status } }""",
        id=result_id,
        input={"amountMinor": -3_000_000_000, "reason": "split payment"},
    )
    assert adjusted["data"]["adjustIncentiveResult"] == {
        "kind": "ADJUSTMENT",
        "amountMinor": -3_000_000_000,
        "adjustsId": result_id,
        "status": "DRAFT",
    }
    feed = await gql(
        t,
        """{ payrollIncentiveResults(first: 10) { edges { cursor node { databaseId sequence amountMinor
                            amount plan employeeExternalId } } pageInfo { hasNextPage endCursor } } }""",
        headers=t.as_scope("payroll:read"),
    )
    conn = feed["data"]["payrollIncentiveResults"]
    assert [e["node"]["amount"] for e in conn["edges"]] == ["60000000.00"]
    assert conn["edges"][0]["node"]["amountMinor"] == 6_000_000_000 and conn["pageInfo"]["hasNextPage"] is False
    assert conn["pageInfo"]["endCursor"] == conn["edges"][0]["cursor"]
    ack = await gql(
        t,
        """mutation($id: ID!) { acknowledgeIncentiveResult(id: $id, payrollReference: "PR-9") {
                          payrollReference } }""",
        headers=t.as_scope("payroll:ack"),
        id=result_id,
    )
    assert ack["data"]["acknowledgeIncentiveResult"]["payrollReference"] == "PR-9"
    listed = await gql(
        t,
        """query($p: ID!) { incentiveResults(planId: $p, first: 10) { nodes { id kind
                             payroll { payrollReference } employee { databaseId } } } }""",
        p=plan["id"],
    )
    nodes = listed["data"]["incentiveResults"]["nodes"]
    assert {(n["kind"], (n["payroll"] or {}).get("payrollReference")) for n in nodes} == {
        ("PAYMENT", "PR-9"),
        ("ADJUSTMENT", None),
    }
    assert all(n["employee"]["databaseId"] == t.employees["alice"]["id"] for n in nodes)


async def test_validation_errors_name_the_field(team, q4):
    t = team
    bad = await gql(
        t, CREATE, input={"name": "x", "kind": "SHORT_TERM_BONUS", "cycleId": q4["id"], "params": {"basis": "luck"}}
    )
    ext = bad["errors"][0]["extensions"]
    assert ext["status"] == 422 and ext["errors"][0]["loc"] == ["body", "params", "basis"]
    # a kind outside the enum is refused before anything runs (a GraphQL-over-HTTP request error)
    unknown_kind = await gql(t, CREATE, input={"name": "x", "kind": "LOTTERY", "cycleId": q4["id"]})
    assert unknown_kind["data"] is None and unknown_kind["errors"][0]["extensions"]["status"] == 400
    assert "IncentivePlanKind" in unknown_kind["errors"][0]["message"]
    refused = await gql(
        t, CREATE, headers=t.employee("alice"), input={"name": "x", "kind": "SHORT_TERM_BONUS", "cycleId": q4["id"]}
    )
    assert refused["errors"][0]["extensions"]["status"] == 403
    listed = await gql(t, "{ incentivePlans(first: 5) { nodes { id } } }")
    assert listed["data"]["incentivePlans"]["nodes"] == []


async def test_nominations_over_graphql(team, q4):
    t = team
    plan = (await gql(t, CREATE, input={"name": "Talent", "kind": "OKR_BREAKTHROUGH", "cycleId": q4["id"]}))["data"][
        "createIncentivePlan"
    ]
    nomination_id = uuid.uuid4()
    now = dt.datetime.now(dt.UTC)
    async with database.sessions() as session:  # a nomination as a run writes it
        await session.execute(
            insert(IncentiveResult).values(
                org_id=t.org_id,
                id=nomination_id,
                plan_id=uuid.UUID(plan["databaseId"]),
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
        t,
        """{ nominations(kind: TRAINING, first: 5) { nodes { databaseId kind status employee { databaseId } } } }""",
    )
    assert listed["data"]["nominations"]["nodes"] == [
        {
            "databaseId": str(nomination_id),
            "kind": "TRAINING",
            "status": "DRAFT",
            "employee": {"databaseId": t.employees["bob"]["id"]},
        }
    ]
    decided = await gql(
        t,
        """mutation($id: ID!) { decideNomination(id: $id, decision: APPROVE,
                              comment: "strong quarter") { status decisionComment approvedBy } }""",
        id=str(nomination_id),
    )
    assert decided["data"]["decideNomination"]["status"] == "APPROVED"
    assert decided["data"]["decideNomination"]["decisionComment"] == "strong quarter"
    wrong = await gql(
        t,
        """mutation($id: ID!) { decideNomination(id: $id, decision: PROMOTE) { status } }""",
        id=str(nomination_id),
    )
    assert wrong["data"] is None and "NominationDecision" in wrong["errors"][0]["message"]
