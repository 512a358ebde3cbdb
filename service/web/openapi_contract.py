"""The names integrators' generators read in the OpenAPI document: operation ids, tags,
servers, contact and license.

- **Operation ids** are the handlers' names (`list_employees`, `adjust_result`): short,
  snake_case, unique across the API (a duplicate stops the document from being built,
  so a test fails), and stable, since a rename of a handler shows in the committed
  `openapi/openapi.json` (tests/test_schemas_sync.py). Generators make function names of
  them (`list_employees`, `listEmployees`) instead of FastAPI's default
  `list_employees_api_v1_employees_get`.
- **Tags**: one per domain, named as identifiers, each described at the top of the
  document; an operation's tag is the domain of the module that handles it (a route's
  own `tags=` is overridden), so generated clients group operations by domain
  (`api/okr/...`).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, routing
from fastapi.openapi.utils import _get_api_route_for_openapi

# The module that handles an operation -> its domain tag. Every module with documented
# routes must be here: a missing one stops the document from being built.
TAGS: dict[str, tuple[str, str]] = {
    "service.web.health": ("health", "Liveness and readiness probes; no token needed."),
    "service.auth.api": (
        "auth",
        "OAuth 2.0 client credentials (`/oauth/token`) and the integration clients (HRIS, payroll, "
        "KPI feeds) that use them, with their scopes.",
    ),
    "service.org.api": (
        "org",
        "The organization, its departments, positions and employees (the directory an HRIS keeps "
        "in sync), and the caller's own view.",
    ),
    "service.cycles.api": ("cycles", "Performance cycles (years, halves, quarters) and their status machine."),
    "service.okr.api": (
        "okr",
        "Objectives and key results: alignment, the approval workflow, weekly check-ins, grades and lint.",
    ),
    "service.kpi.api": (
        "kpi",
        "KPI definitions, position templates, assignments with threshold, target and stretch, and measurements.",
    ),
    "service.evaluations.api": (
        "evaluations",
        "Self and manager reviews, 360 peer feedback, calibration, interviews and review meetings.",
    ),
    "service.scoring.api": (
        "scoring",
        "Versioned scoring policies, scores with their explanation, recomputes and the official record.",
    ),
    "service.incentives.api": (
        "incentives",
        "Incentive plans, their results in exact minor units, nominations, and the payroll feed.",
    ),
    "service.webhooks.api": ("webhooks", "Webhook endpoints (Standard Webhooks signatures) and their deliveries."),
    "service.audit.api": ("audit", "The audit log of every change."),
}
CONTACT = {"name": "perf-service maintainers"}
LICENSE = {"name": "Proprietary"}
SERVERS = [{"url": "/", "description": "This deployment (the API is served from the root of its host)"}]


def documented_routes(app: FastAPI) -> list[Any]:
    """The routes of the document (APIRoute-like: `name`, `endpoint`, `methods`,
    `path_format`), as FastAPI walks them, included routers flattened."""
    found = []
    for context in routing.iter_route_contexts(app.routes):
        route = _get_api_route_for_openapi(context)
        if route is not None and route.include_in_schema:
            found.append(route)
    return found


def name_operations(app: FastAPI, document: dict[str, Any]) -> dict[str, Any]:
    """Operation ids from the handlers, tags from their domains, and the top-level
    `tags`, `servers`, `info.contact` and `info.license`."""
    seen: dict[str, str] = {}
    used: set[str] = set()
    for route in documented_routes(app):
        module = route.endpoint.__module__
        if module not in TAGS:
            raise RuntimeError(f"{module} handles documented routes but has no tag in openapi_contract.TAGS")
        tag = TAGS[module][0]
        for method in sorted(route.methods or ()):
            operation = document["paths"][route.path_format].get(method.lower())
            if operation is None:
                continue
            where = f"{method} {route.path_format}"
            if route.name in seen:
                raise RuntimeError(f"operation id {route.name!r} of {where} is already {seen[route.name]}'s")
            seen[route.name] = where
            operation["operationId"] = route.name
            operation["tags"] = [tag]
            used.add(tag)
    document["tags"] = [{"name": tag, "description": text} for tag, text in TAGS.values() if tag in used]
    document["servers"] = SERVERS
    document["info"]["contact"] = CONTACT
    document["info"]["license"] = LICENSE
    return document


def install(app: FastAPI) -> None:
    """Names the operations once, when the document is first built."""
    build = app.openapi
    named: list[dict[str, Any]] = []

    def openapi() -> dict[str, Any]:
        document = build()
        if not named or named[0] is not document:
            named[:] = [name_operations(app, document)]
        return document

    app.openapi = openapi  # type: ignore[method-assign]
