"""Many organizations on Citus against single-node PostgreSQL (run by hand; never part of
the test suite).

For each target (`--targets postgresql,citus`) the script makes a throwaway database,
migrates it with the project's Alembic migrations (on Citus: created on the coordinator
and on every worker with the `citus` extension, the workers registered, then every table
distributed by organization), and loads `--orgs` organizations of `--employees`
employees with COPY (through the coordinator on Citus). Each organization is
`bench/recompute.py`'s synthetic one, smaller per employee so that 100,000 employees load
in minutes: one active cycle, 2 published objectives x 3 metric key results with 2-3
check-ins each, and 4 KPI assignments (banded, ratio, range and a binary veto) with 2
measurements each, about 35 rows an employee.

Then a child process serves the real app in process (httpx's ASGI transport: the figures
are the server's work, with no network) with HR tokens signed by the local key, and
measures for organizations picked at random:

- read: `GET /api/v1/employees?limit=50`, and one score page
  `GET /api/v1/cycles/{id}/scores?limit=50` (scores computed on read);
- write: `POST /api/v1/key-results/{id}/check-ins` on a random key result;
- bulk upsert: `POST /api/v1/employees/bulk` of 500 existing employees (by `external_id`),
  each with a new family name, so every row is an update;
- recompute: `POST /api/v1/cycles/{id}/scores/recompute` of one organization's cycle
  (every employee, inline in the request: `SCORE_INLINE_MAX` is raised to the size);

p50 and p95 over `--reps` sequential requests each (fewer for the heavy ones), and
throughput with `--clients` concurrent clients for the employee list and the check-in.
The requests are split over `--rounds` measuring processes per target, the targets taking
turns, so that the shared machine's slow minutes fall on both.
The table compares the targets; the databases are dropped at the end (also on failure)
unless `--keep` is given.

    .venv/bin/python bench/citus_scale.py                       # 50 x 2,000
    .venv/bin/python bench/citus_scale.py --orgs 10 --targets citus
    .venv/bin/python bench/citus_scale.py --orgs 2 --employees 200 --reps 20   # a smoke run

`--log-multi-shard` makes the Citus coordinator log every statement of the measured
requests that fans out to more than one shard (`citus.multi_task_query_log_level`).

`--pg-admin-url` (default `postgresql://postgres@127.0.0.1:5432/postgres`) is the
single-node server; `--citus-admin-url` (default port 5433) the Citus coordinator and
`--citus-workers` its workers (default: the coordinator's host at its port +1 and +2,
the layout of ../shared/citus/cluster.sh, which starts such a cluster).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402

from bench import recompute as gen  # noqa: E402
from service.citus import distribute_url  # noqa: E402

SECRET = "bench-secret-" + "x" * 40
BULK_ROWS = 500
KR_SAMPLE = 200  # key results remembered per organization for the check-ins

# recompute.py's generator, smaller per employee (its module constants are read per call)
gen.OBJECTIVES_PER_EMPLOYEE = 2
gen.KRS_PER_OBJECTIVE = 3
gen.MEASUREMENTS_PER_KPI = 2
gen.KPI_DEFINITIONS = [gen.KPI_DEFINITIONS[i] for i in (0, 1, 3, 4)]
# a cycle open today, so that check-ins are accepted
TODAY = dt.date.today()
gen.CYCLE_START = TODAY - dt.timedelta(days=60)
gen.CYCLE_END = TODAY + dt.timedelta(days=30)

LOADED_TABLES = [
    "organizations",
    "departments",
    "positions",
    "cycles",
    "kpi_definitions",
    "employees",
    "objectives",
    "key_results",
    "check_ins",
    "kpi_assignments",
    "kpi_measurements",
]


def _plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


def _driver(url: str) -> str:
    return _plain(url).replace("postgresql://", "postgresql+asyncpg://", 1)


def _with_db(url: str, db: str) -> str:
    parts = urlsplit(_plain(url))
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, parts.fragment))


def _with_port(url: str, host: str, port: int) -> str:
    parts = urlsplit(_plain(url))
    auth = parts.netloc.rpartition("@")[0]
    netloc = f"{auth}@{host}:{port}" if auth else f"{host}:{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


async def _execute(url: str, *statements: str) -> None:
    conn = await asyncpg.connect(_plain(url))
    try:
        for sql in statements:
            await conn.execute(sql)
    finally:
        await conn.close()


# --- the targets ------------------------------------------------------------------------------------


class Target:
    """A database server: single-node PostgreSQL, or a Citus coordinator and its workers."""

    def __init__(self, name: str, admin_url: str, workers: list[tuple[str, int]]) -> None:
        self.name = name
        self.admin_url = _plain(admin_url)
        self.workers = workers
        self.database = f"bench_citus_{name[:4]}_{uuid.uuid4().hex[:8]}"
        self.url = _with_db(self.admin_url, self.database)

    @property
    def citus(self) -> bool:
        return bool(self.workers)

    def _nodes(self) -> list[str]:
        return [self.admin_url, *(_with_port(self.admin_url, h, p) for h, p in self.workers)]

    async def create(self) -> None:
        for admin in self._nodes():
            await _execute(admin, f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
            await _execute(admin, f'CREATE DATABASE "{self.database}"')
            if self.citus:
                await _execute(_with_db(admin, self.database), "CREATE EXTENSION citus")
        if self.citus:
            coordinator = urlsplit(self.admin_url)
            conn = await asyncpg.connect(self.url)
            try:
                await conn.execute(
                    "SELECT citus_set_coordinator_host($1, $2)", coordinator.hostname, coordinator.port or 5432
                )
                for host, port in self.workers:
                    await conn.execute("SELECT citus_add_node($1, $2)", host, port)
            finally:
                await conn.close()

    async def drop(self) -> None:
        for admin in self._nodes():
            await _execute(admin, f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')


async def distribute(url: str) -> tuple[int, int]:
    """Distribute every table by organization (the project's step, service/citus.py; the
    migration did it already, so this finds nothing left); answers (distributed tables,
    tables)."""
    await distribute_url(_driver(url))
    conn = await asyncpg.connect(_plain(url))
    try:
        tables = await conn.fetchval(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
        )
        distributed = await conn.fetchval(
            "SELECT count(*) FROM pg_dist_partition WHERE partmethod = 'h' AND colocationid = "
            "(SELECT colocationid FROM pg_dist_partition WHERE logicalrelid = 'organizations'::regclass)"
        )
        return int(distributed), int(tables)
    finally:
        await conn.close()


# --- loading ----------------------------------------------------------------------------------------


async def load_org(conn: asyncpg.Connection, index: int, employees: int, rng: random.Random) -> dict[str, Any]:
    """One organization with recompute.py's generator; answers the ids the measurements use."""
    org = gen.Org()
    now = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    async with conn.transaction():
        counts, key_results = await gen.load_organization(conn, org, employees, rng, now, f"Benchmark {index}")
    return {
        "org": str(org.org_id),
        "cycle": str(org.cycle_id),
        "key_results": [str(k) for k in rng.sample(key_results, min(KR_SAMPLE, len(key_results)))],
        "counts": counts,
    }


async def load(url: str, orgs: int, employees: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    conn = await asyncpg.connect(_plain(url))
    loaded = []
    try:
        for i in range(orgs):
            loaded.append(await load_org(conn, i, employees, rng))
        for table in LOADED_TABLES:
            await conn.execute(f"VACUUM ANALYZE {table}")
    finally:
        await conn.close()
    return loaded


# --- measuring (the child process) --------------------------------------------------------------------


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def _summary(latencies: list[float]) -> dict[str, float]:
    return {
        "n": len(latencies),
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p95_ms": round(_percentile(latencies, 0.95) * 1000, 2),
    }


async def measure(manifest: dict[str, Any]) -> dict[str, Any]:
    import httpx

    from service.auth.tokens import issue_token
    from service.db import database
    from service.web.app import create_app

    orgs: list[dict[str, Any]] = manifest["orgs"]
    employees: int = manifest["employees"]
    reps: int = manifest["reps"]
    round_no: int = manifest["round"]
    rng = random.Random(manifest["seed"] * 1000 + round_no)
    tokens = {o["org"]: issue_token(org_id=o["org"], sub="bench-hr", roles=["hr"]) for o in orgs}
    bulk_round = 0

    def pick() -> dict[str, Any]:
        return rng.choice(orgs)

    async def call(
        client: httpx.AsyncClient, method: str, path: str, org: dict[str, Any], body: Any = None, status: int = 200
    ) -> float:
        started = time.perf_counter()
        resp = await client.request(method, path, json=body, headers={"Authorization": f"Bearer {tokens[org['org']]}"})
        elapsed = time.perf_counter() - started
        if resp.status_code != status:
            raise RuntimeError(f"{method} {path}: {resp.status_code} {resp.text[:500]}")
        return elapsed

    async def read_list(client: httpx.AsyncClient) -> float:
        return await call(client, "GET", "/api/v1/employees?limit=50", pick())

    async def read_scores(client: httpx.AsyncClient) -> float:
        org = pick()
        return await call(client, "GET", f"/api/v1/cycles/{org['cycle']}/scores?limit=50", org)

    async def write_check_in(client: httpx.AsyncClient) -> float:
        org = pick()
        kr = rng.choice(org["key_results"])
        body = {"value": rng.randrange(0, 12000) / 100, "confidence": 7}
        return await call(client, "POST", f"/api/v1/key-results/{kr}/check-ins", org, body, 201)

    async def bulk_upsert(client: httpx.AsyncClient) -> float:
        nonlocal bulk_round
        bulk_round += 1
        org = pick()
        first = rng.randrange(0, max(1, employees - BULK_ROWS + 1))
        rows = [
            {"external_id": f"E{i:07d}", "family_name": f"Bulk{round_no}-{bulk_round}-{i}"}
            for i in range(first, min(employees, first + BULK_ROWS))
        ]
        started = time.perf_counter()
        resp = await client.post(
            "/api/v1/employees/bulk",
            json={"rows": rows},
            headers={"Authorization": f"Bearer {tokens[org['org']]}"},
        )
        elapsed = time.perf_counter() - started
        if resp.status_code != 200 or resp.json()["updated"] != len(rows):
            raise RuntimeError(f"bulk upsert: {resp.status_code} {resp.text[:500]}")
        return elapsed

    async def recompute(client: httpx.AsyncClient) -> float:
        org = pick()
        return await call(client, "POST", f"/api/v1/cycles/{org['cycle']}/scores/recompute", org)

    Op = Callable[[httpx.AsyncClient], Awaitable[float]]
    plan: list[tuple[str, Op, int]] = [
        ("read: GET /employees?limit=50", read_list, reps),
        ("read: GET /cycles/{id}/scores?limit=50", read_scores, max(5, reps // 4)),
        ("write: POST /key-results/{id}/check-ins", write_check_in, reps),
        (f"bulk upsert: POST /employees/bulk, {BULK_ROWS} rows", bulk_upsert, max(3, reps // 20)),
        (f"recompute: one cycle, {employees:,} employees", recompute, max(3, reps // 40)),
    ]
    out: dict[str, Any] = {"latency": {}, "throughput": {}}
    transport = httpx.ASGITransport(app=create_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=600) as client:
        for label, op, n in plan:
            for _ in range(2 if n > 10 else 1):  # warm: pools, statement caches, code paths
                await op(client)
            latencies = [await op(client) for _ in range(n)]
            out["latency"][label] = latencies
            print(f"  {label}: {_summary(latencies)}", file=sys.stderr, flush=True)
        clients, requests = manifest["clients"], manifest["throughput_requests"]
        for label, op in (("read: GET /employees?limit=50", read_list), ("write: POST check-in", write_check_in)):
            seconds, latencies = await concurrently(op, client, clients, requests)
            out["throughput"][label] = {"seconds": seconds, "latencies": latencies}
            print(
                f"  {label}, {clients} clients: {requests / seconds:.1f}/s, {_summary(latencies)}",
                file=sys.stderr,
                flush=True,
            )
    await database.dispose()
    return out


async def concurrently(
    op: Callable[[Any], Awaitable[float]], client: Any, clients: int, requests: int
) -> tuple[float, list[float]]:
    """`requests` calls of `op` by `clients` concurrent clients: the seconds, the latencies."""
    queue = iter(range(requests))
    latencies: list[float] = []

    async def worker() -> None:
        for _ in queue:
            latencies.append(await op(client))

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    return time.perf_counter() - started, latencies


def child(manifest_path: str) -> None:
    manifest = json.loads(Path(manifest_path).read_text())
    print(json.dumps(asyncio.run(measure(manifest))))


def run_child(target: Target, manifest: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(manifest, f)
    env = {
        **os.environ,
        "DATABASE_URL": _driver(target.url),
        "JWT_SECRET": os.environ.get("JWT_SECRET", SECRET),
        "LOG_LEVEL": "WARNING",
        "RATE_LIMIT_ENABLED": "false",
        "SCORE_INLINE_MAX": str(max(2000, args.employees)),
        "DB_POOL_SIZE": str(max(10, args.clients + 2)),
        "DB_DIRECT_POOL_SIZE": str(max(10, args.clients + 2)),
    }
    try:
        out = subprocess.run(
            [sys.executable, __file__, "--child", f.name], env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
    finally:
        os.unlink(f.name)
    if out.returncode != 0:
        raise RuntimeError(f"{target.name}: the measuring process failed ({out.returncode})")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


# --- the report -------------------------------------------------------------------------------------


def _table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def merge(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """The rounds of one target as one result: latencies pooled, throughput over all rounds."""
    latency: dict[str, list[float]] = {}
    throughput: dict[str, dict[str, Any]] = {}
    for r in rounds:
        for label, values in r["latency"].items():
            latency.setdefault(label, []).extend(values)
        for label, t in r["throughput"].items():
            into = throughput.setdefault(label, {"seconds": 0.0, "latencies": []})
            into["seconds"] += t["seconds"]
            into["latencies"].extend(t["latencies"])
    return {
        "latency": {label: _summary(values) for label, values in latency.items()},
        "throughput": {
            label: {"req_s": round(len(t["latencies"]) / t["seconds"], 1), **_summary(t["latencies"])}
            for label, t in throughput.items()
        },
    }


def report(results: dict[str, dict[str, Any]], clients: int) -> str:
    names = list(results)
    head = ["operation"]
    for n in names:
        head += [f"{n} p50 ms", f"{n} p95 ms"]
    if len(names) == 2:
        head.append(f"{names[1]} / {names[0]} (p50)")
    rows: list[tuple[str, ...]] = [tuple(head)]
    first = results[names[0]]["latency"]
    for label in first:
        row = [f"{label} (n={first[label]['n']})"]
        for n in names:
            r = results[n]["latency"][label]
            row += [f"{r['p50_ms']:,.1f}", f"{r['p95_ms']:,.1f}"]
        if len(names) == 2:
            a, b = (results[n]["latency"][label]["p50_ms"] for n in names)
            row.append(f"{b / a:.2f}")
        rows.append(tuple(row))
    for label in results[names[0]]["throughput"]:
        row = [f"{label}, {clients} clients: req/s; p50, p95 ms"]
        for n in names:
            r = results[n]["throughput"][label]
            row += [f"{r['req_s']:,.0f}", f"{r['p50_ms']:,.1f}, {r['p95_ms']:,.1f}"]
        if len(names) == 2:
            a, b = (results[n]["throughput"][label]["req_s"] for n in names)
            row.append(f"{b / a:.2f} (req/s)")
        rows.append(tuple(row))
    return _table(rows)


# --- main -------------------------------------------------------------------------------------------


def _workers(admin_url: str, spec: str) -> list[tuple[str, int]]:
    if spec:
        found = []
        for item in spec.split(","):
            host, _, port = item.strip().rpartition(":")
            found.append((host or "127.0.0.1", int(port)))
        return found
    parts = urlsplit(_plain(admin_url))
    host, port = parts.hostname or "127.0.0.1", parts.port or 5432
    return [(host, port + 1), (host, port + 2)]


async def prepare(target: Target, args: argparse.Namespace) -> dict[str, Any]:
    from service.migrate import upgrade

    await target.create()
    t0 = time.perf_counter()
    await asyncio.to_thread(upgrade, _driver(target.url))
    info: dict[str, Any] = {"migrate_s": round(time.perf_counter() - t0, 1)}
    if target.citus:
        t0 = time.perf_counter()
        distributed, tables = await distribute(target.url)
        if distributed != tables:
            raise RuntimeError(f"{target.name}: {distributed} of {tables} tables distributed")
        info["distribute_s"] = round(time.perf_counter() - t0, 1)
        info["tables_distributed"] = distributed
    t0 = time.perf_counter()
    orgs = await load(target.url, args.orgs, args.employees, args.seed)
    info["load_s"] = round(time.perf_counter() - t0, 1)
    if target.citus and args.log_multi_shard:
        # the measuring process's new sessions log each multi-shard statement
        await _execute(
            target.admin_url, f"ALTER DATABASE \"{target.database}\" SET citus.multi_task_query_log_level = 'log'"
        )
    totals: dict[str, int] = {}
    for o in orgs:
        for table, n in o.pop("counts").items():
            totals[table] = totals.get(table, 0) + n
    info["rows"] = totals
    info["orgs"] = orgs
    return info


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--targets", default="postgresql,citus", help="comma-separated: postgresql, citus")
    parser.add_argument("--orgs", type=int, default=50)
    parser.add_argument("--employees", type=int, default=2000, help="employees per organization")
    parser.add_argument("--reps", type=int, default=120, help="sequential requests per light operation")
    parser.add_argument("--rounds", type=int, default=2, help="measuring rounds, the targets taking turns")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients for the throughput runs")
    parser.add_argument("--throughput-requests", type=int, default=400)
    parser.add_argument("--seed", type=int, default=23)
    parser.add_argument(
        "--pg-admin-url", default=os.environ.get("BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    )
    parser.add_argument(
        "--citus-admin-url",
        default=os.environ.get("BENCH_CITUS_ADMIN_URL", "postgresql://postgres@127.0.0.1:5433/postgres"),
    )
    parser.add_argument("--citus-workers", default="", help="host:port,host:port (default: coordinator port +1, +2)")
    parser.add_argument(
        "--log-multi-shard",
        action="store_true",
        help="on Citus, log every statement that fans out to several shards while measuring (the coordinator's log)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the databases (prints their names)")
    parser.add_argument("--child", metavar="MANIFEST", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return 0
    if not 0 < args.employees <= 10_000 or not 0 < args.orgs <= 1000 or not 0 < args.rounds <= 10:
        parser.error("--employees is 1 to 10,000, --orgs 1 to 1,000 and --rounds 1 to 10")
    os.environ.setdefault("JWT_SECRET", SECRET)
    from service.models import load_all, load_hooks

    load_all()
    load_hooks()
    targets = []
    for name in args.targets.split(","):
        if name == "postgresql":
            targets.append(Target("postgresql", args.pg_admin_url, []))
        elif name == "citus":
            targets.append(Target("citus", args.citus_admin_url, _workers(args.citus_admin_url, args.citus_workers)))
        else:
            parser.error(f"unknown target {name!r}")
    manifests: dict[str, dict[str, Any]] = {}
    rounds: dict[str, list[dict[str, Any]]] = {t.name: [] for t in targets}
    infos: dict[str, dict[str, Any]] = {}
    try:
        for target in targets:
            print(f"{target.name}: database {target.database}", flush=True)
            info = asyncio.run(prepare(target, args))
            print(
                f"{target.name}: migrated in {info['migrate_s']} s"
                + (
                    f", {info['tables_distributed']} tables distributed in {info['distribute_s']} s"
                    if target.citus
                    else ""
                )
                + f", loaded in {info['load_s']} s: "
                + ", ".join(f"{k} {v:,}" for k, v in info["rows"].items()),
                flush=True,
            )
            manifests[target.name] = {
                "orgs": info.pop("orgs"),
                "employees": args.employees,
                "reps": -(-args.reps // args.rounds),
                "seed": args.seed,
                "clients": args.clients,
                "throughput_requests": -(-args.throughput_requests // args.rounds),
            }
            infos[target.name] = info
        # the targets take turns (the order reversed every other round), so that the
        # shared machine's slow and fast minutes fall on both
        for round_no in range(args.rounds):
            for target in targets if round_no % 2 == 0 else targets[::-1]:
                print(f"round {round_no + 1}, {target.name}:", flush=True)
                manifest = {**manifests[target.name], "round": round_no}
                rounds[target.name].append(run_child(target, manifest, args))
    finally:
        for target in targets:
            if args.keep:
                print(f"kept database {target.database}")
            else:
                asyncio.run(target.drop())
    results = {name: merge(r) for name, r in rounds.items()}
    print(
        f"\n{args.orgs} organizations x {args.employees:,} employees, {platform.machine()} with "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, {dt.date.today()}, "
        f"load average {os.getloadavg()[0]:.2f}\n"
    )
    print(report(results, args.clients))
    for name, info in infos.items():
        extra = f", distributed in {info['distribute_s']} s" if "distribute_s" in info else ""
        print(f"{name}: migrated in {info['migrate_s']} s{extra}, loaded in {info['load_s']} s")
    print("\ncommand: " + " ".join([Path(sys.executable).name, "bench/citus_scale.py", *sys.argv[1:]]))
    print("a Citus cluster on this machine: ../shared/citus/cluster.sh start (coordinator 5433, workers 5434, 5435)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
