"""`METRICS_PORT`: the real server processes (`serve` and the image's gunicorn with two
workers) answer 404 on the app's `/metrics`, and one listener on the metrics port answers
Prometheus text with every worker's request samples and the outbox lag read at scrape time."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.deploy.test_server_process import free_port, get, request, server


@pytest.fixture(scope="module", params=["uvicorn", "gunicorn"])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, int, Path]]:
    metrics = free_port()
    env = {"METRICS_PORT": str(metrics), "WEB_CONCURRENCY": "2"}
    tmp = tmp_path_factory.mktemp(f"metrics-{request.param}")
    with server(request.param, tmp, env) as app:
        yield app, metrics, tmp / "server.db"


@pytest.fixture
def ports(served: tuple[int, int, Path]) -> tuple[int, int]:
    return served[0], served[1]


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample line of the Prometheus text, 0 when absent."""
    for line in text.splitlines():
        match = re.fullmatch(rf"{name}(?:\{{(.*)\}})? (\S+)", line)
        if match and all(f'{k}="{v}"' in (match.group(1) or "") for k, v in labels.items()):
            return float(match.group(2))
    return 0.0


def test_the_app_no_longer_answers_metrics(ports: tuple[int, int]) -> None:
    app, _ = ports
    status, headers, _ = request(app, get("/metrics"))
    assert status == 404 and headers["content-type"] == "application/problem+json"


def test_the_metrics_port_answers_with_the_apps_samples(ports: tuple[int, int]) -> None:
    app, metrics = ports
    status, _, body = request(metrics, get("/metrics"))
    assert status == 200
    before = sample(body.decode(), "http_requests_total", route="/healthz", status="200")
    for _ in range(6):  # over fresh connections: both gunicorn workers may serve them
        assert request(app, get("/healthz"))[0] == 200
    status, headers, body = request(metrics, get("/metrics"))
    text = body.decode()
    assert status == 200 and headers["content-type"].startswith("text/plain")
    assert sample(text, "http_requests_total", route="/healthz", status="200") == before + 6
    assert sample(text, "outbox_lag_seconds") == 0
    assert sample(text, "metrics_scrape_errors_total", metric="outbox_lag_seconds") == 0


def test_the_outbox_lag_is_read_at_scrape_time(served: tuple[int, int, Path]) -> None:
    """An unpublished event written a year ago, straight into the database the server uses."""
    _, metrics, db = served
    written = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(days=365)
    with contextlib.closing(sqlite3.connect(db)) as conn, conn:
        conn.execute(
            "INSERT INTO outbox_events (org_id, id, event_type, payload, created_at) VALUES (?, ?, 'test', '{}', ?)",
            (uuid.uuid4().hex, uuid.uuid4().hex, written.isoformat(sep=" ")),
        )
    try:
        lag = sample(request(metrics, get("/metrics"))[2].decode(), "outbox_lag_seconds")
        assert 365 * 86400 <= lag < 365 * 86400 + 600
    finally:
        with contextlib.closing(sqlite3.connect(db)) as conn, conn:
            conn.execute("DELETE FROM outbox_events WHERE event_type = 'test'")
    assert sample(request(metrics, get("/metrics"))[2].decode(), "outbox_lag_seconds") == 0


def test_the_metrics_port_serves_nothing_else(ports: tuple[int, int]) -> None:
    _, metrics = ports
    assert request(metrics, get("/healthz"))[0] == 404
    assert request(metrics, get("/api/v1/employees"))[0] == 404


def test_without_the_setting_the_app_answers_metrics(tmp_path: Path) -> None:
    with server("uvicorn", tmp_path) as app:
        status, _, body = request(app, get("/metrics"))
    assert status == 200 and b"http_requests_total" in body
