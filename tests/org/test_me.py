"""`GET /api/v1/me`: who is calling, in one request (the screen every UI opens with)."""

from __future__ import annotations

from typing import Any

from tests.conftest import Tenant


async def me(t: Tenant, headers: dict[str, str]) -> Any:
    resp = await t.client.get("/api/v1/me", headers=headers)
    assert resp.status_code == 200, resp.text
    return resp.json()


async def test_an_employee_sees_themself_their_manager_and_their_own_pay(team: Tenant):
    body = await me(team, team.employee("alice"))
    alice, lead = team.employees["alice"], team.employees["lead"]
    assert body["kind"] == "person" and body["organization_id"] == str(team.org_id)
    assert body["roles"] == ["employee"] and body["scopes"] == []
    assert body["employee"]["id"] == alice["id"]
    assert body["employee"]["compensation"]["base_salary_minor"] == 9000000
    same = (await team.client.get(f"/api/v1/employees/{alice['id']}", headers=team.employee("alice"))).json()
    assert body["employee"] == same
    assert body["manager"] == {"id": lead["id"], "given_name": "Lead", "family_name": "Test"}
    assert body["reports_count"] == 0


async def test_a_manager_counts_direct_reports_only_and_sees_no_pay_of_theirs(team: Tenant):
    boss = await me(team, team.employee("boss"))
    assert boss["manager"] is None
    assert boss["reports_count"] == 2  # lead and carol; alice and bob report to lead
    assert boss["employee"]["compensation"]["base_salary_minor"] == 20000000
    lead = await me(team, team.employee("lead"))
    assert lead["reports_count"] == 2
    assert lead["employee"]["compensation"]["base_salary_minor"] is None  # their own (unset) pay
    assert "9000000" not in str(lead)  # never a report's


async def test_a_token_without_an_employee_gets_its_roles_or_scopes(team: Tenant):
    admin = await me(team, team.admin)
    assert admin == {
        "kind": "person",
        "organization_id": str(team.org_id),
        "employee": None,
        "roles": ["admin"],
        "scopes": [],
        "manager": None,
        "reports_count": 0,
    }
    client = await me(team, team.as_scope("payroll:read", "kpi:write"))
    assert client["kind"] == "client" and client["employee"] is None
    assert client["roles"] == [] and client["scopes"] == ["kpi:write", "payroll:read"]


async def test_an_employee_token_of_an_unknown_employee_is_null(team: Tenant):
    body = await me(team, team.as_("employee", emp="00000000-0000-4000-8000-000000000001"))
    assert body["employee"] is None and body["manager"] is None and body["reports_count"] == 0


async def test_anonymous_and_unknown_parameters_are_refused(team: Tenant):
    resp = await team.client.get("/api/v1/me")
    assert resp.status_code == 401
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert (await team.client.get("/api/v1/me?x=1", headers=team.hr)).status_code == 422
    assert (await team.client.post("/api/v1/me", headers=team.hr, json={})).status_code == 405


async def test_another_organization_sees_only_itself(team: Tenant, other_tenant: Tenant):
    body = await me(other_tenant, other_tenant.admin)
    assert body["organization_id"] == str(other_tenant.org_id)
    assert str(team.org_id) not in str(body)
