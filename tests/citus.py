"""The suite on Citus: with TEST_CITUS_URL set (an admin URL of a Citus coordinator, e.g.
postgresql://postgres@127.0.0.1:5433/postgres), the PostgreSQL suite runs against it, and
its throwaway database is made the way ../shared/citus/cluster.sh `reset` makes one:
created on the coordinator and on every worker, `CREATE EXTENSION citus` in each, the
coordinator's own address set and the workers registered. The workers are
TEST_CITUS_WORKERS (host:port,host:port), by default the coordinator's host at its port
+1 and +2 (the cluster script's layout). The migrations then distribute every table
(migrations/env.py, service/citus.py). `make test-citus` (tests/run_citus.py) sets it up.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

CITUS_URL = os.environ.get("TEST_CITUS_URL", "").replace("postgresql+asyncpg://", "postgresql://")
# The reason every Citus-only skip gives: tests that read plain PostgreSQL's own internals.
PLAIN_PG_ONLY = "inspects plain PostgreSQL internals that Citus answers differently"


def enabled() -> bool:
    return bool(CITUS_URL)


def _with_db(url: str, db: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, parts.fragment))


def _with_address(url: str, host: str, port: int) -> str:
    parts = urlsplit(url)
    auth = parts.netloc.rpartition("@")[0]
    netloc = f"{auth}@{host}:{port}" if auth else f"{host}:{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def coordinator() -> tuple[str, int]:
    parts = urlsplit(CITUS_URL)
    return parts.hostname or "127.0.0.1", parts.port or 5432


def workers() -> list[tuple[str, int]]:
    spec = os.environ.get("TEST_CITUS_WORKERS", "")
    if spec:
        found = []
        for item in spec.split(","):
            host, _, port = item.strip().rpartition(":")
            found.append((host or "127.0.0.1", int(port)))
        return found
    host, port = coordinator()
    return [(host, port + 1), (host, port + 2)]


def node_admin_urls() -> list[str]:
    """The admin URL of the coordinator, then of each worker (same user and database)."""
    return [CITUS_URL, *(_with_address(CITUS_URL, host, port) for host, port in workers())]


async def create_database(name: str) -> None:
    import asyncpg

    for admin in node_admin_urls():
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        conn = await asyncpg.connect(_with_db(admin, name))
        try:
            await conn.execute("CREATE EXTENSION citus")
        finally:
            await conn.close()
    conn = await asyncpg.connect(_with_db(CITUS_URL, name))
    try:
        host, port = coordinator()
        await conn.execute("SELECT citus_set_coordinator_host($1, $2)", host, port)
        for host, port in workers():
            await conn.execute("SELECT citus_add_node($1, $2)", host, port)
    finally:
        await conn.close()


async def drop_database(name: str) -> None:
    import asyncpg

    for admin in node_admin_urls():
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


def driver_url(url: str) -> str:
    """`url` for SQLAlchemy's asyncpg driver."""
    return url.replace("postgresql+asyncpg://", "postgresql://").replace("postgresql://", "postgresql+asyncpg://", 1)


def database_url(name: str) -> str:
    """The coordinator's URL of database `name`, for SQLAlchemy."""
    return driver_url(_with_db(CITUS_URL, name))
