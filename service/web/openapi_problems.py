"""The error answers of every operation in the OpenAPI document.

FastAPI documents only the success answer and a 422 in its own `HTTPValidationError`
shape, as `application/json`; the service answers every error as RFC 9457
`application/problem+json` (service/web/problems.py). This module rewrites the document once,
when it is first built, so each operation lists the problems it can answer, with the
`Problem` schema, derived from what the operation is:

- operations with a body: 400 when it cannot be parsed at all;
- every operation behind a bearer token: 401 (no or bad token), 403 (visible but not
  allowed), 503 (database unavailable or a statement timeout, with `Retry-After`);
- operations on a resource (a path parameter), filtered by a referenced resource (an `*_id`
  parameter), and every write: 404 (missing, or invisible to the caller);
- writes: 409 (state conflict, duplicate, or an `Idempotency-Key` still in progress) and
  413 (body over the size limit); PATCH, PUT, DELETE and actions on a resource: 412
  (stale `If-Match`);
- operations with parameters or a body, and every POST (`Idempotency-Key` checks): 422
  with `errors: [{"loc", "msg"}]`;
- reads (GET): 406 when `Accept` admits neither JSON nor, for the lists that export, CSV;
- the rate-limited endpoints of service/web/limits.py: 429 with `Retry-After`.

Routes may still declare their own `responses=`; a declaration with content is kept.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from service.web.limits import rule_for

PROBLEM_JSON = "application/problem+json"
WRITES = frozenset({"post", "put", "patch", "delete"})

DESCRIPTIONS = {
    400: "The request body cannot be parsed",
    401: "No bearer token, or an expired or invalid one",
    403: "The caller may see the resource but may not do this",
    404: "No such resource, or one the caller may not see",
    406: "The Accept header admits none of the media types the resource is served in (JSON; CSV where documented)",
    409: "The change conflicts with the resource's state or with existing data, or a request "
    "with the same Idempotency-Key is still in progress",
    412: "If-Match does not match the resource's current ETag",
    413: "The request body is larger than the limit",
    422: "The request is not valid; `errors` names each field",
    429: "Too many requests; `Retry-After` says when to try again",
    503: "The database is unavailable or a statement timed out; `Retry-After` says when to retry",
}
RETRY_AFTER = {"Retry-After": {"description": "seconds to wait before retrying", "schema": {"type": "integer"}}}

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details; some problems add members (e.g. `reason`).",
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {
            "type": "string",
            "title": "Type",
            "description": "A URI naming the kind of problem (`https://perf-service.dev/problems/not-found`): "
            "the member to branch on",
        },
        "title": {
            "type": "string",
            "title": "Title",
            "description": "A short summary of the kind, the same for every problem of a `type` "
            "(in the language `Accept-Language` asks for: `en` or `zh-CN`)",
        },
        "status": {"type": "integer", "title": "Status", "description": "The HTTP status code of the answer"},
        "detail": {
            "type": "string",
            "title": "Detail",
            "description": "What went wrong this time, for a person to read (in the language "
            "`Accept-Language` asks for where catalogued, else English)",
        },
        "instance": {"type": "string", "title": "Instance", "description": "The path of the request that failed"},
        "code": {
            "type": "string",
            "title": "Code",
            "description": "A stable machine name of the problem, where one is defined (`cycle_locked`), "
            "the same in every language",
        },
        "errors": {
            "type": "array",
            "title": "Errors",
            "description": "On a 422: one entry for each field (or bulk row) that is not valid",
            "items": {"$ref": "#/components/schemas/ProblemFieldError"},
        },
    },
    "additionalProperties": True,
}
FIELD_ERROR_SCHEMA: dict[str, Any] = {
    "title": "ProblemFieldError",
    "description": "One invalid field of a request.",
    "type": "object",
    "required": ["loc", "msg"],
    "properties": {
        "loc": {
            "type": "array",
            "title": "Loc",
            "description": "Where the field is: `body`, `query`, `path` or `header`, then the names and list "
            'positions down to it (`["body", "rows", 3, "email"]`)',
            "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
        },
        "msg": {"type": "string", "title": "Msg", "description": "What is wrong with it, for a person to read"},
    },
    "additionalProperties": True,
}
FASTAPI_VALIDATION = ("HTTPValidationError", "ValidationError")


def error_statuses(method: str, path: str, operation: dict[str, Any]) -> set[int]:
    schemes = {name for requirement in operation.get("security") or [] for name in requirement}
    if not schemes:
        return set()
    statuses = {503}
    write = method in WRITES
    on_resource = "{" in path
    if operation.get("parameters") or operation.get("requestBody") or method == "post":
        statuses.add(422)
    if operation.get("requestBody"):
        statuses.add(400)  # a body that cannot be parsed at all (not JSON, not UTF-8)
    if write:
        statuses.add(413)
    if method == "get" and path.startswith("/api/"):
        statuses.add(406)
    if "HTTPBearer" in schemes:
        statuses |= {401, 403}
        refers = any(str(p.get("name", "")).endswith("_id") for p in operation.get("parameters") or [])
        if on_resource or write or refers:
            statuses.add(404)
        if write:
            statuses.add(409)
        if method in ("put", "patch", "delete") or (method == "post" and on_resource):
            statuses.add(412)
        if rule_for(method.upper(), path) is not None:
            statuses.add(429)
    return statuses


def _problem_response(status: int, existing: dict[str, Any] | None) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": (existing or {}).get("description") or DESCRIPTIONS.get(status, "Error"),
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    if status in (429, 503):
        response["headers"] = dict(RETRY_AFTER)
    if status == 422 and existing and existing.get("description") == "Validation Error":
        response["description"] = DESCRIPTIONS[422]
    return response


def _is_fastapi_default(response: dict[str, Any]) -> bool:
    """FastAPI's own 422, or a declaration without content (`responses={400: {}}`)."""
    content = response.get("content") or {}
    if not content:
        return True
    schema = (content.get("application/json") or {}).get("schema") or {}
    return schema.get("$ref", "").rsplit("/", 1)[-1] == "HTTPValidationError"


def document_problems(document: dict[str, Any]) -> dict[str, Any]:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    if "Problem" in schemas:
        return document
    schemas["Problem"] = PROBLEM_SCHEMA
    schemas["ProblemFieldError"] = FIELD_ERROR_SCHEMA
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            wanted = error_statuses(method, path, operation)
            wanted |= {
                int(code)
                for code, r in responses.items()
                if code.isdigit() and int(code) >= 400 and _is_fastapi_default(r)
            }
            for status in sorted(wanted):
                existing = responses.get(str(status))
                if existing is None or _is_fastapi_default(existing):
                    responses[str(status)] = _problem_response(status, existing)
            operation["responses"] = dict(sorted(responses.items()))
    text = repr(document["paths"])
    for name in FASTAPI_VALIDATION:
        if f"#/components/schemas/{name}'" not in text:
            schemas.pop(name, None)
    return document


def install(app: FastAPI) -> None:
    """Builds the document as FastAPI does, then documents the problems once."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_problems(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
