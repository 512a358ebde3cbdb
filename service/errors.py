"""One hierarchy of domain errors, rendered as RFC 9457 problem+json (REST) and as
masked GraphQL errors. Services raise these; nothing else decides a status code.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

PROBLEM_BASE = "https://perf-service.dev/problems/"
RESERVED_MEMBERS = frozenset({"type", "title", "status", "detail", "instance", "code"})


class DomainError(Exception):
    status = 400
    code = "bad-request"
    title = "Bad request"
    # A stable machine name added to the problem as `code` (API.md), where one is defined.
    problem_code: str | None = None

    def __init__(
        self, detail: str | None = None, *, extra: dict[str, Any] | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra or {}
        self.headers = headers or {}

    def problem(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": PROBLEM_BASE + self.code,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        if self.problem_code:
            body["code"] = self.problem_code
        # Extra members never overwrite the problem's own (API.md conventions).
        body.update({k: v for k, v in self.extra.items() if k not in RESERVED_MEMBERS})
        return body


class Unauthorized(DomainError):
    status, code, title = 401, "unauthorized", "Unauthorized"


class Forbidden(DomainError):
    status, code, title = 403, "forbidden", "Forbidden"


class NotFound(DomainError):
    status, code, title = 404, "not-found", "Not found"


class NotAcceptable(DomainError):
    """The `Accept` header admits none of the media types the resource is served in."""

    status, code, title = 406, "not-acceptable", "Not acceptable"


class Conflict(DomainError):
    status, code, title = 409, "conflict", "Conflict"


class CycleLocked(Conflict):
    """A write that would change a scoring input of a period whose results are finalized
    (the cycle, or one of its ancestors, is closed, or the employee's score of record
    exists there). Only an amendment changes an official result."""

    code, title, problem_code = "cycle-locked", "Cycle locked", "cycle_locked"


class PreconditionFailed(DomainError):
    status, code, title = 412, "precondition-failed", "Precondition failed"


class PreconditionRequired(DomainError):
    status, code, title = 428, "precondition-required", "Precondition required"


class PayloadTooLarge(DomainError):
    status, code, title = 413, "payload-too-large", "Payload too large"


class ValidationFailed(DomainError):
    """422 with `errors: [{"loc": [...], "msg": "..."}]`."""

    status, code, title = 422, "validation-failed", "Validation failed"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: list[dict[str, Any]] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        payload = dict(extra or {})
        payload["errors"] = errors or []
        super().__init__(detail, extra=payload)

    @classmethod
    def field(cls, loc: list[str | int] | str, msg: str) -> ValidationFailed:
        loc_list = [loc] if isinstance(loc, str) else list(loc)
        return cls(msg, errors=[{"loc": ["body", *loc_list], "msg": msg}])


def http_problem(status: int, detail: str) -> DomainError:
    """A problem of any HTTP status, for refusals that come from a library (a status
    line and a reason) rather than from a domain rule."""
    import http

    error = DomainError(detail)
    error.status = status
    error.code = {400: "bad-request", 404: "not-found", 405: "method-not-allowed", 415: "unsupported-media-type"}.get(
        status, f"http-{status}"
    )
    error.title = http.HTTPStatus(status).phrase if status in http.HTTPStatus._value2member_map_ else "Error"
    return error


class ServiceUnavailable(DomainError):
    status, code, title = 503, "service-unavailable", "Service unavailable"


class TooManyRequests(DomainError):
    status, code, title = 429, "too-many-requests", "Too many requests"


def _clean_loc(loc: tuple[Any, ...] | list[Any]) -> list[Any]:
    return [p for p in loc if not (isinstance(p, str) and p.startswith("function-"))]


def validation_errors(errors: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Pydantic's `ErrorDetails` (or FastAPI's request errors) as `{loc, msg}` entries,
    the `errors` of a 422 problem (REST) or of a GraphQL input error."""
    return [{"loc": _clean_loc(e.get("loc", ())), "msg": str(e.get("msg", "invalid"))} for e in errors]
