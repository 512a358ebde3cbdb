"""Exception handlers: every error leaves as RFC 9457 problem+json, never a stack trace."""

from __future__ import annotations

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.errors import (
    PROBLEM_BASE,
    Conflict,
    DomainError,
    PreconditionFailed,
    ServiceUnavailable,
    ValidationFailed,
    validation_errors,
)
from service.kit.i18n import localise_problem
from service.kit.retry import mark_for_retry
from service.web.routing import allowed_methods

log = structlog.get_logger("service.errors")
PROBLEM_JSON = "application/problem+json"


def problem_response(error: DomainError, request: Request | None = None) -> JSONResponse:
    """The error's problem+json, its `title` and `detail` in the request's language."""
    return JSONResponse(
        localise_problem(error.problem(instance=str(request.url.path) if request else None)),
        status_code=error.status,
        media_type=PROBLEM_JSON,
        headers=error.headers or None,
    )


# PostgreSQL's query_canceled (statement_timeout) and lock_not_available (lock_timeout).
TIMEOUT_SQLSTATES = frozenset({"57014", "55P03"})
# Data the database refused as text it cannot store: character_not_in_repertoire (a NUL)
# and untranslatable_character. The request models refuse a NUL first, naming the field;
# this covers any path that reaches the database without one (SCIM, say).
BAD_TEXT_SQLSTATES = frozenset({"22021", "22P05"})


def database_problem(exc: DBAPIError) -> DomainError:
    """A database failure other than a constraint violation is a 503 with Retry-After: a
    statement stopped by the statement timeout says so, anything else is "unavailable".
    Text the database cannot store is the client's mistake: a 422."""
    from service.config import get_settings

    code = getattr(exc.orig, "sqlstate", None)
    if code in BAD_TEXT_SQLSTATES:
        return ValidationFailed("the request contains text the database cannot store (a NUL character?)")
    if isinstance(exc, IntegrityError):
        return Conflict("the change conflicts with existing data")
    if code in TIMEOUT_SQLSTATES:
        retry_after = str(max(get_settings().db_retry_after_seconds, 1))
        return ServiceUnavailable(
            "the database did not finish in time (statement timeout); retry later",
            extra={"reason": "statement-timeout"},
            headers={"Retry-After": retry_after},
        )
    return ServiceUnavailable("the database is unavailable; retry later", headers={"Retry-After": "1"})


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        mark_for_retry(request, exc)  # a ConcurrentChange runs the request again
        return problem_response(exc, request)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return problem_response(
            ValidationFailed("the request is not valid", errors=validation_errors(list(exc.errors()))), request
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        titles = {404: "Not found", 405: "Method not allowed", 401: "Unauthorized"}
        body = {
            "type": PROBLEM_BASE + "http-" + str(exc.status_code),
            "title": titles.get(exc.status_code, "HTTP error"),
            "status": exc.status_code,
            "detail": str(exc.detail),
        }
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:  # every method of the resource, not only the first route's
            allow = allowed_methods(request.app.router.routes, request.scope)
            headers = {**(headers or {}), "Allow": ", ".join(allow)} if allow else headers
        return JSONResponse(
            localise_problem(body), status_code=exc.status_code, media_type=PROBLEM_JSON, headers=headers
        )

    @app.exception_handler(StaleDataError)
    async def _stale(request: Request, exc: StaleDataError) -> JSONResponse:
        return problem_response(PreconditionFailed("the resource was changed concurrently; read it again"), request)

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> JSONResponse:
        log.warning("integrity_error", error=type(exc.orig).__name__)
        return problem_response(Conflict("the change conflicts with existing data"), request)

    @app.exception_handler(PoolTimeout)
    async def _pool_timeout(request: Request, exc: PoolTimeout) -> JSONResponse:
        """Every pooled connection was busy for the pool's timeout: the process is
        saturated, not broken. A 503 the client retries later, never a 500."""
        from service.config import get_settings

        log.warning("database_pool_timeout")
        retry_after = str(max(get_settings().db_retry_after_seconds, 1))
        return problem_response(
            ServiceUnavailable(
                "every database connection of this server is busy; retry later",
                extra={"reason": "pool-timeout"},
                headers={"Retry-After": retry_after},
            ),
            request,
        )

    @app.exception_handler(DBAPIError)
    async def _dbapi(request: Request, exc: DBAPIError) -> JSONResponse:
        log.error("database_error", error=type(exc.orig).__name__, sqlstate=getattr(exc.orig, "sqlstate", None))
        mark_for_retry(request, exc)  # serialization failure, deadlock, SQLite lock: run again
        return problem_response(database_problem(exc), request)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled_error")
        body = {
            "type": PROBLEM_BASE + "internal",
            "title": "Internal server error",
            "status": 500,
            "detail": "an unexpected error occurred; it has been logged",
        }
        return JSONResponse(localise_problem(body), status_code=500, media_type=PROBLEM_JSON)
