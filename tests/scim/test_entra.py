"""The requests Microsoft Entra's provisioning service sends: its connection test,
"Replace"/"Add" with PascalCase names and "True"/"False" strings, filtered e-mail paths,
member removal by value, the manager as a bare string, and deletion after
deactivation."""

from __future__ import annotations

import json
import uuid

from service.scim.entra import rewrite_body
from tests.scim.conftest import ENTERPRISE, GROUP, USER, Scim, patch

MANAGER = f"{ENTERPRISE}:manager"


def entra_user(handle: str) -> dict:
    return {
        "schemas": [USER, ENTERPRISE],
        "externalId": handle,
        "userName": f"{handle}@contoso.local",
        "active": True,
        "displayName": f"{handle.title()} Contoso",
        "title": "Engineer",
        "preferredLanguage": "en-US",
        "emails": [{"primary": True, "type": "work", "value": f"{handle}@contoso.local"}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": f"{handle.title()} Contoso", "familyName": "Contoso", "givenName": handle.title()},
        "addresses": [{"type": "work", "formatted": "1 Main St", "country": "US"}],
        "phoneNumbers": [{"type": "work", "value": "+1 555 0100"}],
        "roles": [],
        ENTERPRISE: {"employeeNumber": f"HR-{handle}", "department": "Research"},
    }


async def test_entra_connection_test(scim: Scim) -> None:
    found = await scim.search(filter=f'userName eq "{uuid.uuid4()}"')
    assert (found["totalResults"], found["Resources"]) == (0, [])
    found = await scim.search("/Groups", excludedAttributes="members", filter='displayName eq "nope"')
    assert found["totalResults"] == 0


async def test_entra_user_lifecycle(scim: Scim) -> None:
    resp = await scim.post("/Users", entra_user("adele"))
    assert resp.status_code == 201, resp.text
    user = resp.json()
    assert user[ENTERPRISE] == {"employeeNumber": "HR-adele", "department": "Research"}
    assert not {"title", "addresses", "phoneNumbers", "roles", "preferredLanguage"} & set(user)
    assert (await scim.search(filter='externalId eq "adele"'))["Resources"][0]["id"] == user["id"]
    path = f"/Users/{user['id']}"

    resp = await scim.patch(
        path,
        patch(
            {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "adele.v@contoso.local"},
            {"op": "Replace", "path": "name.familyName", "value": "Vance"},
            {"op": "Add", "path": "Name.GivenName", "value": "Adèle"},
            {"op": "Replace", "path": 'addresses[type eq "work"].formatted', "value": "2 Main St"},
            {"op": "Add", "path": "title", "value": "Lead"},
        ),
    )
    assert resp.status_code == 200, resp.text
    got = resp.json()
    assert got["emails"] == [{"value": "adele.v@contoso.local", "type": "work", "primary": True}]
    assert got["name"] == {"givenName": "Adèle", "familyName": "Vance"}
    found = await scim.search(filter='emails[type eq "work"].value eq "ADELE.V@contoso.local"')
    assert found["totalResults"] == 1

    # PascalCase attributes in a path-less value, booleans as strings.
    resp = await scim.patch(path, patch({"op": "Replace", "value": {"DisplayName": "A. Vance", "Active": "False"}}))
    assert resp.status_code == 200, resp.text
    assert (resp.json()["displayName"], resp.json()["active"]) == ("A. Vance", False)
    emp = (await scim.client.get(f"/api/v1/employees/{user['id']}", headers=scim.tenant.hr)).json()
    assert (emp["status"], emp["email"], emp["family_name"]) == ("terminated", "adele.v@contoso.local", "Vance")
    resp = await scim.patch(path, patch({"op": "Replace", "path": "active", "value": "True"}))
    assert resp.json()["active"] is True
    resp = await scim.patch(path, patch({"op": "Replace", "path": "active", "value": "False"}))
    assert resp.json()["active"] is False

    # Hard delete after the soft-delete period.
    assert (await scim.delete(path)).status_code == 204
    assert (await scim.get(path)).status_code == 404
    emp = (await scim.client.get(f"/api/v1/employees/{user['id']}", headers=scim.tenant.hr)).json()
    assert emp["status"] == "terminated" and emp["external_id"] == "HR-adele"


async def test_entra_email_added_by_filtered_path_when_there_is_none(scim: Scim) -> None:
    resp = await scim.post("/Users", {"schemas": [USER], "userName": "noemail@contoso.local"})
    user = resp.json()
    resp = await scim.patch(
        f"/Users/{user['id']}",
        patch({"op": "Add", "path": 'emails[type eq "work"].value', "value": "first@contoso.local"}),
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["emails"] == [{"value": "first@contoso.local", "type": "work"}]


async def test_entra_manager_as_a_bare_string(scim: Scim) -> None:
    boss = (await scim.post("/Users", entra_user("boss"))).json()
    user = (await scim.post("/Users", entra_user("worker"))).json()
    path = f"/Users/{user['id']}"

    resp = await scim.patch(path, patch({"op": "Add", "path": MANAGER, "value": boss["id"]}))
    assert resp.status_code == 200, resp.text
    assert resp.json()[ENTERPRISE]["manager"]["value"] == boss["id"]
    emp = (await scim.client.get(f"/api/v1/employees/{user['id']}", headers=scim.tenant.hr)).json()
    assert emp["manager_id"] == boss["id"]
    found = await scim.search(filter=f'{MANAGER}.value eq "{boss["id"]}"')
    assert [u["id"] for u in found["Resources"]] == [user["id"]]

    resp = await scim.patch(path, patch({"op": "Replace", "path": MANAGER.upper().replace("URN", "urn"), "value": ""}))
    assert resp.status_code == 200, resp.text
    assert "manager" not in resp.json().get(ENTERPRISE, {})

    resp = await scim.patch(path, patch({"op": "Add", "path": MANAGER, "value": boss["id"]}))
    resp = await scim.patch(path, patch({"op": "Remove", "path": MANAGER, "value": [{"value": boss["id"]}]}))
    assert resp.status_code == 200, resp.text
    assert "manager" not in resp.json().get(ENTERPRISE, {})

    # In a creation body, and in a path-less value.
    body = entra_user("second")
    body[ENTERPRISE]["manager"] = boss["id"]
    resp = await scim.post("/Users", body)
    assert resp.status_code == 201, resp.text
    assert resp.json()[ENTERPRISE]["manager"]["value"] == boss["id"]
    resp = await scim.patch(path, patch({"op": "Add", "value": {MANAGER: boss["id"]}}))
    assert resp.status_code == 200, resp.text
    assert resp.json()[ENTERPRISE]["manager"]["value"] == boss["id"]


async def test_entra_group_membership(scim: Scim) -> None:
    alice = (await scim.post("/Users", entra_user("alice"))).json()
    bob = (await scim.post("/Users", entra_user("bob"))).json()
    resp = await scim.post(
        "/Groups",
        {
            "schemas": [GROUP, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
            "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
            "displayName": "Platform",
            "meta": {"resourceType": "Group"},
        },
    )
    assert resp.status_code == 201, resp.text
    group = resp.json()
    assert group["externalId"] == "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159"
    path = f"/Groups/{group['id']}"

    resp = await scim.patch(
        path,
        patch(
            {
                "op": "Add",
                "path": "members",
                "value": [{"$ref": None, "value": alice["id"]}, {"$ref": None, "value": bob["id"]}],
            }
        ),
    )
    assert resp.status_code == 200, resp.text
    query = f'id eq "{group["id"]}" and members[value eq "{alice["id"]}"]'
    found = await scim.search("/Groups", filter=query, excludedAttributes="members")
    assert found["totalResults"] == 1 and "members" not in found["Resources"][0]
    got = (await scim.get(path, params={"excludedAttributes": "members"})).json()
    assert "members" not in got and got["meta"]["version"]

    resp = await scim.patch(
        path, patch({"op": "Remove", "path": "members", "value": [{"$ref": None, "value": alice["id"]}]})
    )
    assert resp.status_code == 200, resp.text
    assert [m["value"] for m in resp.json()["members"]] == [bob["id"]]
    assert (await scim.search("/Groups", filter=query))["totalResults"] == 0

    resp = await scim.patch(path, patch({"op": "Replace", "path": "displayName", "value": "Platform Eng"}))
    assert resp.json()["displayName"] == "Platform Eng"
    # Members the service does not know are ignored.
    resp = await scim.patch(path, patch({"op": "Add", "path": "members", "value": [{"value": "unknown-id"}]}))
    assert resp.status_code == 200 and [m["value"] for m in resp.json()["members"]] == [bob["id"]]


# --- the manager shim on its own -----------------------------------------------------------


def _rewrite(method: str, document: object) -> object:
    return json.loads(rewrite_body(method, json.dumps(document).encode()))


def test_shim_rewrites_only_the_manager_string() -> None:
    ops = {
        "schemas": ["x"],
        "Operations": [
            {"op": "Add", "path": MANAGER, "value": "m-1"},
            {"op": "replace", "path": MANAGER.upper().replace("URN", "urn"), "value": ""},
            {"op": "Remove", "path": MANAGER, "value": [{"value": "m-1"}]},
            {"op": "Add", "path": MANAGER, "value": {"value": "m-2"}},
            {"op": "Add", "value": {MANAGER: "m-3", f"{ENTERPRISE}": {"Manager": "m-4"}}},
            {"op": "Add", "path": "displayName", "value": "m-5"},
        ],
    }
    assert _rewrite("PATCH", ops)["Operations"] == [
        {"op": "Add", "path": MANAGER, "value": {"value": "m-1"}},
        {"op": "remove", "path": MANAGER.upper().replace("URN", "urn")},
        {"op": "remove", "path": MANAGER},
        {"op": "Add", "path": MANAGER, "value": {"value": "m-2"}},
        {"op": "Add", "value": {MANAGER: {"value": "m-3"}, f"{ENTERPRISE}": {"Manager": {"value": "m-4"}}}},
        {"op": "Add", "path": "displayName", "value": "m-5"},
    ]
    members = {"Operations": [{"op": "Remove", "path": "members", "value": [{"$ref": None, "value": "u"}]}]}
    assert _rewrite("PATCH", members)["Operations"][0]["value"] == [{"value": "u"}]
    assert _rewrite("POST", {ENTERPRISE: {"manager": "m-1"}}) == {ENTERPRISE: {"manager": {"value": "m-1"}}}
    assert _rewrite("PUT", {ENTERPRISE: {"manager": ""}}) == {ENTERPRISE: {}}
    untouched = [
        (b"not json", "PATCH"),
        (b"[1, 2]", "POST"),
        (b'{"a": "b"}', "GET"),
        (json.dumps({ENTERPRISE: {"manager": {"value": "m"}}}).encode(), "POST"),
    ]
    for body, method in untouched:
        assert rewrite_body(method, body) == body
