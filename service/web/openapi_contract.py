"""The names integrators' generators read in the OpenAPI document: operation ids, tags,
servers, contact and license.

- **Operation ids** are the handlers' names (`list_employees`, `adjust_result`): short,
  snake_case, unique across the API (a duplicate stops the document from being built,
  so a test fails), and stable, since a rename of a handler shows in the committed
  `openapi/openapi.json` (tests/test_schemas_sync.py). Generators make function names of
  them (`list_employees`, `listEmployees`) instead of FastAPI's default
  `list_employees_api_v1_employees_get`.
- **Enums** are named components: an inline `enum` (FastAPI writes one wherever a
  `Literal` is used) becomes a `$ref` to a schema named after the module-level alias that
  defines it (`EmployeeStatus`, `ObjectiveStatus`: the names GraphQL's enums have too), so
  a generator makes one `EmployeeStatus` class instead of `ListEmployeesStatusType0`,
  `EmployeeUpdateStatusType0`... An enum property no alias names is called after its
  schema and property (`BulkRowResultOutcome`); a parameter's enum must have an alias in
  `ENUMS` (the document is not built otherwise). A property's default stays beside its
  `$ref` (`EmployeeCreate.status`: `EmployeeStatus`, default `active`).
- **Headers** are declared where they apply: `Idempotency-Key` on every POST behind a
  bearer token (service/web/idempotency.py) and `Idempotent-Replayed` on its success;
  `ETag` on the success of every operation answering one resource with a `version`
  (service/kit/etag.py); `Link` (rel="next", service/web/links.py) on list pages;
  `X-Resume-Cursor` where a route declares it; `X-Request-ID` on every success.
- **Security**: `HTTPBearer` (a JWT: a person's from the OIDC provider or the service, or
  an integration client's) and `OAuth2`, the client credentials flow at `/oauth/token`
  with every scope and its meaning (`service/principal.py` `SCOPE_MEANINGS`). Each
  operation behind a token names `HTTPBearer`, and `OAuth2` with the scopes that allow
  it, and says in its description which roles may call it: all generated from the
  policy rule its handler declares (service/web/openapi_access.py; a handler without
  one stops the document from being built). The probes and `/oauth/token` (HTTP Basic
  or form credentials) need no token.
- **Tags**: one per domain, named as identifiers, each described at the top of the
  document; an operation's tag is the domain of the module that handles it (a route's
  own `tags=` is overridden), so generated clients group operations by domain
  (`api/okr/...`).
"""

from __future__ import annotations

import re
from typing import Any, get_args

from fastapi import FastAPI, routing
from fastapi.openapi.utils import _get_api_route_for_openapi

from service.auth import api as auth
from service.briefs import schemas as briefs
from service.cycles import schemas as cycles
from service.development import schemas as development
from service.evaluations import schemas as evaluations
from service.incentives import schemas as incentives
from service.kit.outbox import EVENT_TYPES
from service.kpi import schemas as kpi
from service.meetings import schemas as meetings
from service.okr import schemas as okr
from service.org import schemas as org
from service.principal import SCOPE_MEANINGS
from service.scoring import schemas as scoring
from service.web import openapi_access
from service.web.openapi_examples import add_examples
from service.web.openapi_webhooks import TAG as WEBHOOKS_TAG
from service.web.openapi_webhooks import declare_webhooks
from service.webhooks import schemas as webhooks

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
    "service.tenants.api": (
        "tenants",
        "The tenant lifecycle: the whole organization exported as JSON Lines, and its deletion.",
    ),
    "service.privacy.api": (
        "privacy",
        "A data subject's rights: the export of everything held about one person, their erasure after the "
        "organization's retention period (docs/data-protection.md).",
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
    "service.development.api": (
        "development",
        "Development plans (goals, training, actions, mentoring) with an owner who follows them, made for a "
        "nomination and linked to a review meeting's improvement plan.",
    ),
    "service.meetings.api": (
        "meetings",
        "The OKR meeting rhythm: stand-ups, weekly team meetings, one-on-ones and quarterly reviews, their "
        "recurrence and occurrences (held with notes and decisions, or cancelled), follow-up actions, and "
        "each person's calendar feed.",
    ),
    "service.webhooks.api": (
        "webhooks",
        "Webhook endpoints (Standard Webhooks signatures) and their deliveries; the messages they receive are "
        "the document's `webhooks`, one per event type.",
    ),
    "service.tasks.api": (
        "tasks",
        "Work waiting for the caller: approvals, reviews, peer feedback, acknowledgements and overdue check-ins.",
    ),
    "service.briefs.api": (
        "briefs",
        "Meeting briefs built from the data: team, one-on-one, quarterly review and interview, as JSON or Markdown.",
    ),
    "service.audit.api": ("audit", "The audit log of every change."),
}
CONTACT = {"name": "perf-service maintainers"}
LICENSE = {"name": "Proprietary", "identifier": "LicenseRef-Proprietary"}
SERVERS = [{"url": "/", "description": "This deployment (the API is served from the root of its host)"}]


# The enums of the document, by their values (in order). Where two aliases have the same
# values, the first one names the component (a check-in's status and an objective's pace).
_ALIASES: list[tuple[str, Any]] = [
    ("EmployeeStatus", org.EmployeeStatus),
    ("Cadence", cycles.Cadence),
    ("ChildCadence", cycles.ChildCadence),
    ("CycleStatus", cycles.CycleStatus),
    ("KpiDirection", kpi.Direction),
    ("KpiAggregation", kpi.Aggregation),
    ("Perspective", kpi.Perspective),
    ("KpiMethod", kpi.Method),
    ("ObjectiveLevel", okr.Level),
    ("ObjectiveType", okr.ObjectiveType),
    ("Visibility", okr.Visibility),
    ("ObjectiveStatus", okr.ObjectiveStatus),
    ("ObjectiveAction", okr.ObjectiveAction),
    ("KeyResultKind", okr.KrKind),
    ("Pace", okr.Pace),
    ("CheckInStatus", okr.CheckInStatus),
    ("EvaluationStatus", evaluations.EvaluationStatus),
    ("EvaluationAction", evaluations.EvaluationAction),
    ("PeerRequestStatus", evaluations.PeerStatus),
    ("ReviewSubjectKind", evaluations.SubjectKind),
    ("DistributionEnforcement", evaluations.DistributionEnforcement),
    ("ImprovementActionStatus", evaluations.ImprovementStatus),
    ("PolicyScopeKind", scoring.ScopeKind),
    ("ScoreStatus", scoring.ScoreStatus),
    ("ScoreJobStatus", scoring.JobStatus),
    ("IncentivePlanKind", incentives.PlanKind),
    ("IncentiveResultStatus", incentives.ResultStatus),
    ("IncentiveResultKind", incentives.ResultKind),
    ("NominationKind", incentives.NominationKind),
    ("BonusBasis", incentives.BonusBasis),
    ("DevelopmentPlanStatus", development.PlanStatus),
    ("DevelopmentItemKind", development.ItemKind),
    ("DevelopmentItemStatus", development.ItemStatus),
    ("MeetingKind", meetings.MeetingKind),
    ("MeetingStatus", meetings.MeetingStatus),
    ("OccurrenceStatus", meetings.OccurrenceStatus),
    ("MeetingActionStatus", meetings.ActionStatus),
    ("DeliveryStatus", webhooks.DeliveryStatus),
    ("ClientScope", auth.Scope),
    ("BriefFormat", briefs.BriefFormat),
    ("BriefReasonCode", briefs.ReasonCode),
]
# Sets written inline (a handler's `Literal` parameter, a field's own `Literal`), named here.
_INLINE: list[tuple[str, tuple[str, ...]]] = [
    ("IncentiveResultAction", ("approve", "finalize", "decline")),
    ("NominationDecision", ("approve", "decline", "finalize")),
    ("CalibrationStatus", ("open", "finalized")),
    ("CalibrationMode", ("advisory", "enforced")),
    ("InterviewStatus", ("planned", "held", "acknowledged")),
    ("BulkRowOutcome", ("created", "updated", "unchanged", "error")),
    ("KeyResultDirection", ("increase", "decrease")),
    ("LintSeverity", ("error", "warning")),
    ("GrantType", ("client_credentials",)),
    ("TeamBriefKind", ("team",)),
    ("OneOnOneBriefKind", ("one_on_one",)),
    ("QuarterlyReviewBriefKind", ("quarterly_review",)),
    ("InterviewBriefKind", ("interview",)),
    ("BriefScopeKind", ("cycle", "objective", "employees")),
]
ENUMS: dict[tuple[Any, ...], str] = dict((values, name) for name, values in _INLINE)
for _name, _alias in _ALIASES:
    ENUMS.setdefault(get_args(_alias), _name)
ENUMS.setdefault(tuple(sorted(EVENT_TYPES)), "EventType")
_ENUM_KEYS = ("enum", "type")
REF = "#/components/schemas/"


def _enum_schema(node: Any) -> bool:
    return (
        isinstance(node, dict)
        and "enum" in node
        and set(node) <= {"enum", "type", "title", "description", "default", "deprecated"}
    )


def _hoist(node: Any, fallback: str | None, schemas: dict[str, Any], where: str) -> Any:
    """`node` with its inline enums (itself, a member of `anyOf`, the `items` of an
    array) replaced by references to named components."""
    if _enum_schema(node):
        values = tuple(node["enum"])
        name = ENUMS.get(values) or fallback
        if name is None:
            raise RuntimeError(f"the enum {list(values)} of {where} has no name in openapi_contract.ENUMS")
        existing = schemas.get(name)
        component = {"type": node.get("type", "string"), "enum": list(values), "title": name}
        if existing is not None and existing.get("enum") != list(values):
            raise RuntimeError(f"{name} names two enums: {existing.get('enum')} and {list(values)} ({where})")
        schemas[name] = component
        kept = {k: v for k, v in node.items() if k not in (*_ENUM_KEYS, "title")}
        return {"$ref": REF + name, **kept}
    if isinstance(node, dict):
        out = dict(node)
        if isinstance(out.get("anyOf"), list):
            out["anyOf"] = [_hoist(m, fallback, schemas, where) for m in out["anyOf"]]
        if isinstance(out.get("items"), dict):
            out["items"] = _hoist(out["items"], fallback, schemas, where)
        return out
    return node


def name_enums(document: dict[str, Any]) -> dict[str, Any]:
    """Every inline enum of a component's property or an operation's parameter becomes a
    named component (see the module's docstring)."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for schema_name in list(schemas):
        properties = schemas[schema_name].get("properties") or {}
        for prop, sub in properties.items():
            fallback = schema_name + "".join(w.title() for w in prop.split("_"))
            properties[prop] = _hoist(sub, fallback, schemas, f"{schema_name}.{prop}")
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            for parameter in operation.get("parameters") or ():
                where = f"{method.upper()} {path} {parameter['name']}"
                parameter["schema"] = _hoist(parameter.get("schema"), None, schemas, where)
            for media in ((operation.get("requestBody") or {}).get("content") or {}).values():
                for prop, sub in (media.get("schema") or {}).get("properties", {}).items():
                    fallback = "".join(w.title() for w in prop.split("_"))  # a form's field: `GrantType`
                    media["schema"]["properties"][prop] = _hoist(sub, fallback, schemas, f"{path} {prop}")
    document["components"]["schemas"] = dict(sorted(schemas.items()))
    return document


HEADER_DOCS: dict[str, dict[str, Any]] = {
    "ETag": {
        "description": "The resource's version as a strong ETag: send it back in `If-Match` to change it",
        "schema": {"type": "string", "example": '"3"'},
    },
    "Link": {
        "description": 'RFC 8288: `<...>; rel="next"`, the next page (the same request with `cursor` set); '
        "absent on the last page",
        "schema": {"type": "string"},
    },
    "Idempotent-Replayed": {
        "description": "`true` when this is the stored answer of an earlier request with the same "
        "`Idempotency-Key` (nothing was done again)",
        "schema": {"type": "string", "enum": ["true"]},
    },
    "X-Request-ID": {
        "description": "The request's id (the caller's, when it sent a valid one): in the logs, traces and "
        "audit events",
        "schema": {"type": "string"},
    },
}
IDEMPOTENCY_KEY: dict[str, Any] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "A key of at most 200 characters: a repeat with the same key and body answers the first "
    "answer again (with `Idempotent-Replayed: true`) instead of doing it twice; the same key with another "
    "body is a 422, and while the first is still running a 409. Keys are kept per caller for a day.",
    "schema": {"type": "string", "maxLength": 200},
}


def _component(schema: dict[str, Any] | None, schemas: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    ref = (schema or {}).get("$ref", "")
    name = ref.rsplit("/", 1)[-1]
    return name, schemas.get(name, {}) if ref else {}


def _is_page(component: dict[str, Any]) -> bool:
    """A list's page (`kit.pagination.PageOut`, named `EmployeePage`...): its items and the
    next cursor, nothing else (the payroll feed's and the feedback's pages say more, and
    send no `Link`)."""
    return set(component.get("properties") or ()) == {"items", "next_cursor"}


def _takes_if_match(operation: dict[str, Any]) -> bool:
    return any(p.get("in") == "header" and p["name"].lower() == "if-match" for p in operation.get("parameters") or ())


def _uses_bearer(operation: dict[str, Any]) -> bool:
    return any("HTTPBearer" in requirement for requirement in operation.get("security") or ())


def declare_headers(document: dict[str, Any]) -> dict[str, Any]:
    """The request and response headers of each operation (see the module's docstring).
    A resource carries an ETag when it can be changed under `If-Match`: its path, or an
    action's under it, has an operation taking that header, and then its reads and writes answer one, and so does
    the POST that creates it (on the parent path, answering the same schema)."""
    schemas = document.get("components", {}).get("schemas", {})
    paths = document.get("paths", {})
    versioned = {path for path, item in paths.items() if any(_takes_if_match(op) for op in item.values())}
    # an action under If-Match (`/objectives/{id}/approve`) versions the resource it acts on
    versioned |= {path.rsplit("/", 1)[0] for path in versioned if path.rsplit("/", 1)[0].endswith("}")}
    created = {
        parent: (item.get("get") or {}).get("responses", {}).get("200", {})
        for path, item in paths.items()
        if path in versioned and (parent := path.rsplit("/", 1)[0]) in paths and path.endswith("}")
    }
    for path, item in paths.items():
        for method, operation in item.items():
            bearer = _uses_bearer(operation)
            if method == "post" and bearer:
                parameters = operation.setdefault("parameters", [])
                if not any(p["name"].lower() == "idempotency-key" for p in parameters):
                    parameters.append(IDEMPOTENCY_KEY)
            for code, response in operation.get("responses", {}).items():
                if not code.startswith("2"):
                    continue
                headers = response.setdefault("headers", {})
                headers["X-Request-ID"] = HEADER_DOCS["X-Request-ID"]
                if method == "post" and bearer:
                    headers["Idempotent-Replayed"] = HEADER_DOCS["Idempotent-Replayed"]
                schema = ((response.get("content") or {}).get("application/json") or {}).get("schema")
                _, component = _component(schema, schemas)
                if _is_page(component):
                    headers["Link"] = HEADER_DOCS["Link"]
                elif schema and path in versioned and method in ("get", "patch", "put", "post"):
                    headers["ETag"] = HEADER_DOCS["ETag"]
                elif schema and method == "post" and code == "201" and path in created:
                    read = ((created[path].get("content") or {}).get("application/json") or {}).get("schema")
                    if read == schema:
                        headers["ETag"] = HEADER_DOCS["ETag"]
    return document


# What a parameter means where its route says nothing of it; by name (`*_id` names follow a rule).
PARAMETERS: dict[tuple[str, str], str] = {
    ("query", "status"): "Only those in this status",
    ("query", "kind"): "Only those of this kind",
    ("query", "level"): "Only those at this level",
    ("query", "perspective"): "Only those of this balanced-scorecard perspective",
    ("query", "rating"): "Only those with this rating (a band label of the scoring policy)",
    ("query", "code"): "Only the one with this code",
    ("query", "external_id"): "Only the one with this id in the HRIS",
    ("query", "nomination"): "Only nominations of this kind",
    ("query", "atomic"): "All or nothing: when any row is refused, nothing is written (a 422 lists every row's errors)",
    ("query", "explain"): "Add each score's explanation (its components, weights and steps)",
    ("query", "since"): "Only those at or after this time (RFC 3339)",
    ("query", "until"): "Only those before this time (RFC 3339)",
    ("query", "updated_since"): "Only those changed at or after this time (RFC 3339): an incremental pull",
    ("query", "measured_from"): "Only measurements on or after this date",
    ("query", "measured_to"): "Only measurements on or before this date",
    ("query", "acknowledged"): "Only those payroll has (true) or has not (false) acknowledged",
    ("query", "actor"): "Only events of this actor (a token's `sub`)",
    ("query", "entity_type"): "Only events about this kind of object (`employee`, `objective`...)",
    ("query", "entity_id"): "Only events about this object",
    ("query", "subject_kind"): "Only meetings about this kind of subject",
    ("query", "subject_id"): "Only meetings about this subject",
    ("query", "version"): "This version (every version is kept); the current one when absent",
    ("path", "action"): "The workflow step to take",
    ("path", "decision"): "The decision on the nomination",
    ("path", "client_pk"): "The integration client's id (the UUID, not its `client_id`)",
    ("path", "measured_at"): "The measurement's date: one measurement per assignment and date",
}


def describe_parameters(document: dict[str, Any]) -> dict[str, Any]:
    """A description for every parameter: the route's own, else `PARAMETERS`, else for an
    `x_id` the object it names (a path's `{x_id}`: that object; a query's: only those
    of it)."""
    for item in document.get("paths", {}).values():
        for operation in item.values():
            for parameter in operation.get("parameters") or ():
                if parameter.get("description"):
                    continue
                where, name = parameter["in"], parameter["name"]
                text = PARAMETERS.get((where, name))
                if text is None and name.endswith("_id"):
                    thing = name[: -len("_id")].replace("_", " ")
                    text = f"The {thing}'s id" if where == "path" else f"Only those of this {thing} (its id)"
                if text is None:
                    raise RuntimeError(f"the parameter {name} ({where}) has no description")
                parameter["description"] = text
    return document


def declare_security(document: dict[str, Any]) -> dict[str, Any]:
    schemes = document.setdefault("components", {}).setdefault("securitySchemes", {})
    schemes["HTTPBearer"] = {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A JWT: a person's, from the organization's OIDC provider (or issued by the service), "
        "or an integration client's from `/oauth/token`",
    }
    schemes["OAuth2"] = {
        "type": "oauth2",
        "description": "Integration clients (HRIS, payroll, KPI feeds) get a token for their scopes with the "
        "client credentials grant; persons never hold scopes.",
        "flows": {"clientCredentials": {"tokenUrl": "/oauth/token", "scopes": dict(SCOPE_MEANINGS)}},
    }
    for item in document.get("paths", {}).values():
        for operation in item.values():
            if "security" not in operation:
                operation["security"] = []  # the probes
    return document


def documented_routes(app: FastAPI) -> list[Any]:
    """The routes of the document (APIRoute-like: `name`, `endpoint`, `methods`,
    `path_format`), as FastAPI walks them, included routers flattened."""
    found = []
    for context in routing.iter_route_contexts(app.routes):
        route = _get_api_route_for_openapi(context)
        if route is not None and route.include_in_schema:
            found.append(route)
    return found


# Pydantic's key for a generic model's schema: `PageOut[EmployeeRead]` -> `PageOut_EmployeeRead_`.
_GENERIC_KEY = re.compile(r"^[A-Za-z0-9]+_[A-Za-z0-9_]+_$")


def _rewrite_refs(node: Any, renamed: dict[str, str]) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(REF) and ref[len(REF) :] in renamed:
            node["$ref"] = REF + renamed[ref[len(REF) :]]
        for value in node.values():
            _rewrite_refs(value, renamed)
    elif isinstance(node, list):
        for value in node:
            _rewrite_refs(value, renamed)
    return node


def name_generics(document: dict[str, Any]) -> dict[str, Any]:
    """A generic model's component takes the model's own name (its `title`, what its
    `model_parametrized_name` says: `EmployeePage`) instead of the key Pydantic derives
    from its origin and arguments (`PageOut_EmployeeRead_`). A name another component
    already has stops the document from being built."""
    schemas = document.get("components", {}).get("schemas", {})
    renamed: dict[str, str] = {}
    for key, schema in schemas.items():
        title = schema.get("title")
        if _GENERIC_KEY.match(key) and isinstance(title, str) and title != key:
            if title in schemas or title in renamed.values():
                raise RuntimeError(f"the component {key} would be named {title}, which another already is")
            renamed[key] = title
    if renamed:
        document["components"]["schemas"] = {renamed.get(k, k): v for k, v in schemas.items()}
        _rewrite_refs(document, renamed)
    return document


def name_operations(app: FastAPI, document: dict[str, Any]) -> dict[str, Any]:
    """Operation ids from the handlers, tags from their domains, the `webhooks`
    (service/web/openapi_webhooks.py), and the top-level `tags`, `servers`,
    `info.contact` and `info.license`."""
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
    declare_webhooks(document)
    used.add(WEBHOOKS_TAG)
    document["tags"] = [{"name": tag, "description": text} for tag, text in TAGS.values() if tag in used]
    name_generics(document)
    name_enums(document)
    declare_headers(document)
    declare_security(document)
    openapi_access.declare_access(document, documented_routes(app))
    describe_parameters(document)
    add_examples(document)
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
