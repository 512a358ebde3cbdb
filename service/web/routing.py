"""Which methods a path supports (405 answers and their `Allow` header), and the
strictness every documented route applies before its own parameters are read.

Starlette answers 405 from the first route whose path matches, so `Allow` listed only
that route's method although FastAPI keeps one route per method (GET and PATCH of
`/organization` are two routes). And a path with a literal segment can also match a
parameterized route: `PATCH /employees/bulk` matches `PATCH /employees/{employee_id}`
with the id "bulk" and used to fail as a 422 on the id, although the resource
`/employees/bulk` exists and only accepts POST.

Both answers come from the same rule: among the routes whose path matches, the most
literal ones (fewest path parameters) name the resource, and their methods are `Allow`.

Unknown query parameters are a 422, like unknown body fields (request bodies forbid
them, service/kit/schemas.py `Input`): a misspelt filter (`?departmnet_id=`) is refused
naming the parameter instead of silently returning the unfiltered list. A route's
parameters are those FastAPI reads for it (its own and its dependencies'). Routes outside
the OpenAPI document (GraphQL, metrics) are left alone.

A GET of the REST API (`/api/...`) whose `Accept` header admits none of the media types
the route answers (JSON, and CSV for the lists that export) is a 406
(service/web/lists.py); the health probes are left alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from fastapi import Request
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.routing import Match
from starlette.types import Scope

from service.errors import NotAcceptable, ValidationFailed
from service.kit.schemas import NUL_MESSAGE, has_nul
from service.web import lists


def _flatten(routes: Iterable[object]) -> Iterator[object]:
    """Plain routes, and the effective routes of included routers (FastAPI keeps included
    routers as branches with the prefix applied, instead of copying their routes)."""
    for route in routes:
        contexts = getattr(route, "effective_route_contexts", None)
        if contexts is not None:
            yield from contexts()
        else:
            yield route


def allowed_methods(routes: Iterable[object], scope: Scope, fewer_params_than: int | None = None) -> list[str]:
    """Methods of the most literal routes matching the scope's path; with
    `fewer_params_than`, only of routes more literal than that."""
    candidates: list[tuple[int, set[str]]] = []
    probe = {**scope, "method": "\0"}  # matches no method: every path match is PARTIAL
    for route in _flatten(routes):
        methods = getattr(route, "methods", None)
        convertors = getattr(route, "param_convertors", None)
        if not methods or convertors is None:
            continue  # mounts (SCIM) and websocket routes
        match, _ = route.matches(probe)  # type: ignore[attr-defined]
        if match is Match.NONE:
            continue
        params = set(convertors)
        if fewer_params_than is not None and len(params) >= fewer_params_than:
            continue
        candidates.append((len(params), set(methods)))
    if not candidates:
        return []
    fewest = min(n for n, _ in candidates)
    allowed: set[str] = set().union(*(m for n, m in candidates if n == fewest))
    return sorted(allowed)


def _query_names(dependant: Any, seen: set[int]) -> set[str]:
    if id(dependant) in seen:
        return set()
    seen.add(id(dependant))
    names: set[str] = set()
    for field in dependant.query_params:
        model = getattr(getattr(field, "field_info", None), "annotation", None)
        if isinstance(model, type) and issubclass(model, BaseModel):  # a Query() model
            names |= {f.alias or name for name, f in model.model_fields.items()}
        else:
            names.add(field.alias)
    for sub in dependant.dependencies:
        names |= _query_names(sub, seen)
    return names


_declared: dict[int, frozenset[str]] = {}


def declared_query_parameters(route: APIRoute) -> frozenset[str]:
    names = _declared.get(id(route))
    if names is None:
        names = _declared[id(route)] = frozenset(_query_names(route.dependant, set()))
    return names


_literal_segments: dict[int, frozenset[str]] = {}


def _may_name_a_literal(request: Request) -> bool:
    """A more literal route can match this path only where one of its literal segments
    stands in the place of a parameter, so only when a parameter's value is the text of
    some route's literal segment (`bulk`, `recompute`...): never for an id, so the scan
    of every route is left out of nearly every request."""
    routes = request.app.router.routes
    segments = _literal_segments.get(id(routes))
    if segments is None:
        segments = _literal_segments[id(routes)] = _literal_parts(routes)
    return any(str(v) in segments for v in request.path_params.values())


async def strict_request(request: Request) -> None:
    """App-wide dependency: runs before the route's own parameters are validated."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not route.include_in_schema:
        return
    if route.param_convertors and _may_name_a_literal(request):  # a literal resource here? (`/employees/bulk`)
        literal = allowed_methods(
            request.app.router.routes, request.scope, fewer_params_than=len(route.param_convertors)
        )
        if literal and request.method not in literal:
            raise HTTPException(405, "Method Not Allowed")
    nul = [["path", k] for k, v in request.path_params.items() if has_nul(v)] + [
        ["query", k] for k, v in request.query_params.multi_items() if has_nul(k) or has_nul(v)
    ]
    if nul:
        raise ValidationFailed(
            "the request contains a NUL character", errors=[{"loc": loc, "msg": NUL_MESSAGE} for loc in nul]
        )
    unknown = sorted(set(request.query_params) - declared_query_parameters(route))
    if unknown:
        raise ValidationFailed(
            "unknown query parameter" + ("s" if len(unknown) > 1 else "") + ": " + ", ".join(unknown),
            errors=[{"loc": ["query", name], "msg": "unknown query parameter"} for name in unknown],
        )
    if request.method in ("GET", "HEAD") and request.scope["path"].startswith("/api/"):  # not the probes
        accept = request.headers.get("accept")
        if accept and accept not in ("*/*", "application/json"):  # what nearly every client sends
            media = lists.offered(route)
            if lists.choose(accept, media) is None:
                raise NotAcceptable(
                    f"this resource is served as {' or '.join(media)}, which the Accept header does not admit",
                    extra={"acceptable": media},
                )


# --- the route cache --------------------------------------------------------------------------


def _literal_parts(routes: Iterable[object]) -> frozenset[str]:
    return frozenset(
        part
        for r in _flatten(routes)
        for part in str(getattr(r, "path", "")).split("/")
        if part and not part.startswith("{")
    )


def request_shape(scope: Scope, literals: frozenset[str]) -> tuple[Any, ...]:
    """The method and the path, each segment kept when some route has it as a literal
    segment and "*" otherwise (an id, a name)."""
    return (
        scope["type"],
        scope.get("method"),
        scope.get("root_path", ""),
        tuple(p if not p or p in literals else "*" for p in scope["path"].split("/")),
    )


def install_route_cache(app: Any) -> None:
    """Routes a request in a couple of regex matches instead of up to one per route.

    FastAPI tries the app's routes in order: for each included router every one of its
    routes until one matches, and then the chosen router's routes once more to pick the
    route. With 200 routes that is the largest single cost of a small request after the
    database. Here each top-level included router remembers, per request shape
    (`request_shape`), whether it answered that shape and with which of its routes: a
    router that did not answers "no match" at once, and the one that did tries that route
    alone (FastAPI's own matching, over a one-route list), falling back to all of them.

    Sound because whether a route matches depends on the shape alone: every path
    parameter of this API matches any one segment (types are checked after routing, a
    bad id is a 422 from the chosen route), and a segment that is some route's literal is
    kept as it is. Only full matches are remembered, so 404 and 405 answers are routed
    exactly as before, and the cache holds at most one entry per route and literal
    combination. `tests/test_routing.py` routes a request to every route both ways.
    """
    from fastapi.routing import _IncludedRouter

    literals = _literal_parts(app.router.routes)
    owners: dict[tuple[Any, ...], Any] = {}  # shape -> the top-level router that answered it
    for included in app.router.routes:
        if isinstance(included, _IncludedRouter):
            _cache_matches(included, owners, literals)


def _cache_matches(included: Any, owners: dict[tuple[Any, ...], Any], literals: frozenset[str]) -> None:
    uncached = included._match  # noqa: SLF001 - FastAPI's router internals (version pinned)
    chosen: dict[tuple[Any, ...], Any] = {}  # shape -> the candidate (route context or router) that answered

    def _match(scope: Scope) -> tuple[Match, Scope, Any, Any]:
        shape = request_shape(scope, literals)
        owner = owners.get(shape)
        if owner is not None and owner is not included:
            return Match.NONE, {}, None, None
        candidate = chosen.get(shape)
        if candidate is not None:
            # `_match` is synchronous: the one-candidate list cannot leak to another request
            included.effective_candidates = lambda: (candidate,)
            try:
                found = uncached(scope)
            finally:
                del included.effective_candidates
            if found[0] is Match.FULL:
                return found
        found = uncached(scope)
        if found[0] is Match.FULL:
            owners[shape] = included
            chosen[shape] = found[3] if found[3] is not None else found[2]
        return found

    _match.uncached = uncached  # type: ignore[attr-defined]
    included._match = _match  # noqa: SLF001
