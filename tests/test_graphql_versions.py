"""GraphQL objects expose their row's `version`, the same number REST sends as the ETag,
so a client can pass it as a mutation's `expected_version`: the current one is accepted
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
    a mutation with `$id`, `$v` (expected_version) and `$value` setting `field`)."""

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
        mutation="update_cycle",
        update=f"""mutation($v: Int, $value: String) {{
            update_cycle(id: "{cycle["id"]}", input: {{name: $value}}, expected_version: $v) {{ version name }} }}""",
        field="name",
    )
    await check_versions(t, kind, ("FY renamed", "FY stale"))


async def test_a_cycle_transition_is_guarded_too(team: Tenant):
    t = team
    cycle = await make_cycle(t, status=None)
    read = f'{{ cycle(id: "{cycle["id"]}") {{ version status }} }}'
    version = ok(await gql(t, read))["cycle"]["version"]
    move = """mutation($id: UUID!, $v: Int) { transition_cycle(id: $id, to: "active", expected_version: $v) {
        version status } }"""
    assert error_status(await gql(t, move, id=cycle["id"], v=version + 1)) == 412
    assert ok(await gql(t, read))["cycle"] == {"version": version, "status": "planning"}
    moved = ok(await gql(t, move, id=cycle["id"], v=version))["transition_cycle"]
    assert moved["status"] == "active" and moved["version"] > version


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
            mutation="update_objective",
            update=f"""mutation($v: Int, $value: String) {{ update_objective(id: "{objective["id"]}",
                input: {{title: $value}}, expected_version: $v) {{ version title }} }}""",
            field="title",
        ),
        ("Grow the business", "A stale title"),
    )
    kr = await make_kr(t, objective)
    await check_versions(
        t,
        Kind(
            rest=f"/api/v1/key-results/{kr['id']}",
            name="key_result",
            read=f'{{ key_result(id: "{kr["id"]}") {{ version title }} }}',
            mutation="update_key_result",
            update=f"""mutation($v: Int, $value: String) {{ update_key_result(id: "{kr["id"]}",
                input: {{title: $value}}, expected_version: $v) {{ version title }} }}""",
            field="title",
        ),
        ("Grow revenue a lot", "A stale title"),
    )
    # nested objects come from the dataloaders' rows: their versions are the REST ETags too
    nested = ok(
        await gql(
            t,
            f"""{{ objective(id: "{objective["id"]}") {{ version cycle {{ id version }} owner {{ id version }}
                key_results {{ id version }} }} }}""",
        )
    )["objective"]
    for path, node in (
        (f"/api/v1/cycles/{cycle['id']}", nested["cycle"]),
        (f"/api/v1/employees/{t.employees['alice']['id']}", nested["owner"]),
        (f"/api/v1/key-results/{kr['id']}", nested["key_results"][0]),
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
            read=f'{{ employee(id: "{alice}") {{ version given_name }} }}',
            mutation="update_employee",
            update=f"""mutation($v: Int, $value: String) {{ update_employee(id: "{alice}",
                input: {{given_name: $value}}, expected_version: $v) {{ version given_name }} }}""",
            field="given_name",
        ),
        ("Alicia", "Stale"),
    )
    # the employee list reads Core rows: they carry the version as well
    nodes = ok(await gql(t, "{ employees(first: 50) { nodes { id version } } }"))["employees"]["nodes"]
    for node in nodes:
        resp = await t.client.get(f"/api/v1/employees/{node['id']}", headers=t.hr)
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
            mutation="update_department",
            update=f"""mutation($v: Int, $value: String) {{ update_department(id: "{dep["id"]}",
                input: {{name: $value}}, expected_version: $v) {{ version name }} }}""",
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
            mutation="update_organization",
            update="""mutation($v: Int, $value: String) {
                update_organization(input: {name: $value}, expected_version: $v) { version name } }""",
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
            name="kpi_assignment",
            read=f'{{ kpi_assignment(id: "{assignment["id"]}") {{ version target }} }}',
            mutation="update_kpi_assignment",
            update=f"""mutation($v: Int, $value: DecimalString) {{ update_kpi_assignment(id: "{assignment["id"]}",
                input: {{target: $value}}, expected_version: $v) {{ version target }} }}""",
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
            read=f'{{ evaluation(id: "{ev["id"]}") {{ version self_review {{ rating }} }} }}',
            mutation="update_evaluation",
            update=f"""mutation($v: Int, $value: Int) {{ update_evaluation(id: "{ev["id"]}",
                input: {{self_review: {{rating: $value, comments: "draft"}}}}, expected_version: $v) {{
                version self_review {{ rating }} }} }}""",
            field="rating",
        ),
        (4, 2),
        get=lambda node: node["self_review"]["rating"],
        headers=t.employee("alice"),
    )
    # a workflow step is guarded by the same version
    version = ok(await gql(t, f'{{ evaluation(id: "{ev["id"]}") {{ version }} }}'))["evaluation"]["version"]
    submit = """mutation($id: UUID!, $v: Int) { submit_self_review(id: $id, expected_version: $v) {
        version status } }"""
    refused = await gql(t, submit, t.employee("alice"), id=ev["id"], v=version - 1)
    assert error_status(refused) == 412
    submitted = ok(await gql(t, submit, t.employee("alice"), id=ev["id"], v=version))["submit_self_review"]
    assert submitted["status"] == "self_review" and submitted["version"] > version
    listed = ok(await gql(t, f'{{ evaluations(cycle_id: "{cycle["id"]}") {{ nodes {{ id version }} }} }}'))
    assert listed["evaluations"]["nodes"] == [{"id": ev["id"], "version": submitted["version"]}]


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
            mutation="update_interview",
            update=f"""mutation($v: Int, $value: String) {{ update_interview(id: "{interview["id"]}",
                input: {{plan: $value}}, expected_version: $v) {{ version plan }} }}""",
            field="plan",
        ),
        ("Talk about goals", "Stale plan"),
    )
    request = await ask(t, ev, "bob", headers=t.employee("alice"))
    nested = f"""{{ evaluation(id: "{ev["id"]}") {{ interviews {{ id version }}
        peer_requests {{ id version status }} }} }}"""
    seen = ok(await gql(t, nested))["evaluation"]
    resp = await t.client.get(f"/api/v1/interviews/{interview['id']}", headers=t.hr)
    assert resp.headers["etag"] == f'"{seen["interviews"][0]["version"]}"'
    resp = await t.client.get(f"/api/v1/peer-requests/{request['id']}", headers=t.hr)
    assert resp.headers["etag"] == f'"{seen["peer_requests"][0]["version"]}"'
    # the evaluated employee sees the request anonymised: no status, so no version either
    theirs = ok(await gql(t, nested, t.employee("alice")))["evaluation"]["peer_requests"]
    assert theirs == [{"id": request["id"], "version": None, "status": None}]

    decline = """mutation($id: UUID!, $v: Int) { decline_peer_request(id: $id, expected_version: $v) {
        version status } }"""
    version = seen["peer_requests"][0]["version"]
    assert error_status(await gql(t, decline, t.employee("bob"), id=request["id"], v=version + 1)) == 412
    declined = ok(await gql(t, decline, t.employee("bob"), id=request["id"], v=version))["decline_peer_request"]
    assert declined["status"] == "declined" and declined["version"] > version
