"""One hierarchy of domain errors, rendered as RFC 9457 problem+json (REST) and as
masked GraphQL errors. Services raise these; nothing else decides a status code.
"""

from __future__ import annotations

from typing import Any

PROBLEM_BASE = "https://perf-service.dev/problems/"


class DomainError(Exception):
    status = 400
    code = "bad-request"
    title = "Bad request"

    def __init__(self, detail: str | None = None, *, extra: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None) -> None:
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
        body.update(self.extra)
        return body


class Unauthorized(DomainError):
    status, code, title = 401, "unauthorized", "Unauthorized"


class Forbidden(DomainError):
    status, code, title = 403, "forbidden", "Forbidden"


class NotFound(DomainError):
    status, code, title = 404, "not-found", "Not found"


class Conflict(DomainError):
    status, code, title = 409, "conflict", "Conflict"


class PreconditionFailed(DomainError):
    status, code, title = 412, "precondition-failed", "Precondition failed"


class PreconditionRequired(DomainError):
    status, code, title = 428, "precondition-required", "Precondition required"


class PayloadTooLarge(DomainError):
    status, code, title = 413, "payload-too-large", "Payload too large"


class ValidationFailed(DomainError):
    """422 with `errors: [{"loc": [...], "msg": "..."}]`."""

    status, code, title = 422, "validation-failed", "Validation failed"

    def __init__(self, detail: str | None = None, *, errors: list[dict[str, Any]] | None = None,
                 extra: dict[str, Any] | None = None) -> None:
        payload = dict(extra or {})
        payload["errors"] = errors or []
        super().__init__(detail, extra=payload)

    @classmethod
    def field(cls, loc: list[str | int] | str, msg: str) -> ValidationFailed:
        loc_list = [loc] if isinstance(loc, str) else list(loc)
        return cls(msg, errors=[{"loc": ["body", *loc_list], "msg": msg}])


class ServiceUnavailable(DomainError):
    status, code, title = 503, "service-unavailable", "Service unavailable"


class TooManyRequests(DomainError):
    status, code, title = 429, "too-many-requests", "Too many requests"
