"""A real PgBouncer in transaction mode in front of the test PostgreSQL, for `make test`
(tests/run_suites.py): the production overlay sets `DB_PGBOUNCER=true`, so the request
path, bulk writes, recomputes, the outbox and the worker run through one here.

Debian's `pgbouncer` is installed when absent (apt-get, once per machine: the package
stays installed between runs). It refuses to run as root, so it runs as the `postgres`
system user when started by root. Everything it needs lives in a temporary directory.
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

CANDIDATES = ("pgbouncer", "/usr/sbin/pgbouncer")


def binary() -> str | None:
    for name in CANDIDATES:
        found = shutil.which(name) or (name if os.path.isfile(name) and os.access(name, os.X_OK) else None)
        if found:
            return found
    return None


def ensure_installed() -> tuple[str | None, str]:
    """The pgbouncer binary, installing Debian's package when absent; or None and why."""
    if binary():
        return binary(), "installed"
    if not shutil.which("apt-get"):
        return None, "no apt-get to install pgbouncer with"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    prefix = [] if os.geteuid() == 0 else ["sudo", "-n"]
    install = [*prefix, "apt-get", "install", "-y", "-q", "--no-install-recommends", "pgbouncer"]
    done = subprocess.run(install, env=env, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:  # a stale package index: refresh it once and try again
        subprocess.run([*prefix, "apt-get", "update", "-q"], env=env, capture_output=True, timeout=600, check=False)
        done = subprocess.run(install, env=env, capture_output=True, text=True, timeout=600, check=False)
    if binary():
        return binary(), "installed now"
    return None, f"apt-get install pgbouncer failed: {done.stderr.strip()[-300:]}"


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
        netloc = f"{user}@127.0.0.1:{port}"
        yield target._replace(netloc=netloc).geturl()
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)
        if proc.poll() is None:
            proc.kill()
        shutil.rmtree(work, ignore_errors=True)
