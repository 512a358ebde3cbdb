"""GraphQL objects expose their row's `version`, the same number REST sends as the ETag,
so a client can pass it as a mutation's `expectedVersion`: the current one is accepted
(and the version goes up), a stale one is refused with 412 and changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.conftest import Tenant
from tests.evaluations.conftest import ask, open_evaluation
from tests.kpi.conftest import make_assignment, make_definition
from tests.kpi.conftest import make_cycle as make_quarter
from tests.okr.conftest import make_cycle, make_kr, make_objective
from tests.org.test_graphql_org import error_status, gql, ok


@dataclass
class Kind:
    """One kind of resource: where REST reads it, how GraphQL reads it (`read`, a query
    with `$id` answering `{ version <field> }` under `name`) and changes it (`update`,
    a mutation with `$id`, `$v` (expectedVersion) and `$value` setting `field`)."""

    rest: str
    name: str
    read: str
    mutation: str
    update: str
    field: str


async def rest_read(t: Tenant, kind: Kind, headers: dict[str, str]) -> tuple[str, dict[str, Any]]:
    resp = await t.client.get(kind.rest, headers=headers)
    assert resp.status_code == 200, resp.text
    return resp.headers["etag"], resp.json()


async def check_versions(
    t: Tenant, kind: Kind, values: tuple[Any, Any], get: Any = None, headers: dict[str, str] | None = None
) -> None:
    """Reads the version through GraphQL and REST, changes the resource with the current
    version, then tries again with the (now stale) one it read first."""
    headers = headers or t.hr
    get = get or (lambda node: node[kind.field])
    first, second = values

    read = ok(await gql(t, kind.read, headers))[kind.name]
    version = read["version"]
    assert isinstance(version, int) and version >= 1
    etag, _ = await rest_read(t, kind, headers)
    assert etag == f'"{version}"'

    accepted = ok(await gql(t, kind.update, headers, v=version, value=first))[kind.mutation]
    assert accepted["version"] > version
    assert get(accepted) == first
    etag, body = await rest_read(t, kind, headers)
    assert etag == f'"{accepted["version"]}"'

    refused = await gql(t, kind.update, headers, v=version, value=second)
    assert error_status(refused) == 412, refused
    assert refused["data"] is None or refused["data"].get(kind.mutation) is None
    etag_after, body_after = await rest_read(t, kind, headers)
    assert etag_after == etag and body_after == body  # nothing changed
    again = ok(await gql(t, kind.read, headers))[kind.name]
    assert again["version"] == accepted["version"] and get(again) == get(accepted)


async def test_a_cycle(team: Tenant):
    t = team
    cycle = await make_cycle(t, status="active")
    kind = Kind(
        rest=f"/api/v1/cycles/{cycle['id']}",
        name="cycle",
        read=f'{{ cycle(id: "{cycle["id"]}") {{ version name }} }}',
        mutation="updateCycle",
        update=f"""mutation($v: Int, $value: String) {{
            updateCycle(id: "{cycle["id"]}", input: {{name: $value}}, expectedVersion: $v) {{ version name }} }}""",
        field="name",
    )
    await check_versions(t, kind, ("FY renamed", "FY stale"))


async def test_a_cycle_transition_is_guarded_too(team: Tenant):
    t = team
    cycle = await make_cycle(t, status=None)
    read = f'{{ cycle(id: "{cycle["id"]}") {{ version status }} }}'
    version = ok(await gql(t, read))["cycle"]["version"]
    move = """mutation($id: ID!, $v: Int) { transitionCycle(id: $id, to: ACTIVE, expectedVersion: $v) {
        version status } }"""
    assert error_status(await gql(t, move, id=cycle["id"], v=version + 1)) == 412
    assert ok(await gql(t, read))["cycle"] == {"version": version, "status": "PLANNING"}
    moved = ok(await gql(t, move, id=cycle["id"], v=version))["transitionCycle"]
    assert moved["status"] == "ACTIVE" and moved["version"] > version


async def test_an_objective_and_a_key_result(team: Tenant):
    t = team
    cycle = await make_cycle(t)
    objective = await make_objective(t, cycle, "alice")
    await check_versions(
        t,
        Kind(
            rest=f"/api/v1/objectives/{objective['id']}",
            name="objective",
            read=f'{{ objective(id: "{objective["id"]}") {{ version title }} }}',
            mutation="updateObjective",
            update=f"""mutation($v: Int, $value: String) {{ updateObjective(id: "{objective["id"]}",
                input: {{title: $value}}, expectedVersion: $v) {{ version title }} }}""",
            field="title",
        ),
        ("Grow the business", "A stale title"),
    )
    kr = await make_kr(t, objective)
    await check_versions(
        t,
        Kind(
            rest=f"/api/v1/key-results/{kr['id']}",
            name="keyResult",
            read=f'{{ keyResult(id: "{kr["id"]}") {{ version title }} }}',
            mutation="updateKeyResult",
            update=f"""mutation($v: Int, $value: String) {{ updateKeyResult(id: "{kr["id"]}",
                input: {{title: $value}}, expectedVersion: $v) {{ version title }} }}""",
            field="title",
        ),
        ("Grow revenue a lot", "A stale title"),
    )
    # nested objects come from the dataloaders' rows: their versions are the REST ETags too
    nested = ok(
        await gql(
            t,
            f"""{{ objective(id: "{objective["id"]}") {{ version cycle {{ version }} owner {{ version }}
                keyResults {{ version }} }} }}""",
        )
    )["objective"]
    for path, node in (
        (f"/api/v1/cycles/{cycle['id']}", nested["cycle"]),
        (f"/api/v1/employees/{t.employees['alice']['id']}", nested["owner"]),
        (f"/api/v1/key-results/{kr['id']}", nested["keyResults"][0]),
    ):
        resp = await t.client.get(path, headers=t.hr)
        assert resp.headers["etag"] == f'"{node["version"]}"', path


async def test_an_employee(team: Tenant):
    t = team
    alice = t.employees["alice"]["id"]
    await check_versions(
        t,
        Kind(
            rest=f"/api/v1/employees/{alice}",
            name="employee",
            read=f'{{ employee(id: "{alice}") {{ version givenName }} }}',
            mutation="updateEmployee",
            update=f"""mutation($v: Int, $value: String) {{ updateEmployee(id: "{alice}",
                input: {{givenName: $value}}, expectedVersion: $v) {{ version givenName }} }}""",
            field="givenName",
        ),
        ("Alicia", "Stale"),
    )
    # the employee list reads Core rows: they carry the version as well
    nodes = ok(await gql(t, "{ employees(first: 50) { nodes { databaseId version } } }"))["employees"]["nodes"]
    for node in nodes:
        resp = await t.client.get(f"/api/v1/employees/{node['databaseId']}", headers=t.hr)
        assert resp.headers["etag"] == f'"{node["version"]}"'


async def test_a_department_and_the_organization(team: Tenant):
    t = team
    dep = (await t.client.post("/api/v1/departments", json={"name": "Eng"}, headers=t.hr)).json()
    await check_versions(
        t,
        Kind(
            rest=f"/api/v1/departments/{dep['id']}",
            name="department",
            read=f'{{ department(id: "{dep["id"]}") {{ version name }} }}',
            mutation="updateDepartment",
            update=f"""mutation($v: Int, $value: String) {{ updateDepartment(id: "{dep["id"]}",
                input: {{name: $value}}, expectedVersion: $v) {{ version name }} }}""",
            field="name",
        ),
        ("Engineering", "Stale"),
    )
    await check_versions(
        t,
        Kind(
            rest="/api/v1/organization",
            name="organization",
            read="{ organization { version name } }",
            mutation="updateOrganization",
            update="""mutation($v: Int, $value: String) {
                updateOrganization(input: {name: $value}, expectedVersion: $v) { version name } }""",
            field="name",
        ),
        ("Renamed Org", "Stale Org"),
        headers=t.admin,
    )


async def test_a_kpi_assignment(team: Tenant):
    t = team
    quarter = await make_quarter(t)
    definition = await make_definition(t, "revenue")
    assignment = await make_assignment(t, "alice", quarter, definition, method="ratio", target=100)
    await check_versions(
        t,
        Kind(
            rest=f"/api/v1/kpi-assignments/{assignment['id']}",
            name="kpiAssignment",
            read=f'{{ kpiAssignment(id: "{assignment["id"]}") {{ version target }} }}',
            mutation="updateKpiAssignment",
            update=f"""mutation($v: Int, $value: DecimalString) {{ updateKpiAssignment(id: "{assignment["id"]}",
                input: {{target: $value}}, expectedVersion: $v) {{ version target }} }}""",
            field="target",
        ),
        ("120", "90"),
    )


async def test_an_evaluation(team: Tenant):
    t = team
    cycle = await make_quarter(t, status="review")
    ev = await open_evaluation(t, "alice", cycle)
    await check_versions(
        t,
        Kind(
            rest=f"/api/v1/evaluations/{ev['id']}",
            name="evaluation",
            read=f'{{ evaluation(id: "{ev["id"]}") {{ version selfReview {{ rating }} }} }}',
            mutation="updateEvaluation",
            update=f"""mutation($v: Int, $value: Int) {{ updateEvaluation(id: "{ev["id"]}",
                input: {{selfReview: {{rating: $value, comments: "draft"}}}}, expectedVersion: $v) {{
                version selfReview {{ rating }} }} }}""",
            field="rating",
        ),
        (4, 2),
        get=lambda node: node["selfReview"]["rating"],
        headers=t.employee("alice"),
    )
    # a workflow step is guarded by the same version
    version = ok(await gql(t, f'{{ evaluation(id: "{ev["id"]}") {{ version }} }}'))["evaluation"]["version"]
    submit = """mutation($id: ID!, $v: Int) { submitSelfReview(id: $id, expectedVersion: $v) {
        version status } }"""
    refused = await gql(t, submit, t.employee("alice"), id=ev["id"], v=version - 1)
    assert error_status(refused) == 412
    submitted = ok(await gql(t, submit, t.employee("alice"), id=ev["id"], v=version))["submitSelfReview"]
    assert submitted["status"] == "SELF_REVIEW" and submitted["version"] > version
    listed = ok(await gql(t, f'{{ evaluations(cycleId: "{cycle["id"]}") {{ nodes {{ databaseId version }} }} }}'))
    assert listed["evaluations"]["nodes"] == [{"databaseId": ev["id"], "version": submitted["version"]}]


async def test_an_interview_and_the_peer_requests_of_an_evaluation(team: Tenant):
    t = team
    cycle = await make_quarter(t, status="review")
    ev = await open_evaluation(t, "alice", cycle)
    resp = await t.client.post("/api/v1/interviews", headers=t.hr, json={"evaluation_id": ev["id"]})
    assert resp.status_code == 201, resp.text
    interview = resp.json()
    await check_versions(
        t,
        Kind(
            rest=f"/api/v1/interviews/{interview['id']}",
            name="interview",
            read=f'{{ interview(id: "{interview["id"]}") {{ version plan }} }}',
            mutation="updateInterview",
            update=f"""mutation($v: Int, $value: String) {{ updateInterview(id: "{interview["id"]}",
                input: {{plan: $value}}, expectedVersion: $v) {{ version plan }} }}""",
            field="plan",
        ),
        ("Talk about goals", "Stale plan"),
    )
    request = await ask(t, ev, "bob", headers=t.employee("alice"))
    nested = f"""{{ evaluation(id: "{ev["id"]}") {{ interviews {{ databaseId version }}
        peerRequests {{ databaseId version status }} }} }}"""
    seen = ok(await gql(t, nested))["evaluation"]
    resp = await t.client.get(f"/api/v1/interviews/{interview['id']}", headers=t.hr)
    assert resp.headers["etag"] == f'"{seen["interviews"][0]["version"]}"'
    resp = await t.client.get(f"/api/v1/peer-requests/{request['id']}", headers=t.hr)
    assert resp.headers["etag"] == f'"{seen["peerRequests"][0]["version"]}"'
    # the evaluated employee sees the request anonymised: no status, so no version either
    theirs = ok(await gql(t, nested, t.employee("alice")))["evaluation"]["peerRequests"]
    assert theirs == [{"databaseId": request["id"], "version": None, "status": None}]

    decline = """mutation($id: ID!, $v: Int) { declinePeerRequest(id: $id, expectedVersion: $v) {
        version status } }"""
    version = seen["peerRequests"][0]["version"]
    assert error_status(await gql(t, decline, t.employee("bob"), id=request["id"], v=version + 1)) == 412
    declined = ok(await gql(t, decline, t.employee("bob"), id=request["id"], v=version))["declinePeerRequest"]
    assert declined["status"] == "DECLINED" and declined["version"] > version
