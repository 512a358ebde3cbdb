"""The production overlay's pgbouncer.ini, run by a real PgBouncer (Debian's, tests/apt.py)
in front of the test PostgreSQL: the file parses, clients log in with SCRAM against the
auth file (a wrong password is refused), and queries pass in transaction mode. Only the
addresses and file paths are replaced; every pooling and authentication setting is the
rendered one."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest

from tests import pgbouncer
from tests.deploy.test_manifests import rendered
from tests.deploy.test_network_and_metrics import pgbouncer_ini
from tests.deploy.test_server_process import free_port
from tests.required import found_or_skip
from tests.run_suites import pg_admin_url

PASSWORD = "a-test-password-0123456789"


@contextlib.contextmanager
def bouncer(exe: str, work: Path) -> Iterator[int]:
    admin = urlsplit(pg_admin_url())
    port = free_port()
    ini = pgbouncer_ini(rendered("production"))
    assert list(ini["databases"]) == ["perf"]
    ini["databases"]["perf"] = f"host={admin.hostname} port={admin.port or 5432} dbname={admin.path.lstrip('/')}"
    ini["pgbouncer"].update(
        listen_addr="127.0.0.1",
        listen_port=str(port),
        unix_socket_dir="",
        auth_file=str(work / "userlist.txt"),
        logfile=str(work / "pgbouncer.log"),
        pidfile=str(work / "pgbouncer.pid"),
    )
    (work / "userlist.txt").write_text(f'"{admin.username or "postgres"}" "{PASSWORD}"\n')
    with (work / "pgbouncer.ini").open("w") as f:
        ini.write(f)
    with pgbouncer.serving(exe, work, port):
        yield port


async def _through(port: int, password: str) -> list[int]:
    user = urlsplit(pg_admin_url()).username or "postgres"
    conn = await asyncpg.connect(
        host="127.0.0.1", port=port, user=user, password=password, database="perf", statement_cache_size=0
    )
    try:
        out = []
        for i in range(3):  # one transaction each, as the service runs behind PgBouncer
            async with conn.transaction():
                out.append(await conn.fetchval("SELECT $1::int + 1", i))
        return out
    finally:
        await conn.close()


def test_the_rendered_pgbouncer_ini_runs(request: pytest.FixtureRequest) -> None:
    exe, why = pgbouncer.ensure_installed()
    found = found_or_skip(request.config, exe, why, "PgBouncer", "the PgBouncer configuration test is")
    work = Path(tempfile.mkdtemp(prefix="pgbouncer-ini-"))  # outside pytest's private tmp: PgBouncer's user reads it
    with contextlib.ExitStack() as stack:
        stack.callback(shutil.rmtree, work, ignore_errors=True)
        port = stack.enter_context(bouncer(found, work))
        assert asyncio.run(_through(port, PASSWORD)) == [1, 2, 3]
        with pytest.raises(asyncpg.PostgresError, match="authentication failed"):  # PgBouncer's SCRAM refusal
            asyncio.run(_through(port, "not-the-password"))
