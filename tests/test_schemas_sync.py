"""The committed contract files equal what the app serves: a change to a route, a model
or a GraphQL type must come with `python -m service export-schemas`."""

from __future__ import annotations

import difflib
import json

from service.schemas_export import ROOT, graphql_text, openapi_text

FIX = "run `python -m service export-schemas` and commit openapi/"


def _diff(committed: str, served: str, name: str) -> str:
    lines = difflib.unified_diff(
        committed.splitlines(), served.splitlines(), f"committed {name}", f"served {name}", lineterm="", n=1
    )
    return "\n".join(list(lines)[:60])


def test_openapi_json_is_current():
    path = ROOT / "openapi" / "openapi.json"
    assert path.exists(), f"openapi/openapi.json is missing: {FIX}"
    committed, served = path.read_text(), openapi_text()
    assert committed == served, f"openapi/openapi.json is stale: {FIX}\n{_diff(committed, served, 'openapi.json')}"


def test_graphql_schema_is_current():
    path = ROOT / "openapi" / "schema.graphql"
    assert path.exists(), f"openapi/schema.graphql is missing: {FIX}"
    committed, served = path.read_text(), graphql_text()
    assert committed == served, f"openapi/schema.graphql is stale: {FIX}\n{_diff(committed, served, 'schema.graphql')}"


async def test_served_openapi_equals_export(client):
    resp = await client.get("/openapi.json")
    assert resp.status_code == 200
    served = resp.json()
    assert served["openapi"].startswith("3.1")
    assert json.loads(openapi_text()) == served


async def test_served_graphql_sdl_equals_export(client, tenant):
    """The running endpoint exposes the exported schema: every type named in the SDL
    file is known to introspection."""
    resp = await client.post(
        "/graphql",
        headers=tenant.admin,
        json={"query": "{ __schema { types { name } queryType { fields { name } } } }"},
    )
    data = resp.json()["data"]["__schema"]
    served_types = {t["name"] for t in data["types"]}
    sdl = graphql_text()
    declared = {
        line.split()[1]
        for line in sdl.splitlines()
        if line.startswith(("type ", "input ", "scalar ", "enum ", "interface ", "union "))
    }
    assert declared and declared <= served_types
    fields = {f["name"] for f in data["queryType"]["fields"]}
    assert {"organization", "employees", "employee", "departments", "positions", "me"} <= fields


def test_foundation_paths_are_in_the_contract():
    doc = json.loads((ROOT / "openapi" / "openapi.json").read_text())
    paths = doc["paths"]
    expected = {
        "/api/v1/organization": {"get", "patch"},
        "/api/v1/departments": {"get", "post"},
        "/api/v1/departments/{department_id}": {"get", "patch", "delete"},
        "/api/v1/positions": {"get", "post"},
        "/api/v1/positions/{position_id}": {"get", "patch"},
        "/api/v1/employees": {"get", "post"},
        "/api/v1/employees/{employee_id}": {"get", "patch"},
        "/api/v1/employees/bulk": {"post"},
        "/api/v1/integration-clients": {"get", "post"},
        "/api/v1/integration-clients/{client_pk}": {"get", "delete"},
        "/oauth/token": {"post"},
        "/api/v1/audit-events": {"get"},
    }
    for path, methods in expected.items():
        assert path in paths, path
        assert methods <= set(paths[path]), (path, set(paths[path]))
    employee = doc["components"]["schemas"]["EmployeeRead"]["properties"]
    assert {
        "external_id",
        "email",
        "given_name",
        "family_name",
        "department_id",
        "position_id",
        "manager_id",
        "status",
        "hire_date",
        "termination_date",
        "compensation",
    } <= set(employee)
