"""The evaluation module over GraphQL: the same services and rules as REST (a whole
cycle walked by mutations, refusals with the REST statuses), and nested fields that cost
a constant number of SQL queries whatever the page size."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any

from tests.conftest import Tenant, statement_hook
from tests.evaluations.conftest import open_evaluation, transition
from tests.kpi.conftest import make_cycle


async def gql(t: Tenant, headers: dict[str, str], query: str, **variables: Any) -> dict[str, Any]:
    resp = await t.client.post("/graphql", headers=headers, json={"query": query, "variables": variables})
    assert resp.status_code == 200, resp.text
    return resp.json()


def ok(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body
    return body["data"]


def status_of(body: dict[str, Any]) -> int:
    return body["errors"][0]["extensions"]["status"]


async def test_a_cycle_walked_through_graphql(team: Tenant):
    t = team
    ids = {k: v["id"] for k, v in t.employees.items()}
    cycle = await make_cycle(t, status="review")
    ev = ok(
        await gql(
            t,
            t.hr,
            """mutation($e: UUID!, $c: UUID!) {
        create_evaluation(input: {employee_id: $e, cycle_id: $c}) { id status } }""",
            e=ids["alice"],
            c=cycle["id"],
        )
    )["create_evaluation"]
    assert ev["status"] == "not_started"
    draft = await gql(
        t,
        t.employee("alice"),
        """mutation($id: UUID!) {
        update_evaluation(id: $id, input: {self_review: {rating: 4, comments: "Draft"}}) {
          self_review { rating } } }""",
        id=ev["id"],
    )
    assert ok(draft)["update_evaluation"]["self_review"]["rating"] == 4
    refused = await gql(
        t,
        t.employee("lead"),
        """mutation($id: UUID!) {
        submit_self_review(id: $id) { status } }""",
        id=ev["id"],
    )
    assert status_of(refused) == 403
    hidden = await gql(t, t.employee("dave"), "query($id: UUID!) { evaluation(id: $id) { id } }", id=ev["id"])
    assert status_of(hidden) == 404
    ok(
        await gql(
            t, t.employee("alice"), "mutation($id: UUID!) { submit_self_review(id: $id) { status } }", id=ev["id"]
        )
    )
    req = ok(
        await gql(
            t,
            t.employee("alice"),
            """mutation($id: UUID!, $r: UUID!) {
        request_peer_feedback(evaluation_id: $id, input: {reviewer_id: $r}) { id reviewer_id status } }""",
            id=ev["id"],
            r=ids["bob"],
        )
    )["request_peer_feedback"]
    assert req["reviewer_id"] == ids["bob"] and req["status"] is None  # alice asked bob; she never sees a status
    fb = ok(
        await gql(
            t,
            t.employee("bob"),
            """mutation($id: UUID!) {
        submit_peer_feedback(evaluation_id: $id, input: {rating: 5, comments: "Great"}) { rating reviewer_id } }""",
            id=ev["id"],
        )
    )["submit_peer_feedback"]
    assert fb == {"rating": 5, "reviewer_id": ids["bob"]}
    done = ok(
        await gql(
            t,
            t.employee("lead"),
            """mutation($id: UUID!) {
        submit_manager_review(id: $id, manager_review: {rating: 4, competencies: [{name: "Craft", rating: 4}]}) {
          status manager_review { rating competencies { name rating } } } }""",
            id=ev["id"],
        )
    )
    assert done["submit_manager_review"]["status"] == "manager_review"
    await transition(t, cycle, "calibration")
    cal = ok(
        await gql(
            t,
            t.hr,
            """mutation($c: UUID!, $e: UUID!) {
        create_calibration(input: {cycle_id: $c, name: "GQL", employee_ids: [$e]}) { id status employee_ids } }""",
            c=cycle["id"],
            e=ids["alice"],
        )
    )["create_calibration"]
    no_reason = await gql(
        t,
        t.hr,
        """mutation($id: UUID!, $e: UUID!) {
        add_calibration_adjustment(calibration_id: $id, input: {employee_id: $e, delta: "1"}) { id } }""",
        id=cal["id"],
        e=ids["alice"],
    )
    assert status_of(no_reason) == 422
    ok(
        await gql(
            t,
            t.hr,
            """mutation($id: UUID!, $e: UUID!) {
        add_calibration_adjustment(calibration_id: $id, input: {employee_id: $e, delta: "-2.5", reason: "Peer view"}) {
          id } }""",
            id=cal["id"],
            e=ids["alice"],
        )
    )
    sim = ok(
        await gql(
            t,
            t.hr,
            """mutation($id: UUID!, $e: UUID!) {
        simulate_calibration(id: $id, adjustments: [{employee_id: $e, delta: "10"}]) {
          simulated employees { final } } }""",
            id=cal["id"],
            e=ids["alice"],
        )
    )["simulate_calibration"]
    assert sim["simulated"] is True
    seen = ok(
        await gql(
            t,
            t.auditor,
            """query($id: UUID!) { calibration(id: $id) {
        status distribution { bands { rating actual } employees { employee_id final } }
        adjustments { edges { node { delta reason author } } } } }""",
            id=cal["id"],
        )
    )["calibration"]
    assert seen["distribution"]["employees"] == [{"employee_id": ids["alice"], "final": "77.50"}]
    assert seen["adjustments"]["edges"][0]["node"]["reason"] == "Peer view"
    assert (
        status_of(
            await gql(t, t.auditor, "mutation($id: UUID!) { finalize_calibration(id: $id) { id } }", id=cal["id"])
        )
        == 403
    )
    ok(await gql(t, t.hr, "mutation($id: UUID!) { finalize_calibration(id: $id) { status } }", id=cal["id"]))
    fin = ok(
        await gql(
            t,
            t.employee("lead"),
            """mutation($id: UUID!) {
        finalize_evaluation(id: $id) { status final_score final_rating calibration { rating } } }""",
            id=ev["id"],
        )
    )
    assert fin["finalize_evaluation"]["final_score"] == "77.50"
    iv = ok(
        await gql(
            t,
            t.employee("lead"),
            """mutation($id: UUID!) {
        create_interview(input: {evaluation_id: $id, plan: "Talk", outcome: "Agreed"}) { id status } }""",
            id=ev["id"],
        )
    )["create_interview"]
    assert iv["status"] == "held"
    signed = ok(
        await gql(
            t,
            t.employee("alice"),
            """mutation($id: UUID!) {
        acknowledge_interview(id: $id, comment: "Yes") { status acknowledged_by } }""",
            id=iv["id"],
        )
    )
    assert signed["acknowledge_interview"]["status"] == "acknowledged"
    meeting = ok(
        await gql(
            t,
            t.employee("lead"),
            """mutation($id: UUID!, $o: UUID!) {
        create_review_meeting(input: {subject: {kind: "evaluation", id: $id}, gap: "Conversion",
          result_data: {gmv: 1185000}, improvement_plan: [{action: "Fix checkout", owner_id: $o,
          due_date: "2027-01-31"}]}) { id employee_id improvement_plan { action status } result_data } }""",
            id=ev["id"],
            o=ids["alice"],
        )
    )["create_review_meeting"]
    assert meeting["employee_id"] == ids["alice"] and meeting["improvement_plan"][0]["status"] == "open"
    assert meeting["result_data"] == {"gmv": 1185000}
    final = ok(
        await gql(
            t,
            t.employee("alice"),
            """query($id: UUID!) { evaluation(id: $id) {
        status acknowledged_at employee { id } cycle { status } interviews { status }
        peer_requests { reviewer_id status } } }""",
            id=ev["id"],
        )
    )["evaluation"]
    assert final["status"] == "acknowledged" and final["interviews"] == [{"status": "acknowledged"}]
    assert final["employee"]["id"] == ids["alice"] and final["cycle"]["status"] == "calibration"


@contextmanager
def counted():
    statements: list[str] = []
    with statement_hook(statements.append):
        yield statements


NESTED = """query($c: UUID!) { evaluations(cycle_id: $c, first: 50) { edges { node {
    id status peer_feedback { available } employee { id manager { id } } cycle { id }
    interviews { id } peer_requests { id status } } } } }"""


async def test_nested_fields_cost_a_constant_number_of_queries(team: Tenant):
    t = team
    cycle = await make_cycle(t, status="review")
    counts = []
    for batch in (("alice", "bob"), ("carol", "dave", "boss", "lead")):
        for who in batch:
            ev = await open_evaluation(t, who, cycle)
            req = await t.client.post(
                f"/api/v1/evaluations/{ev['id']}/peer-requests",
                headers=t.hr,
                json={"reviewer_id": t.employees["alice" if who != "alice" else "bob"]["id"]},
            )
            assert req.status_code == 201
            iv = await t.client.post("/api/v1/interviews", headers=t.hr, json={"evaluation_id": ev["id"]})
            assert iv.status_code == 201
        with counted() as statements:
            data = ok(await gql(t, t.hr, NESTED, c=cycle["id"]))
        counts.append(len(statements))
        assert all(e["node"]["peer_requests"] and e["node"]["interviews"] for e in data["evaluations"]["edges"])
    assert len(data["evaluations"]["edges"]) == 6
    assert counts[1] <= counts[0], counts  # not one query more for three times the rows
