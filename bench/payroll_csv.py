"""Payroll CSV benchmark (run by hand; never part of the test suite).

Creates a throwaway PostgreSQL database, migrates it with the project's Alembic
migrations, inserts N finalized incentive results (default 100,000: one per employee,
with COPY), serves the app with uvicorn on 127.0.0.1 in this process, and streams
`GET /api/v1/payroll/incentive-results` with `Accept: text/csv` through a real HTTP
connection, reading and discarding the body as it arrives. Reported per run:

- wall seconds for the whole stream, rows and bytes received;
- the tracemalloc peak of Python allocations during the stream (server and client
  together, in a separate pass because tracing slows Python down);
- the growth of the process's peak RSS (`resource.getrusage().ru_maxrss`) during the
  first, untraced stream.

The same feed is also streamed limited to a tenth of the rows (`?limit=`), so the two
peaks can be compared: constant memory means they are about the same.

    .venv/bin/python bench/payroll_csv.py
    .venv/bin/python bench/payroll_csv.py --results 20000 --keep

`--admin-url` (default `postgresql://postgres@127.0.0.1:5432/postgres`, or
`BENCH_ADMIN_URL`) names a database from which the throwaway one is created; it is
dropped at the end (also on failure) unless `--keep` is given.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import os
import platform
import resource
import socket
import sys
import tempfile
import time
import tracemalloc
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
import httpx  # noqa: E402

CYCLE_START = dt.date(2026, 10, 1)
CYCLE_END = dt.date(2026, 12, 31)


def _plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


def _with_db(admin_url: str, name: str) -> str:
    return f"{_plain(admin_url).rsplit('/', 1)[0]}/{name}"


async def admin_execute(admin_url: str, sql: str) -> None:
    conn = await asyncpg.connect(_plain(admin_url))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def seed(url: str, count: int) -> uuid.UUID:
    """One organization, cycle and plan; `count` employees each with one finalized result
    numbered 1..count in the payroll sequence. COPY keeps this to seconds."""
    org_id, cycle_id, plan_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    now = dt.datetime.now(dt.UTC)
    conn = await asyncpg.connect(_plain(url))
    try:
        await conn.execute(
            "INSERT INTO organizations (id, name, currency, timezone, fiscal_year_start, settings, version, "
            "created_at, updated_at) VALUES ($1, 'Bench Org', 'USD', 'UTC', '01-01', '{}', 1, $2, $2)",
            org_id,
            now,
        )
        await conn.execute(
            "INSERT INTO cycles (org_id, id, name, cadence, start_date, end_date, status, version, created_at, "
            "updated_at) VALUES ($1, $2, 'Q4', 'quarterly', $3, $4, 'closed', 1, $5, $5)",
            org_id,
            cycle_id,
            CYCLE_START,
            CYCLE_END,
            now,
        )
        await conn.execute(
            "INSERT INTO incentive_plans (org_id, id, name, kind, cycle_id, currency, params, version, created_at, "
            "updated_at) VALUES ($1, $2, 'Q4 bonus', 'short_term_bonus', $3, 'USD', '{\"earning_code\": \"BONUS\"}', "
            "1, $4, $4)",
            org_id,
            plan_id,
            cycle_id,
            now,
        )
        employees = [uuid.uuid4() for _ in range(count)]
        await conn.copy_records_to_table(
            "employees",
            columns=(
                "org_id",
                "id",
                "external_id",
                "email",
                "given_name",
                "family_name",
                "status",
                "version",
                "created_at",
                "updated_at",
            ),
            records=(
                (org_id, e, f"E{i:07d}", f"e{i}@example.com", "Given", f"Family{i}", "active", 1, now, now)
                for i, e in enumerate(employees)
            ),
        )
        await conn.copy_records_to_table(
            "incentive_results",
            columns=(
                "org_id",
                "id",
                "plan_id",
                "employee_id",
                "kind",
                "status",
                "amount_minor",
                "currency",
                "earning_code",
                "period_start",
                "period_end",
                "inputs",
                "created_by",
                "finalized_at",
                "finalized_by",
                "payroll_seq",
                "version",
                "created_at",
                "updated_at",
            ),
            records=(
                (
                    org_id,
                    uuid.uuid4(),
                    plan_id,
                    e,
                    "payment",
                    "finalized",
                    100000 + i % 900000,
                    "USD",
                    "BONUS",
                    CYCLE_START,
                    CYCLE_END,
                    "{}",
                    "bench",
                    now,
                    "bench",
                    i + 1,
                    3,
                    now,
                    now,
                )
                for i, e in enumerate(employees)
            ),
        )
        await conn.execute("INSERT INTO incentive_payroll_sequences (org_id, last_seq) VALUES ($1, $2)", org_id, count)
        await conn.execute("ANALYZE incentive_results")
    finally:
        await conn.close()
    return org_id


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def stream(base: str, token: str, limit: int | None) -> tuple[int, int, float]:
    """Stream the CSV, discarding it; answers (rows, bytes, seconds)."""
    params = {"limit": str(limit)} if limit else {}
    rows = size = 0
    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=base, timeout=600) as client:
        async with client.stream(
            "GET",
            "/api/v1/payroll/incentive-results",
            params=params,
            headers={"Authorization": f"Bearer {token}", "Accept": "text/csv"},
        ) as resp:
            resp.raise_for_status()
            async for chunk in resp.aiter_bytes():
                size += len(chunk)
                rows += chunk.count(b"\r\n")
    return rows - 1, size, time.perf_counter() - started  # minus the header line


def maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def measure(base: str, token: str, limit: int | None) -> dict[str, Any]:
    gc.collect()
    rss_before = maxrss_mib()
    rows, size, seconds = await stream(base, token, limit)
    rss_growth = maxrss_mib() - rss_before
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    traced_rows, _, traced_seconds = await stream(base, token, limit)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert traced_rows == rows
    return {
        "rows": rows,
        "bytes": size,
        "seconds": seconds,
        "rows_per_second": rows / seconds,
        "rss_growth_mib": rss_growth,
        "tracemalloc_peak_mib": peak / 2**20,
        "traced_seconds": traced_seconds,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", type=int, default=100_000)
    parser.add_argument(
        "--admin-url", default=os.environ.get("BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    )
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    name = f"perf_bench_{uuid.uuid4().hex[:10]}"
    url = _with_db(args.admin_url, name)
    os.environ.update(
        {
            "DATABASE_URL": url.replace("postgresql://", "postgresql+asyncpg://"),
            "DATA_DIR": tempfile.mkdtemp(prefix="perf-bench-"),
            "JWT_SECRET": "bench-" + "x" * 40,
            "LOG_LEVEL": "WARNING",
            "RATE_LIMIT_ENABLED": "false",
            "WEBHOOK_INPROCESS": "false",
        }
    )
    await admin_execute(args.admin_url, f'CREATE DATABASE "{name}"')
    try:
        from service.migrate import upgrade

        await asyncio.to_thread(upgrade, os.environ["DATABASE_URL"])
        started = time.perf_counter()
        org_id = await seed(url, args.results)
        seeded = time.perf_counter() - started

        import uvicorn

        from service.auth.tokens import issue_token
        from service.web.app import create_app

        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning", lifespan="on")
        )
        serving = asyncio.create_task(server.serve())
        while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to wait on
            await asyncio.sleep(0.05)
        token = issue_token(org_id=org_id, sub="pc_bench", scopes=["payroll:read"], ttl=3600)
        base = f"http://127.0.0.1:{port}"
        await stream(base, token, 1000)  # warm-up: imports, connection pool, prepared statements
        full = await measure(base, token, None)
        tenth = await measure(base, token, max(1, args.results // 10))
        server.should_exit = True
        await serving

        print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
        print(f"seeded {args.results:,} finalized results in {seeded:.1f} s")
        for label, r in (("all results", full), ("a tenth (limit)", tenth)):
            print(
                f"{label:>16}: {r['rows']:,} rows, {r['bytes'] / 2**20:.1f} MiB of CSV in {r['seconds']:.2f} s "
                f"({r['rows_per_second']:,.0f} rows/s); tracemalloc peak {r['tracemalloc_peak_mib']:.2f} MiB "
                f"(traced pass {r['traced_seconds']:.2f} s); peak RSS growth {r['rss_growth_mib']:.1f} MiB"
            )
        assert full["rows"] == args.results, full
    finally:
        from service.db import database

        await database.dispose()
        if not args.keep:
            await admin_execute(args.admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        else:
            print(f"kept database {name}")


if __name__ == "__main__":
    asyncio.run(main())
