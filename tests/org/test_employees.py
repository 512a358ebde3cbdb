"""Employees over REST: create, read, change, filters, validation and the reporting graph.
Every refused request is followed by a read proving it changed nothing."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.conftest import Tenant

URL = "/api/v1/employees"


def body(**fields: Any) -> dict[str, Any]:
    key = uuid.uuid4().hex[:8]
    return {
        "external_id": f"e-{key}",
        "email": f"{key}@example.com",
        "given_name": "Erin",
        "family_name": "Doe",
        **fields,
    }


async def get(t: Tenant, emp_id: str) -> dict[str, Any]:
    resp = await t.client.get(f"{URL}/{emp_id}", headers=t.hr)
    assert resp.status_code == 200, resp.text
    return resp.json()


async def all_employees(t: Tenant) -> list[dict[str, Any]]:
    return (await t.client.get(URL, headers=t.hr, params={"limit": 500})).json()["items"]


def locs(resp: Any) -> list[list[Any]]:
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    return [e["loc"] for e in resp.json()["errors"]]


# --- create / read / change ------------------------------------------------------------------


async def test_create_and_get(tenant):
    dep = (await tenant.client.post("/api/v1/departments", json={"name": "Ops"}, headers=tenant.hr)).json()
    pos = (
        await tenant.client.post("/api/v1/positions", json={"name": "Analyst", "level": "L2"}, headers=tenant.hr)
    ).json()
    boss = await tenant.add_employee("boss")
    data = body(
        department_id=dep["id"],
        position_id=pos["id"],
        manager_id=boss["id"],
        hire_date="2024-02-01",
        status="on_leave",
        compensation={"base_salary_minor": 6500000, "currency": "EUR", "target_bonus_pct": 12.5},
    )
    resp = await tenant.client.post(URL, json=data, headers=tenant.hr)
    assert resp.status_code == 201, resp.text
    created = resp.json()
    assert resp.headers["location"] == f"{URL}/{created['id']}"
    assert resp.headers["etag"]
    uuid.UUID(created["id"])
    for key in (
        "external_id",
        "email",
        "given_name",
        "family_name",
        "department_id",
        "position_id",
        "manager_id",
        "status",
        "hire_date",
    ):
        assert created[key] == data[key], key
    assert created["termination_date"] is None
    assert created["compensation"] == {
        "base_salary_minor": 6500000,
        "currency": "EUR",
        "target_bonus_pct": "12.5",
        "target_bonus_minor": None,
    }
    assert created["created_at"].endswith(("Z", "+00:00"))
    assert await get(tenant, created["id"]) == created


async def test_defaults_and_whitespace(tenant):
    resp = await tenant.client.post(
        URL, headers=tenant.hr, json=body(given_name="  Padded  ", email=" pad@example.com ")
    )
    assert resp.status_code == 201
    assert resp.json()["status"] == "active"
    assert resp.json()["given_name"] == "Padded"
    assert resp.json()["email"] == "pad@example.com"


async def test_patch_changes_only_given_fields(tenant):
    emp = await tenant.add_employee("ann", hire_date="2023-01-01")
    resp = await tenant.client.patch(
        f"{URL}/{emp['id']}",
        headers=tenant.hr,
        json={"family_name": "Smith", "termination_date": "2024-06-30", "status": "terminated"},
    )
    assert resp.status_code == 200, resp.text
    got = await get(tenant, emp["id"])
    assert got["family_name"] == "Smith" and got["given_name"] == "Ann"
    assert got["termination_date"] == "2024-06-30" and got["status"] == "terminated"
    assert got["hire_date"] == "2023-01-01"
    assert got["updated_at"] >= emp["updated_at"]


async def test_patch_can_clear_nullable_fields(tenant):
    await tenant.add_employee("boss")
    emp = await tenant.add_employee("ann", manager="boss", hire_date="2023-01-01")
    resp = await tenant.client.patch(
        f"{URL}/{emp['id']}", headers=tenant.hr, json={"manager_id": None, "hire_date": None}
    )
    assert resp.status_code == 200
    got = await get(tenant, emp["id"])
    assert got["manager_id"] is None and got["hire_date"] is None


async def test_patch_compensation_partially(tenant):
    emp = await tenant.add_employee("ann", compensation={"base_salary_minor": 100, "currency": "USD"})
    resp = await tenant.client.patch(
        f"{URL}/{emp['id']}", headers=tenant.hr, json={"compensation": {"target_bonus_minor": 50}}
    )
    assert resp.status_code == 200
    assert (await get(tenant, emp["id"]))["compensation"] == {
        "base_salary_minor": 100,
        "currency": "USD",
        "target_bonus_pct": None,
        "target_bonus_minor": 50,
    }


async def test_filters(team):
    t = team
    dep = (await t.client.post("/api/v1/departments", json={"name": "Eng"}, headers=t.hr)).json()
    await t.client.patch(f"{URL}/{t.employees['alice']['id']}", json={"department_id": dep["id"]}, headers=t.hr)
    await t.client.patch(f"{URL}/{t.employees['dave']['id']}", json={"status": "terminated"}, headers=t.hr)

    async def ids(**params: Any) -> set[str]:
        resp = await t.client.get(URL, headers=t.hr, params=params)
        assert resp.status_code == 200
        return {e["id"] for e in resp.json()["items"]}

    e = {k: v["id"] for k, v in t.employees.items()}
    assert await ids(manager_id=e["lead"]) == {e["alice"], e["bob"]}
    assert await ids(department_id=dep["id"]) == {e["alice"]}
    assert await ids(status="terminated") == {e["dave"]}
    assert await ids(external_id=t.employees["carol"]["external_id"]) == {e["carol"]}
    assert await ids(external_id="nobody") == set()


# --- validation ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "loc"),
    [
        ({"email": "not-an-email"}, ["body", "email"]),
        ({"email": "a@b"}, ["body", "email"]),
        ({"given_name": ""}, ["body", "given_name"]),
        ({"external_id": ""}, ["body", "external_id"]),
        ({"hire_date": "2024-13-01"}, ["body", "hire_date"]),
        ({"status": "fired"}, ["body", "status"]),
        ({"compensation": {"currency": "XXX"}}, ["body", "compensation", "currency"]),
        ({"compensation": {"base_salary_minor": -1}}, ["body", "compensation", "base_salary_minor"]),
        ({"compensation": {"bonus": 1}}, ["body", "compensation", "bonus"]),
    ],
)
async def test_create_field_validation(tenant, fields, loc):
    resp = await tenant.client.post(URL, json=body(**fields), headers=tenant.hr)
    assert loc in locs(resp)
    assert await all_employees(tenant) == []


async def test_required_fields(tenant):
    resp = await tenant.client.post(URL, json={"external_id": "x"}, headers=tenant.hr)
    assert {("body", "email"), ("body", "given_name"), ("body", "family_name")} <= {tuple(x) for x in locs(resp)}


async def test_termination_before_hire_on_create(tenant):
    resp = await tenant.client.post(
        URL, headers=tenant.hr, json=body(hire_date="2024-05-01", termination_date="2024-04-30")
    )
    assert locs(resp)
    assert "termination_date" in resp.text
    assert await all_employees(tenant) == []


async def test_termination_before_stored_hire_on_patch(tenant):
    emp = await tenant.add_employee("ann", hire_date="2024-05-01")
    resp = await tenant.client.patch(f"{URL}/{emp['id']}", json={"termination_date": "2024-01-01"}, headers=tenant.hr)
    assert ["body", "termination_date"] in locs(resp)
    assert (await get(tenant, emp["id"]))["termination_date"] is None


@pytest.mark.parametrize("field", ["department_id", "position_id", "manager_id"])
async def test_unknown_reference_on_create(tenant, field):
    resp = await tenant.client.post(URL, json=body(**{field: str(uuid.uuid4())}), headers=tenant.hr)
    assert ["body", field] in locs(resp)
    assert await all_employees(tenant) == []


@pytest.mark.parametrize("field", ["department_id", "position_id", "manager_id"])
async def test_unknown_reference_on_patch(tenant, field):
    emp = await tenant.add_employee("ann")
    resp = await tenant.client.patch(
        f"{URL}/{emp['id']}", json={field: str(uuid.uuid4()), "given_name": "Zed"}, headers=tenant.hr
    )
    assert ["body", field] in locs(resp)
    got = await get(tenant, emp["id"])
    assert got[field] is None and got["given_name"] == "Ann"


@pytest.mark.parametrize("field", ["external_id", "email", "given_name", "family_name", "status"])
async def test_required_field_cannot_be_nulled(tenant, field):
    emp = await tenant.add_employee("ann")
    resp = await tenant.client.patch(f"{URL}/{emp['id']}", json={field: None}, headers=tenant.hr)
    assert ["body", field] in locs(resp)
    assert (await get(tenant, emp["id"]))[field] == emp[field]


async def test_patch_unknown_employee_is_404(tenant):
    resp = await tenant.client.patch(f"{URL}/{uuid.uuid4()}", json={"given_name": "X"}, headers=tenant.hr)
    assert resp.status_code == 404


# --- the reporting graph ----------------------------------------------------------------------


async def test_self_manager_refused(tenant):
    emp = await tenant.add_employee("ann")
    resp = await tenant.client.patch(f"{URL}/{emp['id']}", json={"manager_id": emp["id"]}, headers=tenant.hr)
    assert ["body", "manager_id"] in locs(resp)
    assert (await get(tenant, emp["id"]))["manager_id"] is None


async def test_two_person_cycle_refused(tenant):
    a = await tenant.add_employee("a")
    b = await tenant.add_employee("b", manager="a")
    resp = await tenant.client.patch(f"{URL}/{a['id']}", json={"manager_id": b["id"]}, headers=tenant.hr)
    assert ["body", "manager_id"] in locs(resp)
    assert "cycle" in resp.text
    assert (await get(tenant, a["id"]))["manager_id"] is None
    assert (await get(tenant, b["id"]))["manager_id"] == a["id"]


async def test_long_cycle_refused(tenant):
    await tenant.add_employee("a")
    await tenant.add_employee("b", manager="a")
    await tenant.add_employee("c", manager="b")
    d = await tenant.add_employee("d", manager="c")
    a_id = tenant.employees["a"]["id"]
    resp = await tenant.client.patch(f"{URL}/{a_id}", json={"manager_id": d["id"]}, headers=tenant.hr)
    assert ["body", "manager_id"] in locs(resp)
    assert (await get(tenant, a_id))["manager_id"] is None


async def test_reparenting_without_cycle_is_allowed(tenant):
    await tenant.add_employee("a")
    await tenant.add_employee("b", manager="a")
    c = await tenant.add_employee("c", manager="b")
    b_id = tenant.employees["b"]["id"]
    # c moves under a; then b may report to c (a -> c -> b), no cycle.
    assert (
        await tenant.client.patch(
            f"{URL}/{c['id']}", json={"manager_id": tenant.employees["a"]["id"]}, headers=tenant.hr
        )
    ).status_code == 200
    resp = await tenant.client.patch(f"{URL}/{b_id}", json={"manager_id": c["id"]}, headers=tenant.hr)
    assert resp.status_code == 200, resp.text
    assert (await get(tenant, b_id))["manager_id"] == c["id"]


# --- uniqueness -----------------------------------------------------------------------------------


async def test_duplicate_external_id_on_create_is_409(tenant):
    emp = await tenant.add_employee("ann")
    resp = await tenant.client.post(URL, json=body(external_id=emp["external_id"]), headers=tenant.hr)
    assert resp.status_code == 409
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert len(await all_employees(tenant)) == 1


async def test_duplicate_external_id_on_patch_is_409(tenant):
    ann = await tenant.add_employee("ann")
    bob = await tenant.add_employee("bob")
    resp = await tenant.client.patch(f"{URL}/{bob['id']}", json={"external_id": ann["external_id"]}, headers=tenant.hr)
    assert resp.status_code == 409
    assert (await get(tenant, bob["id"]))["external_id"] == bob["external_id"]
    same = await tenant.client.patch(f"{URL}/{bob['id']}", json={"external_id": bob["external_id"]}, headers=tenant.hr)
    assert same.status_code == 200


async def test_same_external_id_in_two_organizations(tenant, other_tenant):
    emp = await tenant.add_employee("ann")
    resp = await other_tenant.client.post(URL, json=body(external_id=emp["external_id"]), headers=other_tenant.hr)
    assert resp.status_code == 201
    assert resp.json()["id"] != emp["id"]
