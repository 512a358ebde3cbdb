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

Tracing is off unless the OpenTelemetry SDK's variables (`OTEL_EXPORTER_OTLP_ENDPOINT`,
`OTEL_TRACES_EXPORTER`; or the deprecated `TRACING_ENABLED`) ask for it and the `otel` extra
is installed. Then the maintained instrumentations trace: the ASGI middleware a server span
per request (continuing an incoming `traceparent`), the SQLAlchemy engine tracer a span per
SQL statement, the httpx instrumentation the webhook requests (with `traceparent`). An
outbox event keeps the `traceparent` of the request that wrote it, so the worker's delivery
span joins the request's trace as a child. Jobs open their own spans. While off, none of
this is installed: each hook tests one module global and returns.
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
import weakref
from collections.abc import Iterator, Mapping
from typing import Any, TextIO, cast

import httpx
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

OTLP_ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
# Probes and scrapes are not traced unless OTEL_PYTHON_(ASGI_)EXCLUDED_URLS says otherwise.
DEFAULT_EXCLUDED_URLS = "/healthz$,/readyz$,/metrics$"
ATTRIBUTE_LENGTH_VARIABLES = ("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT")
DEFAULT_ATTRIBUTE_LENGTH = 4096


class Tracing:
    """What is on while tracing is: the tracer provider every instrumentation is given
    (explicitly, so a test's provider works even after another one went global)."""

    def __init__(self, provider: Any) -> None:
        self.provider = provider
        self.tracer = provider.get_tracer("service")


_tracing: Tracing | None = None  # None: tracing is off, and every hook below returns at once
_tracer: Any = None  # the `Tracing.tracer` while on (kept for job spans)
_engines: weakref.WeakSet[Any] = weakref.WeakSet()  # the sync engines of this process
_engine_tracers: list[Any] = []


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def tracing_exporter(settings: Any, environ: Mapping[str, str] | None = None) -> str | None:
    """The span exporter the configuration asks for (`otlp`, `console`), or None when
    tracing is off. The OpenTelemetry SDK's variables decide: `OTEL_SDK_DISABLED=true` or
    `OTEL_TRACES_EXPORTER=none` turn it off; `OTEL_TRACES_EXPORTER` or an OTLP endpoint
    turn it on. `TRACING_ENABLED=true` (deprecated) turns it on too, with
    `TRACING_EXPORTER` when `OTEL_TRACES_EXPORTER` is unset."""
    env = os.environ if environ is None else environ
    if _flag(env.get("OTEL_SDK_DISABLED")):
        return None
    chosen = (env.get("OTEL_TRACES_EXPORTER") or "").split(",")[0].strip().lower()
    if chosen == "none":
        return None
    if chosen:
        return chosen
    if settings.tracing_enabled:
        return str(settings.tracing_exporter).lower()
    if any(env.get(name) for name in OTLP_ENDPOINT_VARIABLES):
        return "otlp"
    return None


def setup_tracing(settings: Any, *, install_global: bool = True) -> bool:
    """Turn tracing on when the configuration asks for it (`tracing_exporter`) and the
    OpenTelemetry SDK and instrumentation packages are importable (the `otel` extra);
    also as the global provider, for libraries that trace on their own."""
    exporter_name = tracing_exporter(settings)
    if exporter_name is None:
        return False
    log = structlog.get_logger("service.tracing")
    try:
        import opentelemetry.instrumentation.asgi  # noqa: F401
        import opentelemetry.instrumentation.httpx  # noqa: F401
        import opentelemetry.instrumentation.sqlalchemy  # noqa: F401
        from opentelemetry import trace
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import SpanLimits
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
    except ImportError as exc:
        log.warning("tracing_unavailable", reason=f"{exc.name} is not installed (the otel extra)")
        return False
    if exporter_name == "console":
        exporter: Any = ConsoleSpanExporter()
    elif exporter_name == "otlp":
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        except ImportError:
            log.warning(
                "tracing_unavailable", reason="the opentelemetry-exporter-otlp-proto-http package is not installed"
            )
            return False
        exporter = OTLPSpanExporter()  # OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT, OTEL_EXPORTER_OTLP_HEADERS
    else:
        log.warning("tracing_unavailable", reason=f"unknown span exporter {exporter_name!r}")
        return False
    # OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win over TRACING_SERVICE_NAME
    name = {} if os.environ.get("OTEL_SERVICE_NAME") else {"service.name": settings.tracing_service_name}
    # A statement of a large bulk write is long: attribute values are cut at 4,096
    # characters unless OTEL_(SPAN_)ATTRIBUTE_VALUE_LENGTH_LIMIT says otherwise.
    limited = any(os.environ.get(v) for v in ATTRIBUTE_LENGTH_VARIABLES)
    limits = SpanLimits() if limited else SpanLimits(max_attribute_length=DEFAULT_ATTRIBUTE_LENGTH)
    provider = new_tracer_provider(resource=Resource.create(name), span_limits=limits)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    if install_global:
        trace.set_tracer_provider(provider)
    enable_tracing(provider)
    log.info("tracing_enabled", exporter=exporter_name)
    return True


def new_tracer_provider(**options: Any) -> Any:
    """An SDK tracer provider that samples as `OTEL_TRACES_SAMPLER` says (default: every
    trace), except that a client span without a parent is never recorded: a statement
    outside any request, job or delivery is the worker or a background loop polling for
    work, which would otherwise make a one-span trace every poll interval."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
    from opentelemetry.trace import SpanKind, get_current_span

    class WithoutOrphanClientSpans(Sampler):
        def __init__(self, inner: Sampler) -> None:
            self.inner = inner

        def should_sample(
            self,
            parent_context: Any,
            trace_id: int,
            name: str,
            kind: Any = None,
            attributes: Any = None,
            links: Any = None,
            trace_state: Any = None,
        ) -> SamplingResult:
            if kind == SpanKind.CLIENT and not get_current_span(parent_context).get_span_context().is_valid:
                return SamplingResult(Decision.DROP)
            return self.inner.should_sample(parent_context, trace_id, name, kind, attributes, links, trace_state)

        def get_description(self) -> str:
            return f"WithoutOrphanClientSpans{{{self.inner.get_description()}}}"

    provider = TracerProvider(**options)
    provider.sampler = WithoutOrphanClientSpans(provider.sampler)  # before any tracer is made
    return provider


def enable_tracing(provider: Any) -> None:
    """Trace with `provider` from now on: requests, SQL statements of every engine of this
    process (and those made later), webhook deliveries."""
    global _tracing, _tracer
    disable_tracing()
    _tracing = Tracing(provider)
    _tracer = _tracing.tracer
    for engine in list(_engines):
        _trace_engine(engine)


def disable_tracing() -> None:
    """Back to no tracing at all (tests): the engines' event listeners are removed."""
    global _tracing, _tracer
    if _engine_tracers:
        from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer

        EngineTracer.remove_all_event_listeners()
        _engine_tracers.clear()
    _tracing = None
    _tracer = None


def tracing() -> Tracing | None:
    return _tracing


def _trace_engine(sync_engine: Any) -> None:
    """SQL spans for one engine, by opentelemetry-instrumentation-sqlalchemy's engine
    tracer: one span per statement at the cursor, on SQLite and PostgreSQL alike (the
    asyncpg instrumentation is not used: under SQLAlchemy it would trace each statement a
    second time)."""
    assert _tracing is not None
    from opentelemetry.instrumentation.sqlalchemy import __version__ as version
    from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
    from opentelemetry.metrics import NoOpMeterProvider
    from opentelemetry.trace import get_tracer

    tracer = get_tracer("opentelemetry.instrumentation.sqlalchemy", version, _tracing.provider)
    usage = NoOpMeterProvider().get_meter("service").create_up_down_counter("db.client.connections.usage")
    _engine_tracers.append(EngineTracer(tracer, sync_engine, usage))


def instrument_httpx(client: Any) -> Any:
    """Client spans and a `traceparent` header on the requests `client` sends, while
    tracing is on (opentelemetry-instrumentation-httpx); the client unchanged otherwise."""
    if _tracing is not None:
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

        hook = _origin_only_async if isinstance(client, httpx.AsyncClient) else _origin_only
        HTTPXClientInstrumentor.instrument_client(client, tracer_provider=_tracing.provider, request_hook=hook)
    return client


# Span attributes that hold a raw URL, path or query, which may carry ids, e-mail addresses
# (a SCIM filter) or a receiver's token (a webhook URL's path or query).
_URL_ATTRIBUTES = ("http.url", "url.full", "http.target", "url.path", "url.query")


def _origin_only(span: Any, request: Any) -> None:
    """An outgoing request's span names the receiver's origin, not its whole URL."""
    url = request.url
    if isinstance(url, tuple):  # (scheme, host, port, target) from the transport
        scheme, host, port = (url[0].decode(), url[1].decode(), url[2])
    else:
        scheme, host, port = url.scheme, url.host, url.port
    origin = f"{scheme}://{host}" + (f":{port}" if port else "")
    for key in ("http.url", "url.full"):
        if key in (getattr(span, "attributes", None) or {}):
            span.set_attribute(key, origin)


async def _origin_only_async(span: Any, request: Any) -> None:
    _origin_only(span, request)


def current_traceparent() -> str | None:
    """The W3C `traceparent` of the current span, to store with work done later (the
    outbox event a request writes); None when tracing is off or no span is recording."""
    if _tracing is None:
        return None
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    carrier: dict[str, str] = {}
    TraceContextTextMapPropagator().inject(carrier)
    return carrier.get("traceparent")


def continued_span(name: str, traceparent: str | None, **attributes: Any) -> contextlib.AbstractContextManager[Any]:
    """A span that is a child of the span `traceparent` names (the request that caused
    the work), or a new trace without one; nothing when tracing is off."""
    if _tracing is None:
        return contextlib.nullcontext()
    from opentelemetry.context import Context
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    parent = TraceContextTextMapPropagator().extract({"traceparent": traceparent}) if traceparent else Context()
    return _tracing.tracer.start_as_current_span(
        name, context=parent, attributes={k: str(v) for k, v in attributes.items()}
    )


def sql_span(sql: str, system: str) -> contextlib.AbstractContextManager[Any]:
    """A client span for a statement run straight on the driver, past SQLAlchemy and so
    past its engine tracer (service/kit/direct_reads.py), with the attributes that
    tracer gives; nothing when tracing is off."""
    if _tracing is None:
        return contextlib.nullcontext()
    from opentelemetry.trace import SpanKind

    verb = sql.split(None, 1)[0] if sql.strip() else system
    return _tracing.tracer.start_as_current_span(
        verb, kind=SpanKind.CLIENT, attributes={"db.system": system, "db.statement": sql}
    )


class TracingMiddleware:
    """While tracing is on, opentelemetry-instrumentation-asgi's middleware: a server span
    per request continuing an incoming `traceparent` (the access log middleware inside it
    names the span by route template). While off, a pass-through."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._traced: ASGIApp | None = None
        self._for: Tracing | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = _tracing
        if state is None or scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self._for is not state or self._traced is None:
            from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

            env = os.environ
            excluded = (
                None
                if env.get("OTEL_PYTHON_ASGI_EXCLUDED_URLS") or env.get("OTEL_PYTHON_EXCLUDED_URLS")
                else DEFAULT_EXCLUDED_URLS
            )
            self._traced = OpenTelemetryMiddleware(
                self.app, excluded_urls=excluded, tracer_provider=state.provider, exclude_spans=["receive", "send"]
            )
            self._for = state
        await self._traced(scope, receive, send)


def _server_span() -> Any:
    """The request's server span, when tracing is on and it is recording."""
    if _tracing is None:
        return None
    from opentelemetry import trace

    span = trace.get_current_span()
    return span if span.is_recording() else None


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
    _engines.add(engine.sync_engine)
    if _tracing is not None:
        _trace_engine(engine.sync_engine)
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


def _name_server_span(span: Any, scope: Scope, status: int) -> None:
    """The server span by route template (never the raw path), with the organization."""
    route = _route_template(scope)
    span.update_name(f"{scope['method']} {route}")
    span.set_attribute("http.request.method", scope["method"])
    span.set_attribute("http.route", route)
    span.set_attribute("http.response.status_code", status)
    recorded = getattr(span, "attributes", None) or {}
    for key in _URL_ATTRIBUTES:  # the route template, never the raw path or query
        if key in recorded:
            span.set_attribute(key, route if key != "url.query" else "")
    org_id = (scope.get("state") or {}).get("org_id")
    if org_id:
        span.set_attribute("perf.org_id", str(org_id))


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

        span = _server_span()

        named = span is None

        async def wrapped(message: Message) -> None:
            nonlocal status, named
            if message["type"] == "http.response.start":
                status = message["status"]
                if not named:  # now: the tracing middleware ends the span with the body
                    _name_server_span(span, scope, status)
                    named = True
            await send(message)

        IN_PROGRESS.inc()
        try:
            await self.app(scope, receive, wrapped)
        finally:
            IN_PROGRESS.dec()
            if not named:  # an unhandled error: no answer yet (the 500 comes from outside)
                _name_server_span(span, scope, status)
            elapsed = time.perf_counter() - start
            route = _route_template(scope)
            REQUESTS.labels(scope["method"], route, str(status)).inc()
            LATENCY.labels(scope["method"], route, str(status)).observe(elapsed)
            state = scope.get("state") or {}
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
