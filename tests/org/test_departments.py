"""Departments (a tree), positions and the organization's own settings over REST."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from tests.conftest import Tenant

URL = "/api/v1/departments"


async def create(t: Tenant, name: str, **fields: Any) -> dict[str, Any]:
    resp = await t.client.post(URL, json={"name": name, **fields}, headers=t.hr)
    assert resp.status_code == 201, resp.text
    return resp.json()


async def get(t: Tenant, dep_id: str) -> dict[str, Any]:
    resp = await t.client.get(f"{URL}/{dep_id}", headers=t.hr)
    assert resp.status_code == 200, resp.text
    return resp.json()


def locs(resp: Any) -> list[list[Any]]:
    assert resp.status_code == 422, resp.text
    return [e["loc"] for e in resp.json()["errors"]]


# --- departments --------------------------------------------------------------------------


async def test_department_crud(tenant):
    head = await tenant.add_employee("head")
    root = await create(tenant, "Company")
    resp = await tenant.client.post(
        URL, json={"name": "Sales", "parent_id": root["id"], "head_id": head["id"]}, headers=tenant.hr
    )
    assert resp.status_code == 201
    sales = resp.json()
    assert resp.headers["location"] == f"{URL}/{sales['id']}"
    assert sales["parent_id"] == root["id"] and sales["head_id"] == head["id"] and sales["name"] == "Sales"
    assert await get(tenant, sales["id"]) == sales

    patched = await tenant.client.patch(
        f"{URL}/{sales['id']}", json={"name": "Revenue", "head_id": None}, headers=tenant.hr
    )
    assert patched.status_code == 200
    got = await get(tenant, sales["id"])
    assert got["name"] == "Revenue" and got["head_id"] is None and got["parent_id"] == root["id"]

    assert (await tenant.client.delete(f"{URL}/{sales['id']}", headers=tenant.hr)).status_code == 204
    assert (await tenant.client.get(f"{URL}/{sales['id']}", headers=tenant.hr)).status_code == 404
    assert (await tenant.client.delete(f"{URL}/{sales['id']}", headers=tenant.hr)).status_code == 404


async def test_list_by_parent(tenant):
    root = await create(tenant, "Company")
    a = await create(tenant, "A", parent_id=root["id"])
    b = await create(tenant, "B", parent_id=root["id"])
    await create(tenant, "A1", parent_id=a["id"])
    await tenant.add_employee("ann")
    resp = await tenant.client.get(URL, headers=tenant.employee("ann"), params={"parent_id": root["id"]})
    assert {d["id"] for d in resp.json()["items"]} == {a["id"], b["id"]}
    everything = await tenant.client.get(URL, headers=tenant.hr)
    assert len(everything.json()["items"]) == 4


@pytest.mark.parametrize(
    ("fields", "loc"),
    [
        ({"name": ""}, ["body", "name"]),
        ({"name": "x" * 201}, ["body", "name"]),
        ({"name": "X", "parent_id": "nope"}, ["body", "parent_id"]),
        ({"name": "X", "parent_id": str(uuid.uuid4())}, ["body", "parent_id"]),
        ({"name": "X", "head_id": str(uuid.uuid4())}, ["body", "head_id"]),
        ({"name": "X", "budget": 5}, ["body", "budget"]),
    ],
)
async def test_department_validation(tenant, fields, loc):
    resp = await tenant.client.post(URL, json=fields, headers=tenant.hr)
    assert loc in locs(resp)
    assert (await tenant.client.get(URL, headers=tenant.hr)).json()["items"] == []


async def test_department_name_cannot_be_nulled(tenant):
    dep = await create(tenant, "Ops")
    resp = await tenant.client.patch(f"{URL}/{dep['id']}", json={"name": None}, headers=tenant.hr)
    assert ["body", "name"] in locs(resp)
    assert (await get(tenant, dep["id"]))["name"] == "Ops"


async def test_department_self_parent_refused(tenant):
    dep = await create(tenant, "Ops")
    resp = await tenant.client.patch(f"{URL}/{dep['id']}", json={"parent_id": dep["id"]}, headers=tenant.hr)
    assert ["body", "parent_id"] in locs(resp)
    assert (await get(tenant, dep["id"]))["parent_id"] is None


async def test_department_cycle_refused(tenant):
    a = await create(tenant, "A")
    b = await create(tenant, "B", parent_id=a["id"])
    c = await create(tenant, "C", parent_id=b["id"])
    for child in (b, c):
        resp = await tenant.client.patch(f"{URL}/{a['id']}", json={"parent_id": child["id"]}, headers=tenant.hr)
        assert ["body", "parent_id"] in locs(resp)
        assert "cycle" in resp.text
    assert (await get(tenant, a["id"]))["parent_id"] is None
    # Moving a subtree elsewhere without a cycle works.
    d = await create(tenant, "D")
    moved = await tenant.client.patch(f"{URL}/{b['id']}", json={"parent_id": d["id"]}, headers=tenant.hr)
    assert moved.status_code == 200
    assert (await get(tenant, b["id"]))["parent_id"] == d["id"]
    assert (
        await tenant.client.patch(f"{URL}/{a['id']}", json={"parent_id": c["id"]}, headers=tenant.hr)
    ).status_code == 200


async def test_concurrent_moves_cannot_make_a_cycle(tenant):
    """A under B and B under A at once: the moves queue (org repository
    `hold_department_tree`, shared with SCIM), so the second sees the first and is refused."""
    a, b = await create(tenant, "Left"), await create(tenant, "Right")
    results = await asyncio.gather(
        tenant.client.patch(f"{URL}/{a['id']}", json={"parent_id": b["id"]}, headers=tenant.hr),
        tenant.client.patch(f"{URL}/{b['id']}", json={"parent_id": a["id"]}, headers=tenant.hr),
    )
    assert sorted(r.status_code for r in results) == [200, 422], [r.text for r in results]
    parents = [(await get(tenant, a["id"]))["parent_id"], (await get(tenant, b["id"]))["parent_id"]]
    assert parents.count(None) == 1


async def test_delete_department_with_children_is_409(tenant):
    parent = await create(tenant, "Parent")
    child = await create(tenant, "Child", parent_id=parent["id"])
    resp = await tenant.client.delete(f"{URL}/{parent['id']}", headers=tenant.hr)
    assert resp.status_code == 409
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert await get(tenant, parent["id"])
    assert (await tenant.client.delete(f"{URL}/{child['id']}", headers=tenant.hr)).status_code == 204
    assert (await tenant.client.delete(f"{URL}/{parent['id']}", headers=tenant.hr)).status_code == 204


async def test_delete_department_with_employees_is_409(tenant):
    dep = await create(tenant, "Ops")
    emp = await tenant.add_employee("ann", department_id=dep["id"])
    resp = await tenant.client.delete(f"{URL}/{dep['id']}", headers=tenant.hr)
    assert resp.status_code == 409
    assert await get(tenant, dep["id"])
    got = await tenant.client.get(f"/api/v1/employees/{emp['id']}", headers=tenant.hr)
    assert got.json()["department_id"] == dep["id"]
    await tenant.client.patch(f"/api/v1/employees/{emp['id']}", json={"department_id": None}, headers=tenant.hr)
    assert (await tenant.client.delete(f"{URL}/{dep['id']}", headers=tenant.hr)).status_code == 204


# --- positions ------------------------------------------------------------------------------


async def test_position_crud(tenant):
    resp = await tenant.client.post(
        "/api/v1/positions", headers=tenant.hr, json={"name": "Engineer", "level": "L3", "job_family": "Engineering"}
    )
    assert resp.status_code == 201
    pos = resp.json()
    assert resp.headers["location"] == f"/api/v1/positions/{pos['id']}"
    assert (pos["name"], pos["level"], pos["job_family"]) == ("Engineer", "L3", "Engineering")
    patched = await tenant.client.patch(f"/api/v1/positions/{pos['id']}", json={"level": "L4"}, headers=tenant.hr)
    assert patched.status_code == 200
    got = (await tenant.client.get(f"/api/v1/positions/{pos['id']}", headers=tenant.hr)).json()
    assert got["level"] == "L4" and got["name"] == "Engineer"
    listed = await tenant.client.get("/api/v1/positions", headers=tenant.hr)
    assert [p["id"] for p in listed.json()["items"]] == [pos["id"]]


async def test_position_validation(tenant):
    bad = await tenant.client.post("/api/v1/positions", json={"name": "X", "level": "L" * 41}, headers=tenant.hr)
    assert ["body", "level"] in locs(bad)
    pos = (await tenant.client.post("/api/v1/positions", json={"name": "X"}, headers=tenant.hr)).json()
    nulled = await tenant.client.patch(f"/api/v1/positions/{pos['id']}", json={"name": None}, headers=tenant.hr)
    assert ["body", "name"] in locs(nulled)
    assert (await tenant.client.get("/api/v1/positions", headers=tenant.hr)).json()["items"][0]["name"] == "X"


# --- organization -----------------------------------------------------------------------------


async def test_organization_read(tenant):
    await tenant.add_employee("ann")
    resp = await tenant.client.get("/api/v1/organization", headers=tenant.employee("ann"))
    assert resp.status_code == 200
    org = resp.json()
    assert org["id"] == str(tenant.org_id)
    assert org["settings"] == {
        "okr_max_objectives": 5,
        "okr_min_krs": 2,
        "okr_max_krs": 5,
        "peer_feedback_min_reviewers": 3,
        "webhooks_allow_private": False,
        "check_in_cadence_days": 7,
        "retention_days_after_termination": 2555,
    }
    assert {"name", "currency", "timezone", "fiscal_year_start"} <= set(org)


async def test_organization_patch(tenant):
    resp = await tenant.client.patch(
        "/api/v1/organization",
        headers=tenant.admin,
        json={
            "name": "Acme",
            "currency": "EUR",
            "timezone": "Europe/Berlin",
            "fiscal_year_start": "04-01",
            "settings": {"okr_max_krs": 7},
        },
    )
    assert resp.status_code == 200, resp.text
    org = (await tenant.client.get("/api/v1/organization", headers=tenant.admin)).json()
    assert (org["name"], org["currency"], org["timezone"], org["fiscal_year_start"]) == (
        "Acme",
        "EUR",
        "Europe/Berlin",
        "04-01",
    )
    assert org["settings"]["okr_max_krs"] == 7 and org["settings"]["okr_min_krs"] == 2

    more = await tenant.client.patch(
        "/api/v1/organization", headers=tenant.admin, json={"settings": {"webhooks_allow_private": True}}
    )
    assert more.json()["settings"]["okr_max_krs"] == 7  # earlier settings are kept
    assert more.json()["settings"]["webhooks_allow_private"] is True


@pytest.mark.parametrize(
    ("patch", "loc"),
    [
        ({"currency": "ABC"}, ["body", "currency"]),
        ({"timezone": "Mars/Olympus"}, ["body", "timezone"]),
        ({"fiscal_year_start": "13-01"}, ["body", "fiscal_year_start"]),
        ({"name": None}, ["body", "name"]),
        ({"settings": {"okr_max_krs": 0}}, ["body", "settings", "okr_max_krs"]),
        ({"settings": {"okr_min_krs": 9}}, ["body", "settings"]),
        ({"settings": {"unknown_knob": 1}}, ["body", "settings", "unknown_knob"]),
    ],
)
async def test_organization_patch_validation(tenant, patch, loc):
    before = (await tenant.client.get("/api/v1/organization", headers=tenant.admin)).json()
    resp = await tenant.client.patch("/api/v1/organization", json=patch, headers=tenant.admin)
    assert loc in locs(resp)
    after = (await tenant.client.get("/api/v1/organization", headers=tenant.admin)).json()
    assert after == before
