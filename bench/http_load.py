"""HTTP benchmarks (run by hand; never part of the test suite).

Creates a throwaway PostgreSQL database, migrates it with the project's Alembic
migrations and seeds one organization (10,000 employees in 50 departments, every 100th
a manager; 1,000 objectives of one owner with 4 key results and 3 check-ins each). Then,
in the same run:

1. **Primary-key read of one employee row**, each server one uvicorn worker (uvloop,
   httptools) on loopback, loaded by wrk (Debian's `wrk`, a second process) with
   32 connections from one thread: the floor (Starlette + raw asyncpg), bare FastAPI +
   asyncpg, FastAPI + asyncpg + JWT + response model, FastAPI + SQLAlchemy ORM + JWT +
   response model (`bench/baselines.py`), and the service's own
   `GET /api/v1/employees/{id}` (authentication, tenancy, authorization, ETag, metrics,
   problem+json): peak req/s, p50 and p99 at peak (wrk is closed-loop: its latencies
   leave out the queue a saturated server builds), and p99 at 70% of the peak from an
   open-loop constant-rate generator (`bench/openloop.py`, latency counted from when
   each request was due; the median p99 of three 10-second runs).
2. **List of 50** (`GET /api/v1/employees?limit=50`): peak, then p99 at 70% of it, against
   its own floor (`bench/baselines.py`'s `starlette_list`: Starlette + raw asyncpg running
   the same keyset query of the first page, serialized with `json`), measured the same way.
3. **GraphQL**: 1,000 objectives with key results and check-ins in one query, in process
   (httpx ASGI transport), SQL statements counted per query, and wall seconds: until the
   whole answer is in (the server's time), and with the client parsing the JSON.
4. **Bulk upsert** of 10,000 employees through `POST /api/v1/employees/bulk` (HTTP), then
   the same call again: seconds, outcomes, and whether the re-sync wrote anything (row
   versions and `xmin`, audit events and outbox rows before and after).

    .venv/bin/python bench/http_load.py
    .venv/bin/python bench/http_load.py --duration 20 --keep
    .venv/bin/python bench/http_load.py --only list     # the list and its floor alone
    .venv/bin/python bench/http_load.py --only graphql          # step 3 alone: about a minute
    .venv/bin/python bench/http_load.py --only graphql --profile /tmp/graphql.prof

`--only graphql` seeds the same data and runs the GraphQL measure alone (no wrk, no
servers); `--walks N` sets how many timed walks it takes the best of, and `--profile`
writes a cProfile of those walks (read it with `python -m pstats`).

The database is dropped at the end (also on failure) unless `--keep` is given.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
import httpx  # noqa: E402

SECRET = "bench-secret-" + "x" * 40
EMPLOYEES = 10_000
OBJECTIVES = 1_000
CONNECTIONS = 32


def _plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def _admin(admin_url: str, sql: str) -> None:
    conn = await asyncpg.connect(_plain(admin_url))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


# --- seed -----------------------------------------------------------------------------------------


async def seed(url: str) -> dict[str, Any]:
    org, cycle = uuid.uuid4(), uuid.uuid4()
    now = dt.datetime.now(dt.UTC)
    conn = await asyncpg.connect(_plain(url))
    try:
        await conn.execute(
            "INSERT INTO organizations (id, name, currency, timezone, fiscal_year_start, settings, version, "
            "created_at, updated_at) VALUES ($1, 'Bench Org', 'USD', 'UTC', '01-01', '{}', 1, $2, $2)",
            org,
            now,
        )
        departments = [uuid.uuid4() for _ in range(50)]
        await conn.copy_records_to_table(
            "departments",
            columns=("org_id", "id", "name", "version", "created_at", "updated_at"),
            records=[(org, d, f"Dept {i}", 1, now, now) for i, d in enumerate(departments)],
        )
        ids = [uuid.uuid4() for _ in range(EMPLOYEES)]
        await conn.copy_records_to_table(
            "employees",
            columns=(
                "org_id",
                "id",
                "external_id",
                "email",
                "given_name",
                "family_name",
                "department_id",
                "manager_id",
                "status",
                "version",
                "created_at",
                "updated_at",
            ),
            records=(
                (
                    org,
                    e,
                    f"E{i:07d}",
                    f"e{i}@example.com",
                    "Given",
                    f"Family{i}",
                    departments[i % 50],
                    ids[(i // 100) * 100] if i % 100 else None,
                    "active",
                    1,
                    now,
                    now,
                )
                for i, e in enumerate(ids)
            ),
        )
        await conn.execute(
            "INSERT INTO cycles (org_id, id, name, cadence, start_date, end_date, status, version, created_at, "
            "updated_at) VALUES ($1, $2, 'Q4', 'quarterly', '2026-10-01', '2026-12-31', 'active', 1, $3, $3)",
            org,
            cycle,
            now,
        )
        owner = ids[1]
        objectives = [uuid.uuid4() for _ in range(OBJECTIVES)]
        await conn.copy_records_to_table(
            "objectives",
            columns=(
                "org_id",
                "id",
                "title",
                "level",
                "owner_id",
                "cycle_id",
                "type",
                "weight",
                "visibility",
                "status",
                "version",
                "created_at",
                "updated_at",
            ),
            records=(
                (
                    org,
                    o,
                    f"Objective {i}",
                    "individual",
                    owner,
                    cycle,
                    "committed",
                    1,
                    "public",
                    "published",
                    1,
                    now,
                    now,
                )
                for i, o in enumerate(objectives)
            ),
        )
        krs = [(o, uuid.uuid4()) for o in objectives for _ in range(4)]
        await conn.copy_records_to_table(
            "key_results",
            columns=(
                "org_id",
                "id",
                "objective_id",
                "title",
                "kind",
                "start",
                "target",
                "weight",
                "version",
                "created_at",
                "updated_at",
            ),
            records=((org, k, o, "Grow", "metric", 0, 100, 1, 1, now, now) for o, k in krs),
        )
        await conn.copy_records_to_table(
            "check_ins",
            columns=("org_id", "id", "key_result_id", "value", "author", "checked_in_at", "created_at"),
            records=(
                (org, uuid.uuid4(), k, 10 * (n + 1), "bench", now - dt.timedelta(days=3 - n), now)
                for _, k in krs
                for n in range(3)
            ),
        )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return {"org": org, "employee": ids[4242], "owner": owner, "cycle": cycle}


# --- servers and wrk -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def server(target: str, env: dict[str, str], factory: bool = True) -> Iterator[str]:
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        target,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--log-level",
        "warning",
        "--timeout-keep-alive",
        "30",
    ]
    if factory:
        cmd.append("--factory")
    proc = subprocess.Popen(cmd, cwd=str(ROOT), env={**os.environ, **env})
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                httpx.get(base + "/", timeout=0.5)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * _UNITS[unit]


def wrk(url: str, token: str, seconds: int) -> dict[str, float]:
    cmd = ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", "-H", f"Authorization: Bearer {token}"]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        probe = httpx.get(url, headers={"Authorization": f"Bearer {token}"})
        raise RuntimeError(f"{url}: {errors.group(1)} non-2xx answers, e.g. {probe.status_code} {probe.text[:300]}")
    return {"rps": rps, "p50": p50, "p99": p99}


def open_loop(url: str, token: str, rate: float, seconds: int) -> dict[str, float]:
    """Constant-rate load from bench/openloop.py: latency counted from when a request was due."""
    cmd = [
        sys.executable,
        str(ROOT / "bench" / "openloop.py"),
        "--url",
        url,
        "--rate",
        f"{rate:.1f}",
        "--seconds",
        str(seconds),
        "--header",
        f"Authorization: Bearer {token}",
    ]
    result = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)
    if result["errors"]:
        raise RuntimeError(f"{url}: {result['errors']} failed or non-2xx answers at {rate:.0f}/s")
    return result


PACED_RUNS = 3


def peak_and_paced(url: str, token: str, seconds: int) -> dict[str, float]:
    """The peak (wrk), then the open-loop latency at 70% of it: the run with the median
    p99 of `PACED_RUNS` (on a shared machine one stall of the host can decide a p99)."""
    wrk(url, token, 2)  # warm up: connections, statement caches, code paths
    peak = wrk(url, token, seconds)
    runs = sorted(
        (open_loop(url, token, 0.7 * peak["rps"], seconds) for _ in range(PACED_RUNS)), key=lambda r: r["p99"]
    )
    paced = runs[len(runs) // 2]
    return {
        **peak,
        "paced_rps": paced["achieved"],
        "paced_p50": paced["p50"],
        "paced_p99": paced["p99"],
        "paced_p99_runs": [round(r["p99"], 1) for r in runs],
    }


# --- GraphQL and bulk ---------------------------------------------------------------------------------

GRAPHQL = """query($owner: ID!, $after: String) { objectives(ownerId: $owner, first: 500, after: $after) {
  nodes { id title keyResults { id title current progress checkIns { id value } } }
  pageInfo { hasNextPage endCursor } } }"""


async def graphql_in_process(ids: dict[str, Any], walks: int = 3, profile: str | None = None) -> dict[str, float]:
    """The 1,000 objectives in pages of 500 (the largest page), timed over the whole walk;
    the best of `walks` walks, with the SQL statements of each page counted. With
    `profile`, the timed walks run under cProfile (slower) and its statistics are written
    there."""
    import cProfile

    from sqlalchemy import event

    from service.auth.tokens import issue_token
    from service.db import database
    from service.web.app import create_app

    app = create_app()
    token = issue_token(org_id=ids["org"], sub="bench-hr", roles=["hr"])
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    async def walk(client: httpx.AsyncClient) -> tuple[list[Any], list[int], float]:
        """The pages in turn; also the seconds the server took (until the whole answer
        was in), without the client's parsing of it."""
        nodes: list[Any] = []
        per_page: list[int] = []
        after = None
        serving = 0.0
        while True:
            statements.clear()
            started = time.perf_counter()
            resp = await client.post(
                "/graphql",
                headers={"Authorization": f"Bearer {token}"},
                json={"query": GRAPHQL, "variables": {"owner": str(ids["owner"]), "after": after}},
            )
            serving += time.perf_counter() - started
            data = resp.json()
            assert resp.status_code == 200 and not data.get("errors"), (resp.status_code, str(data)[:500])
            per_page.append(len(statements))
            page = data["data"]["objectives"]
            nodes.extend(page["nodes"])
            if not page["pageInfo"]["hasNextPage"]:
                return nodes, per_page, serving
            after = page["pageInfo"]["endCursor"]

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
        await walk(client)  # warm up
        event.listen(database.engine.sync_engine, "before_cursor_execute", count)
        times, served, cpu = [], [], []
        profiler = cProfile.Profile() if profile else None
        for _ in range(walks):
            if profiler:
                profiler.enable()
            started, started_cpu = time.perf_counter(), time.process_time()
            nodes, per_page, serving = await walk(client)
            times.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
            served.append(serving)
            if profiler:
                profiler.disable()
        if profiler and profile:
            profiler.dump_stats(profile)
        event.remove(database.engine.sync_engine, "before_cursor_execute", count)
    await database.dispose()
    krs = sum(len(n["keyResults"]) for n in nodes)
    checks = sum(len(k["checkIns"]) for n in nodes for k in n["keyResults"])
    return {
        "objectives": len(nodes),
        "key_results": krs,
        "check_ins": checks,
        "pages": len(per_page),
        "statements_per_page": max(per_page),
        "seconds": min(times),
        "server_seconds": min(served),
        "cpu_seconds": min(cpu),
    }


async def bulk_over_http(base: str, url: str, ids: dict[str, Any]) -> dict[str, Any]:
    from service.auth.tokens import issue_token

    token = issue_token(org_id=ids["org"], sub="bench-hris", roles=["hr"])
    rows = [
        {
            "external_id": f"B{i:07d}",
            "email": f"b{i}@example.com",
            "given_name": "Bulk",
            "family_name": f"Row{i}",
            "status": "active",
        }
        for i in range(10_000)
    ]
    conn = await asyncpg.connect(_plain(url))

    async def state() -> tuple[Any, ...]:
        return (
            await conn.fetchval(
                "SELECT md5(string_agg(xmin::text || ':' || version, ',' ORDER BY id)) "
                "FROM employees WHERE org_id = $1 AND external_id LIKE 'B%'",
                ids["org"],
            ),
            await conn.fetchval("SELECT count(*) FROM audit_events WHERE org_id = $1", ids["org"]),
            await conn.fetchval("SELECT count(*) FROM outbox_events WHERE org_id = $1", ids["org"]),
        )

    out: dict[str, Any] = {}
    try:
        async with httpx.AsyncClient(base_url=base, timeout=120) as client:
            for label in ("first", "again"):
                before = await state()
                started = time.perf_counter()
                resp = await client.post(
                    "/api/v1/employees/bulk", json={"rows": rows}, headers={"Authorization": f"Bearer {token}"}
                )
                seconds = time.perf_counter() - started
                resp.raise_for_status()
                outcomes: dict[str, int] = {}
                for r in resp.json()["results"]:
                    outcomes[r["outcome"]] = outcomes.get(r["outcome"], 0) + 1
                after = await state()
                out[label] = {"seconds": seconds, "outcomes": outcomes, "wrote": before != after}
    finally:
        await conn.close()
    return out


# --- report -----------------------------------------------------------------------------------------


def _table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


SERVICE = "service.web.app:create_app"
SINGLE_SERVERS = (
    ("Starlette + raw asyncpg (floor)", "bench.baselines:starlette_raw"),
    ("bare FastAPI + asyncpg", "bench.baselines:fastapi_raw"),
    ("FastAPI + asyncpg + JWT + response model", "bench.baselines:fastapi_typical"),
    ("FastAPI + SQLAlchemy ORM + JWT + response model", "bench.baselines:fastapi_orm"),
    ("the service: GET /api/v1/employees/{id}", SERVICE),
)
LIST_PATH = "/api/v1/employees?limit=50"
LIST_SERVERS = (
    ("Starlette + raw asyncpg, the same list query (floor)", "bench.baselines:starlette_list"),
    ("the service: GET /api/v1/employees?limit=50", SERVICE),
)


def _report(results: dict[str, dict[str, float]], what: str) -> str:
    """One table; the first server is the floor the others are measured against."""
    floor = next(iter(results.values()))["rps"]
    rows = [(f"{what} (one uvicorn worker)", "req/s", "× floor", "p50 ms", "p99 ms", "p99 ms at 70%")]
    for label, r in results.items():
        rows.append(
            (
                label,
                f"{r['rps']:,.0f}",
                f"{r['rps'] / floor:.2f}",
                f"{r['p50']:.2f}",
                f"{r['p99']:.2f}",
                f"{r['paced_p99']:.2f} ({r['paced_rps']:,.0f}/s)",
            )
        )
    return _table(rows)


def _graphql_line(graph: dict[str, float]) -> str:
    return (
        f"GraphQL: {graph['objectives']} objectives, {graph['key_results']} key results, "
        f"{graph['check_ins']} check-ins in {graph['pages']} pages of 500: {graph['server_seconds']:.3f} s "
        f"to serve ({graph['seconds']:.3f} s with the client parsing the JSON, {graph['cpu_seconds']:.3f} s of "
        "this process's CPU), "
        f"at most {graph['statements_per_page']} SQL statements a page"
    )


async def run(args: argparse.Namespace) -> int:
    if args.only != "graphql" and shutil.which("wrk") is None:
        print("wrk is not installed (Debian: apt-get install wrk)", file=sys.stderr)
        return 2
    name = f"perf_http_{uuid.uuid4().hex[:8]}"
    admin = args.admin_url
    url = f"{_plain(admin).rsplit('/', 1)[0]}/{name}"
    # before the service reads its settings (the in-process GraphQL run uses them)
    os.environ.update(
        JWT_SECRET=SECRET, LOG_LEVEL="WARNING", DATABASE_URL=url.replace("postgresql://", "postgresql+asyncpg://")
    )
    await _admin(admin, f'CREATE DATABASE "{name}"')
    try:
        from service.migrate import upgrade

        upgrade(url.replace("postgresql://", "postgresql+asyncpg://"))
        ids = await seed(url)
        if args.only == "graphql":
            graph = await graphql_in_process(ids, walks=args.walks, profile=args.profile)
            print(f"graphql: {graph}\n\n{_graphql_line(graph)}", flush=True)
            return 0
        from service.auth.tokens import issue_token

        token = issue_token(org_id=ids["org"], sub="bench-hr", roles=["hr"])
        env = {
            "BENCH_DATABASE_URL": url,
            "BENCH_ORG_ID": str(ids["org"]),
            "JWT_SECRET": SECRET,
            "DATABASE_URL": url.replace("postgresql://", "postgresql+asyncpg://"),
            "LOG_LEVEL": "WARNING",
            "DB_POOL_SIZE": "32",
            "DB_MAX_OVERFLOW": "0",
            "DB_DIRECT_POOL_SIZE": "32",
        }
        path = f"/api/v1/employees/{ids['employee']}"
        results: dict[str, dict[str, float]] = {}
        for label, target in () if args.only == "list" else SINGLE_SERVERS:
            with server(target, env) as base:
                results[label] = peak_and_paced(base + path, token, args.duration)
            print(f"{label}: {results[label]}", flush=True)
        lists: dict[str, dict[str, float]] = {}
        bulk: dict[str, Any] = {}
        for label, target in LIST_SERVERS:
            with server(target, env) as base:
                lists[label] = peak_and_paced(base + LIST_PATH, token, args.duration)
                print(f"{label}: {lists[label]}", flush=True)
                if args.only == "all" and target == SERVICE:
                    bulk = await bulk_over_http(base, url, ids)
                    print(f"bulk: {bulk}", flush=True)
        print(
            f"\nHTTP benchmark, PostgreSQL, {platform.machine()} with {os.cpu_count()} cores, Python "
            f"{platform.python_version()}, {dt.date.today()}, wrk -t1 -c{CONNECTIONS} -d{args.duration}s\n"
        )
        if results:
            print(_report(results, "GET /api/v1/employees/{id}") + "\n")
        print(_report(lists, "GET /api/v1/employees?limit=50"))
        if args.only == "list":
            return 0
        graph = await graphql_in_process(ids, walks=args.walks, profile=args.profile)
        print(f"\n{_graphql_line(graph)}")
        for label, b in bulk.items():
            print(
                f"bulk upsert of 10,000 ({label}): {b['seconds']:.2f} s, {b['outcomes']}, "
                f"{'wrote rows' if b['wrote'] else 'wrote nothing'}"
            )
        return 0
    finally:
        if args.keep:
            print(f"kept database {name}")
        else:
            await _admin(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def database_arguments(parser: argparse.ArgumentParser) -> None:
    """--admin-url (the database the throwaway one is made from) and --keep."""
    parser.add_argument(
        "--admin-url", default=os.environ.get("BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    )
    parser.add_argument("--keep", action="store_true", help="keep the database (prints its name)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    database_arguments(parser)
    parser.add_argument(
        "--only",
        choices=("all", "list", "graphql"),
        default="all",
        help="list: only the list of 50 and its floor (no single reads, GraphQL or bulk); "
        "graphql: only the GraphQL walk, in process",
    )
    parser.add_argument("--walks", type=int, default=3, help="timed GraphQL walks (the best is reported)")
    parser.add_argument("--profile", help="write a cProfile of the timed GraphQL walks to this file")
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
