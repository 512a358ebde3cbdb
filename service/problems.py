"""Exception handlers: every error leaves as RFC 9457 problem+json, never a stack trace."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.errors import (
    PROBLEM_BASE,
    Conflict,
    DomainError,
    PreconditionFailed,
    ServiceUnavailable,
    ValidationFailed,
)

log = structlog.get_logger("service.errors")
PROBLEM_JSON = "application/problem+json"


def problem_response(error: DomainError, request: Request | None = None) -> JSONResponse:
    return JSONResponse(
        error.problem(instance=str(request.url.path) if request else None),
        status_code=error.status,
        media_type=PROBLEM_JSON,
        headers=error.headers or None,
    )


def _clean_loc(loc: tuple[Any, ...] | list[Any]) -> list[Any]:
    return [p for p in loc if not (isinstance(p, str) and p.startswith("function-"))]


def validation_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"loc": _clean_loc(e.get("loc", ())), "msg": str(e.get("msg", "invalid"))}
            for e in errors]


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        return problem_response(exc, request)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return problem_response(
            ValidationFailed("the request is not valid", errors=validation_errors(list(exc.errors()))),
            request)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        titles = {404: "Not found", 405: "Method not allowed", 401: "Unauthorized"}
        body = {"type": PROBLEM_BASE + "http-" + str(exc.status_code),
                "title": titles.get(exc.status_code, "HTTP error"),
                "status": exc.status_code, "detail": str(exc.detail)}
        return JSONResponse(body, status_code=exc.status_code, media_type=PROBLEM_JSON,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(StaleDataError)
    async def _stale(request: Request, exc: StaleDataError) -> JSONResponse:
        return problem_response(
            PreconditionFailed("the resource was changed concurrently; read it again"), request)

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> JSONResponse:
        log.warning("integrity_error", error=type(exc.orig).__name__)
        return problem_response(Conflict("the change conflicts with existing data"), request)

    @app.exception_handler(DBAPIError)
    async def _dbapi(request: Request, exc: DBAPIError) -> JSONResponse:
        log.error("database_error", error=type(exc.orig).__name__)
        return problem_response(
            ServiceUnavailable("the database is unavailable; retry later",
                               headers={"Retry-After": "1"}), request)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled_error")
        body = {"type": PROBLEM_BASE + "internal", "title": "Internal server error",
                "status": 500, "detail": "an unexpected error occurred; it has been logged"}
        return JSONResponse(body, status_code=500, media_type=PROBLEM_JSON)
