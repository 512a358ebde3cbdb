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
            """mutation($e: ID!, $c: ID!) {
        createEvaluation(input: {employeeId: $e, cycleId: $c}) { id databaseId status } }""",
            e=ids["alice"],
            c=cycle["id"],
        )
    )["createEvaluation"]
    assert ev["status"] == "NOT_STARTED"
    draft = await gql(
        t,
        t.employee("alice"),
        """mutation($id: ID!) {
        updateEvaluation(id: $id, input: {selfReview: {rating: 4, comments: "Draft"}}) {
          selfReview { rating } } }""",
        id=ev["id"],
    )
    assert ok(draft)["updateEvaluation"]["selfReview"]["rating"] == 4
    refused = await gql(
        t,
        t.employee("lead"),
        """mutation($id: ID!) {
        submitSelfReview(id: $id) { status } }""",
        id=ev["id"],
    )
    assert status_of(refused) == 403
    hidden = await gql(t, t.employee("dave"), "query($id: ID!) { evaluation(id: $id) { id } }", id=ev["id"])
    assert status_of(hidden) == 404
    ok(await gql(t, t.employee("alice"), "mutation($id: ID!) { submitSelfReview(id: $id) { status } }", id=ev["id"]))
    req = ok(
        await gql(
            t,
            t.employee("alice"),
            """mutation($id: ID!, $r: ID!) {
        requestPeerFeedback(evaluationId: $id, input: {reviewerId: $r}) { id reviewerId status } }""",
            id=ev["id"],
            r=ids["bob"],
        )
    )["requestPeerFeedback"]
    assert req["reviewerId"] == ids["bob"] and req["status"] is None  # alice asked bob; she never sees a status
    fb = ok(
        await gql(
            t,
            t.employee("bob"),
            """mutation($id: ID!) {
        submitPeerFeedback(evaluationId: $id, input: {rating: 5, comments: "Great"}) { rating reviewerId } }""",
            id=ev["id"],
        )
    )["submitPeerFeedback"]
    assert fb == {"rating": 5, "reviewerId": ids["bob"]}
    done = ok(
        await gql(
            t,
            t.employee("lead"),
            """mutation($id: ID!) {
        submitManagerReview(id: $id, managerReview: {rating: 4, competencies: [{name: "Craft", rating: 4}]}) {
          status managerReview { rating competencies { name rating } } } }""",
            id=ev["id"],
        )
    )
    assert done["submitManagerReview"]["status"] == "MANAGER_REVIEW"
    await transition(t, cycle, "calibration")
    cal = ok(
        await gql(
            t,
            t.hr,
            """mutation($c: ID!, $e: ID!) {
        createCalibration(input: {cycleId: $c, name: "GQL", employeeIds: [$e]}) { id status employeeIds } }""",
            c=cycle["id"],
            e=ids["alice"],
        )
    )["createCalibration"]
    no_reason = await gql(
        t,
        t.hr,
        """mutation($id: ID!, $e: ID!) {
        addCalibrationAdjustment(calibrationId: $id, input: {employeeId: $e, delta: "1"}) { id } }""",
        id=cal["id"],
        e=ids["alice"],
    )
    assert status_of(no_reason) == 422
    ok(
        await gql(
            t,
            t.hr,
            """mutation($id: ID!, $e: ID!) {
        addCalibrationAdjustment(calibrationId: $id, input: {employeeId: $e, delta: "-2.5", reason: "Peer view"}) {
          id } }""",
            id=cal["id"],
            e=ids["alice"],
        )
    )
    sim = ok(
        await gql(
            t,
            t.hr,
            """mutation($id: ID!, $e: ID!) {
        simulateCalibration(id: $id, adjustments: [{employeeId: $e, delta: "10"}]) {
          simulated employees { final } } }""",
            id=cal["id"],
            e=ids["alice"],
        )
    )["simulateCalibration"]
    assert sim["simulated"] is True
    seen = ok(
        await gql(
            t,
            t.auditor,
            """query($id: ID!) { calibration(id: $id) {
        status distribution { bands { rating actual } employees { employeeId final } }
        adjustments { edges { node { delta reason author } } } } }""",
            id=cal["id"],
        )
    )["calibration"]
    assert seen["distribution"]["employees"] == [{"employeeId": ids["alice"], "final": "77.50"}]
    assert seen["adjustments"]["edges"][0]["node"]["reason"] == "Peer view"
    assert (
        status_of(await gql(t, t.auditor, "mutation($id: ID!) { finalizeCalibration(id: $id) { id } }", id=cal["id"]))
        == 403
    )
    ok(await gql(t, t.hr, "mutation($id: ID!) { finalizeCalibration(id: $id) { status } }", id=cal["id"]))
    fin = ok(
        await gql(
            t,
            t.employee("lead"),
            """mutation($id: ID!) {
        finalizeEvaluation(id: $id) { status finalScore finalRating calibration { rating } } }""",
            id=ev["id"],
        )
    )
    assert fin["finalizeEvaluation"]["finalScore"] == "77.50"
    iv = ok(
        await gql(
            t,
            t.employee("lead"),
            """mutation($id: ID!) {
        createInterview(input: {evaluationId: $id, plan: "Talk", outcome: "Agreed"}) { id status } }""",
            id=ev["id"],
        )
    )["createInterview"]
    assert iv["status"] == "HELD"
    signed = ok(
        await gql(
            t,
            t.employee("alice"),
            """mutation($id: ID!) {
        acknowledgeInterview(id: $id, comment: "Yes") { status acknowledgedBy } }""",
            id=iv["id"],
        )
    )
    assert signed["acknowledgeInterview"]["status"] == "ACKNOWLEDGED"
    meeting = ok(
        await gql(
            t,
            t.employee("lead"),
            """mutation($id: ID!, $o: ID!) {
        createReviewMeeting(input: {subject: {kind: EVALUATION, subjectId: $id}, gap: "Conversion",
          resultData: {gmv: 1185000}, improvementPlan: [{action: "Fix checkout", ownerId: $o,
          dueDate: "2027-01-31"}]}) { id employeeId subject { kind subjectId } improvementPlan { action status }
          resultData } }""",
            id=ev["id"],
            o=ids["alice"],
        )
    )["createReviewMeeting"]
    assert meeting["employeeId"] == ids["alice"] and meeting["improvementPlan"][0]["status"] == "OPEN"
    assert meeting["subject"] == {"kind": "EVALUATION", "subjectId": ev["databaseId"]}
    assert meeting["resultData"] == {"gmv": 1185000}
    final = ok(
        await gql(
            t,
            t.employee("alice"),
            """query($id: ID!) { evaluation(id: $id) {
        status acknowledgedAt employee { databaseId } cycle { status } interviews { status }
        peerRequests { reviewerId status } } }""",
            id=ev["id"],
        )
    )["evaluation"]
    assert final["status"] == "ACKNOWLEDGED" and final["interviews"] == [{"status": "ACKNOWLEDGED"}]
    assert final["employee"]["databaseId"] == ids["alice"] and final["cycle"]["status"] == "CALIBRATION"


@contextmanager
def counted():
    statements: list[str] = []
    with statement_hook(statements.append):
        yield statements


NESTED = """query($c: ID!) { evaluations(cycleId: $c, first: 50) { edges { node {
    id status peerFeedback { available } employee { id manager { id } } cycle { id }
    interviews { id } peerRequests { id status } } } } }"""


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
        assert all(e["node"]["peerRequests"] and e["node"]["interviews"] for e in data["evaluations"]["edges"])
    assert len(data["evaluations"]["edges"]) == 6
    assert counts[1] <= counts[0], counts  # not one query more for three times the rows
