"""Who may export and delete the organization (service/authz/policy.py,
`export_organization`, `delete_organization`): its own admin only. Every caller is tried
on both routes; a refused call changes nothing, a foreign admin's export is their own
organization's and never shows this one's ids, and the admin's export, deleted and
imported again, answers the same."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from service.db import database
from service.tenants import lifecycle
from tests import authz_matrix
from tests.authz_matrix import ANONYMOUS, FOREIGN_ADMIN, World, check_declared, served_routes
from tests.conftest import Tenant, new_tenant
from tests.org.test_authz_matrix import CALLERS, build_world, headers_for
from tests.tenants.test_lifecycle import counts

EXPORT = "/api/v1/organization/export"
ORGANIZATION = "/api/v1/organization"
EXPORT_STATUS = authz_matrix.cells(CALLERS, 403, {("admin", FOREIGN_ADMIN): 200})
# a foreign admin's confirmation names this organization, not theirs
DELETE_STATUS = authz_matrix.cells(CALLERS, 403, {"admin": 204, FOREIGN_ADMIN: 422})


async def world(client: httpx.AsyncClient) -> World:
    return await build_world(await new_tenant(client), await new_tenant(client, "Other Org"))


def lines_of(resp: httpx.Response) -> list[dict[str, Any]]:
    return [json.loads(line) for line in resp.text.splitlines()]


def test_the_tables_name_every_route_and_caller():
    served = served_routes(lambda p: p.startswith(ORGANIZATION))
    assert served == {("GET", ORGANIZATION), ("PATCH", ORGANIZATION), ("GET", EXPORT), ("DELETE", ORGANIZATION)}
    assert set(EXPORT_STATUS) == set(DELETE_STATUS) == set(CALLERS)


def _problem(resp: httpx.Response) -> None:
    if resp.status_code >= 400:
        assert resp.headers["content-type"].startswith("application/problem+json"), resp.headers
        assert resp.json()["status"] == resp.status_code


@pytest.mark.parametrize("caller", CALLERS)
async def test_export(client: httpx.AsyncClient, caller: str):
    w = await world(client)
    before = await counts(w.tenant.org_id)
    resp = await client.get(EXPORT, headers=headers_for(w, caller))
    assert resp.status_code == EXPORT_STATUS[caller], resp.text
    _problem(resp)
    check_declared(authz_matrix.Route("export", "GET", EXPORT, EXPORT_STATUS), caller, resp)
    if resp.status_code == 200:
        assert resp.headers["content-type"].startswith("application/jsonl")
        header, *rows = lines_of(resp)
        mine = w.other.org_id if caller == FOREIGN_ADMIN else w.tenant.org_id
        assert header["org_id"] == str(mine)
        if caller == FOREIGN_ADMIN:
            for key, value in w.ids.items():
                assert value not in resp.text, f"the export leaked {key} to another organization"
        else:
            exported = {(r["table"], r["row"]["id"]) for r in rows if "id" in r["row"]}
            for key in ("alice", "bob", "lead"):
                assert ("employees", w.ids[key]) in exported
            assert ("departments", w.ids["dep"]) in exported
    assert await counts(w.tenant.org_id) == before


@pytest.mark.parametrize("caller", CALLERS)
async def test_delete(client: httpx.AsyncClient, caller: str):
    w = await world(client)
    t: Tenant = w.tenant
    before = await counts(t.org_id)
    others = await counts(w.other.org_id)
    resp = await client.request("DELETE", ORGANIZATION, json={"confirm": str(t.org_id)}, headers=headers_for(w, caller))
    assert resp.status_code == DELETE_STATUS[caller], resp.text
    _problem(resp)
    check_declared(authz_matrix.Route("delete", "DELETE", ORGANIZATION, DELETE_STATUS), caller, resp)
    assert await counts(w.other.org_id) == others
    if caller != "admin":
        assert await counts(t.org_id) == before
        return
    assert set((await counts(t.org_id)).values()) == {0}
    assert (await client.get(ORGANIZATION, headers=t.admin)).status_code == 401  # its tokens stop working


async def test_the_exported_organization_comes_back_after_its_deletion(client: httpx.AsyncClient):
    w = await world(client)
    t = w.tenant
    employees = (await client.get("/api/v1/employees?limit=500", headers=t.admin)).content
    exported = await client.get(EXPORT, headers=t.admin)
    assert exported.status_code == 200
    resp = await client.request("DELETE", ORGANIZATION, json={"confirm": str(t.org_id)}, headers=t.admin)
    assert resp.status_code == 204, resp.text
    await lifecycle.import_lines(database.engine, exported.text.splitlines())
    assert (await client.get("/api/v1/employees?limit=500", headers=t.admin)).content == employees


async def test_a_deletion_must_name_the_organization_and_be_current(client: httpx.AsyncClient):
    w = await world(client)
    t = w.tenant
    before = await counts(t.org_id)
    for body in ({"confirm": str(w.other.org_id)}, {}, {"confirm": "yes"}, {"confirm": str(t.org_id), "now": True}):
        resp = await client.request("DELETE", ORGANIZATION, json=body, headers=t.admin)
        assert resp.status_code == 422, (body, resp.text)
        _problem(resp)
    stale = {**t.admin, "If-Match": '"999"'}
    resp = await client.request("DELETE", ORGANIZATION, json={"confirm": str(t.org_id)}, headers=stale)
    assert resp.status_code == 412, resp.text
    assert await counts(t.org_id) == before
    assert ANONYMOUS in DELETE_STATUS


async def test_a_client_that_accepts_only_bytes_gets_the_same_file_as_bytes(client: httpx.AsyncClient):
    """Generated clients know no JSON Lines media type; the document offers the same file as
    application/octet-stream, served when it is the only type accepted."""
    w = await world(client)
    lines = await client.get(EXPORT, headers={**headers_for(w, "admin"), "Accept": "application/jsonl"})
    raw = await client.get(EXPORT, headers={**headers_for(w, "admin"), "Accept": "application/octet-stream"})
    assert raw.status_code == 200 and raw.headers["content-type"] == "application/octet-stream"
    assert lines.headers["content-type"].startswith("application/jsonl")
    assert lines_of(raw)[0]["org_id"] == lines_of(lines)[0]["org_id"] == str(w.tenant.org_id)
    assert len(lines_of(raw)) == len(lines_of(lines))
    refused = await client.get(EXPORT, headers={**headers_for(w, "admin"), "Accept": "text/html"})
    assert refused.status_code == 406 and refused.json()["acceptable"] == [
        "application/jsonl",
        "application/octet-stream",
    ]
