"""Development plans over GraphQL: the same use cases as REST (the list and its filters,
`node`, the five mutations, the nomination's `developmentPlan`), errors shaped like REST's,
and a page of nominations reading their plans in a fixed number of statements."""

from __future__ import annotations

from typing import Any

from tests.conftest import Tenant, statement_hook
from tests.development.conftest import make_plan_for, meeting_world, nominations
from tests.kpi.conftest import make_cycle, outbox_events

PLAN = """id databaseId employeeId ownerId status goals nominationId reviewMeetingId version
          items { id databaseId kind status title source { reviewMeetingId actionIndex } }"""


async def gql(t: Tenant, query: str, headers: dict[str, str] | None = None, **variables: Any) -> dict[str, Any]:
    resp = await t.client.post("/graphql", headers=headers or t.hr, json={"query": query, "variables": variables})
    assert resp.status_code == 200, resp.text
    return resp.json()


def status_of(body: dict[str, Any]) -> int:
    return body["errors"][0]["extensions"]["status"]


async def test_mutations_and_queries(team: Tenant):
    t = team
    w = await meeting_world(t)
    created = await gql(
        t,
        f"mutation($input: DevelopmentPlanInput!) {{ createDevelopmentPlan(input: $input) {{ {PLAN} }} }}",
        t.employee("lead"),
        input={
            "employeeId": t.employees["alice"]["id"],
            "title": "Grow into a lead role",
            "status": "ACTIVE",
            "reviewMeetingId": w["meeting"]["id"],
            "copyImprovementActions": True,
            "goals": ["Run the Q1 pricing review"],
        },
    )
    plan = created["data"]["createDevelopmentPlan"]
    assert plan["ownerId"] == t.employees["lead"]["id"] and plan["status"] == "ACTIVE"
    assert [i["source"]["actionIndex"] for i in plan["items"]] == [0, 2]

    stale = await gql(
        t,
        "mutation($id: ID!, $input: DevelopmentPlanInput!) { updateDevelopmentPlan(id: $id, input: $input, "
        "expectedVersion: 7) { id } }",
        id=plan["id"],
        input={"title": "Late"},
    )
    assert status_of(stale) == 412
    updated = await gql(
        t,
        "mutation($id: ID!, $input: DevelopmentPlanInput!) { updateDevelopmentPlan(id: $id, input: $input, "
        "expectedVersion: 1) { status version } }",
        id=plan["id"],
        input={"status": "COMPLETED"},
    )
    assert updated["data"]["updateDevelopmentPlan"] == {"status": "COMPLETED", "version": 2}
    refused = await gql(
        t,
        "mutation($id: ID!, $input: DevelopmentPlanInput!) { updateDevelopmentPlan(id: $id, input: $input) { id } }",
        id=plan["id"],
        input={"employeeId": t.employees["bob"]["id"]},
    )
    assert status_of(refused) == 422  # a plan's employee does not change

    added = await gql(
        t,
        "mutation($p: ID!, $input: DevelopmentItemInput!) { addDevelopmentPlanItem(planId: $p, input: $input) "
        "{ id kind status } }",
        t.employee("boss"),
        p=plan["databaseId"],
        input={"kind": "MENTORING", "title": "Weekly 1:1"},
    )
    item = added["data"]["addDevelopmentPlanItem"]
    assert item["kind"] == "MENTORING"
    mine = """mutation($id: ID!, $input: DevelopmentItemInput!) {
                updateDevelopmentPlanItem(id: $id, input: $input) { status completedAt } }"""
    done = await gql(t, mine, t.employee("alice"), id=item["id"], input={"status": "DONE"})
    assert done["data"]["updateDevelopmentPlanItem"]["status"] == "DONE"
    assert done["data"]["updateDevelopmentPlanItem"]["completedAt"] is not None
    assert status_of(await gql(t, mine, t.employee("alice"), id=item["id"], input={"title": "Less"})) == 403
    assert status_of(await gql(t, mine, t.employee("bob"), id=item["id"], input={"status": "OPEN"})) == 404
    [event] = await outbox_events(t, "development_plan.item_status_changed")
    assert (event["old_status"], event["new_status"]) == ("open", "done")

    listed = await gql(t, f"{{ developmentPlans(status: COMPLETED) {{ nodes {{ {PLAN} }} }} }}", t.employee("alice"))
    assert [p["id"] for p in listed["data"]["developmentPlans"]["nodes"]] == [plan["id"]]
    assert (await gql(t, "{ developmentPlans { nodes { id } } }", t.employee("bob")))["data"]["developmentPlans"][
        "nodes"
    ] == []
    node = await gql(
        t,
        "query($a: ID!, $b: ID!) { a: node(id: $a) { ... on DevelopmentPlan { title } } "
        "b: node(id: $b) { ... on DevelopmentPlanItem { title } } }",
        t.employee("alice"),
        a=plan["id"],
        b=item["id"],
    )
    assert node["data"] == {"a": {"title": "Grow into a lead role"}, "b": {"title": "Weekly 1:1"}}
    hidden = await gql(t, "query($a: ID!) { node(id: $a) { id } }", t.employee("bob"), a=plan["id"])
    assert hidden["data"] == {"node": None}


async def test_nomination_plan_and_the_nominations_field(team: Tenant):
    t = team
    cycle = await make_cycle(t, status="review")
    ids = await nominations(t, cycle, "alice", "bob", "carol")
    make = """mutation($n: ID!) {
                createNominationDevelopmentPlan(nominationId: $n) { id nominationId title items { kind } } }"""
    for n in ids[:2]:
        made = await gql(t, make, t.employee("lead"), n=n)
        assert made["data"]["createNominationDevelopmentPlan"]["nominationId"] == n
    assert status_of(await gql(t, make, t.employee("lead"), n=ids[0])) == 409
    assert status_of(await gql(t, make, t.employee("alice"), n=ids[0])) == 404  # hers once finalized
    assert status_of(await gql(t, make, t.auditor, n=ids[2])) == 403
    await make_plan_for(t, "dave", headers=t.as_("hr", emp=t.employees["boss"]["id"]))

    query = """{ nominations(first: 10) { nodes { databaseId developmentPlanId reviewMeetingId
                 developmentPlan { nominationId items { id } } } } }"""
    seen: list[str] = []
    with statement_hook(seen.append):
        body = await gql(t, query)
    nodes = {n["databaseId"]: n for n in body["data"]["nominations"]["nodes"]}
    assert nodes[ids[0]]["developmentPlan"]["nominationId"] == ids[0]
    assert nodes[ids[1]]["developmentPlanId"] is not None and nodes[ids[2]]["developmentPlan"] is None
    plan_reads = [s for s in seen if "development_plan" in s]
    # the links of the page, the plans and their items: one statement each, whatever the page's size
    assert len(plan_reads) == 3, plan_reads
