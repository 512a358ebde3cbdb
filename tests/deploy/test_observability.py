"""Metrics at /metrics (requests by route template and status, pool gauges, outbox lag,
job durations), JSON request logs without tokens or personal data (tracing: test_tracing.py)."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update

from service.config import get_settings
from service.db import database
from service.kit.models import OutboxEvent
from service.observability import configure_logging, observe_job, redact
from service.org.events import EmployeeUpserted
from service.types import new_id, utcnow
from service.web.app import create_app
from tests.conftest import Tenant, bearer
from tests.webhooks.helpers import all_settled, drain, emit, subscribe


async def scrape(client: httpx.AsyncClient) -> dict[str, list[Any]]:
    resp = await client.get("/metrics")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain")
    samples: dict[str, list[Any]] = {}
    for family in text_string_to_metric_families(resp.text):
        for s in family.samples:
            samples.setdefault(s.name, []).append(s)
    return samples


def value(samples: dict[str, list[Any]], name: str, **labels: str) -> float:
    found = [s.value for s in samples.get(name, []) if all(s.labels.get(k) == v for k, v in labels.items())]
    assert found, f"{name}{labels} not in /metrics"
    return sum(found)


def counted(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_request_metrics_by_route_template_and_status(tenant: Tenant) -> None:
    c = tenant.client
    before = await scrape(c)
    ok = next(
        (
            s.value
            for s in before.get("http_requests_total", [])
            if s.labels == {"method": "GET", "route": "/api/v1/employees/{employee_id}", "status": "404"}
        ),
        0.0,
    )
    for _ in range(2):
        assert (await c.get(f"/api/v1/employees/{uuid.uuid4()}", headers=tenant.hr)).status_code == 404
    assert (await c.get("/api/v1/employees", headers=tenant.hr)).status_code == 200
    samples = await scrape(c)
    route = "/api/v1/employees/{employee_id}"
    assert value(samples, "http_requests_total", method="GET", route=route, status="404") == ok + 2
    assert value(samples, "http_request_duration_seconds_count", method="GET", route=route, status="404") >= 2
    assert value(samples, "http_requests_total", method="GET", route="/api/v1/employees", status="200") >= 1
    names = {s.labels.get("route") for s in samples["http_requests_total"]}
    assert not [n for n in names if n and re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-", n)], (
        "labels are templates, never raw paths with ids"
    )
    assert value(samples, "http_requests_in_progress") >= 1  # the scrape itself


async def test_pool_gauges(tenant: Tenant) -> None:
    assert (await tenant.client.get("/api/v1/departments", headers=tenant.hr)).status_code == 200
    samples = await scrape(tenant.client)
    assert value(samples, "db_pool_connections_open", pool="primary") >= 1
    capacity = value(samples, "db_pool_capacity", pool="primary")
    pool = database.engine.sync_engine.pool
    assert capacity == pool.size() + max(pool._max_overflow, 0)
    assert 0 <= value(samples, "db_pool_connections_in_use", pool="primary") <= capacity
    assert value(samples, "db_pool_connections_in_use", pool="primary") == pool.checkedout()


async def test_outbox_lag_is_the_age_of_the_oldest_unpublished_event(tenant: Tenant) -> None:
    event_id = new_id()
    old = utcnow() - dt.timedelta(days=400)  # older than anything another test leaves behind
    async with database.sessions() as session:
        session.add(
            OutboxEvent(
                org_id=tenant.org_id,
                id=event_id,
                event_type="employee.upserted",
                payload=EmployeeUpserted(employee_ids=[], created=0, updated=0).dump(),
                created_at=old,
            )
        )
        await session.commit()
    try:
        lag = value(await scrape(tenant.client), "outbox_lag_seconds")
        assert 400 * 86400 <= lag < 400 * 86400 + 600
    finally:
        async with database.sessions() as session:
            await session.execute(
                update(OutboxEvent)
                .where(OutboxEvent.org_id == tenant.org_id, OutboxEvent.id == event_id)
                .values(published_at=utcnow())
            )
            await session.commit()
    assert value(await scrape(tenant.client), "outbox_lag_seconds") < 399 * 86400


async def test_score_recompute_duration(team: Tenant) -> None:
    resp = await team.client.post(
        "/api/v1/cycles",
        headers=team.hr,
        json={"name": "Q1", "cadence": "quarterly", "start_date": "2026-01-01", "end_date": "2026-03-31"},
    )
    assert resp.status_code == 201, resp.text
    before = counted("job_duration_seconds_count", job="score_recompute", outcome="succeeded")
    job = await team.client.post(f"/api/v1/cycles/{resp.json()['id']}/scores/recompute", headers=team.hr)
    assert job.status_code == 200 and job.json()["status"] == "succeeded", job.text
    assert counted("job_duration_seconds_count", job="score_recompute", outcome="succeeded") == before + 1
    samples = await scrape(team.client)
    assert value(samples, "job_duration_seconds_count", job="score_recompute", outcome="succeeded") >= 1


async def test_webhook_delivery_duration(hooks, receiver, engine) -> None:
    before = counted("job_duration_seconds_count", job="webhook_delivery", outcome="succeeded")
    sub = await subscribe(hooks, receiver.url(), events=["employee.upserted"])
    await emit(hooks.org_id, "employee.upserted")
    await drain(engine(), all_settled(hooks, sub["id"]))
    assert counted("job_duration_seconds_count", job="webhook_delivery", outcome="succeeded") == before + 1
    samples = await scrape(hooks.client)
    assert value(samples, "job_duration_seconds_count", job="webhook_delivery", outcome="succeeded") >= 1


def test_a_failing_job_is_counted_as_failed() -> None:
    before = counted("job_duration_seconds_count", job="test_job", outcome="failed")
    with pytest.raises(RuntimeError), observe_job("test_job"):
        raise RuntimeError("boom")
    assert counted("job_duration_seconds_count", job="test_job", outcome="failed") == before + 1
    assert counted("job_duration_seconds_count", job="test_job", outcome="succeeded") == 0


# --- logs -------------------------------------------------------------------------------------


@pytest.fixture
async def info_client(monkeypatch) -> Any:
    """A fresh app logging at INFO (the suite runs at WARNING); restored afterwards."""
    settings = get_settings()
    level = settings.log_level
    monkeypatch.setattr(settings, "log_level", "INFO")
    app = create_app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        yield c
    configure_logging(level, settings.log_json)


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


async def test_request_logs_carry_request_and_organization_but_no_token_or_email(
    tenant: Tenant, info_client: httpx.AsyncClient, capsys
) -> None:
    token = tenant.token(["hr"], sub=f"hr.person.{uuid.uuid4().hex[:6]}@corp.example")
    email = f"private.person.{uuid.uuid4().hex[:8]}@example.com"
    request_id = uuid.uuid4().hex
    capsys.readouterr()
    created = await info_client.post(
        "/api/v1/employees",
        headers={**bearer(token), "X-Request-ID": request_id},
        json={
            "external_id": f"x-{uuid.uuid4().hex[:6]}",
            "email": email,
            "given_name": "Pat",
            "family_name": "Private",
        },
    )
    assert created.status_code == 201, created.text
    employee_id = created.json()["id"]
    bad = await info_client.post(
        "/api/v1/employees", headers=bearer(token), json={"external_id": 5, "email": email, "given_name": ["x"]}
    )
    assert bad.status_code == 422
    refused = await info_client.get(
        f"/api/v1/employees/{employee_id}?email={email}", headers={"Authorization": f"Bearer {token}x"}
    )
    # refused either way: the unknown query parameter (422) or the forged token (401)
    assert refused.status_code in (401, 422)
    out = capsys.readouterr()
    text = out.err + out.out
    lines = json_lines(out.err)
    requests = [line for line in lines if line.get("event") == "request"]
    assert len(requests) == 3, lines
    first = next(line for line in requests if line["request_id"] == request_id)
    assert first["org_id"] == str(tenant.org_id)
    assert (first["method"], first["route"], first["status"]) == ("POST", "/api/v1/employees", 201)
    assert requests[-1]["route"] == "/api/v1/employees/{employee_id}" and requests[-1]["status"] == refused.status_code
    for secret in (token, token.split(".")[1], email, email.split("@")[0], "corp.example", employee_id):
        assert secret not in text, f"{secret[:12]}... leaked into the logs"


def test_redaction_by_field_name_and_by_value() -> None:
    jwt_like = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJlLXg"
    out = redact(
        None,
        "info",
        {
            "event": "x",
            "email": "a@b.co",
            "Authorization": "Bearer abc",
            "client_secret": "s",
            "detail": f"user a.person@example.org sent {jwt_like} and Bearer zzz",
            "nested": {"password": "p", "ok": "fine"},
            "items": ["x@y.io", 3],
        },
    )
    assert out["email"] == out["Authorization"] == out["client_secret"] == "[redacted]"
    assert "a.person@example.org" not in out["detail"] and jwt_like not in out["detail"]
    assert "zzz" not in out["detail"] and out["detail"].startswith("user [redacted]")
    assert out["nested"] == {"password": "[redacted]", "ok": "fine"}
    assert out["items"] == ["[redacted]", 3]
    assert out["event"] == "x"


# --- tracing: tests/deploy/test_tracing.py -----------------------------------------------------


async def test_graphql_logs_unexpected_errors_once_with_the_traceback_and_answers_quietly(
    tenant: Tenant, info_client: httpx.AsyncClient, capsys, monkeypatch
) -> None:
    """A GraphQL refusal (a 404 here) is an answer, not an incident: nothing at ERROR.
    An unexpected error is masked for the client and logged once, with its traceback."""
    from service.org import service as org_service

    capsys.readouterr()
    missing = await info_client.post(
        "/graphql",
        headers=tenant.hr,
        json={"query": "query($id: ID!) { employee(id: $id) { id } }", "variables": {"id": str(uuid.uuid4())}},
    )
    assert missing.json()["errors"][0]["extensions"]["status"] == 404
    quiet = json_lines(capsys.readouterr().err)
    assert not [line for line in quiet if line.get("level") == "error"], quiet

    async def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("boom in a resolver")

    monkeypatch.setattr(org_service, "get_organization", broken)
    masked = await info_client.post("/graphql", headers=tenant.hr, json={"query": "{ organization { id } }"})
    (error,) = masked.json()["errors"]
    assert error["message"] == "Internal server error" and "boom" not in masked.text
    errors = [line for line in json_lines(capsys.readouterr().err) if line.get("level") == "error"]
    assert [e["event"] for e in errors] == ["graphql_unhandled"]
    assert "boom in a resolver" in errors[0]["exception"]  # the traceback, for the operator
