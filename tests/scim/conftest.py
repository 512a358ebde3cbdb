"""SCIM fixtures: a client speaking SCIM for a tenant, over the in-process app."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn

from tests.conftest import Tenant

BASE = "/scim/v2"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
TREE = "urn:ietf:params:scim:schemas:extension:perf:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def patch(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def user_body(handle: str | None = None, **fields: Any) -> dict[str, Any]:
    handle = handle or f"u{uuid.uuid4().hex[:8]}"
    return {
        "schemas": [USER, ENTERPRISE],
        "userName": f"{handle}@example.com",
        "name": {"givenName": handle.title(), "familyName": "Test"},
        "emails": [{"value": f"{handle}@example.com", "type": "work", "primary": True}],
        "active": True,
        **fields,
    }


@dataclass
class Scim:
    """SCIM calls as a tenant's identity provider."""

    tenant: Tenant
    headers: dict[str, str]

    @property
    def client(self) -> httpx.AsyncClient:
        return self.tenant.client

    async def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = {**self.headers, **kw.pop("headers", {})}
        if "json" in kw:
            headers.setdefault("Content-Type", "application/scim+json")
        return await self.client.request(method, BASE + path, headers=headers, **kw)

    async def get(self, path: str, **kw: Any) -> httpx.Response:
        return await self.request("GET", path, **kw)

    async def post(self, path: str, body: dict[str, Any], **kw: Any) -> httpx.Response:
        return await self.request("POST", path, json=body, **kw)

    async def put(self, path: str, body: dict[str, Any], **kw: Any) -> httpx.Response:
        return await self.request("PUT", path, json=body, **kw)

    async def patch(self, path: str, body: dict[str, Any], **kw: Any) -> httpx.Response:
        return await self.request("PATCH", path, json=body, **kw)

    async def delete(self, path: str, **kw: Any) -> httpx.Response:
        return await self.request("DELETE", path, **kw)

    async def create_user(self, handle: str | None = None, **fields: Any) -> dict[str, Any]:
        resp = await self.post("/Users", user_body(handle, **fields))
        assert resp.status_code == 201, resp.text
        return resp.json()

    async def create_group(self, name: str, members: list[str] | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"schemas": [GROUP], "displayName": name}
        if members is not None:
            body["members"] = [{"value": m} for m in members]
        resp = await self.post("/Groups", body)
        assert resp.status_code == 201, resp.text
        return resp.json()

    async def search(self, path: str = "/Users", **params: Any) -> dict[str, Any]:
        resp = await self.get(path, params=params)
        assert resp.status_code == 200, resp.text
        return resp.json()


@pytest.fixture
def scim(tenant: Tenant) -> Scim:
    return Scim(tenant, tenant.as_scope("scim"))


@pytest.fixture
def other_scim(other_tenant: Tenant) -> Scim:
    return Scim(other_tenant, other_tenant.as_scope("scim"))


@pytest.fixture(scope="module")
def live_server() -> Iterator[str]:
    """The whole app served by uvicorn on 127.0.0.1 on a free port, in a thread with its own
    event loop; its SCIM storage gets a database object of that loop (asyncpg and
    aiosqlite connections belong to the loop that made them)."""
    from service.db import Database
    from service.scim.app import MOUNT_PATH, ScimApplication
    from service.web.app import create_app

    app = create_app()
    scim_app = next(r.app for r in app.routes if getattr(r, "path", None) == MOUNT_PATH)
    assert isinstance(scim_app, ScimApplication)
    database = Database(os.environ["DATABASE_URL"])
    scim_app.storage.use_database(database)

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning", access_log=False))

    async def serve() -> None:
        try:
            await server.serve(sockets=[sock])
        finally:
            await database.dispose()

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the SCIM test server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}{BASE}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        sock.close()
