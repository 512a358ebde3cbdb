"""Structured JSON logs, Prometheus metrics and optional OpenTelemetry tracing.

Logs never carry personal data or tokens: a request is logged with its method, route
template (not the raw path, which may hold ids or e-mail addresses in a SCIM filter),
status, duration, request id and organization id; a redaction processor blanks any field
whose name or value looks like a credential or an e-mail address, whoever logged it.

Metrics work in one process (tests, `serve`) and under gunicorn: with
`PROMETHEUS_MULTIPROC_DIR` set, every worker process writes its samples there and
`/metrics` aggregates them (service/web/gunicorn_conf.py wipes the directory at start and
marks dead workers). Values that are cheap to compute at scrape time (the outbox lag) are
computed then, by the process answering the scrape. With `METRICS_PORT` set, the app does
not answer `/metrics`: one listener per pod does, on that port (`serve_metrics`), so the
Service that the ingress uses never exposes it.

Tracing is off unless `TRACING_ENABLED` is true and the OpenTelemetry SDK is importable;
the request middleware then opens a server span per request (continuing an incoming
`traceparent`), and jobs open their own spans.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import re
import socketserver
import sys
import time
from collections.abc import Iterator
from typing import Any, TextIO, cast

import structlog
from asgi_correlation_id import correlation_id
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from sqlalchemy import column, event, select, table
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from structlog.typing import EventDict, Processor, WrappedLogger

REQUESTS = Counter("http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
IN_PROGRESS = Gauge("http_requests_in_progress", "HTTP requests being served", multiprocess_mode="livesum")
POOL_IN_USE = Gauge(
    "db_pool_connections_in_use", "Database connections checked out", ["pool"], multiprocess_mode="livesum"
)
POOL_OPEN = Gauge("db_pool_connections_open", "Database connections open", ["pool"], multiprocess_mode="livesum")
POOL_CAPACITY = Gauge(
    "db_pool_capacity", "Connections the pool may open (size + overflow)", ["pool"], multiprocess_mode="livesum"
)
OUTBOX_LAG = Gauge(
    "outbox_lag_seconds",
    "Age of the oldest unpublished outbox event (0 when none), at scrape time",
    multiprocess_mode="mostrecent",
)
SCRAPE_ERRORS = Counter("metrics_scrape_errors_total", "Scrape-time values that could not be read", ["metric"])
JOB_DURATION = Histogram(
    "job_duration_seconds",
    "Duration of background work by job and outcome",
    ["job", "outcome"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
)

OUTBOX_LAG_TIMEOUT_SECONDS = 2.0


# --- logs ---------------------------------------------------------------------------------

SENSITIVE_KEY = re.compile(r"authorization|token|secret|password|passwd|cookie|api[_-]?key|e-?mail|credential", re.I)
SENSITIVE_VALUE = re.compile(
    r"(?i:bearer\s+\S+)|eyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]*|[^\s@\"'<>,;:]+@[^\s@\"'<>,;:]+\.[A-Za-z]{2,}"
)
REDACTED = "[redacted]"


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return SENSITIVE_VALUE.sub(REDACTED, value)
    if isinstance(value, dict):
        return {k: REDACTED if SENSITIVE_KEY.search(str(k)) else _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    return value


def redact(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """Blank credentials and e-mail addresses, by field name or by value."""
    return {k: REDACTED if SENSITIVE_KEY.search(k) else _scrub(v) for k, v in event_dict.items()}


class _Stderr:
    """Writes to whatever `sys.stderr` is now (so a test's capture sees the lines)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure_logging(level: str = "INFO", json_logs: bool = True) -> None:
    renderer = structlog.processors.JSONRenderer() if json_logs else structlog.dev.ConsoleRenderer()
    shared: list[Processor] = [
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            *shared,
            structlog.processors.format_exc_info,
            redact,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        # structlog asks for a TextIO but only calls write() and flush() (which _Stderr has)
        logger_factory=structlog.PrintLoggerFactory(file=cast(TextIO, _Stderr())),
        cache_logger_on_first_use=True,
    )
    # Libraries logging through the standard library (SQLAlchemy, Alembic, asyncio) come
    # out as the same JSON lines, redacted alike.
    handler = logging.StreamHandler(_Stderr())
    handler.set_name("perf-service")
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                redact,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "perf-service"]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    logging.getLogger("alembic").setLevel(max(logging.WARNING, root.level))  # plugin chatter


# --- tracing ------------------------------------------------------------------------------

_tracer: Any = None  # an OpenTelemetry Tracer once setup_tracing() succeeded


def setup_tracing(settings: Any, *, install_global: bool = True) -> bool:
    """Install an OpenTelemetry tracer provider when enabled and importable (also as the
    global provider, for libraries that trace on their own)."""
    global _tracer
    if not settings.tracing_enabled:
        return False
    log = structlog.get_logger("service.tracing")
    try:
        from opentelemetry import trace
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
    except ImportError:
        log.warning("tracing_unavailable", reason="the opentelemetry-sdk package is not installed")
        return False
    if settings.tracing_exporter == "console":
        exporter: Any = ConsoleSpanExporter()
    else:
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        except ImportError:
            log.warning(
                "tracing_unavailable", reason="the opentelemetry-exporter-otlp-proto-http package is not installed"
            )
            return False
        exporter = OTLPSpanExporter()  # OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_HEADERS
    provider = TracerProvider(resource=Resource.create({"service.name": settings.tracing_service_name}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    if install_global:
        trace.set_tracer_provider(provider)
    _tracer = provider.get_tracer("service")
    log.info("tracing_enabled", exporter=settings.tracing_exporter)
    return True


def _server_span(scope: Scope) -> contextlib.AbstractContextManager[Any]:
    if _tracer is None:
        return contextlib.nullcontext()
    from opentelemetry.propagate import extract
    from opentelemetry.trace import SpanKind

    carrier = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}
    return _tracer.start_as_current_span(scope["method"], context=extract(carrier), kind=SpanKind.SERVER)


def _trace_id(span: Any) -> str | None:
    if span is None:
        return None
    ctx = span.get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else None


@contextlib.contextmanager
def observe_job(job: str, **attributes: Any) -> Iterator[None]:
    """Times a unit of background work into `job_duration_seconds{job, outcome}` and, with
    tracing on, wraps it in a span."""
    span_cm = (
        _tracer.start_as_current_span(job, attributes={k: str(v) for k, v in attributes.items()})
        if _tracer is not None
        else contextlib.nullcontext()
    )
    start = time.perf_counter()
    outcome = "failed"
    with span_cm:
        try:
            yield
            outcome = "succeeded"
        finally:
            JOB_DURATION.labels(job, outcome).observe(time.perf_counter() - start)


# --- database pool ------------------------------------------------------------------------


def instrument_pool(engine: Any, pool: str) -> None:
    """Keeps the pool gauges current through SQLAlchemy's pool events."""
    sync_pool = engine.sync_engine.pool
    size = getattr(sync_pool, "size", lambda: 0)()
    overflow = max(getattr(sync_pool, "_max_overflow", 0), 0)
    POOL_CAPACITY.labels(pool).set(size + overflow)
    in_use, opened = POOL_IN_USE.labels(pool), POOL_OPEN.labels(pool)

    @event.listens_for(engine.sync_engine, "connect")
    def _connect(*_: Any) -> None:
        opened.inc()

    @event.listens_for(engine.sync_engine, "close")
    def _close(*_: Any) -> None:
        opened.dec()

    @event.listens_for(engine.sync_engine, "close_detached")
    def _close_detached(*_: Any) -> None:
        opened.dec()

    @event.listens_for(engine.sync_engine, "checkout")
    def _checkout(*_: Any) -> None:
        in_use.inc()

    @event.listens_for(engine.sync_engine, "checkin")
    def _checkin(*_: Any) -> None:
        in_use.dec()


# --- requests -----------------------------------------------------------------------------


def _route_template(scope: Scope) -> str:
    """The matched route's template; inside a mounted application (SCIM) prefixed with the
    mount path. Never the raw path."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if not path:
        root = scope.get("root_path") or ""
        if root and root != (scope.get("app_root_path") or ""):
            return root + "/*"  # inside a mounted application that names no routes
        return "unmatched"
    if isinstance(route, Mount):
        return path
    return (scope.get("root_path") or "") + path


class AccessLogMiddleware:
    """Counts and times every request by route template and status, logs one line per
    request, and with tracing on wraps it in a server span."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.log = structlog.get_logger("service.access")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def wrapped(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        IN_PROGRESS.inc()
        with _server_span(scope) as span:
            try:
                await self.app(scope, receive, wrapped)
            finally:
                IN_PROGRESS.dec()
                elapsed = time.perf_counter() - start
                route = _route_template(scope)
                REQUESTS.labels(scope["method"], route, str(status)).inc()
                LATENCY.labels(scope["method"], route, str(status)).observe(elapsed)
                state = scope.get("state") or {}
                if span is not None:
                    span.update_name(f"{scope['method']} {route}")
                    span.set_attribute("http.request.method", scope["method"])
                    span.set_attribute("http.route", route)
                    span.set_attribute("http.response.status_code", status)
                    if state.get("org_id"):
                        span.set_attribute("perf.org_id", state["org_id"])
                self.log.info(
                    "request",
                    method=scope["method"],
                    route=route,
                    status=status,
                    duration_ms=round(elapsed * 1000, 2),
                    request_id=correlation_id.get(),
                    org_id=state.get("org_id"),
                    trace_id=_trace_id(span),
                )


# --- /metrics -----------------------------------------------------------------------------


async def update_outbox_lag(engine: AsyncEngine | None = None) -> None:
    """Seconds since the oldest unpublished outbox event was written: one indexed row
    (read through `engine`, by default the process's primary engine)."""
    from service.db import database
    from service.types import UtcDateTime, utcnow

    # The outbox table's two columns this needs, as a table clause (observability sits
    # below the kit that owns the table: tests/test_layers.py).
    outbox = table("outbox_events", column("created_at", UtcDateTime), column("published_at", UtcDateTime))
    stmt = select(outbox.c.created_at).where(outbox.c.published_at.is_(None)).order_by(outbox.c.created_at).limit(1)
    try:
        async with asyncio.timeout(OUTBOX_LAG_TIMEOUT_SECONDS):
            async with (engine or database.engine).connect() as conn:
                oldest = (await conn.execute(stmt)).scalar()
    except Exception:  # a scrape never fails because the database is slow or away
        SCRAPE_ERRORS.labels("outbox_lag_seconds").inc()
        return
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=dt.UTC)
    OUTBOX_LAG.set(max((utcnow() - oldest).total_seconds(), 0.0) if oldest else 0.0)


def _registry() -> CollectorRegistry:
    """What a scrape answers: every process's samples through the multiprocess directory
    under gunicorn, else this process's own registry."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    from prometheus_client import multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry


def render_metrics() -> bytes:
    return generate_latest(_registry())


async def metrics_endpoint(_: Request) -> Response:
    await update_outbox_lag()
    return Response(render_metrics(), media_type=CONTENT_TYPE_LATEST)


# --- the metrics port ---------------------------------------------------------------------


async def _outbox_lag_on_own_connection() -> None:
    """The outbox lag read on a connection of its own, opened for this scrape and closed
    after it: the scrape runs on the metrics server's thread, outside any event loop
    that owns the process's pools (and in gunicorn's master there is no pool at all)."""
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.pool import NullPool

    from service.config import get_settings
    from service.db import engine_options, make_engine

    url = get_settings().effective_database_url
    if url.startswith("sqlite"):
        engine = make_engine(url)
    else:  # PgBouncer-safe connect arguments, no pool
        engine = create_async_engine(url, poolclass=NullPool, connect_args=engine_options()["connect_args"])
    try:
        await update_outbox_lag(engine)
    finally:
        await engine.dispose()


class _MetricsHandler:
    """A WSGI application answering `GET /metrics` (and nothing else: 404)."""

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        if environ.get("PATH_INFO") != "/metrics" or environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
            return [b"not found\n"]
        asyncio.run(_outbox_lag_on_own_connection())
        body = render_metrics()
        start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST), ("Content-Length", str(len(body)))])
        return [body] if environ["REQUEST_METHOD"] == "GET" else []


def serve_metrics(port: int, host: str = "0.0.0.0") -> Any:
    """Serve `/metrics` on `port` from a daemon thread of this process; returns the server
    (its `shutdown()` stops it).

    Exactly one process of a pod binds the port: gunicorn's master (service/web/gunicorn_conf.py,
    `when_ready`), which serves no requests itself, reading every worker's
    samples from the multiprocess directory; or the single `serve` process. A listener per
    gunicorn worker could not share one port.
    """
    import threading
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

    class Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            pass  # scrapes are not access-logged (Prometheus counts its own)

    class Threading(socketserver.ThreadingMixIn, WSGIServer):
        daemon_threads = True

    server = make_server(host, port, _MetricsHandler(), server_class=Threading, handler_class=Quiet)
    threading.Thread(target=server.serve_forever, name="metrics-server", daemon=True).start()
    return server
