"""POST /graphql: the organization module through Strawberry. Same services, same rules
as REST: connections, dataloaders, mutations, errors with a status, limits."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import event

from service.db import database
from tests.conftest import Tenant


async def gql(t: Tenant, query: str, headers: dict[str, str] | None = None, **variables: Any) -> dict[str, Any]:
    resp = await t.client.post(
        "/graphql", json={"query": query, "variables": variables}, headers=t.hr if headers is None else headers
    )
    assert resp.status_code == 200, resp.text
    return resp.json()


def ok(result: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in result or not result["errors"], result
    return result["data"]


def error_status(result: dict[str, Any]) -> int:
    assert result.get("errors"), result
    return result["errors"][0]["extensions"]["status"]


# --- queries --------------------------------------------------------------------------------


async def test_organization(tenant):
    data = ok(
        await gql(
            tenant,
            "{ organization { databaseId name currency timezone fiscalYearStart "
            "settings { okrMaxObjectives okrMinKrs webhooksAllowPrivate } } }",
        )
    )
    org = data["organization"]
    assert org["databaseId"] == str(tenant.org_id) and org["name"] == "Test Org" and org["currency"] == "USD"
    assert org["settings"] == {"okrMaxObjectives": 5, "okrMinKrs": 2, "webhooksAllowPrivate": False}


async def test_employees_connection_pages(team):
    query = """query($after: String) { employees(first: 4, after: $after) {
        edges { cursor node { databaseId givenName } } pageInfo { hasNextPage endCursor } } }"""
    first = ok(await gql(team, query))["employees"]
    assert len(first["edges"]) == 4 and first["pageInfo"]["hasNextPage"] is True
    assert first["pageInfo"]["endCursor"] == first["edges"][-1]["cursor"]
    second = ok(await gql(team, query, after=first["pageInfo"]["endCursor"]))["employees"]
    assert len(second["edges"]) == 2 and second["pageInfo"]["hasNextPage"] is False
    assert second["pageInfo"]["endCursor"] == second["edges"][-1]["cursor"]
    seen = [e["node"]["databaseId"] for e in first["edges"] + second["edges"]]
    assert sorted(seen) == sorted(e["id"] for e in team.employees.values())
    nodes = ok(await gql(team, "{ employees(first: 2) { nodes { databaseId } } }"))["employees"]["nodes"]
    assert [n["databaseId"] for n in nodes] == seen[:2]


async def test_employees_filters_and_bad_first(team):
    lead = team.employees["lead"]["id"]
    data = ok(await gql(team, "query($m: ID) { employees(managerId: $m) { nodes { givenName } } }", m=lead))
    assert sorted(n["givenName"] for n in data["employees"]["nodes"]) == ["Alice", "Bob"]
    assert error_status(await gql(team, "{ employees(first: 501) { nodes { id } } }")) == 422
    assert error_status(await gql(team, "{ employees(first: 0) { nodes { id } } }")) == 422
    assert error_status(await gql(team, '{ employees(after: "junk") { nodes { id } } }')) == 422


async def test_nested_department_manager_position(team):
    t = team
    dep = (await t.client.post("/api/v1/departments", json={"name": "Eng"}, headers=t.hr)).json()
    sub = (
        await t.client.post(
            "/api/v1/departments",
            json={"name": "Platform", "parent_id": dep["id"], "head_id": t.employees["lead"]["id"]},
            headers=t.hr,
        )
    ).json()
    pos = (await t.client.post("/api/v1/positions", json={"name": "Engineer", "level": "L3"}, headers=t.hr)).json()
    for key in ("alice", "bob"):
        await t.client.patch(
            f"/api/v1/employees/{t.employees[key]['id']}",
            headers=t.hr,
            json={"department_id": sub["id"], "position_id": pos["id"]},
        )
    query = """{ employees(first: 50) { nodes { givenName
        department { name parent { name } head { givenName } }
        position { name level }
        manager { givenName manager { givenName } } } } }"""
    nodes = {n["givenName"]: n for n in ok(await gql(t, query))["employees"]["nodes"]}
    alice = nodes["Alice"]
    assert alice["department"] == {"name": "Platform", "parent": {"name": "Eng"}, "head": {"givenName": "Lead"}}
    assert alice["position"] == {"name": "Engineer", "level": "L3"}
    assert alice["manager"] == {"givenName": "Lead", "manager": {"givenName": "Boss"}}
    assert nodes["Dave"]["department"] is None and nodes["Dave"]["manager"] is None
    assert nodes["Boss"]["manager"] is None


async def test_dataloaders_batch_nested_lookups(team):
    """A nested query costs one SQL query per level, whatever the list size."""
    t = team
    for i in range(10):
        await t.add_employee(f"extra{i}", manager="carol")
    statements: list[str] = []

    def count(conn, cursor, statement, *args):  # noqa: ANN001
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    engine = database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        data = ok(await gql(t, "{ employees(first: 100) { nodes { manager { manager { givenName } } } } }"))
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(data["employees"]["nodes"]) == 16
    employee_selects = [s for s in statements if "FROM employees" in s]
    # the page, then at most one batched load per nesting level (managers already loaded
    # at the first level are not fetched again at the second)
    assert 2 <= len(employee_selects) <= 3, employee_selects


async def test_sibling_fields_share_the_request_session(team):
    """Top-level fields resolve concurrently, and so do the batches of different loaders
    at one level; all of them use the request's one database session."""
    t = team
    dep = (await t.client.post("/api/v1/departments", json={"name": "Eng"}, headers=t.hr)).json()
    pos = (await t.client.post("/api/v1/positions", json={"name": "Engineer"}, headers=t.hr)).json()
    await t.client.patch(
        f"/api/v1/employees/{t.employees['bob']['id']}",
        headers=t.hr,
        json={"department_id": dep["id"], "position_id": pos["id"]},
    )
    query = """{ organization { name } departments { nodes { name } } positions { nodes { name } }
                 me { givenName }
                 employees { nodes { givenName department { name } position { name } manager { givenName } } } }"""
    for _ in range(3):
        data = ok(await gql(t, query, headers=t.employee("bob")))
        assert data["organization"]["name"] == "Test Org"
        assert data["departments"]["nodes"] == [{"name": "Eng"}]
        assert data["me"] == {"givenName": "Bob"}
        bob = next(n for n in data["employees"]["nodes"] if n["givenName"] == "Bob")
        assert bob == {
            "givenName": "Bob",
            "department": {"name": "Eng"},
            "position": {"name": "Engineer"},
            "manager": {"givenName": "Lead"},
        }


async def test_employee_and_me(team):
    alice = team.employees["alice"]
    data = ok(await gql(team, "query($id: ID!) { employee(id: $id) { externalId email } }", id=alice["id"]))
    assert data["employee"] == {"externalId": alice["external_id"], "email": "alice@example.com"}
    me = ok(await gql(team, "{ me { givenName } }", headers=team.employee("bob")))
    assert me["me"] == {"givenName": "Bob"}
    assert ok(await gql(team, "{ me { givenName } }"))["me"] is None


# --- mutations ---------------------------------------------------------------------------------

CREATE_DEP = "mutation($i: DepartmentInput!) { createDepartment(input: $i) { databaseId name parentId } }"
CREATE_EMP = """mutation($i: EmployeeInput!) { createEmployee(input: $i) {
    databaseId externalId manager { givenName } compensation { baseSalaryMinor targetBonusPct } } }"""


async def test_create_department_and_employee(tenant):
    dep = ok(await gql(tenant, CREATE_DEP, i={"name": "Ops"}))["createDepartment"]
    assert dep["name"] == "Ops" and dep["parentId"] is None
    rest = await tenant.client.get(f"/api/v1/departments/{dep['databaseId']}", headers=tenant.hr)
    assert rest.status_code == 200 and rest.json()["name"] == "Ops"

    boss = await tenant.add_employee("boss")
    emp = ok(
        await gql(
            tenant,
            CREATE_EMP,
            i={
                "externalId": "g-1",
                "email": "g1@example.com",
                "givenName": "Gina",
                "familyName": "Q",
                "managerId": boss["id"],
                "departmentId": dep["databaseId"],
                "compensation": {"baseSalaryMinor": 123, "targetBonusPct": "7.5"},
            },
        )
    )["createEmployee"]
    assert emp["externalId"] == "g-1" and emp["manager"] == {"givenName": "Boss"}
    assert emp["compensation"] == {"baseSalaryMinor": 123, "targetBonusPct": "7.5"}
    stored = (await tenant.client.get(f"/api/v1/employees/{emp['databaseId']}", headers=tenant.hr)).json()
    assert stored["department_id"] == dep["databaseId"] and stored["compensation"]["target_bonus_pct"] == "7.5"
    audit = await tenant.client.get(
        "/api/v1/audit-events", headers=tenant.auditor, params={"entity_id": emp["databaseId"]}
    )
    assert [e["action"] for e in audit.json()["items"]] == ["employee.created"]


async def test_update_employee_mutation(team):
    alice = team.employees["alice"]
    data = ok(
        await gql(
            team,
            """mutation($id: ID!) { updateEmployee(id: $id, input: {familyName: "Liddell"})
        { familyName givenName } }""",
            id=alice["id"],
        )
    )
    assert data["updateEmployee"] == {"familyName": "Liddell", "givenName": "Alice"}
    cycle = await gql(
        team,
        "mutation($id: ID!, $m: ID) { updateEmployee(id: $id, input: {managerId: $m}) { id } }",
        id=team.employees["boss"]["id"],
        m=alice["id"],
    )
    assert error_status(cycle) == 422
    boss = (await team.client.get(f"/api/v1/employees/{team.employees['boss']['id']}", headers=team.hr)).json()
    assert boss["manager_id"] is None


async def test_not_found_is_404(tenant):
    result = await gql(tenant, "query($id: ID!) { employee(id: $id) { id } }", id=str(uuid.uuid4()))
    assert error_status(result) == 404
    assert result["errors"][0]["extensions"]["code"] == "not-found"
    assert result["data"] is None


async def test_validation_is_422_with_locs(tenant):
    result = await gql(tenant, CREATE_EMP, i={"externalId": "x", "email": "bad", "givenName": "A", "familyName": "B"})
    assert error_status(result) == 422
    assert ["email"] in [e["loc"] for e in result["errors"][0]["extensions"]["errors"]]
    unknown = await gql(
        tenant,
        CREATE_EMP,
        i={
            "externalId": "x",
            "email": "x@example.com",
            "givenName": "A",
            "familyName": "B",
            "managerId": str(uuid.uuid4()),
        },
    )
    assert error_status(unknown) == 422
    assert ["body", "managerId"] in [e["loc"] for e in unknown["errors"][0]["extensions"]["errors"]]
    listed = await tenant.client.get("/api/v1/employees", headers=tenant.hr)
    assert listed.json()["items"] == []


async def test_forbidden_is_403_and_hidden_is_404(team):
    refused = await gql(team, CREATE_DEP, headers=team.auditor, i={"name": "Nope"})
    assert error_status(refused) == 403
    hidden = await gql(
        team,
        "query($id: ID!) { employee(id: $id) { id } }",
        headers=team.as_scope("kpi:write"),
        id=team.employees["alice"]["id"],
    )
    assert error_status(hidden) == 404
    assert (await team.client.get("/api/v1/departments", headers=team.hr)).json()["items"] == []


async def test_failed_mutation_changes_nothing(tenant):
    """Two mutations in one request, the second fails: the first is rolled back too,
    because the request is one transaction."""
    query = """mutation { a: createDepartment(input: {name: "Ghost"}) { id }
                          b: createEmployee(input: {externalId: "g", email: "nope", givenName: "G",
                                                     familyName: "H"}) { id } }"""
    result = await gql(tenant, query)
    assert error_status(result) == 422
    assert (await tenant.client.get("/api/v1/departments", headers=tenant.hr)).json()["items"] == []
    assert (await tenant.client.get("/api/v1/employees", headers=tenant.hr)).json()["items"] == []
    audit = await tenant.client.get("/api/v1/audit-events", headers=tenant.admin)
    assert audit.json()["items"] == []


async def test_bulk_mutation(tenant):
    result = ok(
        await gql(
            tenant,
            """mutation { bulkUpsertEmployees(rows: [
        {externalId: "b1", email: "b1@example.com", givenName: "B", familyName: "One"},
        {externalId: "b2", email: "bad", givenName: "B", familyName: "Two"}]) {
        index externalId outcome errors } }""",
        )
    )["bulkUpsertEmployees"]
    assert [r["outcome"] for r in result] == ["CREATED", "ERROR"]
    assert "email" in result[1]["errors"][0]


async def test_unauthenticated_is_401(tenant):
    resp = await tenant.client.post("/graphql", json={"query": "{ organization { id } }"})
    assert resp.status_code == 401
    assert "Test Org" not in resp.text


# --- compensation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "visible"),
    [
        ("hr", True),
        ("admin", True),
        ("self", True),
        ("payroll", True),
        ("auditor", False),
        ("manager", False),
        ("peer", False),
    ],
)
async def test_compensation_field(team, who, visible):
    headers = {
        "hr": team.hr,
        "admin": team.admin,
        "self": team.employee("alice"),
        "payroll": team.as_scope("payroll:read"),
        "auditor": team.auditor,
        "manager": team.employee("lead"),
        "peer": team.employee("bob"),
    }[who]
    data = ok(
        await gql(
            team,
            "query($id: ID!) { employee(id: $id) { compensation { baseSalaryMinor } } }",
            headers=headers,
            id=team.employees["alice"]["id"],
        )
    )
    comp = data["employee"]["compensation"]
    assert comp == {"baseSalaryMinor": 9000000} if visible else comp is None


# --- limits ----------------------------------------------------------------------------------------


async def test_depth_limit(team):
    deep = "{ employees { nodes { " + "manager { " * 12 + "id" + " }" * 12 + " } } }"
    result = await gql(team, deep)
    assert result.get("errors") and result.get("data") is None
    assert "depth" in result["errors"][0]["message"].lower()
    shallow = "{ employees { nodes { " + "manager { " * 3 + "id" + " }" * 3 + " } } }"
    assert ok(await gql(team, shallow))


async def test_alias_limit(tenant):
    many = "{ " + " ".join(f"a{i}: organization {{ id }}" for i in range(40)) + " }"
    result = await gql(tenant, many)
    assert result.get("errors") and result.get("data") is None
    assert "alias" in result["errors"][0]["message"].lower()
    few = "{ " + " ".join(f"a{i}: organization {{ id }}" for i in range(5)) + " }"
    assert len(ok(await gql(tenant, few))) == 5


async def test_token_limit(tenant):
    huge = "{ organization { " + " ".join(["id"] * 6000) + " } }"
    result = await gql(tenant, huge)
    assert result.get("errors") and result.get("data") is None


async def test_syntax_error_is_reported_without_internals(tenant):
    result = await gql(tenant, "{ organization { id ")
    assert result["errors"] and "Traceback" not in str(result)
