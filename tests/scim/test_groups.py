"""SCIM Groups as departments: members are the employees of the department."""

from __future__ import annotations

from typing import Any

from tests.scim.conftest import ENTERPRISE, GROUP, Scim, patch
from tests.scim.test_users import assert_error, upserted_events


async def department_of(scim: Scim, user_id: str) -> str | None:
    resp = await scim.client.get(f"/api/v1/employees/{user_id}", headers=scim.tenant.hr)
    return resp.json()["department_id"]


async def member_ids(scim: Scim, group_id: str) -> list[str]:
    return [m["value"] for m in (await scim.get(f"/Groups/{group_id}")).json().get("members", [])]


async def test_members_are_the_departments_employees(scim: Scim) -> None:
    alice, bob = await scim.create_user("alice"), await scim.create_user("bob")
    eng = await scim.create_group("Engineering", [alice["id"], bob["id"]])
    assert {m["value"] for m in eng["members"]} == {alice["id"], bob["id"]}
    assert all(m["type"] == "User" and m["$ref"].endswith(f"/Users/{m['value']}") for m in eng["members"])
    assert await department_of(scim, alice["id"]) == eng["id"]
    user = (await scim.get(f"/Users/{alice['id']}")).json()
    assert user[ENTERPRISE]["department"] == "Engineering"
    events = await upserted_events(scim.tenant.org_id)
    assert events[-1]["employee_ids"] == sorted([alice["id"], bob["id"]])

    # One department per employee: joining another Group moves them.
    ops = await scim.create_group("Operations")
    resp = await scim.patch(
        f"/Groups/{ops['id']}", patch({"op": "add", "path": "members", "value": [{"value": alice["id"]}]})
    )
    assert [m["value"] for m in resp.json()["members"]] == [alice["id"]]
    assert await member_ids(scim, eng["id"]) == [bob["id"]]

    # A User's department joins them to the Group of that name.
    await scim.patch(
        f"/Users/{bob['id']}", patch({"op": "replace", "path": f"{ENTERPRISE}:department", "value": "operations"})
    )
    assert set(await member_ids(scim, ops["id"])) == {alice["id"], bob["id"]}


async def test_hris_employees_appear_in_their_departments_group(scim: Scim) -> None:
    dep = (await scim.client.post("/api/v1/departments", json={"name": "Finance"}, headers=scim.tenant.hr)).json()
    emp = await scim.tenant.add_employee("fin", department_id=dep["id"])
    group = (await scim.get(f"/Groups/{dep['id']}")).json()
    assert group["displayName"] == "Finance" and await member_ids(scim, dep["id"]) == [emp["id"]]


async def test_put_replaces_members_and_remove_all_detaches(scim: Scim) -> None:
    users = [await scim.create_user(h) for h in ("qa", "qb", "qc")]
    group = await scim.create_group("Q", [users[0]["id"], users[1]["id"]])
    resp = await scim.put(
        f"/Groups/{group['id']}", {"schemas": [GROUP], "displayName": "Q", "members": [{"value": users[2]["id"]}]}
    )
    assert resp.status_code == 200, resp.text
    assert [m["value"] for m in resp.json()["members"]] == [users[2]["id"]]
    assert await department_of(scim, users[0]["id"]) is None
    resp = await scim.patch(f"/Groups/{group['id']}", patch({"op": "remove", "path": "members"}))
    assert resp.status_code == 200 and "members" not in resp.json()
    assert await department_of(scim, users[2]["id"]) is None


async def test_group_etag_follows_its_members(scim: Scim) -> None:
    user = await scim.create_user("et")
    group = await scim.create_group("ETags")
    version = group["meta"]["version"]
    # The member joins through the User, not through the Group: the Group's ETag changes.
    await scim.patch(
        f"/Users/{user['id']}", patch({"op": "replace", "path": f"{ENTERPRISE}:department", "value": "ETags"})
    )
    got = await scim.get(f"/Groups/{group['id']}", params={"excludedAttributes": "members"})
    assert got.headers["etag"] != version and "members" not in got.json()
    resp = await scim.patch(
        f"/Groups/{group['id']}",
        patch({"op": "replace", "path": "displayName", "value": "X"}),
        headers={"If-Match": version},
    )
    assert_error(resp, 412)
    assert (await scim.get(f"/Groups/{group['id']}")).json()["displayName"] == "ETags"
    resp = await scim.patch(
        f"/Groups/{group['id']}",
        patch({"op": "replace", "path": "displayName", "value": "X"}),
        headers={"If-Match": got.headers["etag"]},
    )
    assert resp.status_code == 200


async def test_deprovisioned_users_are_not_members(scim: Scim) -> None:
    stay, leave = await scim.create_user("stay"), await scim.create_user("leave")
    group = await scim.create_group("Team", [stay["id"], leave["id"]])
    await scim.delete(f"/Users/{leave['id']}")
    assert await member_ids(scim, group["id"]) == [stay["id"]]
    # ...and cannot be added back.
    await scim.patch(
        f"/Groups/{group['id']}", patch({"op": "add", "path": "members", "value": [{"value": leave["id"]}]})
    )
    assert await member_ids(scim, group["id"]) == [stay["id"]]


async def test_group_validation(scim: Scim) -> None:
    assert_error(await scim.post("/Groups", {"schemas": [GROUP]}), 400)
    assert_error(await scim.post("/Groups", {"schemas": [GROUP], "displayName": "x" * 201}), 400, "invalidValue")
    group = await scim.create_group("Valid")
    resp = await scim.patch(f"/Groups/{group['id']}", patch({"op": "remove", "path": "displayName"}))
    assert_error(resp, 400)
    assert (await scim.get(f"/Groups/{group['id']}")).json()["displayName"] == "Valid"


async def test_ambiguous_department_names_are_refused(scim: Scim) -> None:
    for _ in range(2):
        await scim.client.post("/api/v1/departments", json={"name": "Twin"}, headers=scim.tenant.hr)
    resp = await scim.post(
        "/Users",
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
            "userName": "twin",
            ENTERPRISE: {"department": "twin"},
        },
    )
    body: dict[str, Any] = assert_error(resp, 400, "invalidValue")
    assert "Twin" in body["detail"] or "twin" in body["detail"]
