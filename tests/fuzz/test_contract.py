"""What the fuzzers found, pinned down: each test fails without its fix in the service."""

from __future__ import annotations

import pytest

from tests.conftest import Tenant

E = "/api/v1/employees"


async def test_405_allow_lists_every_method_of_the_resource(tenant: Tenant):
    resp = await tenant.client.request("OPTIONS", "/api/v1/organization", headers=tenant.hr)
    assert resp.status_code == 405
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.headers["allow"] == "DELETE, GET, PATCH"  # DELETE: the tenant lifecycle
    emp = await tenant.add_employee("ann")
    resp = await tenant.client.delete(f"{E}/{emp['id']}", headers=tenant.hr)
    assert resp.status_code == 405 and resp.headers["allow"] == "GET, PATCH"


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PATCH", "/api/v1/employees/bulk", "POST"),
        ("GET", "/api/v1/cycles/01a20000-0000-7000-8000-000000000000/scores/recompute", "POST"),
        ("POST", "/api/v1/objectives/01a20000-0000-7000-8000-000000000000/alignment", "GET"),
    ],
)
async def test_a_literal_resource_is_not_mistaken_for_an_id(tenant: Tenant, method, path, allow):
    resp = await tenant.client.request(method, path, headers=tenant.hr, json={})
    assert resp.status_code == 405, resp.text
    assert resp.headers["allow"] == allow


async def test_a_malformed_id_is_still_a_422(tenant: Tenant):
    resp = await tenant.client.get(f"{E}/not-a-uuid", headers=tenant.hr)
    assert resp.status_code == 422
    assert resp.json()["errors"][0]["loc"] == ["path", "employee_id"]


async def test_unknown_query_parameters_are_refused(tenant: Tenant):
    resp = await tenant.client.get(E, headers=tenant.hr, params={"departmnet_id": "x", "limit": 5})
    assert resp.status_code == 422
    assert resp.json()["errors"] == [{"loc": ["query", "departmnet_id"], "msg": "unknown query parameter"}]
    # declared ones, including those of shared dependencies (paging), still pass
    assert (await tenant.client.get(E, headers=tenant.hr, params={"limit": 5})).status_code == 200


@pytest.mark.parametrize(
    "path", ["/api/v1/audit-events?since=0.5", "/api/v1/payroll/incentive-results?updated_since=1700000000"]
)
async def test_timestamps_in_queries_are_rfc3339_only(tenant: Tenant, path):
    resp = await tenant.client.get(path, headers=tenant.admin)
    assert resp.status_code == 422, resp.text
    ok = path.split("=")[0] + "=2026-01-01T00:00:00Z"
    assert (await tenant.client.get(ok, headers=tenant.admin)).status_code == 200


async def test_every_error_is_documented_as_problem_json(app):
    doc = app.openapi()
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    patch = doc["paths"]["/api/v1/employees/{employee_id}"]["patch"]["responses"]
    assert {"401", "403", "404", "409", "412", "413", "422", "503"} <= set(patch)
    for code in ("404", "422", "503"):
        assert set(patch[code]["content"]) == {"application/problem+json"}
    assert "Retry-After" in patch["503"]["headers"]
    assert "429" in doc["paths"]["/api/v1/employees/bulk"]["post"]["responses"]
    token = doc["paths"]["/oauth/token"]["post"]
    assert set(token["responses"]["400"]["content"]) == {"application/json"}
    assert {} in token["security"]  # credentials may come in the form body instead of Basic


async def test_a_nul_character_is_refused_everywhere_naming_the_field(tenant: Tenant):
    """PostgreSQL cannot store U+0000 in text; the API refuses it on both backends alike
    (it used to reach PostgreSQL and come back as a 503)."""
    resp = await tenant.client.post(
        "/api/v1/kpi-definitions",
        headers=tenant.hr,
        json={
            "code": "nul",
            "name": "Revenue",
            "unit": "a\u0000b",
            "direction": "higher_is_better",
            "aggregation": "sum",
        },
    )
    assert resp.status_code == 422, resp.text
    assert resp.json()["errors"][0]["loc"] == ["body", "unit"]
    named = await tenant.client.post("/api/v1/departments", headers=tenant.hr, json={"name": "R&D\u0000"})
    assert named.status_code == 422 and named.json()["errors"][0]["loc"] == ["body", "name"]
    query = await tenant.client.get(E, headers=tenant.hr, params={"external_id": "a\u0000b"})
    assert query.status_code == 422, query.text
    assert query.json()["errors"] == [
        {"loc": ["query", "external_id"], "msg": "must not contain a NUL character (U+0000)"}
    ]
    gql = await tenant.client.post(
        "/graphql",
        headers=tenant.hr,
        json={
            "query": "mutation($n: String!) { createDepartment(input: {name: $n}) { id } }",
            "variables": {"n": "R&D\u0000"},
        },
    )
    (error,) = gql.json()["errors"]
    assert error["extensions"]["status"] == 422, error
    listed = await tenant.client.get("/api/v1/departments", headers=tenant.hr)
    assert listed.json()["items"] == []  # nothing was written
    listed = await tenant.client.get("/api/v1/kpi-definitions", headers=tenant.hr)
    assert listed.json()["items"] == []
