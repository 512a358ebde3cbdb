"""A real browser calls the real server: headless Chromium (Debian's, tests/browser.py)
loads a page from one origin that uses the API, served by `python -m service serve`
(uvicorn) on another.

Two servers run on free loopback ports over the suite's own database (`DATABASE_URL`, the
SQLite file or the throwaway PostgreSQL database, and `JWT_SECRET`, inherited from
tests/conftest.py); each test has its own organization, and in-process webhook delivery is
off so the servers send no other test's webhooks. One allows the page's origin in
`CORS_ALLOW_ORIGINS`, the other only an origin that is not the page's. A tiny
`http.server` in a thread serves the page on a third port.

The page calls the API with a bearer token: a list of employees (large enough to come
gzipped), a GraphQL query, a read of the organization whose `ETag` it sends back in a
PATCH with `If-Match`, a stale `If-Match` (a 412 the page can read), and a POST with an
`Idempotency-Key` sent twice (the second answer says it is a replay). Every one of them is
preflighted (`Authorization` is not a CORS-safelisted header). It writes what it got into
the DOM. Against the first server the DOM holds the API's answers; against the second,
the same page holds only fetch errors and nothing changed: CORS is what made it work.

How Chromium runs: `--headless --dump-dom --virtual-time-budget=20000`. The page's
scripts run on virtual time, which stands still while a network request is pending, so
every fetch has finished (or failed) when the budget is spent and the DOM is printed,
however slow the machine; no DevTools connection, no polling, no sleeps. The page says
`"done": true` last, and the test checks it.

Chromium is installed with apt-get when absent (as tests/pgbouncer.py installs PgBouncer).
When it cannot be, these tests are skipped with a loud banner, and with `CI=true` they
fail instead. The plain-HTTP checks at the end need no browser.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gzip
import html
import http.server
import json
import os
import re
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import browser
from tests.conftest import Tenant, bearer
from tests.deploy.test_server_process import free_port, request, wait_ready
from tests.required import found_or_skip

ROOT = Path(__file__).resolve().parents[2]
EMPLOYEES = 6  # a list over GZIP_MIN_BYTES: the browser reads it gzipped
FETCH_FAILED = "TypeError: Failed to fetch"


@pytest.fixture(scope="module")
def chromium(request: pytest.FixtureRequest) -> str:
    exe, why = browser.ensure_installed()
    return found_or_skip(request.config, exe, why, "Chromium", "the browser tests are")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A static web site on its own origin: (its origin, the directory it serves)."""
    root = tmp_path_factory.mktemp("site")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *_: Any) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, name="test-site", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", root
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


@contextlib.contextmanager
def api_server(origins: str) -> Iterator[str]:
    """`python -m service serve` on a free port over the suite's database; its base URL."""
    port = free_port()
    env = {
        **os.environ,  # DATABASE_URL, JWT_SECRET and DATA_DIR of tests/conftest.py
        "CORS_ALLOW_ORIGINS": origins,
        "WEBHOOK_INPROCESS": "false",
        "LOG_LEVEL": "WARNING",
    }
    cmd = [sys.executable, "-m", "service", "serve", "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_ready(port, proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="module")
def allowing(site: tuple[str, Path]) -> Iterator[str]:
    """A server whose CORS_ALLOW_ORIGINS holds the site's origin (and another)."""
    with api_server(f"https://app.example.com, {site[0]}") as url:
        yield url


@pytest.fixture(scope="module")
def refusing(site: tuple[str, Path]) -> Iterator[str]:
    """A server whose CORS_ALLOW_ORIGINS holds an origin, but not the site's."""
    with api_server(f"http://127.0.0.1:{free_port()}") as url:
        yield url


PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>perf-service from a browser</title></head>
<body><pre id="result">not run</pre>
<script>
const API = __API__;
const AUTH = {"Authorization": "Bearer " + __TOKEN__};
const JSON_BODY = {...AUTH, "Content-Type": "application/json"};

async function step(run) {
  try { return await run(); } catch (e) { return {"error": String(e)}; }
}

(async () => {
  const out = {};
  out.employees = await step(async () => {
    const r = await fetch(API + "/api/v1/employees?limit=100", {headers: AUTH});
    const body = await r.json();
    const names = body.items.map(e => e.given_name);
    return {"status": r.status, "names": names, "request_id": r.headers.get("X-Request-ID")};
  });
  out.graphql = await step(async () => {
    const query = "{ __typename organization { name } employees(first: 50) { edges { node { id email } } } }";
    const r = await fetch(API + "/graphql", {method: "POST", headers: JSON_BODY, body: JSON.stringify({query})});
    return {"status": r.status, "body": await r.json()};
  });
  out.patch = await step(async () => {
    const read = await fetch(API + "/api/v1/organization", {headers: AUTH});
    const etag = read.headers.get("ETag");
    const r = await fetch(API + "/api/v1/organization", {method: "PATCH", headers: {...JSON_BODY, "If-Match": etag},
      body: JSON.stringify({"name": "Renamed in a browser"})});
    return {"read_etag": etag, "status": r.status, "name": (await r.json()).name, "etag": r.headers.get("ETag")};
  });
  out.stale = await step(async () => {
    const r = await fetch(API + "/api/v1/organization", {method: "PATCH", headers: {...JSON_BODY, "If-Match": '"1"'},
      body: JSON.stringify({"name": "Lost update"})});
    return {"status": r.status, "problem": await r.json()};
  });
  out.idempotent = await step(async () => {
    const post = () => fetch(API + "/api/v1/departments", {method: "POST",
      headers: {...JSON_BODY, "Idempotency-Key": __KEY__}, body: JSON.stringify({"name": "Frontend"})});
    const first = await post();
    const again = await post();
    return {"statuses": [first.status, again.status], "ids": [(await first.json()).id, (await again.json()).id],
            "location": first.headers.get("Location"), "replayed": again.headers.get("Idempotent-Replayed")};
  });
  out.done = true;
  document.getElementById("result").textContent = JSON.stringify(out);
})();
</script>
</body></html>
"""


def page_for(site: tuple[str, Path], api: str, token: str) -> str:
    """Writes the page calling `api` with `token`; its URL on the site."""
    name = f"page-{uuid.uuid4().hex[:8]}.html"
    text = PAGE.replace("__API__", json.dumps(api)).replace("__TOKEN__", json.dumps(token))
    (site[1] / name).write_text(text.replace("__KEY__", json.dumps(f"key-{uuid.uuid4()}")))
    return f"{site[0]}/{name}"


def results(dom: str) -> dict[str, Any]:
    """What the page wrote into `#result`."""
    found = re.search(r'<pre id="result">(.*?)</pre>', dom, re.S)
    assert found, dom[-2000:]
    out = json.loads(html.unescape(found.group(1)))
    assert out.get("done") is True, out
    return out


async def staffed(tenant: Tenant) -> list[str]:
    for i in range(EMPLOYEES):
        await tenant.add_employee(f"person{i}")
    return sorted(e["given_name"] for e in tenant.employees.values())


async def test_a_page_on_an_allowed_origin_uses_the_api(
    chromium: str, site: tuple[str, Path], allowing: str, tenant: Tenant
) -> None:
    names = await staffed(tenant)
    emails = sorted(e["email"] for e in tenant.employees.values())
    token = tenant.token(["admin"])
    out = results(await asyncio.to_thread(browser.load, chromium, page_for(site, allowing, token)))

    assert out["employees"]["status"] == 200 and sorted(out["employees"]["names"]) == names
    assert re.fullmatch(r"[0-9a-f]{32}", out["employees"]["request_id"] or "")  # an exposed header

    graphql = out["graphql"]
    assert graphql["status"] == 200 and "errors" not in graphql["body"], graphql
    data = graphql["body"]["data"]
    assert data["__typename"] == "Query" and data["organization"]["name"] == "Test Org"
    assert sorted(e["node"]["email"] for e in data["employees"]["edges"]) == emails

    patch = out["patch"]
    assert (patch["read_etag"], patch["status"], patch["name"], patch["etag"]) == (
        '"1"',
        200,
        "Renamed in a browser",
        '"2"',
    )
    stale = out["stale"]
    assert stale["status"] == 412 and stale["problem"]["status"] == 412  # an error the page can read

    idempotent = out["idempotent"]
    assert idempotent["statuses"] == [201, 201] and idempotent["replayed"] == "true"
    assert idempotent["ids"][0] == idempotent["ids"][1]
    assert idempotent["location"] == f"/api/v1/departments/{idempotent['ids'][0]}"

    org = await tenant.client.get("/api/v1/organization", headers=tenant.admin)
    assert org.json()["name"] == "Renamed in a browser" and org.headers["etag"] == '"2"'
    # The list the browser read came gzipped (asked as Chromium asks), through CORS.
    asked = {**bearer(token), "Accept-Encoding": "gzip, deflate, br, zstd", "Origin": site[0]}
    async with (
        httpx.AsyncClient(timeout=10) as http,
        http.stream("GET", f"{allowing}/api/v1/employees?limit=100", headers=asked) as resp,
    ):
        assert resp.headers["content-encoding"] == "gzip"
        assert resp.headers["access-control-allow-origin"] == site[0]
        listed = json.loads(gzip.decompress(b"".join([chunk async for chunk in resp.aiter_raw()])))
    assert sorted(e["given_name"] for e in listed["items"]) == names


async def test_the_same_page_on_an_origin_not_allowed_gets_nothing(
    chromium: str, site: tuple[str, Path], refusing: str, tenant: Tenant
) -> None:
    await staffed(tenant)
    out = results(await asyncio.to_thread(browser.load, chromium, page_for(site, refusing, tenant.token(["admin"]))))

    for step in ("employees", "graphql", "patch", "stale", "idempotent"):
        assert out[step] == {"error": FETCH_FAILED}, (step, out[step])
    # Every call was preflighted and refused, so none of them reached a route.
    org = await tenant.client.get("/api/v1/organization", headers=tenant.admin)
    assert org.json()["name"] == "Test Org" and org.headers["etag"] == '"1"'
    departments = await tenant.client.get("/api/v1/departments", headers=tenant.admin)
    assert departments.json()["items"] == []
    # The server itself is up and answers without CORS: it is the browser that refuses.
    async with httpx.AsyncClient(timeout=10) as http:
        direct = await http.get(f"{refusing}/api/v1/organization", headers=tenant.admin)
    assert direct.status_code == 200 and direct.json()["name"] == "Test Org"


def test_head_and_gzip_over_real_http(allowing: str) -> None:
    """Over uvicorn: a HEAD of a large document carries the headers its GET would (gzip,
    the compressed length) and no body; the API's own routes answer HEAD with a 405
    problem; the connection's framing holds, and the server goes on answering."""
    port = int(allowing.rsplit(":", 1)[1])
    gzip_head = b"Accept-Encoding: gzip\r\n"
    status, got, body = request(
        port, b"GET /openapi.json HTTP/1.1\r\nHost: t\r\nConnection: close\r\n" + gzip_head + b"\r\n"
    )
    assert status == 200 and got["content-encoding"] == "gzip" and int(got["content-length"]) == len(body)
    assert json.loads(gzip.decompress(body))["openapi"]
    status, head, head_body = request(
        port, b"HEAD /openapi.json HTTP/1.1\r\nHost: t\r\nConnection: close\r\n" + gzip_head + b"\r\n"
    )
    assert status == 200 and head_body == b""
    assert head["content-encoding"] == "gzip" and head["content-length"] == got["content-length"]
    status, problem, problem_body = request(
        port, b"HEAD /api/v1/employees HTTP/1.1\r\nHost: t\r\nConnection: close\r\n" + gzip_head + b"\r\n"
    )
    assert status == 405 and problem["content-type"] == "application/problem+json" and problem_body == b""
    assert "content-encoding" not in problem
    assert request(port, b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")[0] == 200
