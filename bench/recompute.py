"""Score recompute benchmark (run by hand; never part of the test suite).

Creates a throwaway PostgreSQL database, migrates it with the project's Alembic
migrations, loads a synthetic organization of N employees in one cycle (each with 5
published objectives x 4 metric key results with 2-3 check-ins each, and 8 KPI
assignments with 3 measurements each), then measures in the same run:

- the floor: reading the same input rows (employees, objectives, key results, check-ins,
  KPI assignments, measurements of the cycle) with one raw asyncpg query per table;
- the recompute: `service.scoring.scores.recompute_cycle` for the whole cycle (run as
  the recompute job runs it, with an HR principal), committed; wall seconds over
  `--repeat` runs, the process's peak RSS growth during the first run
  (`resource.getrusage().ru_maxrss`), and the tracemalloc peak of Python allocations
  in a separate pass.

With `--jobs 1,2` it measures instead the recompute as the worker runs it: for each
runner count, a job is queued (`service.scoring.jobs.queue`, chunks of
`--chunk` employees) and that many runner processes (`bench/recompute.py --runner`,
each draining chunks with `jobs.drain`, as `python -m service worker` does) share it;
reported: wall seconds from the first runner's start to the job's end, each process's
chunks, its own seconds and its peak RSS (`resource.getrusage` in that process), and
the cost per employee; next to the floor of the same run.

The database is dropped at the end (also on failure) unless `--keep` is given.

    .venv/bin/python bench/recompute.py --employees 10000
    .venv/bin/python bench/recompute.py --employees 100000 --repeat 1
    .venv/bin/python bench/recompute.py --employees 10000 --profile /tmp/recompute.prof
    .venv/bin/python bench/recompute.py --employees 100000 --jobs 1,2 --repeat 1

`--admin-url` (default `postgresql://postgres@127.0.0.1:5432/postgres`, or
`BENCH_ADMIN_URL`) names a database from which the throwaway one is created.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import datetime as dt
import gc
import os
import platform
import pstats
import random
import resource
import sys
import time
import tracemalloc
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SELF = str(Path(__file__).resolve())  # a runner process runs this file with --runner
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402

OBJECTIVES_PER_EMPLOYEE = 5
KRS_PER_OBJECTIVE = 4
KPIS_PER_EMPLOYEE = 8
MEASUREMENTS_PER_KPI = 3
CHUNK_EMPLOYEES = 2000

CYCLE_START = dt.date(2026, 1, 1)
CYCLE_END = dt.date(2026, 3, 31)

# (code, direction, aggregation, method, threshold, target, stretch, range_low, range_high, tolerance, veto)
KPI_DEFINITIONS: list[tuple[Any, ...]] = [
    ("revenue", "higher_is_better", "sum", "banded", "600", "900", "1200", None, None, None, False),
    ("nps", "higher_is_better", "avg", "ratio", None, "300", None, None, None, None, False),
    ("cost", "lower_is_better", "sum", "ratio", None, "450", None, None, None, None, False),
    ("uptime", "target_range", "last", "range", None, None, None, "250", "350", "100", False),
    ("incidents", "lower_is_better", "max", "binary", None, "480", None, None, None, None, True),
    ("csat", "higher_is_better", "min", "banded", "50", "200", None, None, None, None, False),
    ("tickets", "higher_is_better", "avg", "binary", None, "150", None, None, None, None, False),
    ("quality", "lower_is_better", "last", "banded", "400", "200", "100", None, None, None, False),
]


def _d(value: str | None) -> Decimal | None:
    return Decimal(value) if value is not None else None


# --- database lifecycle ---------------------------------------------------------------------------


def _plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


def _with_db(admin_url: str, name: str) -> str:
    base = _plain(admin_url).rsplit("/", 1)[0]
    return f"{base}/{name}"


async def create_database(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(_plain(admin_url))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def drop_database(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(_plain(admin_url))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


# --- synthetic organization -------------------------------------------------------------------------


class Org:
    """Ids of the rows the measurements need."""

    def __init__(self) -> None:
        self.org_id = uuid.uuid4()
        self.cycle_id = uuid.uuid4()
        self.definition_ids: list[uuid.UUID] = []


def _employee_rows(
    org: Org,
    start: int,
    stop: int,
    ids: list[uuid.UUID],
    departments: list[uuid.UUID],
    positions: list[uuid.UUID],
    now: dt.datetime,
) -> Iterator[tuple[Any, ...]]:
    for i in range(start, stop):
        manager = ids[(i - 1) // 10] if i > 0 else None
        yield (
            org.org_id,
            ids[i],
            f"E{i:07d}",
            f"e{i}@example.com",
            "Given",
            f"Family{i}",
            departments[i % len(departments)],
            positions[i % len(positions)],
            manager,
            "active",
            None,
            None,
            1,
            now,
            now,
        )


EMPLOYEE_COLUMNS = [
    "org_id",
    "id",
    "external_id",
    "email",
    "given_name",
    "family_name",
    "department_id",
    "position_id",
    "manager_id",
    "status",
    "hire_date",
    "termination_date",
    "version",
    "created_at",
    "updated_at",
]
OBJECTIVE_COLUMNS = [
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
]
KR_COLUMNS = [
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
]
CHECK_IN_COLUMNS = ["org_id", "id", "key_result_id", "value", "author", "checked_in_at", "created_at"]
ASSIGNMENT_COLUMNS = [
    "org_id",
    "id",
    "employee_id",
    "cycle_id",
    "definition_id",
    "version",
    "created_at",
    "updated_at",
    "method",
    "weight",
    "threshold",
    "target",
    "stretch",
    "range_low",
    "range_high",
    "tolerance",
    "veto",
    "rewardable",
]
MEASUREMENT_COLUMNS = ["org_id", "id", "assignment_id", "value", "measured_at", "version", "created_at", "updated_at"]


def _work_rows(
    org: Org, employee_ids: list[uuid.UUID], rng: random.Random, now: dt.datetime
) -> dict[str, list[tuple[Any, ...]]]:
    """Objectives, key results, check-ins, assignments and measurements of some employees."""
    uid = uuid.uuid4
    objectives, krs, check_ins, assignments, measurements = [], [], [], [], []
    span = (CYCLE_END - CYCLE_START).days
    base = dt.datetime.combine(CYCLE_START, dt.time(9), tzinfo=dt.UTC)
    one, two = Decimal(1), Decimal(2)
    for emp in employee_ids:
        for o in range(OBJECTIVES_PER_EMPLOYEE):
            oid = uid()
            objectives.append(
                (
                    org.org_id,
                    oid,
                    f"Objective {o}",
                    "individual",
                    emp,
                    org.cycle_id,
                    "aspirational" if o == 4 else "committed",
                    two if o == 0 else one,
                    "public",
                    "published",
                    1,
                    now,
                    now,
                )
            )
            for k in range(KRS_PER_OBJECTIVE):
                kid = uid()
                decreasing = k == 3
                start, target = (Decimal(100), Decimal(20)) if decreasing else (Decimal(0), Decimal(100))
                krs.append((org.org_id, kid, oid, f"Key result {k}", "metric", start, target, one, 1, now, now))
                for c in range(2 + (k + o) % 2):
                    at = base + dt.timedelta(days=rng.randrange(span), minutes=c)
                    check_ins.append((org.org_id, uid(), kid, Decimal(rng.randrange(0, 12000)) / 100, "bench", at, at))
        for d, definition in enumerate(KPI_DEFINITIONS):
            aid = uid()
            (_code, _direction, _agg, method, threshold, target, stretch, low, high, tolerance, veto) = definition
            assignments.append(
                (
                    org.org_id,
                    aid,
                    emp,
                    org.cycle_id,
                    org.definition_ids[d],
                    1,
                    now,
                    now,
                    method,
                    two if d == 0 else one,
                    _d(threshold),
                    _d(target),
                    _d(stretch),
                    _d(low),
                    _d(high),
                    _d(tolerance),
                    veto,
                    d == 0,
                )
            )
            for m in range(MEASUREMENTS_PER_KPI):
                day = CYCLE_START + dt.timedelta(days=rng.randrange(span + 1))
                measurements.append(
                    (
                        org.org_id,
                        uid(),
                        aid,
                        Decimal(rng.randrange(100, 50000)) / 100,
                        day,
                        1,
                        now + dt.timedelta(microseconds=m),
                        now,
                    )
                )
    return {
        "objectives": objectives,
        "key_results": krs,
        "check_ins": check_ins,
        "kpi_assignments": assignments,
        "kpi_measurements": measurements,
    }


async def load_organization(
    conn: asyncpg.Connection, org: Org, employees: int, rng: random.Random, now: dt.datetime, name: str = "Benchmark"
) -> tuple[dict[str, int], list[uuid.UUID]]:
    """One organization of `employees` with their objectives, key results, check-ins and
    KPIs, written with COPY a chunk of employees per transaction; answers the row counts
    and the key results' ids (bench/citus_scale.py loads many organizations with it)."""
    counts: dict[str, int] = {}
    await conn.execute(
        "INSERT INTO organizations (id, name, currency, timezone, fiscal_year_start, settings, version,"
        " created_at, updated_at) VALUES ($1, $2, 'USD', 'UTC', '01-01', '{}', 1, $3, $3)",
        org.org_id,
        name,
        now,
    )
    root = uuid.uuid4()
    departments = [uuid.uuid4() for _ in range(max(1, employees // 100))]
    await conn.copy_records_to_table(
        "departments",
        columns=["org_id", "id", "name", "parent_id", "version", "created_at", "updated_at"],
        records=[(org.org_id, root, "Company", None, 1, now, now)]
        + [(org.org_id, d, f"Dept {i}", root, 1, now, now) for i, d in enumerate(departments)],
    )
    positions = [uuid.uuid4() for _ in range(10)]
    await conn.copy_records_to_table(
        "positions",
        columns=["org_id", "id", "name", "version", "created_at", "updated_at"],
        records=[(org.org_id, p, f"Position {i}", 1, now, now) for i, p in enumerate(positions)],
    )
    await conn.execute(
        "INSERT INTO cycles (org_id, id, name, cadence, start_date, end_date, status, version, created_at,"
        " updated_at) VALUES ($1, $2, 'Q1', 'quarterly', $3, $4, 'active', 1, $5, $5)",
        org.org_id,
        org.cycle_id,
        CYCLE_START,
        CYCLE_END,
        now,
    )
    definitions = []
    for code, direction, aggregation, *_ in KPI_DEFINITIONS:
        did = uuid.uuid4()
        org.definition_ids.append(did)
        definitions.append((org.org_id, did, code, code, direction, aggregation, 1, now, now))
    await conn.copy_records_to_table(
        "kpi_definitions",
        columns=["org_id", "id", "code", "name", "direction", "aggregation", "version", "created_at", "updated_at"],
        records=definitions,
    )
    ids = [uuid.uuid4() for _ in range(employees)]
    await conn.copy_records_to_table(
        "employees",
        columns=EMPLOYEE_COLUMNS,
        records=list(_employee_rows(org, 0, employees, ids, departments, positions, now)),
    )
    counts["employees"] = employees
    columns = {
        "objectives": OBJECTIVE_COLUMNS,
        "key_results": KR_COLUMNS,
        "check_ins": CHECK_IN_COLUMNS,
        "kpi_assignments": ASSIGNMENT_COLUMNS,
        "kpi_measurements": MEASUREMENT_COLUMNS,
    }
    key_results: list[uuid.UUID] = []
    for start in range(0, employees, CHUNK_EMPLOYEES):
        rows = _work_rows(org, ids[start : start + CHUNK_EMPLOYEES], rng, now)
        key_results += [r[1] for r in rows["key_results"]]
        async with conn.transaction():
            for table, records in rows.items():
                await conn.copy_records_to_table(table, columns=columns[table], records=records)
                counts[table] = counts.get(table, 0) + len(records)
        del rows
    return counts, key_results


async def load(url: str, employees: int, seed: int) -> tuple[Org, dict[str, int]]:
    org = Org()
    rng = random.Random(seed)
    conn = await asyncpg.connect(url)
    try:
        counts, _ = await load_organization(conn, org, employees, rng, dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()
    return org, counts


async def existing(url: str) -> Org:
    """The organization and cycle of a database loaded by an earlier run."""
    conn = await asyncpg.connect(url)
    try:
        row = await conn.fetchrow("SELECT org_id, id FROM cycles WHERE name = 'Q1'")
        org = Org()
        org.org_id, org.cycle_id = row["org_id"], row["id"]
        return org
    finally:
        await conn.close()


async def _count(url: str, sql: str, *args: Any) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval(sql, *args))
    finally:
        await conn.close()


# --- the floor: one raw query per table --------------------------------------------------------------

FLOOR_QUERIES = {
    "employees": "SELECT id, position_id, department_id, manager_id FROM employees WHERE org_id = $1",
    "objectives": "SELECT id, owner_id, type, weight, status FROM objectives WHERE org_id = $1 AND cycle_id = $2",
    "key_results": "SELECT k.id, k.objective_id, k.kind, k.weight, k.start, k.target, k.grade, k.milestones"
    " FROM key_results k JOIN objectives o ON o.org_id = k.org_id AND o.id = k.objective_id"
    " WHERE k.org_id = $1 AND o.cycle_id = $2",
    "check_ins": "SELECT c.key_result_id, c.value, c.done, c.checked_in_at, c.created_at FROM check_ins c"
    " JOIN key_results k ON k.org_id = c.org_id AND k.id = c.key_result_id"
    " JOIN objectives o ON o.org_id = k.org_id AND o.id = k.objective_id"
    " WHERE c.org_id = $1 AND o.cycle_id = $2",
    "kpi_assignments": "SELECT id, employee_id, definition_id, method, weight, threshold, target, stretch,"
    " range_low, range_high, tolerance, veto, rewardable FROM kpi_assignments"
    " WHERE org_id = $1 AND cycle_id = $2",
    "kpi_measurements": "SELECT m.assignment_id, m.value, m.measured_at, m.created_at FROM kpi_measurements m"
    " JOIN kpi_assignments a ON a.org_id = m.org_id AND a.id = m.assignment_id"
    " WHERE m.org_id = $1 AND a.cycle_id = $2",
}


async def floor(url: str, org: Org) -> tuple[float, float, dict[str, int]]:
    conn = await asyncpg.connect(url)
    try:
        rows: dict[str, int] = {}
        t0, c0 = time.perf_counter(), time.process_time()
        for table, sql in FLOOR_QUERIES.items():
            args = (org.org_id,) if table == "employees" else (org.org_id, org.cycle_id)
            rows[table] = len(await conn.fetch(sql, *args))
        return time.perf_counter() - t0, time.process_time() - c0, rows
    finally:
        await conn.close()


# --- the recompute ---------------------------------------------------------------------------------


class Phases:
    """Wall seconds per phase of a recompute: each input loader, the engine, and the rest
    (population, policies, the snapshot and the commit). Installed by wrapping the
    loaders registered with service.scoring.service and its `score_employee`."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def add(self, name: str, seconds: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds

    def install(self) -> None:
        from service.scoring import service as scoring

        def timed_loader(fn: Any) -> Any:
            async def wrapper(ctx: Any, scope: Any) -> Any:
                t0 = time.perf_counter()
                try:
                    return await fn(ctx, scope)
                finally:
                    self.add(f"load {fn.__module__.split('.')[1]}", time.perf_counter() - t0)

            return wrapper

        scoring._loaders[:] = [timed_loader(fn) for fn in scoring._loaders]
        engine_fn = scoring.score_employee

        def timed_engine(*a: Any, **kw: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return engine_fn(*a, **kw)
            finally:
                self.add("engine", time.perf_counter() - t0)

        scoring.score_employee = timed_engine


PHASES = Phases()


async def recompute(url: str, org: Org, profile: cProfile.Profile | None = None) -> tuple[float, float, int, int]:
    from sqlalchemy.ext.asyncio import async_sessionmaker

    from service.auth.context import Ctx
    from service.cycles.models import Cycle
    from service.db import SerializedSession, make_engine
    from service.principal import Principal
    from service.scoring.scores import recompute_cycle

    engine = make_engine(url.replace("postgresql://", "postgresql+asyncpg://"))
    try:
        sessions = async_sessionmaker(engine, expire_on_commit=False, class_=SerializedSession)
        # Warm the pool and the mapper configuration outside the timed part.
        async with sessions() as session:
            await session.get(Cycle, (org.org_id, org.cycle_id))
        principal = Principal(sub="bench", org_id=org.org_id, kind="person", roles=frozenset({"hr"}))
        gc.collect()
        PHASES.seconds.clear()
        t0, c0 = time.perf_counter(), time.process_time()
        if profile is not None:
            profile.enable()
        async with sessions() as session:
            ctx = Ctx(session=session, principal=principal)
            cycle = await session.get(Cycle, (org.org_id, org.cycle_id))
            employees, changed = await recompute_cycle(ctx, cycle)
            await session.commit()
        if profile is not None:
            profile.disable()
        return time.perf_counter() - t0, time.process_time() - c0, employees, changed
    finally:
        await engine.dispose()


# --- the recompute as a job of chunks, run by runner processes -----------------------------------


async def queue_job(url: str, org: Org, chunk: int) -> uuid.UUID:
    from sqlalchemy.ext.asyncio import async_sessionmaker

    from service.config import get_settings
    from service.db import SerializedSession, make_engine
    from service.scoring import jobs

    get_settings().score_job_chunk = chunk
    engine = make_engine(url.replace("postgresql://", "postgresql+asyncpg://"))
    try:
        async with async_sessionmaker(engine, expire_on_commit=False, class_=SerializedSession)() as session:
            job = await jobs.queue(session, org.org_id, org.cycle_id, requested_by="bench", reason="requested")
            await session.commit()
            return job.id
    finally:
        await engine.dispose()


async def job_state(url: str, org: Org, job_id: uuid.UUID) -> Any:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchrow(
            "SELECT status, total, done, employees, started_at, finished_at, created_at FROM score_jobs"
            " WHERE org_id = $1 AND id = $2",
            org.org_id,
            job_id,
        )
    finally:
        await conn.close()


def runner_main(url: str) -> int:
    """One runner process: drain the claimable chunks, print what it did as one line."""
    import json

    os.environ["DATABASE_URL"] = url.replace("postgresql://", "postgresql+asyncpg://")
    from service.db import database
    from service.models import load_all, load_hooks
    from service.scoring import jobs

    load_all()
    load_hooks()

    async def drain() -> tuple[int, float, float]:
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            ran = await jobs.drain()
        finally:
            await database.dispose()
        return ran, time.perf_counter() - t0, time.process_time() - c0

    ran, seconds, cpu = asyncio.run(drain())
    print(json.dumps({"chunks": ran, "seconds": seconds, "cpu": cpu, "rss_mib": _own_peak_rss_mib()}), flush=True)
    return 0


async def job_run(url: str, org: Org, processes: int, chunk: int) -> dict[str, Any]:
    import json

    job_id = await queue_job(url, org, chunk)
    t0 = time.perf_counter()
    procs = [
        await asyncio.create_subprocess_exec(sys.executable, SELF, "--runner", url, stdout=asyncio.subprocess.PIPE)
        for _ in range(processes)
    ]
    outs = [json.loads((await p.communicate())[0].decode().strip().splitlines()[-1]) for p in procs]
    wall = time.perf_counter() - t0
    state = await job_state(url, org, job_id)
    assert state["status"] == "succeeded" and state["done"] == state["total"], dict(state)
    return {
        "wall": wall,
        "job": (state["finished_at"] - state["started_at"]).total_seconds(),
        "employees": state["employees"],
        "runners": outs,
    }


def _rss_mib() -> float:
    # ru_maxrss is KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _own_peak_rss_mib() -> float:
    """This process's own peak RSS (VmHWM). A runner's ru_maxrss is not its own: Linux keeps
    the high-water mark across execve, so a process started by the benchmark reports the
    benchmark's peak (its floor read) when that is higher."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return _rss_mib()


def _load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


# --- main -------------------------------------------------------------------------------------------


async def run(args: argparse.Namespace) -> int:
    from service.migrate import upgrade
    from service.models import load_all, load_hooks

    load_all()
    load_hooks()
    PHASES.install()
    reuse = args.database is not None
    name = args.database or f"perf_bench_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    url = _with_db(args.admin_url, name)
    if not reuse:
        await create_database(args.admin_url, name)
    try:
        if reuse:
            org = await existing(url)
            args.employees = await _count(url, "SELECT count(*) FROM employees WHERE org_id = $1", org.org_id)
            print(f"database {name}: reused ({args.employees:,} employees)", flush=True)
        else:
            t0 = time.perf_counter()
            await asyncio.to_thread(upgrade, url.replace("postgresql://", "postgresql+asyncpg://"))
            t_migrate = time.perf_counter() - t0
            t0 = time.perf_counter()
            org, counts = await load(url, args.employees, args.seed)
            t_load = time.perf_counter() - t0
            print(
                f"database {name}: migrated in {t_migrate:.1f} s, loaded in {t_load:.1f} s: "
                + ", ".join(f"{k} {v:,}" for k, v in counts.items()),
                flush=True,
            )
            if args.load_only:
                return 0
        print(f"load average before measuring: {_load_average()}", flush=True)

        floors: list[tuple[float, float]] = []
        for _ in range(args.repeat):
            seconds, cpu, rows = await floor(url, org)
            floors.append((seconds, cpu))
        print(
            f"floor (raw reads): {', '.join(f'{s:.2f}' for s, _ in floors)} s; rows "
            + ", ".join(f"{k} {v:,}" for k, v in rows.items()),
            flush=True,
        )

        if args.jobs:
            results = []
            for n in (int(x) for x in args.jobs.split(",")):
                for _ in range(args.repeat):
                    r = await job_run(url, org, n, args.chunk)
                    results.append((n, r))
                    print(
                        f"job with {n} runner process(es): {r['wall']:.2f} s wall (first start to last exit), "
                        f"{r['job']:.2f} s first claim to end; "
                        + "; ".join(
                            f"runner {i + 1}: {o['chunks']} chunks, {o['seconds']:.2f} s, "
                            f"{o['cpu']:.2f} s CPU, peak RSS {o['rss_mib']:.0f} MiB"
                            for i, o in enumerate(r["runners"])
                        ),
                        flush=True,
                    )
            best_floor = min(floors)
            print()
            print(
                f"Recompute job, {args.employees:,} employees, chunks of {args.chunk}, PostgreSQL "
                f"({os.cpu_count()} cores, Python {platform.python_version()}, {dt.date.today()}, "
                f"load average after: {_load_average()})"
            )
            print(f"raw read of the input rows (floor): {best_floor[0]:.2f} s")
            for n in sorted({n for n, _ in results}):
                best = min((r for m, r in results if m == n), key=lambda r: r["job"])
                peak = max(o["rss_mib"] for o in best["runners"])
                print(
                    f"{n} runner(s): job {best['job']:.2f} s ({best['job'] / best_floor[0]:.1f}x floor), "
                    f"{best['job'] / args.employees * 1e6:.0f} us/employee, peak RSS per process {peak:.0f} MiB"
                )
            return 0

        profile = cProfile.Profile() if args.profile else None
        runs: list[tuple[float, float]] = []
        phases: list[dict[str, float]] = []
        rss_before = _rss_mib()
        rss_delta = 0.0
        for i in range(args.repeat):
            seconds, cpu, employees, changed = await recompute(url, org, profile if i == 0 else None)
            if i == 0:
                rss_delta = _rss_mib() - rss_before
            runs.append((seconds, cpu))
            phases.append(dict(PHASES.seconds))
            print(
                f"recompute run {i + 1}: {seconds:.2f} s, {cpu:.2f} s CPU in this process "
                f"({employees:,} employees, {changed:,} changed); "
                + ", ".join(f"{k} {v:.2f}" for k, v in PHASES.seconds.items())
                + f", rest {seconds - sum(PHASES.seconds.values()):.2f}",
                flush=True,
            )
        if profile is not None:
            profile.dump_stats(args.profile)
            pstats.Stats(profile).sort_stats("tottime").print_stats(30)

        peak_mib = None
        if not args.no_tracemalloc:
            tracemalloc.start()
            await recompute(url, org)
            peak_mib = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()

        best_floor = min(floors)
        best_index = min(range(len(runs)), key=lambda i: runs[i][0])
        best, best_phases = runs[best_index], phases[best_index]
        rows_out = [
            ("raw read of the input rows (floor), s", f"{best_floor[0]:.2f}"),
            ("  of which CPU in this process, s", f"{best_floor[1]:.2f}"),
            ("recompute_cycle + commit, first run, s", f"{runs[0][0]:.2f}"),
            ("recompute_cycle + commit, best run, s", f"{best[0]:.2f}"),
            ("  of which CPU in this process, s", f"{best[1]:.2f}"),
            *((f"  {k}, s", f"{v:.2f}") for k, v in best_phases.items()),
            ("  population, policies, snapshot, commit, s", f"{best[0] - sum(best_phases.values()):.2f}"),
            ("best recompute / floor", f"{best[0] / best_floor[0]:.1f}"),
            ("peak RSS growth (ru_maxrss), first run, MiB", f"{rss_delta:.0f}"),
        ]
        if peak_mib is not None:
            rows_out.append(("tracemalloc peak, separate run, MiB", f"{peak_mib:.0f}"))
        print()
        print(
            f"Score recompute, {args.employees:,} employees, PostgreSQL "
            f"({os.cpu_count()} cores, Python {platform.python_version()}, {dt.date.today()}, "
            f"load average after: {_load_average()})"
        )
        width = max(len(k) for k, _ in rows_out) + 2
        for k, v in rows_out:
            print(f"{k:<{width}}{v:>10}")
        return 0
    finally:
        if args.keep or reuse:
            print(f"kept database {name} (reuse it with --database {name})")
        else:
            await drop_database(args.admin_url, name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--employees", type=int, default=10000)
    parser.add_argument("--jobs", metavar="N,M", help="measure the chunked job with these runner process counts")
    parser.add_argument("--chunk", type=int, default=1000, help="employees per chunk (--jobs)")
    parser.add_argument("--runner", metavar="URL", help=argparse.SUPPRESS)  # a runner process of --jobs
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of the floor and of the recompute")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument(
        "--admin-url", default=os.environ.get("BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    )
    parser.add_argument("--profile", metavar="FILE", help="cProfile the first recompute into FILE")
    parser.add_argument("--no-tracemalloc", action="store_true", help="skip the tracemalloc pass")
    parser.add_argument("--keep", action="store_true", help="keep the database (prints its name)")
    parser.add_argument("--load-only", action="store_true", help="load and stop (with --keep)")
    parser.add_argument(
        "--database",
        metavar="NAME",
        help="measure a database kept by an earlier --keep run instead of loading a new one",
    )
    args = parser.parse_args()
    if args.runner:
        return runner_main(args.runner)
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
