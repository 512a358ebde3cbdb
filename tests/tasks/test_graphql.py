"""GraphQL `me { tasks }`: the same list as GET /api/v1/me/tasks (the same service), as a
Relay connection in GraphQL's names, with the subject's global id; `tasks` of any other
employee is null; `tasks` is the Employee type's last field."""

from __future__ import annotations

from typing import Any

from tests.conftest import Tenant
from tests.org.test_graphql_org import error_status, gql, ok
from tests.tasks.conftest import tasks
from tests.tasks.test_tasks import busy_lead

TASK = "kind subject { kind subjectId } title due cycleId links { rest nodeId }"
ME = f"""query($first: Int, $after: String) {{ me {{ id tasks(first: $first, after: $after) {{
    edges {{ cursor node {{ {TASK} }} }} pageInfo {{ hasNextPage hasPreviousPage endCursor }} }} }} }}"""


NODE = """query($id: ID!) { node(id: $id) { __typename ... on Objective { databaseId }
    ... on PeerRequest { databaseId } ... on Evaluation { databaseId } } }"""


def as_rest(node: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": node["kind"].lower(),
        "subject": {"kind": node["subject"]["kind"].lower(), "id": node["subject"]["subjectId"]},
        "title": node["title"],
        "due": node["due"],
        "cycle_id": node["cycleId"],
        "links": {"rest": node["links"]["rest"]},
    }


async def test_me_tasks_is_the_rest_list_paged_as_a_connection(team: Tenant):
    await busy_lead(team, 3)
    lead = team.employee("lead")
    rest = await tasks(team, lead)
    assert len(rest) == 6
    seen: list[dict[str, Any]] = []
    after = None
    pages = 0
    while True:
        data = ok(await gql(team, ME, lead, first=4, after=after))
        conn = data["me"]["tasks"]
        seen.extend(e["node"] for e in conn["edges"])
        assert conn["pageInfo"]["hasPreviousPage"] is (after is not None)
        pages += 1
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
    assert pages == 2
    assert [as_rest(n) for n in seen] == rest
    # the same cursors as REST's
    first = (await team.client.get("/api/v1/me/tasks", headers=lead, params={"limit": 4})).json()
    assert first["next_cursor"] == ok(await gql(team, ME, lead, first=4))["me"]["tasks"]["pageInfo"]["endCursor"]


async def test_the_node_id_names_the_subject(team: Tenant):
    await busy_lead(team, 1)
    lead = team.employee("lead")
    nodes = [e["node"] for e in ok(await gql(team, ME, lead))["me"]["tasks"]["edges"]]
    by_kind = {n["kind"]: n for n in nodes}
    assert set(by_kind) == {"PEER_FEEDBACK", "MANAGER_REVIEW", "OBJECTIVE_APPROVAL"}
    for node in by_kind.values():
        found = ok(
            await gql(
                team,
                NODE,
                lead,
                id=node["links"]["nodeId"],
            )
        )
        expected = {"PEER_FEEDBACK": "PeerRequest", "MANAGER_REVIEW": "Evaluation", "OBJECTIVE_APPROVAL": "Objective"}
        assert found["node"] == {"__typename": expected[node["kind"]], "databaseId": node["subject"]["subjectId"]}


async def test_tasks_of_anyone_else_is_null(team: Tenant):
    await busy_lead(team, 1)
    query = "query($id: ID!) { employee(id: $id) { id tasks { edges { node { kind } } } } }"
    lead_id = team.employees["lead"]["id"]
    own = ok(await gql(team, query, team.employee("lead"), id=lead_id))
    assert own["employee"]["tasks"]["edges"]
    for headers in (team.employee("boss"), team.hr, team.admin, team.employee("alice")):
        data = ok(await gql(team, query, headers, id=lead_id))
        assert data["employee"]["id"] and data["employee"]["tasks"] is None
    # a list of employees: only the caller's own row answers
    rows = ok(
        await gql(
            team, "{ employees(first: 50) { nodes { databaseId tasks { edges { cursor } } } } }", team.employee("lead")
        )
    )
    answered = [r["databaseId"] for r in rows["employees"]["nodes"] if r["tasks"] is not None]
    assert answered == [lead_id]


async def test_no_employee_no_me_and_bad_paging_is_refused(team: Tenant):
    await busy_lead(team, 1)
    assert ok(await gql(team, ME, team.admin)) == {"me": None}
    assert ok(await gql(team, ME, team.as_scope("employees:write"))) == {"me": None}
    assert error_status(await gql(team, ME, team.employee("lead"), first=0)) == 422
    assert error_status(await gql(team, ME, team.employee("lead"), after="nope")) == 422
    anonymous = await team.client.post("/graphql", json={"query": ME})
    assert anonymous.status_code == 401


def test_tasks_says_it_answers_on_the_callers_own_employee_only():
    from service.graphql.schema import schema

    employee = schema._schema.type_map["Employee"]
    assert "null" in (employee.fields["tasks"].description or "")  # type: ignore[union-attr]
