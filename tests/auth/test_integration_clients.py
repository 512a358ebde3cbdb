"""Integration clients (admin-managed machine credentials) and POST /oauth/token, the
OAuth 2.0 client-credentials grant."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import jwt
import pytest

from service.config import get_settings
from tests.conftest import Tenant, bearer

URL = "/api/v1/integration-clients"


async def make_client(t: Tenant, scopes: list[str], name: str = "HRIS") -> dict[str, Any]:
    resp = await t.client.post(URL, json={"name": name, "scopes": scopes}, headers=t.admin)
    assert resp.status_code == 201, resp.text
    return resp.json()


async def token(t: Tenant, client_id: str, secret: str, **form: str) -> Any:
    return await t.client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret, **form},
    )


def assert_oauth_error(resp: Any, status: int, error: str) -> None:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["error"] == error
    assert body["status"] == status and body["type"].startswith("https://")
    assert "access_token" not in body
    assert resp.headers.get("cache-control") == "no-store"


def new_employee() -> dict[str, Any]:
    key = uuid.uuid4().hex[:8]
    return {"external_id": f"i-{key}", "email": f"{key}@example.com", "given_name": "Int", "family_name": "Eg"}


async def test_create_shows_secret_once(tenant):
    created = await make_client(tenant, ["employees:write", "payroll:read", "employees:write"])
    assert created["client_secret"].startswith("pcs_") and len(created["client_secret"]) > 40
    assert created["client_id"].startswith("pc_")
    assert created["scopes"] == ["employees:write", "payroll:read"]
    assert created["revoked_at"] is None

    one = await tenant.client.get(f"{URL}/{created['id']}", headers=tenant.admin)
    assert one.status_code == 200
    assert "client_secret" not in one.json() and created["client_secret"] not in one.text
    assert one.json()["client_id"] == created["client_id"]

    listed = await tenant.client.get(URL, headers=tenant.admin)
    assert [c["id"] for c in listed.json()["items"]] == [created["id"]]
    assert "client_secret" not in listed.text and "secret_hash" not in listed.text
    assert created["client_secret"] not in listed.text

    audit = await tenant.client.get("/api/v1/audit-events", headers=tenant.admin, params={"entity_id": created["id"]})
    assert audit.json()["items"][0]["action"] == "integration_client.created"
    assert created["client_secret"] not in audit.text


@pytest.mark.parametrize(
    "body",
    [
        {"name": "X", "scopes": []},
        {"name": "X", "scopes": ["admin"]},
        {"name": "", "scopes": ["scim"]},
        {"scopes": ["scim"]},
        {"name": "X", "scopes": ["scim"], "client_secret": "mine"},
    ],
)
async def test_create_validation(tenant, body):
    resp = await tenant.client.post(URL, json=body, headers=tenant.admin)
    assert resp.status_code == 422
    assert (await tenant.client.get(URL, headers=tenant.admin)).json()["items"] == []


async def test_token_from_form_works_with_its_scopes(tenant):
    c = await make_client(tenant, ["employees:write"])
    resp = await token(tenant, c["client_id"], c["client_secret"])
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["token_type"] == "Bearer" and body["scope"] == "employees:write"
    assert body["expires_in"] == get_settings().access_token_ttl_seconds
    assert resp.headers["cache-control"] == "no-store"
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["org"] == str(tenant.org_id) and claims["sub"] == c["client_id"]
    assert "roles" not in claims

    headers = bearer(body["access_token"])
    created = await tenant.client.post("/api/v1/employees", json=new_employee(), headers=headers)
    assert created.status_code == 201
    assert (await tenant.client.get("/api/v1/employees", headers=headers)).status_code == 200
    # a scope it does not hold
    assert (await tenant.client.get("/api/v1/audit-events", headers=headers)).status_code == 403
    assert (await tenant.client.get(URL, headers=headers)).status_code == 403
    events = await tenant.client.get(
        "/api/v1/audit-events", headers=tenant.auditor, params={"entity_id": created.json()["id"]}
    )
    assert events.json()["items"][0]["actor"] == f"client:{c['client_id']}"


async def test_read_only_client_cannot_write(tenant):
    c = await make_client(tenant, ["payroll:read"])
    access = (await token(tenant, c["client_id"], c["client_secret"])).json()["access_token"]
    headers = bearer(access)
    assert (await tenant.client.get("/api/v1/employees", headers=headers)).status_code == 200
    assert (await tenant.client.post("/api/v1/employees", json=new_employee(), headers=headers)).status_code == 403


async def test_token_with_http_basic(tenant):
    c = await make_client(tenant, ["scim", "kpi:write"])
    basic = base64.b64encode(f"{c['client_id']}:{c['client_secret']}".encode()).decode()
    resp = await tenant.client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {basic}"}
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["scope"] == "kpi:write scim"
    wrong = base64.b64encode(f"{c['client_id']}:nope".encode()).decode()
    bad = await tenant.client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {wrong}"}
    )
    assert_oauth_error(bad, 401, "invalid_client")
    assert bad.headers["www-authenticate"].startswith("Basic")


async def test_narrower_scope(tenant):
    c = await make_client(tenant, ["employees:write", "payroll:read"])
    resp = await token(tenant, c["client_id"], c["client_secret"], scope="payroll:read")
    assert resp.status_code == 200 and resp.json()["scope"] == "payroll:read"
    headers = bearer(resp.json()["access_token"])
    assert (await tenant.client.post("/api/v1/employees", json=new_employee(), headers=headers)).status_code == 403


@pytest.mark.parametrize("scope", ["kpi:write", "employees:write admin", "payroll:read webhooks", "roles"])
async def test_scope_not_granted_is_invalid_scope(tenant, scope):
    c = await make_client(tenant, ["employees:write", "payroll:read"])
    assert_oauth_error(await token(tenant, c["client_id"], c["client_secret"], scope=scope), 400, "invalid_scope")


async def test_wrong_secret_is_invalid_client(tenant):
    c = await make_client(tenant, ["scim"])
    assert_oauth_error(await token(tenant, c["client_id"], "pcs_wrong"), 401, "invalid_client")
    assert_oauth_error(await token(tenant, c["client_id"], c["client_secret"] + "x"), 401, "invalid_client")
    assert_oauth_error(await token(tenant, "pc_unknown", c["client_secret"]), 401, "invalid_client")
    assert_oauth_error(await token(tenant, c["client_id"], ""), 401, "invalid_client")
    missing = await tenant.client.post("/oauth/token", data={"grant_type": "client_credentials"})
    assert_oauth_error(missing, 401, "invalid_client")


@pytest.mark.parametrize("grant", ["password", "authorization_code", "refresh_token", "implicit"])
async def test_unsupported_grant_type_is_400(tenant, grant):
    c = await make_client(tenant, ["scim"])
    resp = await tenant.client.post(
        "/oauth/token", data={"grant_type": grant, "client_id": c["client_id"], "client_secret": c["client_secret"]}
    )
    assert_oauth_error(resp, 400, "unsupported_grant_type")


async def test_missing_grant_type_is_rejected(tenant):
    resp = await tenant.client.post("/oauth/token", data={"client_id": "x", "client_secret": "y"})
    assert_oauth_error(resp, 400, "invalid_request")  # RFC 6749 section 5.2
    assert "access_token" not in resp.text


async def test_revoked_client(tenant):
    c = await make_client(tenant, ["employees:write"])
    assert (await token(tenant, c["client_id"], c["client_secret"])).status_code == 200
    resp = await tenant.client.delete(f"{URL}/{c['id']}", headers=tenant.admin)
    assert resp.status_code == 204
    assert_oauth_error(await token(tenant, c["client_id"], c["client_secret"]), 401, "invalid_client")
    shown = (await tenant.client.get(f"{URL}/{c['id']}", headers=tenant.admin)).json()
    assert shown["revoked_at"] is not None
    # Revoking twice is harmless and records one event.
    assert (await tenant.client.delete(f"{URL}/{c['id']}", headers=tenant.admin)).status_code == 204
    audit = await tenant.client.get("/api/v1/audit-events", headers=tenant.admin, params={"entity_id": c["id"]})
    assert [e["action"] for e in audit.json()["items"]] == ["integration_client.created", "integration_client.revoked"]


async def test_clients_are_per_organization(tenant, other_tenant):
    c = await make_client(tenant, ["employees:write"])
    assert (await other_tenant.client.get(f"{URL}/{c['id']}", headers=other_tenant.admin)).status_code == 404
    assert (await other_tenant.client.delete(f"{URL}/{c['id']}", headers=other_tenant.admin)).status_code == 404
    assert (await tenant.client.get(f"{URL}/{c['id']}", headers=tenant.admin)).json()["revoked_at"] is None
    # Its token acts only in its own organization.
    access = (await token(tenant, c["client_id"], c["client_secret"])).json()["access_token"]
    await other_tenant.add_employee("zed")
    listed = await tenant.client.get("/api/v1/employees", headers=bearer(access))
    assert listed.json()["items"] == []


async def test_only_admin_manages_clients(tenant):
    c = await make_client(tenant, ["scim"])
    for headers in (tenant.hr, tenant.auditor, tenant.as_scope("employees:write")):
        assert (
            await tenant.client.post(URL, json={"name": "X", "scopes": ["scim"]}, headers=headers)
        ).status_code == 403
        assert (await tenant.client.get(URL, headers=headers)).status_code == 403
        assert (await tenant.client.get(f"{URL}/{c['id']}", headers=headers)).status_code == 404
        assert (await tenant.client.delete(f"{URL}/{c['id']}", headers=headers)).status_code == 404
    assert (await tenant.client.get(f"{URL}/{c['id']}", headers=tenant.admin)).json()["revoked_at"] is None
    assert len((await tenant.client.get(URL, headers=tenant.admin)).json()["items"]) == 1


async def test_idempotent_repeat_never_stores_or_replays_the_secret(tenant):
    from sqlalchemy import select

    from service.db import database
    from service.kit.models import IdempotencyRecord

    headers = {**tenant.admin, "Idempotency-Key": "create-hris-client"}
    first = await tenant.client.post(URL, json={"name": "HRIS", "scopes": ["employees:write"]}, headers=headers)
    assert first.status_code == 201 and first.json()["client_secret"]
    again = await tenant.client.post(URL, json={"name": "HRIS", "scopes": ["employees:write"]}, headers=headers)
    assert again.status_code == 409 and again.headers["content-type"] == "application/problem+json"
    assert again.headers["location"] == first.headers["location"]
    assert first.json()["client_secret"] not in again.text
    async with database.sessions() as session:
        stored = (
            await session.execute(
                select(IdempotencyRecord.response_body).where(
                    IdempotencyRecord.org_id == tenant.org_id, IdempotencyRecord.key == "create-hris-client"
                )
            )
        ).scalar_one()
    assert first.json()["client_secret"] not in stored
    listed = (await tenant.client.get(URL, headers=tenant.admin)).json()["items"]
    assert len(listed) == 1  # executed once
