"""Limits: request body size (413), per-client rate limits on heavy endpoints (429 with
Retry-After), and the statement timeout (503 with Retry-After, never 500)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from service.config import get_settings
from service.db import Database
from service.web import problems
from service.web.limits import RULES, RateLimiter, TokenBucket, body_limit, rule_for
from tests.conftest import BACKEND, Tenant, bearer

PROBLEM = "application/problem+json"


def employee(**fields) -> dict:
    return {
        "external_id": f"lim-{uuid.uuid4().hex[:8]}",
        "email": f"{uuid.uuid4().hex[:8]}@example.com",
        "given_name": "Lim",
        "family_name": "It",
        **fields,
    }


# --- body size ------------------------------------------------------------------------------


async def test_a_body_over_the_limit_is_413(tenant: Tenant, monkeypatch) -> None:
    monkeypatch.setattr(get_settings(), "max_body_bytes", 400)
    small = await tenant.client.post("/api/v1/employees", headers=tenant.hr, json=employee())
    assert small.status_code == 201, small.text
    big = await tenant.client.post("/api/v1/employees", headers=tenant.hr, json=employee(given_name="x" * 500))
    assert big.status_code == 413
    assert big.headers["content-type"] == PROBLEM
    body = big.json()
    assert (body["status"], body["max_bytes"]) == (413, 400)
    assert body["type"].endswith("/payload-too-large") and body["instance"] == "/api/v1/employees"


async def test_a_chunked_body_is_counted_as_it_arrives(tenant: Tenant, monkeypatch) -> None:
    monkeypatch.setattr(get_settings(), "max_body_bytes", 400)

    async def chunks(n: int) -> AsyncIterator[bytes]:
        yield b'{"external_id": "chunked", "given_name": "'
        for _ in range(n):
            yield b"y" * 50
        yield b'", "family_name": "Z"}'

    big = await tenant.client.post(
        "/api/v1/employees", headers={**tenant.hr, "content-type": "application/json"}, content=chunks(20)
    )
    assert big.status_code == 413 and big.json()["status"] == 413
    ok = await tenant.client.post(
        "/api/v1/employees", headers={**tenant.hr, "content-type": "application/json"}, content=chunks(2)
    )
    assert ok.status_code != 413


async def test_bulk_paths_have_their_own_limit(tenant: Tenant, monkeypatch) -> None:
    monkeypatch.setattr(get_settings(), "max_body_bytes", 300)
    monkeypatch.setattr(get_settings(), "max_bulk_body_bytes", 4000)
    one = await tenant.client.post("/api/v1/employees/bulk", headers=tenant.hr, json={"rows": [employee()]})
    assert one.status_code == 200, one.text
    many = await tenant.client.post(
        "/api/v1/employees/bulk", headers=tenant.hr, json={"rows": [employee() for _ in range(40)]}
    )
    assert many.status_code == 413 and many.json()["max_bytes"] == 4000
    settings = get_settings()
    assert body_limit("/api/v1/kpi-measurements/bulk", settings) == 4000
    assert body_limit("/api/v1/employees", settings) == 300


# --- rate limits ------------------------------------------------------------------------------


@pytest.fixture
def strict(monkeypatch):
    s = get_settings()
    for rule in ("bulk", "recompute", "payroll"):
        monkeypatch.setattr(s, f"rate_limit_{rule}_per_minute", 6.0)  # one token per 10 s
        monkeypatch.setattr(s, f"rate_limit_{rule}_burst", 2)
    monkeypatch.setattr(s, "rate_limit_enabled", True)
    return s


def assert_429(resp: httpx.Response, limit: str) -> None:
    assert resp.status_code == 429, resp.text
    assert resp.headers["content-type"] == PROBLEM
    assert 1 <= int(resp.headers["retry-after"]) <= 10
    body = resp.json()
    assert (body["status"], body["limit"]) == (429, limit)
    assert body["type"].endswith("/too-many-requests")


async def test_bulk_is_limited_per_principal(tenant: Tenant, other_tenant: Tenant, strict) -> None:
    hr = bearer(tenant.token(["hr"], sub="hr-bulk"))
    url = "/api/v1/employees/bulk"
    for _ in range(2):
        assert (await tenant.client.post(url, headers=hr, json={"rows": [employee()]})).status_code == 200
    assert_429(await tenant.client.post(url, headers=hr, json={"rows": [employee()]}), "bulk")
    # Another principal of the same organization, and the same subject elsewhere, have their own.
    other_hr = bearer(tenant.token(["hr"], sub="hr-bulk-2"))
    assert (await tenant.client.post(url, headers=other_hr, json={"rows": [employee()]})).status_code == 200
    elsewhere = bearer(other_tenant.token(["hr"], sub="hr-bulk"))
    assert (await tenant.client.post(url, headers=elsewhere, json={"rows": [employee()]})).status_code == 200
    # Other bulk endpoints share the bulk bucket; other endpoints are not limited.
    assert_429(await tenant.client.post("/api/v1/kpi-measurements/bulk", headers=hr, json={"rows": []}), "bulk")
    for _ in range(3):
        assert (await tenant.client.get("/api/v1/employees", headers=hr)).status_code == 200


async def test_recompute_is_limited(team: Tenant, strict) -> None:
    cycle = await team.client.post(
        "/api/v1/cycles",
        headers=team.hr,
        json={"name": "Q1", "cadence": "quarterly", "start_date": "2026-01-01", "end_date": "2026-03-31"},
    )
    assert cycle.status_code == 201
    url = f"/api/v1/cycles/{cycle.json()['id']}/scores/recompute"
    hr = bearer(team.token(["hr"], sub="hr-recompute"))
    for _ in range(2):
        assert (await team.client.post(url, headers=hr)).status_code == 200
    assert_429(await team.client.post(url, headers=hr), "recompute")


async def test_payroll_is_limited_for_every_method(tenant: Tenant, strict) -> None:
    client = bearer(tenant.token(scopes=["payroll:read", "payroll:ack"], sub="pc_payroll"))
    url = "/api/v1/payroll/incentive-results"
    statuses = [(await tenant.client.get(url, headers=client)).status_code for _ in range(2)]
    assert 429 not in statuses
    assert_429(await tenant.client.get(url, headers=client), "payroll")
    assert_429(
        await tenant.client.post(f"{url}/{uuid.uuid4()}/ack", headers=client, json={"payroll_reference": "r"}),
        "payroll",
    )


async def test_callers_without_a_valid_token_are_not_counted(tenant: Tenant, strict) -> None:
    url = "/api/v1/employees/bulk"
    for headers in ({}, {"Authorization": "Bearer not-a-jwt"}) * 3:
        assert (await tenant.client.post(url, headers=headers, json={"rows": []})).status_code == 401


async def test_rate_limits_can_be_switched_off(tenant: Tenant, strict, monkeypatch) -> None:
    monkeypatch.setattr(strict, "rate_limit_enabled", False)
    hr = bearer(tenant.token(["hr"], sub="hr-unlimited"))
    for _ in range(4):
        resp = await tenant.client.post("/api/v1/employees/bulk", headers=hr, json={"rows": [employee()]})
        assert resp.status_code == 200


def test_rules_match_the_heavy_paths() -> None:
    assert [r.name for r in RULES] == ["bulk", "recompute", "payroll"]
    assert rule_for("POST", "/api/v1/employees/bulk").name == "bulk"
    assert rule_for("POST", "/api/v1/kpi-measurements/bulk").name == "bulk"
    assert rule_for("GET", "/api/v1/employees/bulk") is None
    assert rule_for("POST", f"/api/v1/cycles/{uuid.uuid4()}/scores/recompute").name == "recompute"
    assert rule_for("GET", f"/api/v1/cycles/{uuid.uuid4()}/scores") is None
    assert rule_for("GET", "/api/v1/payroll/incentive-results").name == "payroll"
    assert rule_for("POST", "/api/v1/payroll/incentive-results/x/ack").name == "payroll"
    assert rule_for("GET", "/api/v1/employees") is None


def test_token_bucket_refills_at_the_configured_rate() -> None:
    bucket = TokenBucket(burst=2, now=0.0)
    rate = 1.0  # a token a second
    assert bucket.take(rate, 2, 0.0) == 0 and bucket.take(rate, 2, 0.0) == 0
    assert bucket.take(rate, 2, 0.25) == pytest.approx(0.75)
    assert bucket.take(rate, 2, 1.0) == 0  # refilled
    assert bucket.take(rate, 2, 100.0) == 0 and bucket.take(rate, 2, 100.0) == 0  # capped at the burst
    assert bucket.take(rate, 2, 100.0) == pytest.approx(1.0)


def test_the_limiter_keeps_a_bounded_number_of_clients(monkeypatch) -> None:
    now = [0.0]
    limiter = RateLimiter(clock=lambda: now[0])
    settings = get_settings()
    monkeypatch.setattr(settings, "rate_limit_max_clients", 3)
    monkeypatch.setattr(settings, "rate_limit_bulk_burst", 1)
    bulk = RULES[0]
    assert limiter.take(bulk, "a", settings) == 0
    assert limiter.take(bulk, "a", settings) > 0
    for client in ("b", "c", "d"):
        assert limiter.take(bulk, client, settings) == 0
    assert len(limiter.buckets) == 3 and ("bulk", "a") not in limiter.buckets
    assert limiter.take(bulk, "a", settings) == 0, "a forgotten client starts with a full bucket"


# --- statement timeout ------------------------------------------------------------------------


class QueryCanceled(Exception):
    sqlstate = "57014"


def slow_app(db: Database | None) -> FastAPI:
    """A test-only app with one route that runs a statement longer than the timeout."""
    app = FastAPI()
    problems.install(app)

    @app.get("/slow")
    async def slow() -> dict[str, str]:
        if db is None:  # SQLite has no statement timeout: raise what asyncpg would
            raise DBAPIError("SELECT pg_sleep(2)", {}, QueryCanceled("canceling statement due to statement timeout"))
        async with db.sessions() as session:
            await session.execute(text("SELECT pg_sleep(2)"))
        return {"status": "finished"}

    @app.get("/fast")
    async def fast() -> dict[str, str]:
        if db is not None:
            async with db.sessions() as session:
                await session.execute(text("SELECT pg_sleep(0.01)"))
        return {"status": "finished"}

    return app


async def test_a_statement_timeout_answers_503_with_retry_after(monkeypatch) -> None:
    settings = get_settings()
    monkeypatch.setattr(settings, "db_statement_timeout_ms", 200)
    monkeypatch.setattr(settings, "db_retry_after_seconds", 7)
    db = Database(os.environ["DATABASE_URL"]) if BACKEND == "postgresql" else None
    try:
        transport = httpx.ASGITransport(app=slow_app(db), raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            resp = await c.get("/slow")
            assert resp.status_code == 503, resp.text
            assert resp.headers["content-type"] == PROBLEM
            assert resp.headers["retry-after"] == "7"
            body = resp.json()
            assert (body["status"], body["reason"]) == (503, "statement-timeout")
            assert body["type"].endswith("/service-unavailable")
            assert (await c.get("/fast")).status_code == 200
    finally:
        if db is not None:
            await db.dispose()


def test_other_database_failures_are_503_too() -> None:
    class Refused(Exception):
        sqlstate = "08006"

    problem = problems.database_problem(DBAPIError("SELECT 1", {}, Refused("connection failure")))
    assert problem.status == 503 and problem.headers == {"Retry-After": "1"}
    assert "reason" not in problem.problem()
    locked = type("LockTimeout", (Exception,), {"sqlstate": "55P03"})
    assert problems.database_problem(DBAPIError("x", {}, locked())).extra == {"reason": "statement-timeout"}
