"""A deleted organization's tokens stop working in every API process: the one that
deletes forgets it at once, another (which confirmed the organization earlier) once its
confirmation is older than `KNOWN_ORG_SECONDS`."""

from __future__ import annotations

import time

import httpx

from service.auth import context
from service.db import database
from service.tenants.lifecycle import delete_org
from tests.conftest import new_tenant

ORGANIZATION = "/api/v1/organization"


async def test_another_process_stops_accepting_a_deleted_organizations_tokens(client: httpx.AsyncClient):
    t = await new_tenant(client, "Deleted Elsewhere")
    assert (await client.get(ORGANIZATION, headers=t.admin)).status_code == 200
    assert t.org_id in context._known_orgs

    async with database.engine.begin() as conn:
        await delete_org(conn, t.org_id, actor="cli:test")
    assert t.org_id not in context._known_orgs  # this process forgot it at once
    assert (await client.get(ORGANIZATION, headers=t.admin)).status_code == 401

    # Another process still remembers its earlier confirmation: within the minute it
    # accepts the token, and finds nothing of the organization.
    context._known_orgs[t.org_id] = time.monotonic()
    assert (await client.get(ORGANIZATION, headers=t.admin)).status_code == 404
    listed = await client.get("/api/v1/employees", headers=t.admin)
    assert listed.status_code == 200 and listed.json()["items"] == []
    # Once that confirmation is older than KNOWN_ORG_SECONDS, it asks the database again.
    context._known_orgs[t.org_id] = time.monotonic() - context.KNOWN_ORG_SECONDS - 1
    resp = await client.get(ORGANIZATION, headers=t.admin)
    assert resp.status_code == 401 and resp.headers["content-type"] == "application/problem+json"
    assert t.org_id not in context._known_orgs


async def test_a_live_organization_is_confirmed_again_after_the_interval(client: httpx.AsyncClient):
    t = await new_tenant(client, "Still Here")
    assert (await client.get(ORGANIZATION, headers=t.admin)).status_code == 200
    context._known_orgs[t.org_id] = time.monotonic() - context.KNOWN_ORG_SECONDS - 1
    stale = context._known_orgs[t.org_id]
    assert (await client.get(ORGANIZATION, headers=t.admin)).status_code == 200
    assert context._known_orgs[t.org_id] > stale  # confirmed anew
