"""OpenTelemetry tracing with an in-memory exporter: a request's server span with its SQL
spans as children, the webhook delivery the worker makes afterwards joined to that trace
(a child of the request's span, its HTTP request carrying `traceparent`), an incoming
`traceparent` continued, and nothing at all while tracing is off."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from alembic import command
from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from sqlalchemy import inspect, select, text
from sqlalchemy.ext.asyncio import async_sessionmaker

from service import observability
from service.db import database, make_engine
from service.kit.models import OutboxEvent
from service.migrate import alembic_config
from service.org.models import Organization
from service.types import new_id
from service.webhooks.delivery import Dispatcher
from service.webhooks.models import WebhookDelivery, WebhookDeliveryAttempt, WebhookSubscription
from tests.conftest import Tenant
from tests.webhooks.helpers import all_settled, drain, subscribe
from tests.webhooks.receiver import Receiver

TRACED_TABLES = ("outbox_events", "webhook_deliveries")


@pytest.fixture
def spans() -> Any:
    """Tracing on for the test, into memory."""
    exporter = InMemorySpanExporter()
    provider = observability.new_tracer_provider()  # sampling as setup_tracing's does
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    observability.enable_tracing(provider)
    yield exporter
    observability.disable_tracing()
    provider.shutdown()


def hex_id(value: int, width: int = 32) -> str:
    return format(value, f"0{width}x")


def parent_of(traceparent: str | None) -> tuple[str, str, bool]:
    """The trace id, parent span id and sampled flag a `traceparent` header carries."""
    assert traceparent is not None
    version, trace_id, span_id, flags = traceparent.split("-")
    assert version == "00"
    return trace_id, span_id, bool(int(flags, 16) & 1)


async def traceparents(model: type[OutboxEvent] | type[WebhookDelivery], org_id: uuid.UUID) -> list[str | None]:
    """The `traceparent` column of an organization's outbox events or deliveries."""
    async with database.sessions() as session:
        return list((await session.execute(select(model.traceparent).where(model.org_id == org_id))).scalars())


def is_sql(span: ReadableSpan) -> bool:
    attrs = span.attributes or {}
    return span.kind == SpanKind.CLIENT and ("db.system" in attrs or "db.system.name" in attrs)


def statement(span: ReadableSpan) -> str:
    attrs = span.attributes or {}
    return str(attrs.get("db.statement") or attrs.get("db.query.text") or "")


def new_employee() -> dict[str, Any]:
    key = uuid.uuid4().hex[:8]
    return {"external_id": f"t-{key}", "email": f"{key}@example.com", "given_name": "Trace", "family_name": "Test"}


async def test_a_request_its_sql_and_its_webhook_delivery_are_one_trace(
    hooks: Tenant, receiver: Receiver, engine: Callable[..., Dispatcher], spans: InMemorySpanExporter
) -> None:
    sub = await subscribe(hooks, receiver.url(), ["employee.upserted"])
    spans.clear()

    synced = await hooks.client.post("/api/v1/employees/bulk", headers=hooks.hr, json={"rows": [new_employee()]})
    assert synced.status_code == 200 and synced.json()["created"] == 1, synced.text
    (server,) = [s for s in spans.get_finished_spans() if s.kind == SpanKind.SERVER]
    assert server.name == "POST /api/v1/employees/bulk"
    assert server.attributes is not None and server.attributes["http.response.status_code"] == 200
    trace_id = server.context.trace_id
    request_sql = [s for s in spans.get_finished_spans() if is_sql(s) and s.context.trace_id == trace_id]
    assert request_sql, "the request's statements are traced"
    assert all(s.parent is not None and s.parent.span_id == server.context.span_id for s in request_sql)
    assert any(statement(s).upper().startswith("INSERT INTO EMPLOYEES") for s in request_sql)
    assert any(statement(s).upper().startswith("INSERT INTO OUTBOX_EVENTS") for s in request_sql)
    (stored,) = await traceparents(OutboxEvent, hooks.org_id)
    assert parent_of(stored) == (hex_id(trace_id), hex_id(server.context.span_id, 16), True)

    # later, in the worker: fan-out, claim, the HTTP request, the acknowledgement
    await drain(engine(), all_settled(hooks, sub["id"]))
    (got,) = receiver.requests
    finished = spans.get_finished_spans()
    (delivery,) = [s for s in finished if s.name == "webhook delivery"]
    assert delivery.context.trace_id == trace_id, "the delivery joins the request's trace"
    assert delivery.parent is not None and delivery.parent.span_id == server.context.span_id
    assert delivery.attributes is not None and delivery.attributes["perf.org_id"] == str(hooks.org_id)
    (client,) = [s for s in finished if s.kind == SpanKind.CLIENT and not is_sql(s)]
    assert client.context.trace_id == trace_id
    assert client.parent is not None and client.parent.span_id == delivery.context.span_id
    assert parent_of(got.headers.get("traceparent")) == (hex_id(trace_id), hex_id(client.context.span_id, 16), True)
    acknowledged = [s for s in finished if is_sql(s) and s.parent and s.parent.span_id == delivery.context.span_id]
    assert any(statement(s).upper().startswith("UPDATE WEBHOOK_DELIVERIES") for s in acknowledged)
    # a span names the receiver's origin, not its URL (whose path or query may hold a token)
    assert client.attributes is not None
    assert client.attributes.get("url.full", client.attributes.get("http.url")) == f"http://127.0.0.1:{receiver.port}"
    assert not [s for s in finished if any(receiver.url() in str(v) for v in (s.attributes or {}).values())]


async def test_a_redelivery_joins_the_trace_of_the_request_that_asked_for_it(
    hooks: Tenant, receiver: Receiver, engine: Callable[..., Dispatcher], spans: InMemorySpanExporter
) -> None:
    sub = await subscribe(hooks, receiver.url(), ["employee.upserted"])
    synced = await hooks.client.post("/api/v1/employees/bulk", headers=hooks.hr, json={"rows": [new_employee()]})
    assert synced.status_code == 200, synced.text
    dispatcher = engine()
    await drain(dispatcher, all_settled(hooks, sub["id"]))
    (first,) = [s for s in spans.get_finished_spans() if s.name == "webhook delivery"]
    spans.clear()

    (delivery_id,) = await delivery_ids(hooks.org_id)
    again = await hooks.client.post(
        f"/api/v1/webhooks/{sub['id']}/deliveries/{delivery_id}/redeliver", headers=hooks.admin
    )
    assert again.status_code == 202, again.text
    (server,) = [s for s in spans.get_finished_spans() if s.kind == SpanKind.SERVER]
    await drain(dispatcher, lambda: _received(receiver, 2))
    (second,) = [s for s in spans.get_finished_spans() if s.name == "webhook delivery"]
    assert second.context.trace_id == server.context.trace_id != first.context.trace_id
    assert second.parent is not None and second.parent.span_id == server.context.span_id
    trace_id, _, _ = parent_of(receiver.requests[1].headers.get("traceparent"))
    assert trace_id == hex_id(server.context.trace_id)


async def _received(receiver: Receiver, count: int) -> bool:
    return len(receiver.requests) >= count


async def delivery_ids(org_id: uuid.UUID) -> list[uuid.UUID]:
    async with database.sessions() as session:
        return list(
            (await session.execute(select(WebhookDelivery.id).where(WebhookDelivery.org_id == org_id))).scalars()
        )


async def test_a_server_span_holds_the_route_template_not_the_path_or_query(
    tenant: Tenant, spans: InMemorySpanExporter
) -> None:
    person = f"{uuid.uuid4().hex[:8]}@example.com"
    resp = await tenant.client.get("/api/v1/employees", headers=tenant.hr, params={"q": person})
    assert resp.status_code == 200, resp.text
    (span,) = [s for s in spans.get_finished_spans() if s.kind == SpanKind.SERVER]
    assert span.name == "GET /api/v1/employees"
    attributes = span.attributes or {}
    assert attributes.get("http.target", attributes.get("url.path")) == "/api/v1/employees"
    assert not [k for k, v in attributes.items() if "example.com" in str(v) or "%40" in str(v)], attributes


async def test_an_incoming_traceparent_is_continued(tenant: Tenant, spans: InMemorySpanExporter) -> None:
    trace_id, caller = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    resp = await tenant.client.get(
        f"/api/v1/employees/{uuid.uuid4()}", headers={**tenant.hr, "traceparent": f"00-{trace_id}-{caller}-01"}
    )
    assert resp.status_code == 404
    (span,) = [s for s in spans.get_finished_spans() if s.kind == SpanKind.SERVER]
    assert span.name == "GET /api/v1/employees/{employee_id}"
    assert hex_id(span.context.trace_id) == trace_id
    assert span.parent is not None and hex_id(span.parent.span_id, 16) == caller and span.parent.is_remote
    assert span.attributes is not None
    assert span.attributes["http.route"] == "/api/v1/employees/{employee_id}"
    assert span.attributes["http.response.status_code"] == 404
    assert span.attributes["perf.org_id"] == str(tenant.org_id)
    sql = [s for s in spans.get_finished_spans() if is_sql(s)]
    assert sql and all(s.parent is not None and s.parent.span_id == span.context.span_id for s in sql)
    # the employee read, on PostgreSQL straight on asyncpg (service/kit/direct_reads.py)
    assert any("FROM employees" in statement(s) for s in sql), [statement(s) for s in sql]


async def test_polling_for_work_makes_no_spans(
    hooks: Tenant, engine: Callable[..., Dispatcher], spans: InMemorySpanExporter
) -> None:
    """The worker's rounds (and any statement outside a request, job or delivery) are not
    one-span traces every poll interval."""
    dispatcher = engine()
    for _ in range(3):
        assert await dispatcher.run_once() == 0
    assert spans.get_finished_spans() == ()
    with observability.continued_span("some job", None):  # within a span, statements are traced
        await dispatcher.run_once()
    assert [s for s in spans.get_finished_spans() if is_sql(s)]


async def test_one_server_span_even_with_a_global_provider(
    tenant: Tenant, spans: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """setup_tracing installs its provider globally, which wakes FastAPI's built-in
    telemetry: that stays off, so a request is still one server span, named by route."""
    from opentelemetry import trace

    state = observability.tracing()
    assert state is not None
    monkeypatch.setattr(trace, "_TRACER_PROVIDER", state.provider)
    assert trace.get_tracer_provider() is state.provider
    resp = await tenant.client.get(f"/api/v1/employees/{uuid.uuid4()}", headers=tenant.hr)
    assert resp.status_code == 404
    finished = spans.get_finished_spans()
    (server,) = [s for s in finished if s.kind == SpanKind.SERVER]
    assert server.name == "GET /api/v1/employees/{employee_id}" and server.parent is None
    assert not [s.name for s in finished if s.name.startswith("fastapi.")]


async def test_an_unhandled_error_is_a_named_server_span_without_the_raw_path(
    tenant: Tenant, spans: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    from service.org import service as org_service

    async def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(org_service, "read_employee", broken)
    employee_id = uuid.uuid4()
    with pytest.raises(RuntimeError, match="boom"):  # the test transport re-raises what answered 500
        await tenant.client.get(f"/api/v1/employees/{employee_id}", headers=tenant.hr)
    (span,) = [s for s in spans.get_finished_spans() if s.kind == SpanKind.SERVER]
    assert span.name == "GET /api/v1/employees/{employee_id}"
    assert span.attributes is not None and span.attributes["http.response.status_code"] == 500
    assert span.status.status_code == StatusCode.ERROR
    assert not [k for k, v in span.attributes.items() if str(employee_id) in str(v)], span.attributes


async def test_probes_are_not_traced(tenant: Tenant, spans: InMemorySpanExporter) -> None:
    assert (await tenant.client.get("/healthz")).status_code == 200
    assert not [s for s in spans.get_finished_spans() if s.kind == SpanKind.SERVER]
    await tenant.client.get(f"/api/v1/employees/{uuid.uuid4()}", headers=tenant.hr)
    assert [s for s in spans.get_finished_spans() if s.kind == SpanKind.SERVER]


async def test_off_by_default_nothing_is_traced_or_stored(
    hooks: Tenant, receiver: Receiver, engine: Callable[..., Dispatcher]
) -> None:
    assert observability.tracing() is None
    sub = await subscribe(hooks, receiver.url(), ["employee.upserted"])
    synced = await hooks.client.post("/api/v1/employees/bulk", headers=hooks.hr, json={"rows": [new_employee()]})
    assert synced.status_code == 200 and synced.json()["created"] == 1, synced.text
    dispatcher = engine()
    await drain(dispatcher, all_settled(hooks, sub["id"]))
    (got,) = receiver.requests
    assert "traceparent" not in got.headers
    rows, events = await traceparents(WebhookDelivery, hooks.org_id), await traceparents(OutboxEvent, hooks.org_id)
    assert rows and events and set(rows + events) == {None}
    # no overhead path: no SQL event listeners, no wrapped transport, no span objects
    assert not EngineTracer._remove_event_listener_params
    assert not getattr(dispatcher.client, "_is_instrumented_by_opentelemetry", False)
    assert observability.current_traceparent() is None
    with observability.continued_span("x", None) as span:
        assert span is None


class _Settings:
    def __init__(self, enabled: bool = False, exporter: str = "otlp") -> None:
        self.tracing_enabled = enabled
        self.tracing_exporter = exporter
        self.tracing_service_name = "perf-service-test"


@pytest.mark.parametrize(
    ("enabled", "environ", "expected"),
    [
        (False, {}, None),  # off by default
        (False, {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, "otlp"),
        (False, {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, "otlp"),
        (False, {"OTEL_TRACES_EXPORTER": "console"}, "console"),
        (False, {"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, None),
        (False, {"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, None),
        (True, {}, "console"),  # the deprecated TRACING_ENABLED still works, with TRACING_EXPORTER
        (True, {"OTEL_TRACES_EXPORTER": "otlp"}, "otlp"),
        (True, {"OTEL_SDK_DISABLED": "TRUE"}, None),
    ],
)
def test_the_standard_variables_decide(enabled: bool, environ: dict[str, str], expected: str | None) -> None:
    assert observability.tracing_exporter(_Settings(enabled, "console"), environ) == expected


def test_setup_installs_nothing_unless_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OTEL_SDK_DISABLED", "OTEL_TRACES_EXPORTER", *observability.OTLP_ENDPOINT_VARIABLES):
        monkeypatch.delenv(name, raising=False)
    assert observability.setup_tracing(_Settings()) is False
    assert observability.tracing() is None
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console")
    try:
        assert observability.setup_tracing(_Settings(), install_global=False) is True
        state = observability.tracing()
        assert state is not None and observability._tracer is state.tracer
        span = state.tracer.start_span("long")  # never ended, so never printed
        span.set_attribute("db.statement", "x" * 10_000)
        assert len(span.attributes["db.statement"]) == observability.DEFAULT_ATTRIBUTE_LENGTH
    finally:
        observability.disable_tracing()
    assert observability.tracing() is None


async def test_setup_without_the_instrumentation_packages_runs_untraced(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import = builtins.__import__

    def without_otel(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("opentelemetry"):
            raise ImportError(f"No module named {name!r}", name=name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console")
    monkeypatch.setattr(builtins, "__import__", without_otel)
    assert observability.setup_tracing(_Settings()) is False
    assert observability.tracing() is None


# --- migration 0023 ---------------------------------------------------------------------------


@pytest.fixture
async def scratch_url(tmp_path: Any) -> Any:
    """An empty database of the suite's kind, dropped afterwards."""
    url = os.environ["DATABASE_URL"]
    if not url.startswith("postgresql"):
        yield f"sqlite+aiosqlite:///{tmp_path}/migrations.db"
        return
    import asyncpg

    name = f"perf_trace_{uuid.uuid4().hex[:12]}"
    admin = url.replace("postgresql+asyncpg://", "postgresql://").rsplit("/", 1)[0] + "/postgres"
    conn = await asyncpg.connect(admin)
    await conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.rsplit("/", 1)[0] + "/" + name
    finally:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


async def _migrate(url: str, direction: str, revision: str) -> None:
    config = alembic_config(url)
    step = command.upgrade if direction == "up" else command.downgrade
    await asyncio.to_thread(step, config, revision)  # Alembic's env runs its own event loop


async def _columns(url: str) -> dict[str, int]:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            found = await conn.run_sync(
                lambda c: {t: [col["name"] for col in inspect(c).get_columns(t)] for t in TRACED_TABLES}
            )
            counts = {
                t: (await conn.execute(text(f"SELECT count(*) FROM {t}"))).scalar_one()
                for t in (*TRACED_TABLES, "webhook_delivery_attempts")
            }
    finally:
        await engine.dispose()
    return {**{f"{t}.traceparent": int("traceparent" in cols) for t, cols in found.items()}, **counts}


async def test_migration_0023_adds_and_drops_the_column_and_keeps_every_row(scratch_url: str) -> None:
    await _migrate(scratch_url, "up", "0023")
    org, sub, delivery, event = new_id(), new_id(), new_id(), new_id()
    parent = f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-01"
    engine = make_engine(scratch_url)  # on SQLite with foreign keys on, as migrations run
    try:
        async with async_sessionmaker(engine)() as session, session.begin():
            session.add(Organization(id=org, name="Migrations"))
            await session.flush()
            session.add(
                WebhookSubscription(
                    org_id=org, id=sub, url="https://example.com/h", events=["x"], secret="s", created_by="test"
                )
            )
            session.add(OutboxEvent(org_id=org, id=event, event_type="x", payload={}, traceparent=parent))
            await session.flush()
            session.add(
                WebhookDelivery(
                    org_id=org,
                    id=delivery,
                    subscription_id=sub,
                    event_id=event,
                    event_type="x",
                    body="{}",
                    traceparent=parent,
                )
            )
            await session.flush()
            session.add(WebhookDeliveryAttempt(org_id=org, delivery_id=delivery, subscription_id=sub, attempt=1))
    finally:
        await engine.dispose()
    at_head = {
        "outbox_events.traceparent": 1,
        "webhook_deliveries.traceparent": 1,
        "outbox_events": 1,
        "webhook_deliveries": 1,
        "webhook_delivery_attempts": 1,
    }
    assert await _columns(scratch_url) == at_head

    await _migrate(scratch_url, "down", "0022")
    assert await _columns(scratch_url) == {
        **at_head,
        "outbox_events.traceparent": 0,
        "webhook_deliveries.traceparent": 0,
    }, "the column is gone and no row with it (no cascade through a recreated table)"

    await _migrate(scratch_url, "up", "0023")
    assert await _columns(scratch_url) == at_head
