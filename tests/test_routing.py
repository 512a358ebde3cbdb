"""The route cache (service/web/routing.py `install_route_cache`, setting `ROUTE_CACHE`)
routes every request where FastAPI's own matching would, for every route of the app, with
ids and with the literal words of other routes in the place of a parameter, for every
method: an app built with the cache and one built without it (`ROUTE_CACHE=false`) are
compared request by request, and the end-to-end answers are checked on both."""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi.routing import _IncludedRouter
from starlette.routing import Match

from service.config import get_settings
from service.web.app import create_app
from service.web.routing import _flatten, _literal_parts, request_shape

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def scope_of(method: str, path: str) -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path, "root_path": "", "headers": [], "query_string": b""}


@pytest.fixture(scope="module")
def stock_app() -> Any:
    """The app as `ROUTE_CACHE=false` builds it: FastAPI's own routing."""
    settings = get_settings()
    settings.route_cache = False
    try:
        return create_app()
    finally:
        settings.route_cache = True


def resolve(app: Any, scope: dict[str, Any]) -> tuple[Match, Any]:
    """The endpoint (or mounted app's path) the app's router hands the request to, and
    how it matched, as APIRouter.app and _IncludedRouter._handle_selected choose it."""
    partial = None
    for route in app.router.routes:
        if isinstance(route, _IncludedRouter):
            match = route._match(dict(scope))
            how, found = match[0], (match[2], match[3])
        else:
            how, _ = route.matches(dict(scope))
            found = (route, None)
        if how is Match.FULL:
            return how, _endpoint(*found)
        if how is Match.PARTIAL and partial is None:
            partial = _endpoint(*found)
    return (Match.PARTIAL, partial) if partial is not None else (Match.NONE, None)


def _endpoint(route: Any, context: Any) -> Any:
    """The route's path and endpoint's name: comparable across two apps, whose own routes
    (`/docs`, `/openapi.json`) and mounted SCIM app are built per app."""
    target = context.original_route if context is not None else route
    endpoint = getattr(target, "endpoint", None)
    name = f"{endpoint.__module__}.{endpoint.__qualname__}" if endpoint is not None else "mount"
    return getattr(target, "path", None), name


def concrete_paths(template: str, words: list[str]) -> list[str]:
    """The template with each parameter filled by an id, and by each literal word."""
    params = re.findall(r"{[^}]+}", template)
    out = []
    for values in itertools.product([str(uuid.uuid4()), *words], repeat=len(params)):
        path = template
        for p, v in zip(params, values, strict=True):
            path = path.replace(p, v, 1)
        out.append(path)
    return out


def test_the_setting_turns_the_cache_off(stock_app):
    cached = [r for r in create_app().router.routes if isinstance(r, _IncludedRouter)]
    stock = [r for r in stock_app.router.routes if isinstance(r, _IncludedRouter)]
    assert len(cached) == len(stock) > 10
    assert all(hasattr(r._match, "uncached") for r in cached)
    assert not any(hasattr(r._match, "uncached") for r in stock)


def test_every_route_is_routed_as_without_the_cache(stock_app):
    app = create_app()
    templates = sorted({r.path for r in _flatten(app.router.routes) if getattr(r, "path", None)})
    assert len(templates) > 80
    words = sorted(_literal_parts(app.router.routes))
    assert {"bulk", "recompute"} <= set(words)
    checked = full = 0
    for template in templates:
        paths = (
            concrete_paths(template, words[:12] + ["bulk", "recompute"])
            if template.count("{") < 2
            else concrete_paths(template, ["bulk"])
        )
        for path, method in itertools.product(paths, METHODS):
            scope = scope_of(method, path)
            expected = resolve(stock_app, scope)
            full += expected[0] is Match.FULL
            assert resolve(app, scope) == expected, (method, path)  # learns
            assert resolve(app, scope) == expected, (method, path)  # remembers
            checked += 1
    assert checked > 1000 and full > 300  # most requests found a route: the comparison is not of 404s


def test_a_shape_keeps_literal_segments_and_hides_the_rest():
    literals = frozenset({"api", "v1", "employees", "bulk"})
    a = request_shape(scope_of("GET", f"/api/v1/employees/{uuid.uuid4()}"), literals)
    b = request_shape(scope_of("GET", "/api/v1/employees/not-an-id"), literals)
    assert a == b == ("http", "GET", "", ("", "api", "v1", "employees", "*"))
    assert request_shape(scope_of("GET", "/api/v1/employees/bulk"), literals)[3][-1] == "bulk"
    assert request_shape(scope_of("POST", "/api/v1/employees/bulk"), literals) != request_shape(
        scope_of("GET", "/api/v1/employees/bulk"), literals
    )


@pytest.fixture(params=["cache", "no cache"])
async def either(request, client, stock_app) -> AsyncIterator[httpx.AsyncClient]:
    """The suite's client (the cache on), then a client of the app without the cache."""
    if request.param == "cache":
        yield client
        return
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=stock_app), base_url="http://test") as c:
        yield c


async def test_a_cached_route_still_answers_404_405_and_422(either, tenant):
    """Only full matches are remembered: an unknown path is a 404, a known path with the
    wrong method a 405 with Allow, a malformed id a 422 from the remembered route. The
    same answers without the cache."""
    client = either
    emp = await tenant.add_employee("ann")
    good = await client.get(f"/api/v1/employees/{emp['id']}", headers=tenant.hr)
    assert good.status_code == 200
    again = await client.get(f"/api/v1/employees/{uuid.uuid4()}", headers=tenant.hr)
    assert again.status_code == 404  # the same shape, another id: the remembered route answers
    bad = await client.get("/api/v1/employees/not-an-id", headers=tenant.hr)
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"][-1] == "employee_id"
    wrong = await client.put(f"/api/v1/employees/{emp['id']}", headers=tenant.hr, json={})
    assert wrong.status_code == 405 and "PATCH" in wrong.headers["allow"]
    assert (await client.get("/api/v1/no-such-thing", headers=tenant.hr)).status_code == 404
    bulk = await client.patch("/api/v1/employees/bulk", headers=tenant.hr, json={})
    assert bulk.status_code == 405 and bulk.headers["allow"] == "POST"


def test_each_get_is_acceptable_in_the_media_types_it_documents(app):
    """The Accept check (service/web/lists.py `offered`) admits what each route documents:
    JSON for routes with a response model, then their other representations; a file a
    route streams without JSON is only that file."""
    from fastapi.routing import APIRoute

    from service.web import lists

    offered = {
        (r.path, m): lists.offered(r)
        for r in (getattr(c, "original_route", c) for c in _flatten(app.routes))
        if isinstance(r, APIRoute)
        for m in r.methods
        if m == "GET"
    }
    assert offered[("/api/v1/organization/export", "GET")] == ["application/jsonl", "application/octet-stream"]
    assert offered[("/api/v1/departments/{department_id}/team-brief", "GET")] == ["application/json", "text/markdown"]
    assert offered[("/api/v1/employees", "GET")] == ["application/json", "text/csv"]
    assert offered[("/api/v1/employees/{employee_id}", "GET")] == ["application/json"]
    assert all(
        media[0] == "application/json"
        for (path, _), media in offered.items()
        if path != "/api/v1/organization/export" and path.startswith("/api/")
    )
