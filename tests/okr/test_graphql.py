"""GraphQL: the same rules as REST, and nested fields through dataloaders, so the
number of SQL statements of a query does not grow with the number of objectives."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import event

from service.db import database
from service.okr.models import CheckIn, KeyResult, Objective, ObjectiveSupport
from service.types import new_id, utcnow
from tests.okr.conftest import make_cycle, make_kr, make_objective

NESTED = """query($c: ID!) { objectives(first: 500, cycleId: $c) { edges { node {
  id title score progress pace flags status
  owner { id givenName manager { id } } cycle { id name parent { id } }
  parent { id title score } children { id } supporters { id } supports { databaseId title }
  keyResults { id title kind current progress score pace status done confidence
    owner { id } checkIns { id value done status author } }
} } pageInfo { hasNextPage } } }"""


async def seed(team, cycle: dict[str, Any], parent_id: str, n: int) -> None:
    """`n` published objectives, each with a metric and a boolean key result with two
    check-ins apiece, straight into the database (fast)."""
    org = team.org_id
    alice, bob = uuid.UUID(team.employees["alice"]["id"]), uuid.UUID(team.employees["bob"]["id"])
    base = utcnow() - dt.timedelta(days=3)
    async with database.sessions() as s:
        for i in range(n):
            oid = new_id()
            s.add(
                Objective(
                    org_id=org,
                    id=oid,
                    title=f"O{i}",
                    level="individual",
                    owner_id=alice if i % 2 else bob,
                    cycle_id=uuid.UUID(cycle["id"]),
                    type="committed",
                    weight=Decimal(1),
                    parent_id=uuid.UUID(parent_id),
                    visibility="public",
                    status="published",
                )
            )
            await s.flush()
            s.add(ObjectiveSupport(org_id=org, objective_id=oid, supported_id=uuid.UUID(parent_id)))
            metric, flag = new_id(), new_id()
            s.add(
                KeyResult(
                    org_id=org,
                    id=metric,
                    objective_id=oid,
                    title="m",
                    kind="metric",
                    start=Decimal(0),
                    target=Decimal(10),
                    weight=Decimal(1),
                    owner_id=alice,
                )
            )
            s.add(KeyResult(org_id=org, id=flag, objective_id=oid, title="b", kind="boolean", weight=Decimal(1)))
            await s.flush()
            for j in range(2):
                at = base + dt.timedelta(days=j)
                s.add(
                    CheckIn(
                        org_id=org,
                        id=new_id(),
                        key_result_id=metric,
                        value=Decimal(i % 10 + j),
                        author="t",
                        checked_in_at=at,
                        created_at=at,
                        status="on_track",
                    )
                )
                s.add(
                    CheckIn(
                        org_id=org,
                        id=new_id(),
                        key_result_id=flag,
                        done=bool(j),
                        author="t",
                        checked_in_at=at,
                        created_at=at,
                    )
                )
        await s.commit()


async def count_statements(client, headers: dict[str, str], query: str, variables: dict[str, Any]) -> tuple[int, Any]:
    statements: list[str] = []

    def listener(conn, cursor, statement, parameters, context, executemany):  # noqa: ARG001
        statements.append(statement)

    engine = database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", listener)
    try:
        resp = await client.post("/graphql", headers=headers, json={"query": query, "variables": variables})
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    body = resp.json()
    assert "errors" not in body, body
    return len(statements), body["data"]


async def test_query_count_does_not_grow_with_objectives(team):
    year = await make_cycle(team, name="Year")
    company = await make_objective(team, year, "boss", title="Company")
    small = await make_cycle(team, name="Small")
    large = await make_cycle(team, name="Large")
    await seed(team, small, company["id"], 10)
    await seed(team, large, company["id"], 200)

    n_small, data_small = await count_statements(team.client, team.employee("lead"), NESTED, {"c": small["id"]})
    n_large, data_large = await count_statements(team.client, team.employee("lead"), NESTED, {"c": large["id"]})
    assert len(data_small["objectives"]["edges"]) == 10
    assert len(data_large["objectives"]["edges"]) == 200
    assert n_small == n_large, (n_small, n_large)
    assert n_large <= 20, n_large

    node = data_large["objectives"]["edges"][0]["node"]
    assert node["parent"]["title"] == "Company"
    assert node["supports"] == [{"databaseId": company["id"], "title": "Company"}]
    assert len(node["keyResults"]) == 2
    assert all(len(kr["checkIns"]) == 2 for kr in node["keyResults"])
    boolean = next(kr for kr in node["keyResults"] if kr["kind"] == "BOOLEAN")
    assert boolean["done"] is True and boolean["score"] == "1.0000"


async def test_graphql_workflow_and_check_in(team, cycle, company):
    alice = team.employee("alice")
    mutation = """mutation($i: ObjectiveInput!) { createObjective(input: $i) { id status owner { databaseId } } }"""
    resp = await team.client.post(
        "/graphql",
        headers=alice,
        json={
            "query": mutation,
            "variables": {
                "i": {
                    "title": "Ship faster",
                    "level": "INDIVIDUAL",
                    "ownerId": team.employees["alice"]["id"],
                    "cycleId": cycle["id"],
                    "parentId": company["id"],
                    "weight": "2",
                }
            },
        },
    )
    obj = resp.json()["data"]["createObjective"]
    assert obj["status"] == "DRAFT" and obj["owner"]["databaseId"] == team.employees["alice"]["id"]

    kr_mut = """mutation($i: KeyResultInput!) { createKeyResult(input: $i) { id kind direction progress } }"""
    krs = []
    for start, target in (("8", "5"), ("0", 10)):
        r = await team.client.post(
            "/graphql",
            headers=alice,
            json={
                "query": kr_mut,
                "variables": {
                    "i": {
                        "objectiveId": obj["id"],
                        "title": "Cut returns",
                        "kind": "METRIC",
                        "start": start,
                        "target": target,
                    }
                },
            },
        )
        krs.append(r.json()["data"]["createKeyResult"])
    assert krs[0]["direction"] == "DECREASE" and krs[0]["progress"] == "0.0000"

    bad = await team.client.post(
        "/graphql",
        headers=alice,
        json={
            "query": kr_mut,
            "variables": {"i": {"objectiveId": obj["id"], "title": "x", "kind": "METRIC", "start": "3", "target": "3"}},
        },
    )
    assert bad.json()["errors"][0]["extensions"]["status"] == 422

    act = """mutation($id: ID!) { %s(id: $id) { status } }"""
    r = await team.client.post(
        "/graphql", headers=alice, json={"query": act % "submitObjective", "variables": {"id": obj["id"]}}
    )
    assert r.json()["data"]["submitObjective"]["status"] == "SUBMITTED"
    r = await team.client.post(
        "/graphql", headers=alice, json={"query": act % "approveObjective", "variables": {"id": obj["id"]}}
    )
    assert r.json()["errors"][0]["extensions"]["status"] == 403
    reject = """mutation($id: ID!) { rejectObjective(id: $id, comment: "too vague") { status rejectionComment } }"""
    r = await team.client.post(
        "/graphql", headers=team.employee("boss"), json={"query": reject, "variables": {"id": obj["id"]}}
    )
    assert r.json()["data"]["rejectObjective"] == {"status": "DRAFT", "rejectionComment": "too vague"}

    ci = """mutation($k: ID!, $i: CheckInInput!) { createCheckIn(keyResultId: $k, input: $i) { value author } }"""
    r = await team.client.post(
        "/graphql",
        headers=alice,
        json={"query": ci, "variables": {"k": krs[0]["id"], "i": {"value": 6.5, "confidence": 7, "status": "AT_RISK"}}},
    )
    assert r.json()["data"]["createCheckIn"]["value"] == "6.5"
    q = """query($id: ID!) { keyResult(id: $id) { current progress status confidence } }"""
    r = await team.client.post("/graphql", headers=alice, json={"query": q, "variables": {"id": krs[0]["id"]}})
    assert r.json()["data"]["keyResult"] == {
        "current": "6.5",
        "progress": "0.5000",
        "status": "AT_RISK",
        "confidence": 7,
    }


async def test_graphql_hides_private_objectives(team, cycle, company):
    private = await make_objective(
        team, cycle, "alice", level="individual", parent_id=company["id"], visibility="private", title="Secret"
    )
    await make_kr(team, private)
    q = """query($id: ID!) { objective(id: $id) { id children { databaseId title } } }"""
    as_carol = await team.client.post(
        "/graphql", headers=team.employee("carol"), json={"query": q, "variables": {"id": company["id"]}}
    )
    assert as_carol.json()["data"]["objective"]["children"] == []
    as_lead = await team.client.post(
        "/graphql", headers=team.employee("lead"), json={"query": q, "variables": {"id": company["id"]}}
    )
    assert as_lead.json()["data"]["objective"]["children"] == [{"databaseId": private["id"], "title": "Secret"}]
    direct = await team.client.post(
        "/graphql",
        headers=team.employee("carol"),
        json={"query": "query($id: ID!) { objective(id: $id) { id } }", "variables": {"id": private["id"]}},
    )
    assert direct.json()["errors"][0]["extensions"]["status"] == 404
    lint = await team.client.post(
        "/graphql",
        headers=team.employee("alice"),
        json={
            "query": "query($id: ID!) { okrLint(objectiveId: $id) { code severity path } }",
            "variables": {"id": private["id"]},
        },
    )
    assert {"code": "too_few_key_results", "severity": "ERROR", "path": ["keyResults"]} in lint.json()["data"][
        "okrLint"
    ]


KR_FIELDS = (
    "id databaseId current done progress score pace status confidence lastCheckedInAt checkIns { id value done }"
)
ALONE = "query($id: ID!) { keyResult(id: $id) { " + KR_FIELDS + " } }"


async def test_key_result_fields_agree_whether_loaded_with_their_objective_or_alone(team):
    """Under an objective, a key result's computed fields and check-ins come from inputs
    its parent loaded (no awaiting); asked for alone, it loads them itself. Both answer
    alike, and like REST, for a metric and a boolean key result."""
    year = await make_cycle(team, name="Year")
    company = await make_objective(team, year, "boss", title="Company")
    cycle = await make_cycle(team, name="Q")
    await seed(team, cycle, company["id"], 3)
    nested = """query($c: ID!) { objectives(first: 10, cycleId: $c) { nodes { keyResults { %s } } } }"""
    _, data = await count_statements(team.client, team.hr, nested % KR_FIELDS, {"c": cycle["id"]})
    under_objectives = [kr for node in data["objectives"]["nodes"] for kr in node["keyResults"]]
    assert len(under_objectives) == 6 and any(kr["done"] for kr in under_objectives)
    for kr in under_objectives:
        _, alone = await count_statements(team.client, team.hr, ALONE, {"id": kr["id"]})
        assert alone["keyResult"] == kr
        rest = (await team.client.get(f"/api/v1/key-results/{kr['databaseId']}", headers=team.hr)).json()
        assert (rest["current"], rest["progress"], rest["pace"].upper()) == (kr["current"], kr["progress"], kr["pace"])
        assert len(kr["checkIns"]) == 2
