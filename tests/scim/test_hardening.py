"""SCIM against an outside probe and a real HRIS run: every bad input is a SCIM error
(RFC 7644 section 3.12) in milliseconds, never a 500 or a dropped connection; a rehire
after a DELETE brings the same employee back; two Groups never share a name."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from tests.scim.conftest import ERROR, GROUP, Scim, patch, user_body


def assert_scim_error(resp: Any, status: int, scim_type: str | None = None) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["schemas"] == [ERROR] and body["status"] == str(status), body
    if scim_type is not None:
        assert body.get("scimType") == scim_type, body
    return body


@pytest.mark.parametrize("where", ["userName", "name.givenName", "displayName", "externalId", "department"])
async def test_a_nul_in_any_string_is_invalid_value(scim: Scim, where: str):
    body = user_body()
    if where == "name.givenName":
        body["name"]["givenName"] = "A\x00b"
    elif where == "department":
        body["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"] = {"department": "Ops\x00"}
    else:
        body[where] = "x\x00y@example.com" if where == "userName" else "x\x00y"
    assert_scim_error(await scim.post("/Users", body), 400, "invalidValue")
    assert (await scim.search())["totalResults"] == 0


async def test_a_nul_through_put_patch_and_groups(scim: Scim):
    user = await scim.create_user("nul")
    put = user_body("nul", displayName="Bad\x00Name")
    assert_scim_error(await scim.put(f"/Users/{user['id']}", put), 400, "invalidValue")
    assert_scim_error(
        await scim.patch(f"/Users/{user['id']}", patch({"op": "replace", "path": "displayName", "value": "Bad\x00"})),
        400,
        "invalidValue",
    )
    assert_scim_error(await scim.post("/Groups", {"schemas": [GROUP], "displayName": "Sa\x00les"}), 400, "invalidValue")
    group = await scim.create_group("Sales")
    assert_scim_error(
        await scim.patch(
            f"/Groups/{group['id']}", patch({"op": "replace", "path": "displayName", "value": "Sa\x00les"})
        ),
        400,
        "invalidValue",
    )
    again = (await scim.get(f"/Users/{user['id']}")).json()
    assert again.get("displayName") != "Bad\x00Name" and again["meta"] == user["meta"]


async def test_deeply_nested_bodies_are_refused_even_without_a_token(scim: Scim):
    deep = '{"schemas": ' + "[" * 3000 + "]" * 3000 + "}"
    for headers in (scim.headers, {}):
        resp = await scim.client.post(
            "/scim/v2/Users", content=deep, headers={**headers, "Content-Type": "application/scim+json"}
        )
        assert_scim_error(resp, 400, "invalidSyntax")


async def test_huge_start_index_is_an_empty_page(scim: Scim):
    await scim.create_user()
    for path in ("/Users", "/Groups"):
        page = await scim.search(path, startIndex="99999999999999999999", count="5")
        assert page.get("Resources", []) == []
        assert page["totalResults"] >= (1 if path == "/Users" else 0)


async def test_an_encoded_nul_in_the_path_is_an_error(scim: Scim):
    assert_scim_error(await scim.get("/Users/%00"), 400, "invalidValue")


async def test_filters_are_bounded_before_they_run(scim: Scim):
    many = " or ".join(f'userName eq "u{i}@example.com"' for i in range(3000))
    started = time.perf_counter()
    resp = await scim.post(
        "/Users/.search", {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": many}
    )
    assert_scim_error(resp, 400, "invalidFilter")
    assert time.perf_counter() - started < 0.5
    assert_scim_error(await scim.get("/Users", params={"filter": many[:4000]}), 400, "invalidFilter")
    hundred_one = " or ".join(f'userName eq "u{i}@e.io"' for i in range(101))
    assert len(hundred_one) < 4096
    assert_scim_error(await scim.get("/Users", params={"filter": hundred_one}), 400, "invalidFilter")
    hundred = " or ".join(f'userName eq "u{i}@e.io"' for i in range(100))
    assert (await scim.get("/Users", params={"filter": hundred})).status_code == 200


async def test_a_rehire_after_delete_is_the_same_employee(scim: Scim):
    t = scim.tenant
    number = f"E{uuid.uuid4().hex[:6]}"
    ext = {"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": number}}
    first = await scim.create_user("rehired", **ext)
    employee = (await t.client.get(f"/api/v1/employees/{first['id']}", headers=t.hr)).json()
    assert (await scim.delete(f"/Users/{first['id']}")).status_code == 204
    gone = (await t.client.get(f"/api/v1/employees/{first['id']}", headers=t.hr)).json()
    assert gone["status"] == "terminated"

    again = await scim.post("/Users", user_body("rehired", **ext))
    assert again.status_code == 201, again.text
    assert again.json()["id"] == first["id"] and again.json()["active"] is True
    back = (await t.client.get(f"/api/v1/employees/{first['id']}", headers=t.hr)).json()
    assert back["status"] == "active" and back["termination_date"] is None
    assert back["external_id"] == number and back["id"] == employee["id"]
    audit = (await t.client.get("/api/v1/audit-events", headers=t.auditor, params={"entity_id": first["id"]})).json()[
        "items"
    ]
    actions = [e["action"] for e in audit]
    assert (
        actions.index("employee.created") < actions.index("employee.deprovisioned") < actions.index("employee.rehired")
    )
    # an employee SCIM still shows is not re-created: that is a conflict
    assert_scim_error(await scim.post("/Users", user_body("other", **ext)), 409, "uniqueness")


async def test_two_groups_never_share_a_name(scim: Scim):
    first = await scim.create_group("Marketplace")
    for name in ("Marketplace", " marketplace "):
        assert_scim_error(await scim.post("/Groups", {"schemas": [GROUP], "displayName": name}), 409, "uniqueness")
    other = await scim.create_group("Logistics")
    assert_scim_error(
        await scim.patch(
            f"/Groups/{other['id']}", patch({"op": "replace", "path": "displayName", "value": "MARKETPLACE"})
        ),
        409,
        "uniqueness",
    )
    # a User naming the department still finds exactly one
    user = await scim.create_user(
        "seller", **{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Marketplace"}}
    )
    members = (await scim.get(f"/Groups/{first['id']}")).json().get("members", [])
    assert [m["value"] for m in members] == [user["id"]]
