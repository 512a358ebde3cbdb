"""Who may do what with webhooks (service/authz/policy.py `read_webhooks`,
`manage_webhooks`), route x caller -> status. Admins and `webhooks` clients manage;
auditors read (never a secret); everyone else gets 403 on the collection and 404 on
items; another organization's admin never sees ours. Each cell also checks that a
refused call changed nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from service.types import new_id
from tests.authz_worlds import leaves_unchanged, worlds_of
from tests.conftest import Tenant
from tests.webhooks.helpers import allow_private, emit

DEAD_URL = "http://127.0.0.1:9/hook"  # loopback discard port: nothing listens, nothing leaves


@dataclass
class World:
    tenant: Tenant
    other: Tenant
    sub: dict[str, Any]
    delivery_id: str


async def build_world(tenant: Tenant, other_tenant: Tenant) -> World:
    from service.webhooks.delivery import DeliveryConfig, Dispatcher

    await allow_private(tenant)
    await allow_private(other_tenant)
    resp = await tenant.client.post(
        "/api/v1/webhooks", headers=tenant.admin, json={"url": DEAD_URL, "events": ["employee.upserted"]}
    )
    assert resp.status_code == 201
    sub = resp.json()
    await emit(tenant.org_id)
    await Dispatcher(DeliveryConfig(org_id=tenant.org_id)).fan_out()
    listed = await tenant.client.get(f"/api/v1/webhooks/{sub['id']}/deliveries", headers=tenant.admin)
    (item,) = listed.json()["items"]
    return World(tenant=tenant, other=other_tenant, sub=sub, delivery_id=item["id"])


@pytest.fixture
async def world(tenant: Tenant, other_tenant: Tenant) -> World:
    return await build_world(tenant, other_tenant)


WORLDS = worlds_of(build_world, team=False)


CALLERS = [
    "admin",
    "webhooks",
    "auditor",
    "hr",
    "employee",
    "employees:write",
    "kpi:write",
    "payroll:read",
    "payroll:ack",
    "scim",
    "other_admin",
    "anonymous",
]
MANAGERS = ("admin", "webhooks")
READERS = ("admin", "webhooks", "auditor")


def headers_for(w: World, caller: str) -> dict[str, str]:
    t = w.tenant
    if caller == "admin":
        return t.admin
    if caller == "hr":
        return t.hr
    if caller == "auditor":
        return t.auditor
    if caller == "employee":
        return t.as_("employee", emp=new_id())
    if caller == "other_admin":
        return w.other.admin
    if caller == "anonymous":
        return {}
    return t.as_scope(caller)


def expect(route: str, caller: str) -> int:
    if caller == "anonymous":
        return 401
    collection = route in ("list", "create")
    reading = route in ("list", "get", "deliveries", "delivery")
    if caller == "other_admin":  # their own (empty) collection; our items do not exist for them
        return {"list": 200, "create": 201}.get(route, 404)
    ok = {
        "list": 200,
        "create": 201,
        "get": 200,
        "patch": 200,
        "delete": 204,
        "deliveries": 200,
        "delivery": 200,
        "redeliver": 202,
        "rotate": 200,
    }[route]
    if caller in MANAGERS or (caller in READERS and reading):
        return ok
    if caller in READERS:  # the auditor sees the item but may not act on it
        return 403
    return 403 if collection else 404


def request_for(w: World, route: str) -> tuple[str, str, dict[str, Any] | None]:
    base = f"/api/v1/webhooks/{w.sub['id']}"
    return {
        "list": ("GET", "/api/v1/webhooks", None),
        "create": ("POST", "/api/v1/webhooks", {"url": DEAD_URL, "events": ["checkin.created"]}),
        "get": ("GET", base, None),
        "patch": ("PATCH", base, {"events": ["score.updated"]}),
        "delete": ("DELETE", base, None),
        "deliveries": ("GET", base + "/deliveries", None),
        "delivery": ("GET", f"{base}/deliveries/{w.delivery_id}", None),
        "redeliver": ("POST", f"{base}/deliveries/{w.delivery_id}/redeliver", None),
        "rotate": ("POST", base + "/rotate-secret", None),
    }[route]


async def state(w: World) -> Any:
    t = w.tenant
    subs = (await t.client.get("/api/v1/webhooks", headers=t.admin)).json()["items"]
    items = (await t.client.get(f"/api/v1/webhooks/{w.sub['id']}/deliveries", headers=t.admin)).json().get("items")
    return subs, items


def keys(value: Any) -> set[str]:
    """Every key of a JSON document, at any depth."""
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in keys(v)}
    return set()


ROUTES = ["list", "create", "get", "patch", "delete", "deliveries", "delivery", "redeliver", "rotate"]
ROUTE_METHODS = {
    "list": "GET",
    "create": "POST",
    "get": "GET",
    "patch": "PATCH",
    "delete": "DELETE",
    "deliveries": "GET",
    "delivery": "GET",
    "redeliver": "POST",
    "rotate": "POST",
}


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("route", ROUTES)
async def test_webhook_routes(client: Any, route: str, caller: str) -> None:
    want = expect(route, caller)
    world = await WORLDS.for_case(client, shares=leaves_unchanged(ROUTE_METHODS[route], want))
    method, path, body = request_for(world, route)
    before = await state(world)
    resp = await world.tenant.client.request(method, path, json=body, headers=headers_for(world, caller))
    assert resp.status_code == want, (route, caller, resp.text)
    if want >= 400:
        assert resp.headers["content-type"].startswith("application/problem+json")
        assert await state(world) == before
    if caller == "other_admin":
        assert await state(world) == before
        if route == "list":
            assert resp.json()["items"] == []
    if want < 300 and method == "GET":
        assert "secret" not in keys(resp.json()) and "whsec_" not in resp.text
        if route in ("list", "get") and caller != "other_admin":
            assert world.sub["id"] in resp.text
    if route in ("create", "rotate") and want < 300:
        assert resp.json()["secret"].startswith("whsec_")
    if method != "GET" and want < 300 and caller != "other_admin":
        assert await state(world) != before


async def test_auditor_never_sees_a_secret(world: World) -> None:
    t = world.tenant
    for route in ("list", "get", "deliveries", "delivery"):
        _, path, _ = request_for(world, route)
        resp = await t.client.get(path, headers=t.auditor)
        assert resp.status_code == 200
        assert "whsec_" not in resp.text and world.sub["secret"] not in resp.text
        assert not {"secret", "previous_secret"} & keys(resp.json())
