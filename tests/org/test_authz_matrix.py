"""Who may do what on every route of the foundation (SPEC section 10, service/authz/policy.py),
as one table: route x caller -> status. Each cell also checks that a refused or foreign
call changed nothing in the organization, that an allowed write did change it, that a
foreign admin never sees the organization's rows, and that a permitted read returns them."""

from __future__ import annotations

import uuid
from functools import partial
from typing import Any

import pytest

from tests import authz_matrix
from tests.authz_matrix import Matrix, Route, World
from tests.authz_worlds import worlds_of
from tests.conftest import Tenant

# --- the world every cell runs against ----------------------------------------------------


async def build_world(tenant: Tenant, other_tenant: Tenant) -> World:
    """lead manages alice (alice has pay); bob is a plain employee; one department,
    one position, one integration client."""
    c, admin = tenant.client, tenant.admin
    dep = (await c.post("/api/v1/departments", json={"name": "Ops"}, headers=admin)).json()
    pos = (await c.post("/api/v1/positions", json={"name": "Analyst"}, headers=admin)).json()
    await tenant.add_employee("lead")
    await tenant.add_employee("alice", manager="lead", compensation={"base_salary_minor": 7000000, "currency": "USD"})
    await tenant.add_employee("bob")
    resp = await c.post(
        "/api/v1/integration-clients", json={"name": "HRIS", "scopes": ["employees:write"]}, headers=admin
    )
    assert resp.status_code == 201, resp.text
    w = World(tenant=tenant, other=other_tenant)
    w.ids = {
        "org": str(tenant.org_id),
        "dep": dep["id"],
        "pos": pos["id"],
        "client": resp.json()["id"],
        "lead": tenant.employees["lead"]["id"],
        "alice": tenant.employees["alice"]["id"],
        "bob": tenant.employees["bob"]["id"],
    }
    return w


@pytest.fixture
async def world(tenant: Tenant, other_tenant: Tenant) -> World:
    return await build_world(tenant, other_tenant)


WORLDS = worlds_of(build_world, team=False)


CALLERS = [
    "admin",
    "hr",
    "auditor",
    "employee",
    "manager",
    "other_admin",
    "anonymous",
    "employees:write",
    "kpi:write",
    "payroll:read",
    "scim",
]


def headers_for(w: World, caller: str) -> dict[str, str]:
    return authz_matrix.headers_for(w, caller, {"employee": "bob", "manager": "lead"})


# --- expectations ---------------------------------------------------------------------------

PEOPLE = ("admin", "hr", "auditor", "employee", "manager")
DIRECTORY_SCOPES = ("employees:write", "payroll:read", "scim")
WRITERS = ("admin", "hr", "employees:write")


cells = partial(authz_matrix.cells, CALLERS)

DIR_LIST = cells(200, {"kpi:write": 403})
DIR_ITEM_READ = cells(200, {("kpi:write", "other_admin"): 404})


def dir_create(code: int) -> dict[str, int]:
    return cells(403, {WRITERS: code, "other_admin": code})


def dir_item_write(code: int) -> dict[str, int]:
    return cells(403, {WRITERS: code, ("kpi:write", "other_admin"): 404})


ORG_GET = cells(200, {})
ORG_PATCH = cells(403, {("admin", "other_admin"): 200})
CLIENTS_LIST = cells(403, {("admin", "other_admin"): 200})
CLIENTS_POST = cells(403, {("admin", "other_admin"): 201})


def clients_item(code: int) -> dict[str, int]:
    return cells(404, {"admin": code})


AUDIT = cells(403, {("admin", "auditor", "other_admin"): 200})
# A data subject's rights: hr and admin export, admin erases (alice is not terminated, so
# the erasure is refused with 409 and changes nothing); every other caller who sees the
# directory is refused (403), the rest do not see alice (404).
SUBJECT_EXPORT = cells(403, {("admin", "hr"): 200, ("kpi:write", "other_admin"): 404})
SUBJECT_ERASE = cells(403, {"admin": 409, ("kpi:write", "other_admin"): 404})


def _new_employee() -> dict[str, Any]:
    key = uuid.uuid4().hex[:8]
    return {"external_id": f"m-{key}", "email": f"{key}@example.com", "given_name": "New", "family_name": "Hire"}


def _bulk(_w: World) -> dict[str, Any]:
    return {"rows": [_new_employee(), _new_employee()]}


ROUTES = [
    Route("org.get", "GET", "/api/v1/organization", ORG_GET, shows=("org",)),
    Route(
        "org.patch",
        "PATCH",
        "/api/v1/organization",
        ORG_PATCH,
        {"name": "Renamed Org"},
        probe="/api/v1/organization",
        writers=("admin",),
    ),
    Route("departments.list", "GET", "/api/v1/departments", DIR_LIST, shows=("dep",)),
    Route(
        "departments.post",
        "POST",
        "/api/v1/departments",
        dir_create(201),
        {"name": "New dep"},
        probe="/api/v1/departments",
        writers=WRITERS,
    ),
    Route("departments.get", "GET", "/api/v1/departments/{dep}", DIR_ITEM_READ, shows=("dep",)),
    Route(
        "departments.patch",
        "PATCH",
        "/api/v1/departments/{dep}",
        dir_item_write(200),
        {"name": "Renamed dep"},
        probe="/api/v1/departments/{dep}",
        writers=WRITERS,
    ),
    Route(
        "departments.delete",
        "DELETE",
        "/api/v1/departments/{dep}",
        dir_item_write(204),
        probe="/api/v1/departments",
        writers=WRITERS,
    ),
    Route("positions.list", "GET", "/api/v1/positions", DIR_LIST, shows=("pos",)),
    Route(
        "positions.post",
        "POST",
        "/api/v1/positions",
        dir_create(201),
        {"name": "New pos"},
        probe="/api/v1/positions",
        writers=WRITERS,
    ),
    Route("positions.get", "GET", "/api/v1/positions/{pos}", DIR_ITEM_READ, shows=("pos",)),
    Route(
        "positions.patch",
        "PATCH",
        "/api/v1/positions/{pos}",
        dir_item_write(200),
        {"name": "Renamed pos"},
        probe="/api/v1/positions/{pos}",
        writers=WRITERS,
    ),
    Route("employees.list", "GET", "/api/v1/employees", DIR_LIST, shows=("alice", "bob", "lead")),
    Route("employees.get", "GET", "/api/v1/employees/{alice}", DIR_ITEM_READ, shows=("alice",)),
    Route(
        "employees.post",
        "POST",
        "/api/v1/employees",
        dir_create(201),
        lambda _w: _new_employee(),
        probe="/api/v1/employees",
        writers=WRITERS,
    ),
    Route(
        "employees.patch",
        "PATCH",
        "/api/v1/employees/{alice}",
        dir_item_write(200),
        {"given_name": "Alicia"},
        probe="/api/v1/employees/{alice}",
        writers=WRITERS,
    ),
    Route(
        "employees.bulk",
        "POST",
        "/api/v1/employees/bulk",
        dir_create(200),
        _bulk,
        probe="/api/v1/employees",
        writers=WRITERS,
    ),
    Route("employees.export", "GET", "/api/v1/employees/{alice}/export", SUBJECT_EXPORT, shows=("alice",)),
    Route(
        "employees.erase",
        "POST",
        "/api/v1/employees/{alice}/erase",
        SUBJECT_ERASE,
        {"reason": "erasure request"},
        probe="/api/v1/employees/{alice}",
    ),
    Route("clients.list", "GET", "/api/v1/integration-clients", CLIENTS_LIST, shows=("client",)),
    Route(
        "clients.post",
        "POST",
        "/api/v1/integration-clients",
        CLIENTS_POST,
        {"name": "BI", "scopes": ["kpi:write"]},
        probe="/api/v1/integration-clients",
        writers=("admin",),
    ),
    Route("clients.get", "GET", "/api/v1/integration-clients/{client}", clients_item(200), shows=("client",)),
    Route(
        "clients.delete",
        "DELETE",
        "/api/v1/integration-clients/{client}",
        clients_item(204),
        probe="/api/v1/integration-clients/{client}",
        writers=("admin",),
    ),
    Route("audit.list", "GET", "/api/v1/audit-events", AUDIT),
    # every token learns who it is (a foreign admin: itself, in its own organization)
    Route("me.get", "GET", "/api/v1/me", cells(200, {})),
]

MATRIX = Matrix(CALLERS, ROUTES, WORLDS, headers_for)


def test_table_covers_every_route_and_caller():
    MATRIX.assert_complete()


@pytest.mark.parametrize(("route", "caller"), MATRIX.cases())
async def test_matrix(client: Any, route: Route, caller: str):
    await MATRIX.check(client, route, caller)


# --- finer points the table cannot show ------------------------------------------------------


async def test_employee_cannot_patch_their_own_record(world: World):
    t = world.tenant
    resp = await t.client.patch(
        f"/api/v1/employees/{world.ids['bob']}", json={"given_name": "Robert"}, headers=t.employee("bob")
    )
    assert resp.status_code == 403
    again = await t.client.get(f"/api/v1/employees/{world.ids['bob']}", headers=t.admin)
    assert again.json()["given_name"] == "Bob"


async def test_other_admin_lists_are_empty_of_this_org(world: World):
    o = world.other
    for path in ("/api/v1/employees", "/api/v1/departments", "/api/v1/positions", "/api/v1/integration-clients"):
        resp = await o.client.get(path, headers=o.admin)
        assert resp.status_code == 200
        assert resp.json() == {"items": [], "next_cursor": None}, path
    audit = await o.client.get("/api/v1/audit-events", headers=o.admin, params={"entity_id": world.ids["alice"]})
    assert audit.json()["items"] == []
    org = await o.client.get("/api/v1/organization", headers=o.admin)
    assert org.json()["id"] == str(o.org_id)


async def test_other_admin_cannot_reference_this_orgs_rows(world: World):
    """References are resolved inside the caller's organization only: another org's ids
    are simply unknown (422), never linked."""
    o = world.other
    emp = {**_new_employee(), "manager_id": world.ids["alice"]}
    resp = await o.client.post("/api/v1/employees", json=emp, headers=o.admin)
    assert resp.status_code == 422
    assert resp.json()["errors"][0]["loc"] == ["body", "manager_id"]
    emp = {**_new_employee(), "department_id": world.ids["dep"]}
    assert (await o.client.post("/api/v1/employees", json=emp, headers=o.admin)).status_code == 422
    dep = await o.client.post("/api/v1/departments", json={"name": "X", "parent_id": world.ids["dep"]}, headers=o.admin)
    assert dep.status_code == 422
    bulk = await o.client.post(
        "/api/v1/employees/bulk", headers=o.admin, json={"rows": [{**_new_employee(), "position_id": world.ids["pos"]}]}
    )
    assert bulk.json()["results"][0]["outcome"] == "error"
    assert (await o.client.get("/api/v1/employees", headers=o.admin)).json()["items"] == []


async def test_client_with_unknown_scope_only_is_refused(world: World):
    t = world.tenant
    headers = t.as_scope("webhooks")
    assert (await t.client.get("/api/v1/employees", headers=headers)).status_code == 403
    assert (await t.client.get(f"/api/v1/employees/{world.ids['alice']}", headers=headers)).status_code == 404


async def test_roles_claim_without_known_roles_reads_directory_but_cannot_write(world: World):
    """A person token with no recognised role is a plain person: directory yes, writes no."""
    t = world.tenant
    headers = t.as_("superuser")
    assert (await t.client.get("/api/v1/employees", headers=headers)).status_code == 200
    resp = await t.client.post("/api/v1/employees", json=_new_employee(), headers=headers)
    assert resp.status_code == 403
    assert (await t.client.get("/api/v1/integration-clients", headers=headers)).status_code == 403


@pytest.mark.parametrize(("caller", "employee"), [("employee", "bob"), ("manager", "lead")])
async def test_me_is_the_callers_own_employee(world: World, caller: str, employee: str):
    t = world.tenant
    body = (await t.client.get("/api/v1/me", headers=headers_for(world, caller))).json()
    assert body["employee"]["id"] == world.ids[employee]
    assert body["reports_count"] == (1 if employee == "lead" else 0)
    assert "7000000" not in str(body)  # alice's pay, never her manager's to see


# --- compensation -----------------------------------------------------------------------------

COMP_VISIBLE = ["admin", "hr", "payroll:read", "employees:write", "self"]
COMP_HIDDEN = ["auditor", "manager", "employee", "scim"]


def comp_headers(w: World, caller: str) -> dict[str, str]:
    if caller == "self":
        return w.tenant.employee("alice")
    return headers_for(w, caller)


GQL_ONE = "query($id: ID!) { employee(id: $id) { databaseId compensation { baseSalaryMinor currency } } }"
GQL_ALL = "{ employees(first: 100) { edges { node { databaseId compensation { baseSalaryMinor } } } } }"


@pytest.mark.parametrize("caller", COMP_VISIBLE + COMP_HIDDEN)
async def test_compensation_visibility(world: World, caller: str):
    t, alice = world.tenant, world.ids["alice"]
    visible = caller in COMP_VISIBLE
    headers = comp_headers(world, caller)

    item = await t.client.get(f"/api/v1/employees/{alice}", headers=headers)
    assert item.status_code == 200
    if visible:
        assert item.json()["compensation"]["base_salary_minor"] == 7000000
        assert item.json()["compensation"]["currency"] == "USD"
    else:
        assert "compensation" not in item.json()
        assert "7000000" not in item.text

    listed = await t.client.get("/api/v1/employees", headers=headers)
    by_id = {e["id"]: e for e in listed.json()["items"]}
    assert alice in by_id
    if visible:
        assert by_id[alice]["compensation"]["base_salary_minor"] == 7000000
    else:
        own = {"manager": world.ids["lead"], "employee": world.ids["bob"]}.get(caller)
        assert all("compensation" not in e for e in listed.json()["items"] if e["id"] != own)
        assert "7000000" not in listed.text
    if caller == "self":  # their own pay only, never a colleague's
        others = [e for e in listed.json()["items"] if e["id"] != alice]
        assert others and all("compensation" not in e for e in others)

    one = await t.client.post("/graphql", json={"query": GQL_ONE, "variables": {"id": alice}}, headers=headers)
    assert "errors" not in one.json(), one.text
    comp = one.json()["data"]["employee"]["compensation"]
    assert (comp == {"baseSalaryMinor": 7000000, "currency": "USD"}) if visible else comp is None

    many = await t.client.post("/graphql", json={"query": GQL_ALL}, headers=headers)
    nodes = {e["node"]["databaseId"]: e["node"] for e in many.json()["data"]["employees"]["edges"]}
    if visible:
        assert nodes[alice]["compensation"] == {"baseSalaryMinor": 7000000}
    else:
        own = {"manager": world.ids["lead"], "employee": world.ids["bob"]}.get(caller)
        assert all(n["compensation"] is None for i, n in nodes.items() if i != own)
        assert nodes[alice]["compensation"] is None


async def test_compensation_never_in_audit_log(world: World):
    t, alice = world.tenant, world.ids["alice"]
    resp = await t.client.get("/api/v1/audit-events", headers=t.auditor, params={"entity_id": alice})
    assert resp.status_code == 200 and resp.json()["items"]
    assert "7000000" not in resp.text
    assert resp.json()["items"][0]["after"]["compensation"] == "redacted"


@pytest.mark.parametrize("caller", ["auditor", "manager", "employee", "payroll:read", "scim", "kpi:write"])
async def test_only_writers_set_compensation(world: World, caller: str):
    t, alice = world.tenant, world.ids["alice"]
    resp = await t.client.patch(
        f"/api/v1/employees/{alice}",
        headers=comp_headers(world, caller),
        json={"compensation": {"base_salary_minor": 1}},
    )
    assert resp.status_code in (403, 404)
    check = await t.client.get(f"/api/v1/employees/{alice}", headers=t.hr)
    assert check.json()["compensation"]["base_salary_minor"] == 7000000
