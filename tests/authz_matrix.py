"""The authorization-matrix harness: each domain writes who may do what on its routes as one
table, route x caller -> status (tests/org/test_authz_matrix.py, tests/kpi/test_authz.py,
tests/okr/test_authz_okr.py, tests/evaluations/test_authz.py, tests/incentives/test_authz.py,
tests/briefs/test_authz.py, tests/webhooks/test_authz.py), and `Matrix.check` runs and
checks every cell the same way:

- the answer has the status the table says, and an error is problem+json carrying it;
- another organization's admin never sees an id of this organization (the problem's
  `instance` merely echoes the path that caller asked for);
- a permitted read (a 200 on a GET) shows the ids the route is about (`Route.shows`);
- the route's probe, read before and after the call, is left as it was by a refused or
  foreign call and changed by an allowed write (`Route.changes`);
- the rule the route's handler declares (`governed_by`, service/authz/access.py: what the
  OpenAPI document says of who may call) allows every role caller (as relation OTHER) and
  every caller named after a scope that gets a 2xx, so the contract cannot promise less
  than the policy enforces, nor the service let in a caller the contract leaves out;
- and whatever the table adds (`Matrix.checks`: pay, secrets...).

A case that leaves the organization as it found it (a read, or a refusal, which the probe
proves changed nothing) runs in a world built once per module and key; a case that may
change something gets a world of its own (tests/authz_worlds.py).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from service.authz.access import Access, declared
from service.principal import SCOPE_MEANINGS
from tests.authz_worlds import SharedWorlds, leaves_unchanged
from tests.conftest import Tenant

ROLES = ("admin", "hr", "auditor")
FOREIGN_ADMIN = "other_admin"
ANONYMOUS = "anonymous"


@dataclass
class World:
    """The organization a table runs against, another organization (whose admin is the
    foreign caller), and this organization's ids by name: the routes' path parameters, and
    what the foreign admin must never see."""

    tenant: Tenant
    other: Tenant
    ids: dict[str, str] = field(default_factory=dict)


def cells(callers: Sequence[str], default: int, mapping: Mapping[tuple[str, ...] | str, int]) -> dict[str, int]:
    """One row of a table: `default` for every caller, 401 for the anonymous one, then
    `mapping` (a caller, or a tuple of callers, -> status)."""
    out = {c: default for c in callers}
    out[ANONYMOUS] = 401
    for who, status in mapping.items():
        for name in (who,) if isinstance(who, str) else who:
            out[name] = status
    return out


def headers_for(w: World, caller: str, people: Mapping[str, str] | None = None) -> dict[str, str]:
    """A caller's headers: a role (admin, hr, auditor), an employee (`people` maps the caller
    to the key of the employee whose token they carry), another organization's admin,
    nobody, or else an integration client holding the scope the caller is named after."""
    t = w.tenant
    if caller in ROLES:
        return t.as_(caller)
    if people and caller in people:
        return t.employee(people[caller])
    if caller == FOREIGN_ADMIN:
        return w.other.admin
    if caller == ANONYMOUS:
        return {}
    return t.as_scope(caller)


def fill(value: Any, ids: Mapping[str, str]) -> Any:
    """A JSON body with `{name}` in its strings replaced by the world's ids."""
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, dict):
        return {k: fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, ids) for v in value]
    return value


Probe = Callable[[Any], Awaitable[Any]]


@dataclass(frozen=True)
class Route:
    """One row: a request, and the status each caller gets. A table whose rows need more
    (the state of the world a route needs, another rule for who changes the probe) adds
    fields in a subclass and overrides `world_key`, `reads_only` or `changes`."""

    name: str
    method: str
    path: str  # formatted with the world's ids
    expected: dict[str, int]  # caller -> status
    body: Any = None  # JSON, or a function of the world making it; `{name}` in its strings is an id
    probe: str | Probe | None = None  # an admin GET (formatted with the ids), or a function of the world
    writers: tuple[str, ...] = ()  # the callers whose allowed call changes the probe
    shows: tuple[str, ...] = ()  # names of the ids a permitted read must contain

    def url(self, w: World) -> str:
        return self.path.format(**w.ids)

    def payload(self, w: World) -> Any:
        return fill(self.body(w) if callable(self.body) else self.body, w.ids)

    def world_key(self) -> Hashable:
        """Which shared world the route's cases run in (the state the route needs)."""
        return None

    def reads_only(self) -> bool:
        """A route that only reads whatever its method (a lint), so every case may share."""
        return False

    def changes(self, caller: str) -> bool:
        """Whether the caller's call must change the probe (else it must leave it as it was)."""
        return caller in self.writers


# A check a table adds to every cell: (world, route, caller, answer); it asserts.
Check = Callable[[Any, Any, str, httpx.Response], None]


@dataclass
class Matrix:
    """A table (`routes` x `callers`), the worlds its cases run in, and how each caller is
    authenticated; `probe_as` is the role that reads the probe, `probe_ignores` the
    top-level fields of a probe's answer that a call may touch without changing anything."""

    callers: Sequence[str]
    routes: Sequence[Route]
    worlds: SharedWorlds[Any]
    headers: Callable[[Any, str], dict[str, str]]
    probe_as: str = "admin"
    probe_ignores: tuple[str, ...] = ()
    checks: Sequence[Check] = ()

    def cases(self) -> list[Any]:
        return [pytest.param(r, c, id=f"{r.name}-{c}") for r in self.routes for c in self.callers]

    def assert_complete(self) -> None:
        """Every row names every caller (and no one else), once per row name."""
        names = [r.name for r in self.routes]
        assert len(set(names)) == len(names), "two rows share a name"
        for route in self.routes:
            assert set(route.expected) == set(self.callers), route.name
            assert set(route.writers) <= set(self.callers), route.name
        assert len(self.cases()) == len(self.routes) * len(self.callers)

    async def probe(self, w: World, route: Route) -> Any:
        if route.probe is None:
            return None
        if callable(route.probe):
            return await route.probe(w)
        resp = await w.tenant.client.get(route.probe.format(**w.ids), headers=w.tenant.as_(self.probe_as))
        body = resp.json()
        if isinstance(body, dict):
            for key in self.probe_ignores:
                body.pop(key, None)
        return resp.status_code, body

    async def check(self, client: httpx.AsyncClient, route: Route, caller: str) -> httpx.Response:
        """Runs one cell and checks it (see the module's docstring); returns the answer."""
        expected = route.expected[caller]
        shares = leaves_unchanged(route.method, expected, reads=route.reads_only())
        w = await self.worlds.for_case(client, key=route.world_key(), shares=shares)
        before = await self.probe(w, route)
        kwargs: dict[str, Any] = {"headers": self.headers(w, caller)}
        if route.body is not None:
            kwargs["json"] = route.payload(w)
        resp = await w.tenant.client.request(route.method, route.url(w), **kwargs)
        assert resp.status_code == expected, f"{route.name} as {caller}: {resp.status_code} {resp.text}"

        if resp.status_code >= 400:
            assert resp.headers["content-type"].startswith("application/problem+json"), resp.headers
            assert resp.json()["status"] == resp.status_code, resp.text
        if caller == FOREIGN_ADMIN:
            shown = json.dumps({k: v for k, v in resp.json().items() if k != "instance"}) if resp.content else ""
            for key, value in w.ids.items():
                assert value not in shown, f"{route.name} leaked {key} to another organization"
        elif resp.status_code == 200 and route.method == "GET":
            for key in route.shows:
                assert w.ids[key] in resp.text, f"{route.name} as {caller} does not show {key}"
        check_declared(route, caller, resp)
        for extra in self.checks:
            extra(w, route, caller, resp)

        after = await self.probe(w, route)
        if route.probe is not None:
            if route.changes(caller):
                assert after != before, f"{route.name} as {caller} answered {expected} but changed nothing"
            else:
                assert after == before, f"{route.name} as {caller} changed the organization"
        return resp


@functools.cache
def _app_routes() -> tuple[tuple[Any, re.Pattern[str]], ...]:
    """The app's documented routes, each with a pattern of its path."""
    from service.web.app import create_app
    from service.web.openapi_contract import documented_routes

    return tuple(
        (r, re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(r.path_format)) + "$"))
        for r in documented_routes(create_app())
    )


def served_by(method: str, url: str) -> Any:
    """The app's route that serves the request: among those whose method and path match,
    the most literal (fewest path parameters), as service/web/routing.py resolves them."""
    path = url.split("?", 1)[0]
    found = [r for r, pattern in _app_routes() if method.upper() in (r.methods or ()) and pattern.match(path)]
    assert found, f"no route serves {method} {path}"
    return min(found, key=lambda r: r.path_format.count("{"))


def declared_access(method: str, url: str) -> Access:
    served = served_by(method, url)
    access = declared(served.endpoint)
    assert access is not None, f"{served.name} ({method} {served.path_format}) declares no rule (governed_by)"
    return access


def check_declared(route: Route, caller: str, resp: httpx.Response) -> None:
    """A role caller or a scope caller that gets a 2xx is one the route's declared rule
    allows (see the module's docstring); employees' relations are the world's, so they
    are not checked here."""
    if not 200 <= resp.status_code < 300:
        return
    access = declared_access(route.method, resp.request.url.path)
    audience, rules = access.audience, [r.__name__ for r in access.rules]
    if caller in ROLES:
        assert audience.allows_role(caller), (
            f"{route.name}: {caller} got {resp.status_code}, but {rules} never allow it"
        )
    elif caller in SCOPE_MEANINGS:
        assert audience.allows_scope(caller), (
            f"{route.name}: {caller} got {resp.status_code}, but {rules} never allow it"
        )


def served_routes(match: Callable[[str], bool]) -> set[tuple[str, str]]:
    """(METHOD, path template) of every operation the app serves on a path `match` accepts."""
    from service.web.app import create_app

    paths = create_app().openapi()["paths"]
    return {(method.upper(), path) for path, ops in paths.items() if match(path) for method in ops}
