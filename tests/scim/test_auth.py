"""Who may speak SCIM, and to which organization: a token with the `scim` scope, for its
own organization only."""

from __future__ import annotations

import uuid

from service.auth.tokens import issue_token
from tests.conftest import Tenant, bearer
from tests.scim.conftest import BASE, ENTERPRISE, GROUP, TREE, USER, Scim, patch
from tests.scim.test_users import assert_error


async def test_service_provider_config_needs_no_token(tenant: Tenant) -> None:
    resp = await tenant.client.get(f"{BASE}/ServiceProviderConfig")
    assert resp.status_code == 200
    config = resp.json()
    assert config["patch"]["supported"] and config["filter"]["supported"] and config["etag"]["supported"]
    assert config["sort"]["supported"] and not config["bulk"]["supported"]
    assert config["authenticationSchemes"][0]["type"] == "oauthbearertoken"


async def test_discovery(scim: Scim) -> None:
    types = (await scim.get("/ResourceTypes")).json()["Resources"]
    assert {(t["name"], t["endpoint"]) for t in types} == {("User", "/Users"), ("Group", "/Groups")}
    user_type = next(t for t in types if t["name"] == "User")
    assert user_type["schemaExtensions"] == [{"schema": ENTERPRISE, "required": False}]
    group_type = next(t for t in types if t["name"] == "Group")
    assert group_type["schemaExtensions"] == [{"schema": TREE, "required": False}]
    schemas = {s["id"]: s for s in (await scim.get("/Schemas")).json()["Resources"]}
    assert set(schemas) == {USER, GROUP, ENTERPRISE, TREE}
    (parent,) = schemas[TREE]["attributes"]
    assert parent["name"] == "parent" and parent["type"] == "complex" and not parent["multiValued"]
    assert [(a["name"], a["type"]) for a in parent["subAttributes"]] == [("value", "string"), ("$ref", "reference")]
    assert parent["subAttributes"][1]["referenceTypes"] == ["Group"]
    user_attributes = {a["name"] for a in schemas[USER]["attributes"]}
    assert user_attributes == {"userName", "name", "displayName", "active", "emails"}
    assert {a["name"] for a in schemas[ENTERPRISE]["attributes"]} == {"employeeNumber", "department", "manager"}
    assert (await scim.get(f"/Schemas/{USER}")).status_code == 200


async def test_missing_or_invalid_tokens_are_401(tenant: Tenant) -> None:
    for headers in (
        {},
        {"Authorization": "Basic abc"},
        bearer("not-a-jwt"),
        bearer(tenant.token(scopes=["scim"], ttl=-60)),
        bearer(issue_token(org_id=uuid.uuid4(), sub="pc_ghost", scopes=["scim"])),
    ):
        resp = await tenant.client.get(f"{BASE}/Users", headers=headers)
        assert_error(resp, 401)
        assert resp.headers["www-authenticate"].startswith("Bearer")


async def test_tokens_without_the_scim_scope_are_403(tenant: Tenant) -> None:
    for headers in (tenant.admin, tenant.hr, tenant.as_scope("employees:write"), tenant.as_scope("webhooks")):
        for method, path in (("GET", "/Users"), ("POST", "/Users"), ("GET", "/Schemas"), ("GET", "/Groups")):
            resp = await tenant.client.request(
                method, BASE + path, headers=headers, json={"schemas": [USER], "userName": "x"}
            )
            assert_error(resp, 403)
            assert 'error="insufficient_scope"' in resp.headers["www-authenticate"]
    scim = Scim(tenant, tenant.as_scope("scim"))
    assert (await scim.search(filter='userName eq "x"'))["totalResults"] == 0


async def test_a_client_of_another_organization_never_sees_these_users(scim: Scim, other_scim: Scim) -> None:
    user = await scim.create_user("private", **{ENTERPRISE: {"employeeNumber": "P-1"}})
    group = await scim.create_group("Private", [user["id"]])
    user = (await scim.get(f"/Users/{user['id']}")).json()
    for path in (f"/Users/{user['id']}", f"/Groups/{group['id']}"):
        assert_error(await other_scim.get(path), 404)
        assert_error(await other_scim.patch(path, patch({"op": "replace", "path": "displayName", "value": "x"})), 404)
        assert_error(await other_scim.put(path, {"schemas": [USER], "userName": "x", "displayName": "x"}), 404)
        assert_error(await other_scim.delete(path), 404)
    assert (await other_scim.search(filter='userName eq "private@example.com"'))["totalResults"] == 0
    assert (await other_scim.search(filter=f'id eq "{user["id"]}"'))["totalResults"] == 0
    assert (await other_scim.search("/Groups", count=0))["totalResults"] == 0
    # The same userName and employeeNumber are free in the other organization.
    twin = await other_scim.create_user("private", **{ENTERPRISE: {"employeeNumber": "P-1"}})
    # Ids of the first organization are unknown to the second: as members they are
    # ignored, as manager they are refused.
    other_group = await other_scim.create_group("Theirs", [user["id"], twin["id"]])
    assert [m["value"] for m in other_group["members"]] == [twin["id"]]
    resp = await other_scim.patch(
        f"/Users/{twin['id']}", patch({"op": "add", "path": f"{ENTERPRISE}:manager", "value": {"value": user["id"]}})
    )
    assert_error(resp, 400, "invalidValue")
    unchanged = (await scim.get(f"/Users/{user['id']}")).json()
    assert "displayName" not in unchanged and unchanged["meta"]["version"] == user["meta"]["version"]
    assert [m["value"] for m in (await scim.get(f"/Groups/{group['id']}")).json()["members"]] == [user["id"]]


async def test_token_from_the_client_credentials_grant(tenant: Tenant) -> None:
    created = await tenant.client.post(
        "/api/v1/integration-clients", headers=tenant.admin, json={"name": "Okta", "scopes": ["scim"]}
    )
    assert created.status_code == 201, created.text
    resp = await tenant.client.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": created.json()["client_id"],
            "client_secret": created.json()["client_secret"],
            "scope": "scim",
        },
    )
    assert resp.status_code == 200, resp.text
    scim = Scim(tenant, bearer(resp.json()["access_token"]))
    user = await scim.create_user("viaoauth")
    assert (await scim.get(f"/Users/{user['id']}")).status_code == 200
