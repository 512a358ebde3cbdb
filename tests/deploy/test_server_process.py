"""The real server processes, as deployed: `python -m service serve` (uvicorn) and the
image's gunicorn command, each started here on a free loopback port over a throwaway
SQLite database, and spoken to over raw sockets. Request heads past MAX_HEADER_BYTES
are refused with 431 after at most a chunk beyond the bound, fast, and the process keeps
serving (service/web/http_protocol.py); a path holding an encoded NUL gets an answer, not a
dropped connection."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(port: int, proc: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the server exited: {proc.stdout.read() if proc.stdout else ''}")
        with contextlib.suppress(OSError):
            status, _, _ = request(port, b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            if status == 200:
                return
        time.sleep(0.2)
    raise AssertionError("the server did not become ready")


def request(
    port: int, head: bytes, body_chunks: Iterator[bytes] | None = None, timeout: float = 10
) -> tuple[int, dict[str, str], bytes]:
    """Send a request over a fresh connection and read the whole answer (the servers
    close the connection after a refusal, or `Connection: close` asks them to)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            s.sendall(head)
            for chunk in body_chunks or ():
                s.sendall(chunk)
        data = b""
        with contextlib.suppress(ConnectionResetError):
            while chunk := s.recv(65536):
                data += chunk
    head_part, _, body = data.partition(b"\r\n\r\n")
    lines = head_part.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1]) if lines and lines[0].startswith("HTTP/") else 0
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return status, {k.lower(): v for k, v in headers.items()}, body


@contextlib.contextmanager
def server(kind: str, tmp: Path, extra_env: dict[str, str] | None = None) -> Iterator[int]:
    port = free_port()
    (tmp / "prom").mkdir(exist_ok=True)
    env = {
        **os.environ,
        "DATA_DIR": str(tmp),
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/server.db",
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",
        "LOG_LEVEL": "WARNING",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp / "prom"),
        "JWT_SECRET": "s" * 40,
        **(extra_env or {}),
    }
    if kind == "uvicorn":
        cmd = [sys.executable, "-m", "service", "serve", "--port", str(port)]
    else:
        subprocess.run([sys.executable, "-m", "service", "migrate"], env=env, check=True, cwd=ROOT, capture_output=True)
        cmd = [str(BIN / "gunicorn"), "-c", "python:service.web.gunicorn_conf", "service.web.app:create_app()"]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_ready(port, proc)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module", params=["uvicorn", "gunicorn"])
def port(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    with server(request.param, tmp_path_factory.mktemp(request.param)) as p:
        yield p


def get(path: str, headers: bytes = b"") -> bytes:
    return b"GET " + path.encode() + b" HTTP/1.1\r\nHost: t\r\nConnection: close\r\n" + headers + b"\r\n"


def test_ordinary_heads_are_served(port: int) -> None:
    status, _, _ = request(port, get("/healthz", b"X-Padding: " + b"a" * 16000 + b"\r\n"))
    assert status == 200


def test_a_head_past_the_bound_is_431_and_the_server_goes_on(port: int) -> None:
    status, headers, body = request(port, get("/healthz", b"X-Big: " + b"a" * 40000 + b"\r\n"))
    assert status == 431 and headers["content-type"] == "application/problem+json"
    problem = json.loads(body)
    assert problem["status"] == 431 and problem["max_bytes"] == 32768
    assert request(port, get("/healthz"))[0] == 200


def test_a_50_mb_authorization_header_is_refused_at_once(port: int) -> None:
    started = time.monotonic()
    chunks = (b"x" * 1_048_576 for _ in range(50))
    status, _, _ = request(port, b"GET /api/v1/employees HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer ", chunks)
    assert status == 431
    assert time.monotonic() - started < 3  # measured: a few milliseconds once 32 KiB are in
    for _ in range(4):  # several in a row, then the server still answers at once
        assert request(port, get("/healthz", b"X-Big: " + b"a" * 5_000_000 + b"\r\n"))[0] == 431
    assert request(port, get("/healthz"))[0] == 200


def test_an_encoded_nul_in_the_path_gets_an_answer(port: int) -> None:
    for path in ("/scim/v2/Users/%00", "/api/v1/employees/%00", "/api/v1/%00"):
        status, _, _ = request(port, get(path))
        assert 400 <= status < 500, path
