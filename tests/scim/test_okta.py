"""The requests Okta sends, as its SCIM 2.0 app wizard integration and its test suite
make them: profile changes by PUT of the whole user, (de)activation by a path-less PATCH,
group push with member add/remove PATCHes and a rename carrying the group's id."""

from __future__ import annotations

from tests.scim.conftest import GROUP, USER, Scim, patch

OKTA_USER = {
    "schemas": [USER],
    "userName": "test.user@okta.local",
    "name": {"givenName": "Test", "middleName": "", "familyName": "User"},
    "emails": [{"primary": True, "value": "test.user@okta.local", "type": "work", "display": "test.user@okta.local"}],
    "displayName": "Test User",
    "locale": "en-US",
    "externalId": "00ujl29u0le5T6Aj10h7",
    "groups": [],
    "password": "1mz050nq",
    "active": True,
}


async def test_okta_user_lifecycle(scim: Scim) -> None:
    lookup = {"filter": 'userName eq "test.user@okta.local"', "startIndex": 1, "count": 100}
    assert (await scim.search(**lookup))["totalResults"] == 0

    resp = await scim.post("/Users", OKTA_USER)
    assert resp.status_code == 201, resp.text
    user = resp.json()
    assert user["userName"] == "test.user@okta.local" and user["externalId"] == "00ujl29u0le5T6Aj10h7"
    assert "password" not in user and "groups" not in user
    assert (await scim.search(**lookup))["Resources"][0]["id"] == user["id"]

    # Profile push: PUT of the whole user, id and password included.
    put = {**OKTA_USER, "id": user["id"], "name": {"givenName": "Another", "familyName": "User"}}
    resp = await scim.put(f"/Users/{user['id']}", put)
    assert resp.status_code == 200, resp.text
    assert resp.json()["name"] == {"givenName": "Another", "familyName": "User"}

    # Deactivation and reactivation.
    resp = await scim.patch(f"/Users/{user['id']}", patch({"op": "replace", "value": {"active": False}}))
    assert resp.status_code == 200 and resp.json()["active"] is False
    emp = (await scim.client.get(f"/api/v1/employees/{user['id']}", headers=scim.tenant.hr)).json()
    assert emp["status"] == "terminated"
    resp = await scim.patch(f"/Users/{user['id']}", patch({"op": "replace", "value": {"active": True}}))
    assert resp.json()["active"] is True

    # Older integrations deactivate with a PUT.
    resp = await scim.put(f"/Users/{user['id']}", {**put, "active": False})
    assert resp.status_code == 200 and resp.json()["active"] is False

    resp = await scim.post("/Users", OKTA_USER)
    assert resp.status_code == 409 and resp.json()["scimType"] == "uniqueness"
    resp = await scim.get("/Users/010101010-9999-0000-0000-000000000000")
    assert resp.status_code == 404


async def test_okta_group_push(scim: Scim) -> None:
    alice = await scim.create_user("alice")
    bob = await scim.create_user("bob")
    resp = await scim.post("/Groups", {"schemas": [GROUP], "displayName": "Test SCIMv2", "members": []})
    assert resp.status_code == 201, resp.text
    group = resp.json()
    found = await scim.search("/Groups", filter='displayName eq "Test SCIMv2"', startIndex=1, count=100)
    assert [g["id"] for g in found["Resources"]] == [group["id"]]

    resp = await scim.patch(
        f"/Groups/{group['id']}",
        patch(
            {
                "op": "add",
                "path": "members",
                "value": [
                    {"value": alice["id"], "display": "alice@example.com"},
                    {"value": bob["id"], "display": "bob@example.com"},
                ],
            }
        ),
    )
    assert resp.status_code == 200, resp.text
    assert {m["value"] for m in resp.json()["members"]} == {alice["id"], bob["id"]}

    resp = await scim.patch(
        f"/Groups/{group['id']}", patch({"op": "replace", "value": {"id": group["id"], "displayName": "Renamed"}})
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["displayName"] == "Renamed"
    user = (await scim.get(f"/Users/{alice['id']}")).json()
    assert user["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["department"] == "Renamed"

    resp = await scim.patch(
        f"/Groups/{group['id']}", patch({"op": "remove", "path": f'members[value eq "{alice["id"]}"]'})
    )
    assert resp.status_code == 200, resp.text
    assert [m["value"] for m in resp.json()["members"]] == [bob["id"]]
    emp = (await scim.client.get(f"/api/v1/employees/{alice['id']}", headers=scim.tenant.hr)).json()
    assert emp["department_id"] is None

    # Older integrations push the whole group with PUT.
    resp = await scim.put(
        f"/Groups/{group['id']}",
        {
            "schemas": [GROUP],
            "id": group["id"],
            "displayName": "Renamed",
            "members": [{"value": alice["id"], "display": "alice@example.com"}],
        },
    )
    assert resp.status_code == 200, resp.text
    assert [m["value"] for m in resp.json()["members"]] == [alice["id"]]

    assert (await scim.delete(f"/Groups/{group['id']}")).status_code == 204
    assert (await scim.get(f"/Groups/{group['id']}")).status_code == 404
    emp = (await scim.client.get(f"/api/v1/employees/{alice['id']}", headers=scim.tenant.hr)).json()
    assert emp["department_id"] is None  # members are detached; the department row stays
    dep = await scim.client.get(f"/api/v1/departments/{group['id']}", headers=scim.tenant.hr)
    assert dep.status_code == 200 and dep.json()["name"] == "Renamed"
