"""The audited change of one row (service/kit/changes.py), through the services that use
it: an update audits before and after with the new version, a delete audits no "after",
a stale If-Match (412) and a refused change (422, 409) leave the row and the audit log as
they were."""

from __future__ import annotations

from typing import Any


async def audit_of(tenant: Any, entity_id: str) -> list[dict[str, Any]]:
    r = await tenant.client.get("/api/v1/audit-events", params={"entity_id": entity_id}, headers=tenant.admin)
    assert r.status_code == 200, r.text
    return sorted(r.json()["items"], key=lambda e: e["at"])


async def test_an_update_is_audited_with_before_and_after(tenant):
    c = tenant.client
    dep = (await c.post("/api/v1/departments", json={"name": "Sales"}, headers=tenant.hr)).json()
    r = await c.patch(f"/api/v1/departments/{dep['id']}", json={"name": "Field Sales"}, headers=tenant.hr)
    assert r.status_code == 200, r.text
    events = await audit_of(tenant, dep["id"])
    assert [e["action"] for e in events] == ["department.created", "department.updated"]
    updated = events[-1]
    assert updated["entity_type"] == "department"
    assert updated["before"]["name"] == "Sales" and updated["after"]["name"] == "Field Sales"
    assert r.headers["ETag"] == '"2"'  # the version moved with the flush


async def test_a_delete_is_audited_without_after(tenant):
    c = tenant.client
    dep = (await c.post("/api/v1/departments", json={"name": "Ops"}, headers=tenant.hr)).json()
    assert (await c.delete(f"/api/v1/departments/{dep['id']}", headers=tenant.hr)).status_code == 204
    deleted = (await audit_of(tenant, dep["id"]))[-1]
    assert deleted["action"] == "department.deleted"
    assert deleted["before"]["name"] == "Ops" and deleted["after"] is None


async def test_a_stale_or_refused_change_changes_nothing(tenant):
    c = tenant.client
    parent = (await c.post("/api/v1/departments", json={"name": "Parent"}, headers=tenant.hr)).json()
    child = (
        await c.post("/api/v1/departments", json={"name": "Child", "parent_id": parent["id"]}, headers=tenant.hr)
    ).json()
    url = f"/api/v1/departments/{parent['id']}"
    etag = (await c.get(url, headers=tenant.hr)).headers["ETag"]
    stale = await c.patch(url, json={"name": "X"}, headers={**tenant.hr, "If-Match": '"999"'})
    assert stale.status_code == 412
    null = await c.patch(url, json={"name": None}, headers=tenant.hr)
    assert null.status_code == 422 and null.json()["errors"][0]["loc"][-1] == "name"
    cycle = await c.patch(url, json={"parent_id": child["id"]}, headers=tenant.hr)
    assert cycle.status_code == 422
    in_use = await c.delete(url, headers=tenant.hr)
    assert in_use.status_code == 409
    now = await c.get(url, headers=tenant.hr)
    assert now.json()["name"] == "Parent" and now.json()["parent_id"] is None and now.headers["ETag"] == etag
    assert [e["action"] for e in await audit_of(tenant, parent["id"])] == ["department.created"]


async def test_the_audit_reason_is_kept(tenant):
    c = tenant.client
    emp = await tenant.add_employee("ann")
    r = await c.patch(
        f"/api/v1/employees/{emp['id']}",
        json={"compensation": {"base_salary_minor": 5_000_000, "currency": "USD"}},
        headers=tenant.admin,
    )
    assert r.status_code == 200, r.text
    updated = (await audit_of(tenant, emp["id"]))[-1]
    assert updated["action"] == "employee.updated" and updated["reason"] == "compensation changed"
