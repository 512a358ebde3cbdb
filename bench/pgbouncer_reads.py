"""Reads behind PgBouncer: do direct reads (service/kit/direct_reads.py) belong there?

Runs the app in-process (httpx's ASGI transport, so the figures are the server's work)
against three set-ups over the same PostgreSQL and the same throwaway database:

- `postgresql`: straight to PostgreSQL, direct reads on (the default);
- `pgbouncer`: through Debian's PgBouncer 1.18 in transaction mode, `DB_PGBOUNCER=true`
  (direct reads off, reads in a transaction);
- `pgbouncer+direct`: through the same PgBouncer with direct reads forced on
  (`DB_PGBOUNCER=false`, `DB_STATEMENT_CACHE_SIZE=0`: asyncpg's unnamed statements).

Each set-up serves `--requests` GETs of one employee with `--concurrency` in flight and
reports throughput, p50 and p99, and how many answers were not 200.

    .venv/bin/python bench/pgbouncer_reads.py --requests 3000 --concurrency 20
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ADMIN = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


async def serve(requests: int, concurrency: int) -> dict[str, float]:
    import httpx

    from service.auth.tokens import issue_token
    from service.bootstrap import create_org
    from service.db import database
    from service.web.app import create_app

    org = await create_org(f"bench-{uuid.uuid4().hex[:6]}")
    org_id = uuid.UUID(org["org_id"])
    token = issue_token(org_id=org_id, sub="bench", roles=["hr"])
    headers = {"Authorization": f"Bearer {token}"}
    transport = httpx.ASGITransport(app=create_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        created = await client.post(
            "/api/v1/employees",
            headers=headers,
            json={"external_id": "B1", "email": "b1@example.com", "given_name": "B", "family_name": "One"},
        )
        path = f"/api/v1/employees/{created.json()['id']}"
        for _ in range(50):  # warm the pools and caches
            await client.get(path, headers=headers)
        latencies: list[float] = []
        failures = 0
        queue = iter(range(requests))

        async def worker() -> None:
            nonlocal failures
            for _ in queue:
                start = time.perf_counter()
                resp = await client.get(path, headers=headers)
                latencies.append(time.perf_counter() - start)
                failures += resp.status_code != 200

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    await database.dispose()
    latencies.sort()
    return {
        "requests_per_s": round(requests / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 2),
        "not_200": failures,
    }


def child(args: argparse.Namespace) -> None:
    print(json.dumps(asyncio.run(serve(args.requests, args.concurrency))))


def run_setup(name: str, url: str, env: dict[str, str], args: argparse.Namespace) -> dict[str, object]:
    full = {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "CRITICAL", **env}
    out = subprocess.run(
        [sys.executable, __file__, "--child", "--requests", str(args.requests), "--concurrency", str(args.concurrency)],
        env=full,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return {"setup": name, **json.loads(out.stdout.strip().splitlines()[-1])}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--child", action="store_true")
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    sys.path.insert(0, str(ROOT))
    import asyncpg

    from service.migrate import upgrade
    from tests.pgbouncer import ensure_installed, running

    exe, why = ensure_installed()
    if exe is None:
        raise SystemExit(f"pgbouncer: {why}")
    name = f"bench_pgb_{uuid.uuid4().hex[:8]}"

    async def database(sql: str) -> None:
        conn = await asyncpg.connect(ADMIN)
        await conn.execute(sql)
        await conn.close()

    asyncio.run(database(f'CREATE DATABASE "{name}"'))
    try:
        base = ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
        upgrade(f"{base}/{name}")
        rows = [run_setup("postgresql", f"{base}/{name}", {}, args)]
        with running(ADMIN, exe) as bouncer:
            via = bouncer.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + f"/{name}"
            rows.append(run_setup("pgbouncer", via, {"DB_PGBOUNCER": "true"}, args))
            rows.append(
                run_setup("pgbouncer+direct", via, {"DB_PGBOUNCER": "false", "DB_STATEMENT_CACHE_SIZE": "0"}, args)
            )
        for row in rows:
            print(json.dumps(row))
    finally:
        asyncio.run(database(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
