"""Browsers: CORS from `CORS_ALLOW_ORIGINS` and gzip from `GZIP_MIN_BYTES`
(service/web/browsers.py), on apps built with the settings changed (as tests/test_routing.py
builds its `stock_app`) and spoken to in process.

CORS: a preflight from an allowed origin is answered with that origin, the methods, the
request headers the API reads and the cache time; a real answer exposes the headers a page
needs; another origin is granted nothing; with the setting unset no answer carries a CORS
header; every error answer (401, 404, 405, 413, 429, 500) carries them. Gzip: answers over the
threshold are compressed when the client asks and only then, decompress to the same
document, and compose with idempotency replays, streamed CSV, SCIM, GraphQL and HEAD. The
setting refuses a typo when the settings are read, and a server given one does not start.
"""

from __future__ import annotations

import asyncio
import csv
import gzip
import io
import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from service.config import Settings, get_settings, parse_origins
from service.web.app import create_app
from service.web.browsers import ALLOWED_HEADERS, EXPOSED_HEADERS
from tests.conftest import Tenant, bearer
from tests.incentives.test_payroll import COLUMNS, seed_finalized

ROOT = Path(__file__).resolve().parents[2]
ORIGIN = "https://app.example.com"
OTHER = "http://localhost:3000"
STRANGER = "https://evil.example.net"
PROBLEM = "application/problem+json"
GZIP = {"Accept-Encoding": "gzip"}
IDENTITY = {"Accept-Encoding": "identity"}


@contextmanager
def settings_changed(**values: Any) -> Iterator[None]:
    settings = get_settings()
    saved = {name: getattr(settings, name) for name in values}
    for name, value in values.items():
        setattr(settings, name, value)
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(settings, name, value)


def build(**values: Any) -> Any:
    with settings_changed(**values):
        return create_app()


@pytest.fixture(scope="module")
def browser_app() -> Any:
    """CORS for two origins (one written as a person might: upper case, default port), a
    preflight cache of 900 s, gzip at the default threshold; plus a route that fails."""
    app = build(cors_allow_origins=f"{OTHER}, HTTPS://App.Example.com:443", cors_max_age_seconds=900)

    @app.get("/test-only/boom", include_in_schema=False)
    async def boom() -> None:
        raise RuntimeError("a bug")

    return app


async def client_of(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)  # a 500 is an answer
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


@pytest.fixture(scope="module")
async def web(browser_app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async for c in client_of(browser_app):
        yield c


async def raw(c: httpx.AsyncClient, method: str, path: str, **kw: Any) -> tuple[httpx.Response, bytes]:
    """The answer and its body as sent, before httpx would decode it."""
    async with c.stream(method, path, **kw) as resp:
        body = b"".join([chunk async for chunk in resp.aiter_raw()])
    return resp, body


def listed(header: str) -> set[str]:
    return {h.strip().lower() for h in header.split(",") if h.strip()}


def granted(resp: httpx.Response, origin: str = ORIGIN) -> None:
    """The answer lets a page of `origin` read it, with the headers it needs."""
    assert resp.headers.get("access-control-allow-origin") == origin, dict(resp.headers)
    assert "access-control-allow-credentials" not in resp.headers
    assert listed(resp.headers["access-control-expose-headers"]) == {h.lower() for h in EXPOSED_HEADERS}
    assert "origin" in listed(resp.headers["vary"])


async def people(tenant: Tenant, count: int) -> None:
    for i in range(count):
        await tenant.add_employee(f"p{i}")


# --- CORS ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("origin", [ORIGIN, OTHER])
async def test_a_preflight_from_an_allowed_origin_is_answered(web: httpx.AsyncClient, origin: str) -> None:
    asked = "authorization, content-type, if-match, idempotency-key, x-request-id"
    for path in ("/api/v1/organization", "/graphql", "/scim/v2/Users/x", "/api/v1/employees/bulk"):
        resp = await web.options(
            path,
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "PATCH",
                "Access-Control-Request-Headers": asked,
            },
        )
        assert resp.status_code == 200, (path, resp.text)
        assert resp.headers["access-control-allow-origin"] == origin
        assert resp.headers["access-control-max-age"] == "900"
        assert {"get", "post", "put", "patch", "delete"} <= listed(resp.headers["access-control-allow-methods"])
        assert {h.lower() for h in ALLOWED_HEADERS} | set(asked.split(", ")) <= listed(
            resp.headers["access-control-allow-headers"]
        )
        assert "access-control-allow-credentials" not in resp.headers
        assert "origin" in listed(resp.headers["vary"])


async def test_a_preflight_from_another_origin_or_for_another_header_is_refused(web: httpx.AsyncClient) -> None:
    refused = await web.options(
        "/api/v1/organization",
        headers={
            "Origin": STRANGER,
            "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "if-match",
        },
    )
    assert refused.status_code == 400 and "access-control-allow-origin" not in refused.headers
    odd_header = await web.options(
        "/api/v1/organization",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "x-sneaky",
        },
    )
    assert odd_header.status_code == 400
    assert "x-sneaky" not in listed(odd_header.headers.get("access-control-allow-headers", ""))


async def test_a_real_answer_exposes_what_a_page_needs(web: httpx.AsyncClient, tenant: Tenant) -> None:
    resp = await web.get("/api/v1/organization", headers={**tenant.admin, "Origin": ORIGIN})
    assert resp.status_code == 200 and resp.json()["id"] == str(tenant.org_id)
    granted(resp)
    assert resp.headers["etag"] == '"1"' and resp.headers["x-request-id"]
    changed = await web.patch(
        "/api/v1/organization",
        json={"name": "Renamed from a page"},
        headers={**tenant.admin, "Origin": ORIGIN, "If-Match": resp.headers["etag"]},
    )
    assert changed.status_code == 200 and changed.json()["name"] == "Renamed from a page"
    granted(changed)
    assert changed.headers["etag"] == '"2"'


async def test_another_origin_is_granted_nothing(web: httpx.AsyncClient, tenant: Tenant) -> None:
    """The server answers (a browser is what withholds the answer from the page), but grants
    the origin nothing. Starlette still lists the exposed headers: they grant nothing alone."""
    resp = await web.get("/api/v1/organization", headers={**tenant.admin, "Origin": STRANGER})
    assert resp.status_code == 200
    assert "access-control-allow-origin" not in resp.headers
    assert "access-control-allow-credentials" not in resp.headers
    assert "origin" in listed(resp.headers["vary"])  # a cache keeps the answers apart


async def test_a_star_allows_every_origin_without_credentials(tenant: Tenant) -> None:
    async for c in client_of(build(cors_allow_origins="*")):
        preflight = await c.options(
            "/api/v1/organization",
            headers={
                "Origin": STRANGER,
                "Access-Control-Request-Method": "PATCH",
                "Access-Control-Request-Headers": "if-match",
            },
        )
        assert preflight.status_code == 200 and preflight.headers["access-control-allow-origin"] == "*"
        resp = await c.get("/api/v1/organization", headers={**tenant.admin, "Origin": STRANGER})
        assert resp.status_code == 200 and resp.headers["access-control-allow-origin"] == "*"
        assert "access-control-allow-credentials" not in resp.headers and "etag" in listed(
            resp.headers["access-control-expose-headers"]
        )


async def test_unset_means_no_cors_header_at_all(client: httpx.AsyncClient, tenant: Tenant) -> None:
    """The suite's app is built with the defaults: no CORS_ALLOW_ORIGINS."""
    assert get_settings().cors_allow_origins is None
    answers = [
        await client.get("/api/v1/organization", headers={**tenant.admin, "Origin": ORIGIN}),
        await client.get("/api/v1/organization", headers={"Origin": ORIGIN}),
        await client.options(
            "/api/v1/organization",
            headers={
                "Origin": ORIGIN,
                "Access-Control-Request-Method": "PATCH",
                "Access-Control-Request-Headers": "if-match",
            },
        ),
    ]
    assert [a.status_code for a in answers] == [200, 401, 405]
    for resp in answers:
        assert not [h for h in resp.headers if h.lower().startswith("access-control-")], dict(resp.headers)


async def test_error_answers_carry_the_cors_headers(
    web: httpx.AsyncClient, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = {"Origin": ORIGIN}
    unauthenticated = await web.get("/api/v1/employees", headers=page)
    unknown_path = await web.get("/api/v1/no-such-thing", headers={**tenant.hr, **page})
    unknown_id = await web.get(f"/api/v1/employees/{uuid.uuid4()}", headers={**tenant.hr, **page})
    wrong_method = await web.put("/api/v1/organization", json={}, headers={**tenant.admin, **page})
    too_large = await web.post(
        "/api/v1/departments", content=b"{" + b" " * 1_100_000 + b"}", headers={**tenant.hr, **page}
    )
    failed = await web.get("/test-only/boom", headers=page)
    settings = get_settings()
    monkeypatch.setattr(settings, "rate_limit_bulk_burst", 1)
    monkeypatch.setattr(settings, "rate_limit_bulk_per_minute", 0.1)
    caller = bearer(tenant.token(["hr"]))
    for _ in range(2):
        limited = await web.post("/api/v1/employees/bulk", json={"rows": []}, headers={**caller, **page})
    answers = [unauthenticated, unknown_path, unknown_id, wrong_method, too_large, limited, failed]
    assert [a.status_code for a in answers] == [401, 404, 404, 405, 413, 429, 500]
    for resp in answers:
        assert resp.headers["content-type"] == PROBLEM, resp.text
        assert resp.json()["status"] == resp.status_code
        granted(resp)
    assert int(limited.headers["retry-after"]) >= 1  # readable by the page: exposed


# --- gzip ----------------------------------------------------------------------------------------


async def test_large_answers_are_gzipped_when_asked_and_only_then(web: httpx.AsyncClient, tenant: Tenant) -> None:
    await people(tenant, 6)
    plain, plain_body = await raw(web, "GET", "/api/v1/employees", headers={**tenant.hr, **IDENTITY})
    assert plain.status_code == 200 and len(plain_body) > 1000
    assert "content-encoding" not in plain.headers and plain.headers["content-length"] == str(len(plain_body))

    packed, packed_body = await raw(web, "GET", "/api/v1/employees", headers={**tenant.hr, **GZIP})
    assert packed.headers["content-encoding"] == "gzip"
    assert packed.headers["content-length"] == str(len(packed_body)) and len(packed_body) < len(plain_body) / 2
    assert "accept-encoding" in listed(packed.headers["vary"])
    assert json.loads(gzip.decompress(packed_body)) == json.loads(plain_body)
    assert len(json.loads(plain_body)["items"]) == 6

    small, small_body = await raw(web, "GET", "/api/v1/employees?limit=1", headers={**tenant.hr, **GZIP})
    assert small.status_code == 200 and len(small_body) < 1000
    assert "content-encoding" not in small.headers and json.loads(small_body)["items"]

    both, both_body = await raw(web, "GET", "/api/v1/employees", headers={**tenant.hr, **GZIP, "Origin": ORIGIN})
    assert both.headers["content-encoding"] == "gzip"
    assert {"accept-encoding", "origin"} <= listed(both.headers["vary"])
    granted(both)
    assert json.loads(gzip.decompress(both_body)) == json.loads(plain_body)


async def test_graphql_and_scim_answers_are_gzipped(web: httpx.AsyncClient, tenant: Tenant) -> None:
    await people(tenant, 10)
    query = {"query": "{ employees(first: 20) { edges { cursor node { id email status } } } }"}
    plain, plain_body = await raw(web, "POST", "/graphql", json=query, headers={**tenant.hr, **IDENTITY})
    packed, packed_body = await raw(web, "POST", "/graphql", json=query, headers={**tenant.hr, **GZIP})
    assert len(plain_body) > 1000 and "content-encoding" not in plain.headers
    assert packed.headers["content-encoding"] == "gzip"
    assert json.loads(gzip.decompress(packed_body)) == json.loads(plain_body)
    assert len(json.loads(plain_body)["data"]["employees"]["edges"]) == 10

    scim = tenant.as_scope("scim")
    plain, plain_body = await raw(web, "GET", "/scim/v2/Schemas", headers={**scim, **IDENTITY})
    packed, packed_body = await raw(web, "GET", "/scim/v2/Schemas", headers={**scim, **GZIP, "Origin": ORIGIN})
    assert plain.status_code == packed.status_code == 200 and len(plain_body) > 1000
    assert (
        packed.headers["content-encoding"] == "gzip" and packed.headers["content-type"] == plain.headers["content-type"]
    )
    assert json.loads(gzip.decompress(packed_body)) == json.loads(plain_body)
    granted(packed)


async def test_an_idempotent_replay_is_right_compressed_or_not(web: httpx.AsyncClient, tenant: Tenant) -> None:
    """The idempotency middleware sits inside gzip: it keeps the answer uncompressed, so
    each replay is compressed for a client that asks, and plain for one that does not."""
    caller = bearer(tenant.token(["hr"]))
    key = {"Idempotency-Key": f"k-{uuid.uuid4()}"}
    rows = [
        {"external_id": f"I{i:03d}", "email": f"i{i}@example.com", "given_name": "Ida", "family_name": "Replay"}
        for i in range(12)
    ]
    headers = {**caller, **key, **GZIP, "Origin": ORIGIN}
    first, first_body = await raw(web, "POST", "/api/v1/employees/bulk", json={"rows": rows}, headers=headers)
    assert first.status_code == 200 and first.headers["content-encoding"] == "gzip"
    document = json.loads(gzip.decompress(first_body))
    assert [r["outcome"] for r in document["results"]] == ["created"] * 12

    again, again_body = await raw(web, "POST", "/api/v1/employees/bulk", json={"rows": rows}, headers=headers)
    assert again.headers["idempotent-replayed"] == "true" and again.headers["content-encoding"] == "gzip"
    assert again.headers["content-length"] == str(len(again_body))
    assert json.loads(gzip.decompress(again_body)) == document
    granted(again)

    plain_headers = {**caller, **key, **IDENTITY}
    plain, plain_body = await raw(web, "POST", "/api/v1/employees/bulk", json={"rows": rows}, headers=plain_headers)
    assert plain.headers["idempotent-replayed"] == "true" and "content-encoding" not in plain.headers
    assert plain.headers["content-length"] == str(len(plain_body)) and json.loads(plain_body) == document


async def asgi_get(app: Any, path: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    """Every ASGI message the app sends for a GET, the client staying until the end."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"test"), *((k.lower().encode(), v.encode()) for k, v in headers.items())],
        "server": ("test", 80),
        "client": ("127.0.0.1", 5000),
    }
    messages: list[dict[str, Any]] = []
    requested = False
    finished = asyncio.Event()

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await finished.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            finished.set()

    await app(scope, receive, send)
    return messages


async def test_a_streamed_csv_is_compressed_chunk_by_chunk(browser_app: Any, tenant: Tenant) -> None:
    await seed_finalized(tenant.org_id, 1500)
    feed = "/api/v1/payroll/incentive-results"
    payroll = {**tenant.as_scope("payroll:read"), "Accept": "text/csv", "Origin": ORIGIN}
    plain = await asgi_get(browser_app, feed, payroll)
    packed = await asgi_get(browser_app, feed, {**payroll, **GZIP})

    head = {k.decode(): v.decode() for k, v in packed[0]["headers"]}
    assert packed[0]["status"] == 200 and head["content-encoding"] == "gzip" and "content-length" not in head
    assert head["x-resume-cursor"] and head["access-control-allow-origin"] == ORIGIN
    plain_chunks = [m["body"] for m in plain if m["type"] == "http.response.body" and m.get("body")]
    chunks = [m["body"] for m in packed if m["type"] == "http.response.body" and m.get("body")]
    assert len(plain_chunks) > 1, "the export streams"
    assert len(chunks) >= len(plain_chunks), "and still streams compressed: a chunk for a chunk, each flushed"
    assert zlib_stream_prefix_decodes(chunks[0]), "the first chunk is readable before the rest arrives"
    text = gzip.decompress(b"".join(chunks)).decode()
    assert text == b"".join(plain_chunks).decode()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == COLUMNS and len(rows) == 1501


def zlib_stream_prefix_decodes(chunk: bytes) -> bool:
    """A flushed gzip chunk decodes on its own into the CSV's header line."""
    import zlib

    decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
    return decoder.decompress(chunk).decode().startswith(",".join(COLUMNS))


async def test_head_is_answered_the_same_with_gzip(web: httpx.AsyncClient, tenant: Tenant) -> None:
    """The API's routes answer HEAD with 405 (their GET is the way to read); the answer is the
    same problem whether or not the client accepts gzip, and carries the CORS headers."""
    for accept in (GZIP, IDENTITY):
        resp = await web.head("/api/v1/employees", headers={**tenant.hr, **accept, "Origin": ORIGIN})
        assert resp.status_code == 405 and set(listed(resp.headers["allow"])) == {"get", "post"}
        assert "content-encoding" not in resp.headers
        granted(resp)


async def test_gzip_min_bytes_zero_turns_compression_off(tenant: Tenant) -> None:
    app = build(gzip_min_bytes=0)
    await people(tenant, 6)
    async for c in client_of(app):
        resp, body = await raw(c, "GET", "/api/v1/employees", headers={**tenant.hr, **GZIP})
        assert resp.status_code == 200 and len(body) > 1000
        assert "content-encoding" not in resp.headers and "vary" not in resp.headers
        assert len(json.loads(body)["items"]) == 6


# --- the setting ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "origins"),
    [
        (None, ()),
        ("", ()),
        ("  ", ()),
        ("*", ("*",)),
        ("https://app.example.com", ("https://app.example.com",)),
        ("HTTPS://App.Example.COM:443, http://localhost:3000", ("https://app.example.com", "http://localhost:3000")),
        ("http://127.0.0.1:80,http://127.0.0.1:8080", ("http://127.0.0.1", "http://127.0.0.1:8080")),
        ("http://[::1]:5173", ("http://[::1]:5173",)),
        ("https://a.example.com, https://a.example.com", ("https://a.example.com",)),
    ],
)
def test_origins_are_read_as_browsers_send_them(value: str | None, origins: tuple[str, ...]) -> None:
    assert parse_origins(value) == origins
    assert Settings(cors_allow_origins=value).cors_origins == origins


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("https://app.example.com/", "no trailing slash"),
        ("https://app.example.com/app", "has a path"),
        ("app.example.com", "does not start with http:// or https://"),
        ("localhost:3000", "does not start with http:// or https://"),
        ("ftp://files.example.com", "does not start with http:// or https://"),
        ("null", "does not start with http:// or https://"),
        ("https://*.example.com", "wildcards are not supported"),
        ("*, https://app.example.com", "must be the only entry"),
        ("https://app.example.com,", "empty entry"),
        ("https://user:secret@app.example.com", "user name or password"),
        ("https://app.example.com:99999", "invalid port"),
        ("https://app example.com", "no valid host name"),
    ],
)
def test_a_typo_is_refused_naming_the_entry(value: str, says: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(cors_allow_origins=value)
    message = str(refused.value)
    assert "CORS_ALLOW_ORIGINS" in message and says in message, message


def test_the_environment_is_checked_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORS_ALLOW_ORIGINS", "http://localhost:3000/")
    with pytest.raises(ValidationError, match="no trailing slash"):
        Settings()
    monkeypatch.setenv("CORS_ALLOW_ORIGINS", "http://localhost:3000, https://app.example.com")
    monkeypatch.setenv("CORS_MAX_AGE_SECONDS", "7200")
    monkeypatch.setenv("GZIP_MIN_BYTES", "0")
    settings = Settings()
    assert settings.cors_origins == ("http://localhost:3000", "https://app.example.com")
    assert (settings.cors_max_age_seconds, settings.gzip_min_bytes) == (7200, 0)
    for name in ("cors_max_age_seconds", "gzip_min_bytes"):
        with pytest.raises(ValidationError, match=name):
            Settings(**{name: -1})


def test_a_server_given_a_typo_does_not_start(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DATA_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/server.db",
        "CORS_ALLOW_ORIGINS": "https://app.example.com/",
    }
    done = subprocess.run(
        [sys.executable, "-m", "service", "serve", "--port", "1"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "CORS_ALLOW_ORIGINS: 'https://app.example.com/' has a path" in done.stderr, done.stderr[-2000:]
