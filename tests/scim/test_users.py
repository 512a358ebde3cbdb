"""SCIM Users as employees: the mapping both ways, PUT, deactivation and deletion keeping
history, ETags, uniqueness and error bodies. Every refused request is followed by a read
proving it changed nothing."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import select

from service.db import database
from service.kit.models import AuditEvent, OutboxEvent
from tests.scim.conftest import ENTERPRISE, ERROR, USER, Scim, patch, user_body


async def employee(scim: Scim, user_id: str) -> dict[str, Any]:
    resp = await scim.client.get(f"/api/v1/employees/{user_id}", headers=scim.tenant.hr)
    assert resp.status_code == 200, resp.text
    return resp.json()


async def audit_actions(org_id: uuid.UUID, entity_id: str) -> list[tuple[str, str]]:
    async with database.sessions() as session:
        rows = await session.execute(
            select(AuditEvent.action, AuditEvent.actor)
            .where(AuditEvent.org_id == org_id, AuditEvent.entity_id == entity_id)
            .order_by(AuditEvent.at)
        )
        return [(r[0], r[1]) for r in rows]


async def upserted_events(org_id: uuid.UUID) -> list[dict[str, Any]]:
    async with database.sessions() as session:
        rows = await session.execute(
            select(OutboxEvent.payload)
            .where(OutboxEvent.org_id == org_id, OutboxEvent.event_type == "employee.upserted")
            .order_by(OutboxEvent.created_at)
        )
        return [r[0] for r in rows]


def assert_error(resp: Any, status: int, scim_type: str | None = None) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/scim+json")
    body = resp.json()
    assert body["schemas"] == [ERROR]
    assert body["status"] == str(status)  # a string, RFC 7644 section 3.12
    assert body["detail"]
    if scim_type:
        assert body["scimType"] == scim_type
    return body


# --- create and read -------------------------------------------------------------------------


async def test_create_maps_onto_the_employee(scim: Scim) -> None:
    boss = await scim.create_user("boss")
    body = user_body(
        "erin",
        externalId="okta-00u1",
        displayName="Erin T.",
        **{ENTERPRISE: {"employeeNumber": "E-1001", "department": "Sales", "manager": {"value": boss["id"]}}},
    )
    resp = await scim.post("/Users", body)
    assert resp.status_code == 201, resp.text
    user = resp.json()
    assert resp.headers["location"] == user["meta"]["location"]
    assert resp.headers["etag"] == user["meta"]["version"]
    assert user["meta"]["location"].endswith(f"/scim/v2/Users/{user['id']}")
    assert user["userName"] == "erin@example.com"
    assert user["externalId"] == "okta-00u1"
    assert user["displayName"] == "Erin T."
    assert user["active"] is True
    assert user["name"] == {"givenName": "Erin", "familyName": "Test"}
    assert user["emails"] == [{"value": "erin@example.com", "type": "work", "primary": True}]
    assert user[ENTERPRISE]["employeeNumber"] == "E-1001"
    assert user[ENTERPRISE]["department"] == "Sales"
    assert user[ENTERPRISE]["manager"]["value"] == boss["id"]
    assert user[ENTERPRISE]["manager"]["$ref"] == boss["meta"]["location"]

    emp = await employee(scim, user["id"])
    assert emp["external_id"] == "E-1001"  # employeeNumber is the HR key
    assert (emp["email"], emp["given_name"], emp["family_name"]) == ("erin@example.com", "Erin", "Test")
    assert emp["status"] == "active" and emp["manager_id"] == boss["id"]
    deps = (await scim.client.get("/api/v1/departments", headers=scim.tenant.hr)).json()["items"]
    assert [d["id"] for d in deps if d["name"] == "Sales"] == [emp["department_id"]]

    assert await audit_actions(scim.tenant.org_id, user["id"]) == [("employee.created", f"client:{_sub(scim)}")]
    events = await upserted_events(scim.tenant.org_id)
    assert {"employee_ids": [user["id"]], "created": 1, "updated": 0, "source": "scim"} in events


def _sub(scim: Scim) -> str:
    import jwt

    token = scim.headers["Authorization"].split()[1]
    return jwt.decode(token, options={"verify_signature": False})["sub"]


async def test_minimal_user_gets_a_generated_hr_key_shown_as_unassigned(scim: Scim) -> None:
    resp = await scim.post("/Users", {"schemas": [USER], "userName": "solo"})
    assert resp.status_code == 201, resp.text
    user = resp.json()
    assert user["active"] is True
    assert ENTERPRISE not in user and "emails" not in user and "name" not in user
    emp = await employee(scim, user["id"])
    assert emp["external_id"] == f"scim:{user['id']}"
    assert (emp["email"], emp["given_name"], emp["family_name"]) == ("", "", "")


async def test_employees_from_hris_are_users_with_their_email_as_user_name(scim: Scim) -> None:
    hris = await scim.tenant.add_employee("hana")
    found = await scim.search(filter='userName eq "HANA@example.com"')
    assert found["totalResults"] == 1
    user = found["Resources"][0]
    assert user["id"] == hris["id"]
    assert user[ENTERPRISE]["employeeNumber"] == hris["external_id"]
    assert "externalId" not in user and "displayName" not in user
    # An identity provider links it by writing to it; the HR key is kept.
    resp = await scim.patch(
        f"/Users/{hris['id']}",
        patch(
            {"op": "replace", "path": "externalId", "value": "entra-1"},
            {"op": "replace", "path": "userName", "value": "hana.t@example.com"},
        ),
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["userName"] == "hana.t@example.com"
    assert (await employee(scim, hris["id"]))["external_id"] == hris["external_id"]


async def test_unknown_attributes_are_ignored(scim: Scim) -> None:
    body = user_body(
        "ivo",
        title="Boss",
        phoneNumbers=[{"value": "+1 555", "type": "work"}],
        password="secret-1",
        groups=[],
        locale="en-US",
    )
    resp = await scim.post("/Users", body)
    assert resp.status_code == 201, resp.text
    assert not {"title", "phoneNumbers", "password", "groups", "locale"} & set(resp.json())


# --- uniqueness and validation ------------------------------------------------------------


async def test_user_name_is_unique_in_the_organization_without_case(scim: Scim) -> None:
    await scim.create_user("dup")
    resp = await scim.post("/Users", user_body("other", userName="DUP@example.com"))
    assert_error(resp, 409, "uniqueness")
    hris = await scim.tenant.add_employee("mira")  # their e-mail is their userName
    assert_error(await scim.post("/Users", user_body("x", userName="mira@example.com")), 409, "uniqueness")
    assert (await scim.search(filter='userName eq "mira@example.com"'))["Resources"][0]["id"] == hris["id"]


async def test_employee_number_is_unique(scim: Scim) -> None:
    await scim.create_user("n1", **{ENTERPRISE: {"employeeNumber": "E-7"}})
    resp = await scim.post("/Users", user_body("n2", **{ENTERPRISE: {"employeeNumber": "E-7"}}))
    assert_error(resp, 409, "uniqueness")
    assert (await scim.search(filter='userName sw "n2@"'))["totalResults"] == 0


async def test_invalid_values_are_scim_errors(scim: Scim) -> None:
    assert_error(await scim.post("/Users", {"schemas": [USER]}), 400)
    assert_error(await scim.post("/Users", {"not": "a scim resource"}), 400)
    bad_email = user_body("bad", emails=[{"value": "not-an-address", "type": "work"}])
    assert_error(await scim.post("/Users", bad_email), 400, "invalidValue")
    unknown_manager = user_body("bad", **{ENTERPRISE: {"manager": {"value": str(uuid.uuid4())}}})
    assert_error(await scim.post("/Users", unknown_manager), 400, "invalidValue")
    reserved = user_body("bad", **{ENTERPRISE: {"employeeNumber": "scim:123"}})
    assert_error(await scim.post("/Users", reserved), 400, "invalidValue")
    assert (await scim.search(filter='userName sw "bad"'))["totalResults"] == 0
    body = assert_error(await scim.get(f"/Users/{uuid.uuid4()}"), 404)
    assert "scimType" not in body
    assert_error(await scim.get("/Users/not-a-uuid"), 404)
    assert_error(
        await scim.request("POST", "/Users", content=b"{", headers={"Content-Type": "application/scim+json"}), 400
    )


async def test_manager_cycles_are_refused(scim: Scim) -> None:
    a = await scim.create_user("cyc-a")
    b = await scim.create_user("cyc-b", **{ENTERPRISE: {"manager": {"value": a["id"]}}})
    resp = await scim.patch(
        f"/Users/{a['id']}", patch({"op": "add", "path": f"{ENTERPRISE}:manager", "value": {"value": b["id"]}})
    )
    assert_error(resp, 400, "invalidValue")
    assert ENTERPRISE not in (await scim.get(f"/Users/{a['id']}")).json()


# --- PUT ------------------------------------------------------------------------------------


async def test_put_replaces_the_user(scim: Scim) -> None:
    user = await scim.create_user("pia", displayName="Pia", **{ENTERPRISE: {"department": "Ops"}})
    replacement = {
        "schemas": [USER],
        "userName": "pia@example.com",
        "name": {"givenName": "Pia", "familyName": "Renamed"},
        "active": True,
    }
    resp = await scim.put(f"/Users/{user['id']}", replacement)
    assert resp.status_code == 200, resp.text
    got = resp.json()
    assert got["name"] == {"givenName": "Pia", "familyName": "Renamed"}
    # Attributes the replacement leaves out are cleared.
    assert "displayName" not in got and "emails" not in got and ENTERPRISE not in got
    assert got["meta"]["version"] != user["meta"]["version"]
    emp = await employee(scim, user["id"])
    assert emp["family_name"] == "Renamed" and emp["department_id"] is None and emp["email"] == ""


async def test_put_that_changes_nothing_keeps_the_version(scim: Scim) -> None:
    user = await scim.create_user("same")
    body = {k: v for k, v in user.items() if k not in ("id", "meta")}
    resp = await scim.put(f"/Users/{user['id']}", body)
    assert resp.status_code == 200, resp.text
    assert resp.json()["meta"]["version"] == user["meta"]["version"]


# --- deactivation and deletion ------------------------------------------------------------


async def test_deactivation_terminates_and_keeps_history(scim: Scim) -> None:
    user = await scim.create_user("leo")
    resp = await scim.patch(f"/Users/{user['id']}", patch({"op": "replace", "path": "active", "value": False}))
    assert resp.status_code == 200 and resp.json()["active"] is False
    emp = await employee(scim, user["id"])
    assert emp["status"] == "terminated"
    assert emp["termination_date"] == dt.datetime.now(dt.UTC).date().isoformat()  # org time zone: UTC
    # Still a User, found as inactive.
    assert (await scim.search(filter=f'id eq "{user["id"]}" and active eq false'))["totalResults"] == 1
    # Reactivation: active again, the termination date cleared; the audit log keeps both.
    resp = await scim.patch(f"/Users/{user['id']}", patch({"op": "replace", "path": "active", "value": True}))
    assert resp.json()["active"] is True
    emp = await employee(scim, user["id"])
    assert (emp["status"], emp["termination_date"]) == ("active", None)
    actions = [a for a, _ in await audit_actions(scim.tenant.org_id, user["id"])]
    assert actions == ["employee.created", "employee.updated", "employee.updated"]


async def test_on_leave_employees_are_active(scim: Scim) -> None:
    hris = await scim.tenant.add_employee("lea", status="on_leave")
    user = (await scim.get(f"/Users/{hris['id']}")).json()
    assert user["active"] is True
    await scim.patch(f"/Users/{hris['id']}", patch({"op": "replace", "path": "active", "value": True}))
    assert (await employee(scim, hris["id"]))["status"] == "on_leave"


async def test_delete_after_deactivation_hides_the_user_and_keeps_the_employee(scim: Scim) -> None:
    user = await scim.create_user("del", **{ENTERPRISE: {"employeeNumber": "E-DEL"}})
    await scim.patch(f"/Users/{user['id']}", patch({"op": "replace", "path": "active", "value": False}))
    resp = await scim.delete(f"/Users/{user['id']}")
    assert resp.status_code == 204 and resp.content == b""
    assert_error(await scim.get(f"/Users/{user['id']}"), 404)
    assert_error(await scim.delete(f"/Users/{user['id']}"), 404)
    assert (await scim.search(filter='userName eq "del@example.com"'))["totalResults"] == 0
    emp = await employee(scim, user["id"])  # the employee and their HR key stay
    assert (emp["status"], emp["external_id"]) == ("terminated", "E-DEL")
    actions = [a for a, _ in await audit_actions(scim.tenant.org_id, user["id"])]
    assert actions[-1] == "employee.deprovisioned"
    # The userName is free again.
    again = await scim.create_user("del")
    assert again["id"] != user["id"]


async def test_delete_of_an_active_user_deactivates_it_too(scim: Scim) -> None:
    user = await scim.create_user("act")
    assert (await scim.delete(f"/Users/{user['id']}")).status_code == 204
    assert (await employee(scim, user["id"]))["status"] == "terminated"


# --- ETags ------------------------------------------------------------------------------------


async def test_stale_if_match_is_412_and_changes_nothing(scim: Scim) -> None:
    user = await scim.create_user("etag")
    first = user["meta"]["version"]
    resp = await scim.patch(
        f"/Users/{user['id']}",
        patch({"op": "replace", "path": "displayName", "value": "A"}),
        headers={"If-Match": first},
    )
    assert resp.status_code == 200, resp.text
    second = resp.json()["meta"]["version"]
    assert second != first and resp.headers["etag"] == second
    for method, kwargs in [
        ("PATCH", {"json": patch({"op": "replace", "path": "displayName", "value": "B"})}),
        ("PUT", {"json": user_body("etag")}),
        ("DELETE", {}),
    ]:
        resp = await scim.request(method, f"/Users/{user['id']}", headers={"If-Match": first}, **kwargs)
        assert_error(resp, 412)
    got = await scim.get(f"/Users/{user['id']}")
    assert got.json()["displayName"] == "A" and got.headers["etag"] == second
    assert (await scim.get(f"/Users/{user['id']}", headers={"If-None-Match": second})).status_code == 304
    resp = await scim.delete(f"/Users/{user['id']}", headers={"If-Match": second})
    assert resp.status_code == 204


async def test_renaming_the_department_changes_the_users_etag(scim: Scim) -> None:
    user = await scim.create_user("ren", **{ENTERPRISE: {"department": "Old name"}})
    group = (await scim.search("/Groups", filter='displayName eq "Old name"'))["Resources"][0]
    await scim.patch(f"/Groups/{group['id']}", patch({"op": "replace", "path": "displayName", "value": "New"}))
    got = (await scim.get(f"/Users/{user['id']}")).json()
    assert got[ENTERPRISE]["department"] == "New"
    assert got["meta"]["version"] != user["meta"]["version"]
    resp = await scim.patch(
        f"/Users/{user['id']}",
        patch({"op": "replace", "path": "displayName", "value": "x"}),
        headers={"If-Match": user["meta"]["version"]},
    )
    assert_error(resp, 412)
