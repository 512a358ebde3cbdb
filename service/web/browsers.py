"""What a browser needs to use the API from a page on another origin: CORS
(`CORS_ALLOW_ORIGINS`, `CORS_MAX_AGE_SECONDS`) and gzip (`GZIP_MIN_BYTES`), both Starlette's
middleware. docs/api.md ("Browsers: CORS and compression") says it for clients.

CORS wraps the whole application, Starlette's own error middleware included (`App` in
service/web/app.py): a preflight is answered before the rate limit, the body limit,
authentication or idempotency see it, and every answer a page can get, a 401, 404, 413,
429 or even a 500, reaches it as the problem+json it is rather than as an opaque network
error. Unset, there is no CORS middleware at all: no answer carries a CORS header.

Credentials mode is off: the API authenticates with `Authorization: Bearer`, which a page
sends itself (an allowed request header), never with cookies, so no browser adds anything
ambient to a cross-origin request. That is also why `*` (any origin, alone) is allowed: a
page gets nothing it does not already hold a token for.

Gzip is the outermost of the app's own middleware (inside CORS and Starlette's error
middleware), outside the request id, access log, limits and idempotency. The idempotency
middleware therefore stores the uncompressed answer, and a replay is compressed for
whoever asks for it; a streamed answer (the payroll CSV) is compressed chunk by chunk,
each chunk flushed, so it still streams; an answer that is not compressed keeps its
`Content-Length`. The `ETag` is the resource's version, the same for either coding: the
API answers no conditional GET (no `If-None-Match`, no 304), and `If-Match` compares
versions, weak or strong.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from starlette.middleware.gzip import GZipMiddleware

from service.config import Settings

# Response headers a page may read besides the CORS-safelisted ones (Content-Type, ...).
EXPOSED_HEADERS = (
    "ETag",  # the version to send back in If-Match
    "Location",  # where a created resource lives
    "Retry-After",  # 429, 503 and a concurrent Idempotency-Key's 409
    "X-Request-ID",  # the id of the request in the logs and the audit trail
    "X-Resume-Cursor",  # where a CSV export stopped
    "Idempotent-Replayed",  # this answer is a replay of an earlier POST with the same key
    "Content-Disposition",  # the file name of a CSV export
    "Link",  # rel="next": the next page of a list
    "Content-Language",  # the language of a problem's or the lint's texts (safelisted too; said for clarity)
)
# Request headers a page may send besides the CORS-safelisted ones (Accept, Content-Type
# with a form or text type, ...); Content-Type is listed for application/json.
# Accept-Language is safelisted for simple values only; listed, a preflight allows any value.
ALLOWED_HEADERS = ("Authorization", "Content-Type", "If-Match", "Idempotency-Key", "X-Request-ID", "Accept-Language")
# The methods the routes and SCIM use. A preflight allows GET, HEAD and POST in any case
# (CORS-safelisted methods); the API answers HEAD with 405.
ALLOWED_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
# zlib's default: on a page of 50 employees (22 KB) it is as small as level 9 within 0.1%
# at half the CPU (about 0.24 ms against 0.5 ms); level 1 is 10% larger.
GZIP_LEVEL = 6


def cors_options(settings: Settings) -> dict[str, Any] | None:
    """Starlette's CORSMiddleware options for the configured origins; None when there are
    none (no CORS)."""
    origins = settings.cors_origins
    if not origins:
        return None
    return {
        "allow_origins": origins,
        "allow_methods": ALLOWED_METHODS,
        "allow_headers": ALLOWED_HEADERS,
        "expose_headers": EXPOSED_HEADERS,
        "allow_credentials": False,
        "max_age": settings.cors_max_age_seconds,
    }


def install_gzip(app: FastAPI, settings: Settings) -> None:
    """Gzip answers of `GZIP_MIN_BYTES` or more for clients that accept it (0: never, for a
    proxy in front that compresses). Added last, it is the outermost of the app's middleware."""
    if settings.gzip_min_bytes > 0:
        app.add_middleware(GZipMiddleware, minimum_size=settings.gzip_min_bytes, compresslevel=GZIP_LEVEL)
