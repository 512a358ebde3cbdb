"""Who may do what with webhooks (service/authz/policy.py `read_webhooks`,
`manage_webhooks`), route x caller -> status. Admins and `webhooks` clients manage;
auditors read (never a secret); everyone else gets 403 on the collection and 404 on
items; another organization's admin never sees ours. Each cell also checks that a
refused call changed nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from service.types import new_id
from tests import authz_matrix
from tests.authz_matrix import Matrix, Route
from tests.authz_worlds import worlds_of
from tests.conftest import Tenant
from tests.webhooks.helpers import allow_private, emit

DEAD_URL = "http://127.0.0.1:9/hook"  # loopback discard port: nothing listens, nothing leaves


@dataclass
class World(authz_matrix.World):
    sub: dict[str, Any] = field(default_factory=dict)  # the subscription, with its secret


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
    return World(tenant=tenant, other=other_tenant, ids={"sub": sub["id"], "delivery": item["id"]}, sub=sub)


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
    if caller == "employee":  # a person who is not in the directory
        return w.tenant.as_("employee", emp=new_id())
    return authz_matrix.headers_for(w, caller)


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


async def state(w: World) -> Any:
    """The subscriptions and the subscription's deliveries, as an admin sees them."""
    t = w.tenant
    subs = (await t.client.get("/api/v1/webhooks", headers=t.admin)).json()["items"]
    items = (await t.client.get(f"/api/v1/webhooks/{w.ids['sub']}/deliveries", headers=t.admin)).json().get("items")
    return subs, items


def keys(value: Any) -> set[str]:
    """Every key of a JSON document, at any depth."""
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in keys(v)}
    return set()


SUB = "/api/v1/webhooks/{sub}"
REQUESTS: list[tuple[str, str, str, Any]] = [
    ("list", "GET", "/api/v1/webhooks", None),
    ("create", "POST", "/api/v1/webhooks", {"url": DEAD_URL, "events": ["checkin.created"]}),
    ("get", "GET", SUB, None),
    ("patch", "PATCH", SUB, {"events": ["score.updated"]}),
    ("delete", "DELETE", SUB, None),
    ("deliveries", "GET", SUB + "/deliveries", None),
    ("delivery", "GET", SUB + "/deliveries/{delivery}", None),
    ("redeliver", "POST", SUB + "/deliveries/{delivery}/redeliver", None),
    ("rotate", "POST", SUB + "/rotate-secret", None),
]
# Every row is probed (`state`): a write by a manager changes it, anything else leaves it.
ROUTES = [
    Route(
        name,
        method,
        path,
        {caller: expect(name, caller) for caller in CALLERS},
        body,
        probe=state,
        writers=MANAGERS if method != "GET" else (),
        shows=("sub",) if name in ("list", "get") else (),
    )
    for name, method, path, body in REQUESTS
]


def no_secret_shown(w: World, route: Route, caller: str, resp: httpx.Response) -> None:
    """A read never shows a secret; creating a subscription and rotating its secret do, once;
    another organization's admin lists its own (empty) collection."""
    if resp.status_code < 300 and route.method == "GET":
        assert "secret" not in keys(resp.json()) and "whsec_" not in resp.text
    if route.name in ("create", "rotate") and resp.status_code < 300:
        assert resp.json()["secret"].startswith("whsec_")
    if caller == "other_admin" and route.name == "list":
        assert resp.json()["items"] == []


MATRIX = Matrix(CALLERS, ROUTES, WORLDS, headers_for, checks=[no_secret_shown])


@pytest.mark.parametrize(("route", "caller"), MATRIX.cases())
async def test_webhook_routes(client: Any, route: Route, caller: str) -> None:
    await MATRIX.check(client, route, caller)


async def test_auditor_never_sees_a_secret(world: World) -> None:
    t = world.tenant
    for route in ROUTES:
        if route.method != "GET":
            continue
        resp = await t.client.get(route.url(world), headers=t.auditor)
        assert resp.status_code == 200
        assert "whsec_" not in resp.text and world.sub["secret"] not in resp.text
        assert not {"secret", "previous_secret"} & keys(resp.json())
