"""A real PgBouncer in transaction mode in front of the test PostgreSQL, for `make test`
(tests/run_suites.py): the production overlay sets `DB_PGBOUNCER=true`, so the request
path, bulk writes, recomputes, the outbox and the worker run through one here.

Debian's `pgbouncer` is installed when absent (tests/apt.py). It refuses to run as root,
so it runs as the `postgres` system user when started by root. Everything it needs lives in a temporary directory.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

from tests import apt

CANDIDATES = ("pgbouncer", "/usr/sbin/pgbouncer")


def binary() -> str | None:
    return apt.find(CANDIDATES)


def ensure_installed() -> tuple[str | None, str]:
    """The pgbouncer binary, installing Debian's package when absent (tests/apt.py); or None and why."""
    return apt.ensure("pgbouncer", CANDIDATES)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running(admin_url: str, exe: str) -> Iterator[str]:
    """PgBouncer (transaction pooling) in front of `admin_url`'s server, for as long as the
    block lasts; yields the same admin URL through it. Every database name is routed to
    the server (`*`), so the suite's throwaway database needs no configuration."""
    target = urlsplit(admin_url)
    port = _free_port()
    work = Path(tempfile.mkdtemp(prefix="pgbouncer-"))
    user = target.username or "postgres"
    (work / "userlist.txt").write_text(f'"{user}" ""\n')
    (work / "pgbouncer.ini").write_text(f"""[databases]
* = host={target.hostname or "127.0.0.1"} port={target.port or 5432}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {work}/userlist.txt
pool_mode = transaction
max_client_conn = 1000
default_pool_size = 40
server_reset_query =
ignore_startup_parameters = extra_float_digits,statement_timeout
logfile = {work}/pgbouncer.log
pidfile = {work}/pgbouncer.pid
""")
    try:
        with serving(exe, work, port):
            netloc = f"{user}@127.0.0.1:{port}"
            yield target._replace(netloc=netloc).geturl()
    finally:
        shutil.rmtree(work, ignore_errors=True)


@contextlib.contextmanager
def serving(exe: str, work: Path, port: int) -> Iterator[None]:
    """PgBouncer run with `work`/pgbouncer.ini (listening on `port`) until the block ends;
    as the `postgres` system user when started by root."""
    cmd = [exe, str(work / "pgbouncer.ini")]
    if os.geteuid() == 0:  # PgBouncer will not run as root
        shutil.chown(work, "postgres")
        for f in work.iterdir():
            shutil.chown(f, "postgres")
        cmd = [exe, "-u", "postgres", str(work / "pgbouncer.ini")]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 15
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                log = (work / "pgbouncer.log").read_text() if (work / "pgbouncer.log").exists() else ""
                raise RuntimeError(f"pgbouncer did not start: {log[-500:]}")
            time.sleep(0.1)
        yield
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)
        if proc.poll() is None:
            proc.kill()
