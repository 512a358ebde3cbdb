"""Stored scores benchmark (run by hand; never part of the test suite).

Creates a throwaway PostgreSQL database, migrates it and measures, in the same run:

1. **Reads at scale.** One organization of `--employees` (default 100,000) loaded with
   bench/recompute.py's COPY loader, its cycle stored the way a finished recompute job
   leaves it (`freshness.begin`, `stored.rescore` over chunks of 1,000 employees, each
   chunk its own transaction, `freshness.complete`; timed). Then, against one uvicorn
   worker (bench/http_load.py's `server`):
   `GET /api/v1/cycles/{id}/scores?limit=50&rating=<the most common rating>&sort=-final`
   with an HR token: peak req/s (wrk) and p99 at 70% of the peak (open loop, the median
   p99 of three runs); pages 1, 2 and 20 of the same list walked with the cursor
   (sequential requests: median and p99 ms) to show the keyset cost is flat; the same
   first page computed live (the cycle's `complete_version` set to 0, so lists take the
   live path) for `--live-requests` sequential requests; and `EXPLAIN (ANALYZE,
   BUFFERS)` of the SQL the page runs (captured from `stored.page` in this process),
   pages 1 and 20: the index used and the rows read. Also one whole-cycle CSV export
   (`Accept: text/csv`, `sort=-final`) read to its end, from the stored rows and, with
   `--live-requests` above 0, computed live.
2. **Freshness under load.** A second organization of `--fresh-employees` (default
   10,000). Open-loop writes at `--write-rate` (50/s) for `--write-seconds` (20 s),
   alternating KPI measurements (`POST /api/v1/kpi-assignments/{id}/measurements`) and
   check-ins (`POST /api/v1/key-results/{id}/check-ins`) over random employees. Each
   write's latency is counted from when it was due; right after its answer the
   employee's `score_snapshots` row is read to check that it reflects the write
   (`computed_at` later than the request's start). A write re-scores its employee in its
   own transaction (service/scoring/freshness.py), so the stored score's lag is the
   write's latency. Baseline in the same run: the same writes before the cycle is stored
   (no `score_freshness` row: no re-scoring). After the stored run, the live and stored
   first pages are also timed at this size.

    .venv/bin/python bench/stored_scores.py
    .venv/bin/python bench/stored_scores.py --employees 2000 --fresh-employees 1000 \\
        --duration 3 --write-seconds 5        # a smoke run

The database is dropped at the end (also on failure) unless `--keep` is given.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import platform
import random
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
import httpx  # noqa: E402

from bench import recompute as gen  # noqa: E402
from bench.http_load import SECRET, database_arguments, peak_and_paced, server  # noqa: E402
from bench.openloop import paced  # noqa: E402

STORE_CHUNK = 1000
PAGES = (1, 2, 20)
PAGE_SAMPLES = 50


def _sa(url: str) -> str:
    return url.replace("postgresql://", "postgresql+asyncpg://")


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] if ordered else float("nan")


class Service:
    """In-process access to the service's own code (storing, capturing a page's SQL)."""

    def __init__(self, url: str) -> None:
        from sqlalchemy.ext.asyncio import async_sessionmaker

        from service.db import SerializedSession, make_engine

        self.engine = make_engine(_sa(url))
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False, class_=SerializedSession)

    def ctx(self, session: Any, org_id: uuid.UUID) -> Any:
        from service.auth.context import Ctx
        from service.principal import Principal

        return Ctx(
            session=session, principal=Principal(sub="bench", org_id=org_id, kind="person", roles=frozenset({"hr"}))
        )

    async def store(self, org: gen.Org) -> tuple[float, int]:
        """Store every score of the cycle, `STORE_CHUNK` employees a transaction, and mark
        it complete; answers (seconds, employees)."""
        from service.cycles.models import Cycle
        from service.kit.chunks import chunks
        from service.scoring import freshness, stored
        from service.scoring import service as scoring

        started = time.perf_counter()
        async with self.sessions() as session:
            ctx = self.ctx(session, org.org_id)
            cycle = await session.get(Cycle, (org.org_id, org.cycle_id))
            version = await freshness.begin(session, org.org_id, org.cycle_id)
            population = await scoring.population(ctx, cycle)
            await session.commit()
        for part in chunks(population, STORE_CHUNK):
            async with self.sessions() as session:
                ctx = self.ctx(session, org.org_id)
                cycle = await session.get(Cycle, (org.org_id, org.cycle_id))
                await stored.rescore(ctx, cycle, part, version)
                await session.commit()
        async with self.sessions() as session:
            if not await freshness.complete(session, org.org_id, org.cycle_id, version):
                raise RuntimeError("the cycle's inputs moved on while it was being stored")
            await session.commit()
        return time.perf_counter() - started, len(population)

    async def explain(self, org: gen.Org, rating: str, cursor: str | None) -> dict[str, Any]:
        """EXPLAIN (ANALYZE, BUFFERS) of the statement `stored.page` runs for the page."""
        from sqlalchemy import event

        from service.cycles.models import Cycle
        from service.kit.pagination import PageParams
        from service.scoring import stored

        captured: list[tuple[str, Any]] = []

        def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
            if "score_snapshots" in statement:
                captured.append((statement, parameters))

        event.listen(self.engine.sync_engine, "before_cursor_execute", capture)
        try:
            async with self.sessions() as session:
                ctx = self.ctx(session, org.org_id)
                cycle = await session.get(Cycle, (org.org_id, org.cycle_id))
                await stored.page(
                    ctx, cycle, PageParams(limit=50, cursor=cursor), "-final", stored.PageFilter(rating=rating)
                )
        finally:
            event.remove(self.engine.sync_engine, "before_cursor_execute", capture)
        statement, parameters = captured[-1]
        raw = await self.engine.raw_connection()
        try:
            driver = raw.driver_connection
            assert driver is not None
            plan = await driver.fetch("EXPLAIN (ANALYZE, BUFFERS) " + statement, *parameters)
        finally:
            raw.close()
        lines = [r[0] for r in plan]
        text = "\n".join(lines)
        return {
            "uses_rating_index": "ix_score_snapshots_rating" in text,
            "plan": lines,
            "sql": statement,
        }

    async def dispose(self) -> None:
        await self.engine.dispose()


async def common_rating(conn: asyncpg.Connection, org: gen.Org) -> tuple[str, int]:
    row = await conn.fetchrow(
        "SELECT rating, count(*) FROM score_snapshots WHERE org_id = $1 AND cycle_id = $2 AND rating IS NOT NULL"
        " GROUP BY rating ORDER BY 2 DESC LIMIT 1",
        org.org_id,
        org.cycle_id,
    )
    return row[0], row[1]


async def set_complete(conn: asyncpg.Connection, org: gen.Org, complete: bool) -> None:
    """Make lists read the stored rows (complete) or compute live (complete_version 0)."""
    await conn.execute(
        "UPDATE score_freshness SET complete_version = CASE WHEN $3 THEN version ELSE 0 END"
        " WHERE org_id = $1 AND cycle_id = $2",
        org.org_id,
        org.cycle_id,
        complete,
    )


async def timed_gets(client: httpx.AsyncClient, url: str, token: str, n: int) -> list[float]:
    """Milliseconds of `n` sequential requests."""
    out = []
    for _ in range(n):
        started = time.perf_counter()
        resp = await client.get(url, headers={"Authorization": f"Bearer {token}"})
        out.append((time.perf_counter() - started) * 1000)
        if resp.status_code != 200:
            raise RuntimeError(f"{url}: {resp.status_code} {resp.text[:300]}")
    return out


async def page_cursors(client: httpx.AsyncClient, url: str, token: str, last: int) -> dict[int, str | None]:
    """The cursor that opens each page up to `last` (page 1 has none)."""
    cursors: dict[int, str | None] = {1: None}
    cursor = None
    for n in range(2, last + 1):
        query = f"&cursor={cursor}" if cursor else ""
        resp = await client.get(url + query, headers={"Authorization": f"Bearer {token}"})
        resp.raise_for_status()
        cursor = resp.json()["next_cursor"]
        if cursor is None:
            break
        cursors[n] = cursor
    return cursors


async def live(
    client: httpx.AsyncClient, conn: asyncpg.Connection, org: gen.Org, path: str, token: str, n: int
) -> dict[str, float]:
    """`n` sequential requests of the page computed live (the cycle marked incomplete
    meanwhile, as a policy change leaves it)."""
    await set_complete(conn, org, False)
    try:
        return _summary(await timed_gets(client, path, token, n))
    finally:
        await set_complete(conn, org, True)


async def csv_export(client: httpx.AsyncClient, path: str, token: str) -> dict[str, float]:
    """One whole-cycle CSV export (`Accept: text/csv`), read to its end: seconds, rows, MiB."""
    started = time.perf_counter()
    size = lines = 0
    headers = {"Authorization": f"Bearer {token}", "Accept": "text/csv"}
    async with client.stream("GET", path, headers=headers) as resp:
        if resp.status_code != 200:
            raise RuntimeError(f"{path}: {resp.status_code}")
        async for chunk in resp.aiter_bytes():
            size += len(chunk)
            lines += chunk.count(b"\n")
    return {"seconds": time.perf_counter() - started, "rows": lines - 1, "mib": size / 2**20}


def _summary(ms: list[float]) -> dict[str, float]:
    return {"median": statistics.median(ms), "p99": _pct(ms, 0.99), "n": len(ms)}


# --- part 1: reads at scale ------------------------------------------------------------------------


async def reads(args: argparse.Namespace, url: str, env: dict[str, str], svc: Service) -> dict[str, Any]:
    from service.auth.tokens import issue_token

    conn = await asyncpg.connect(url)
    try:
        t0 = time.perf_counter()
        org, counts = await _load(conn, args.employees, args.seed, "Reads")
        loaded = time.perf_counter() - t0
        print(f"reads: loaded {counts} in {loaded:.1f} s", flush=True)
        store_seconds, stored_n = await svc.store(org)
        print(f"reads: stored {stored_n:,} employees in {store_seconds:.1f} s", flush=True)
        await conn.execute("VACUUM ANALYZE score_snapshots")
        rating, rated = await common_rating(conn, org)
        token = issue_token(org_id=org.org_id, sub="bench-hr", roles=["hr"])
        path = f"/api/v1/cycles/{org.cycle_id}/scores?limit=50&rating={rating}&sort=-final"
        out: dict[str, Any] = {
            "employees": stored_n,
            "store_seconds": store_seconds,
            "rating": rating,
            "rated": rated,
        }
        with server("service.web.app:create_app", env) as base:
            out["stored"] = peak_and_paced(base + path, token, args.duration)
            print(f"reads: stored page {out['stored']}", flush=True)
            async with httpx.AsyncClient(base_url=base, timeout=900) as client:
                cursors = await page_cursors(client, path, token, max(PAGES))
                out["pages"] = {}
                for n in PAGES:
                    if n in cursors:
                        query = f"&cursor={cursors[n]}" if cursors[n] else ""
                        out["pages"][n] = _summary(await timed_gets(client, path + query, token, PAGE_SAMPLES))
                print(f"reads: pages {out['pages']}", flush=True)
                export_path = f"/api/v1/cycles/{org.cycle_id}/scores?sort=-final"
                out["csv_stored"] = await csv_export(client, export_path, token)
                print(f"reads: CSV export from the stored rows {out['csv_stored']}", flush=True)
                if args.live_requests > 0:  # 0: skip the live path (130 s a request at 100,000)
                    out["live"] = await live(client, conn, org, path, token, args.live_requests)
                    print(f"reads: live page {out['live']}", flush=True)
                    await set_complete(conn, org, False)
                    try:
                        out["csv_live"] = await csv_export(client, export_path, token)
                    finally:
                        await set_complete(conn, org, True)
                    print(f"reads: CSV export computed live {out['csv_live']}", flush=True)
        out["explain"] = {n: await svc.explain(org, rating, cursors.get(n)) for n in (1, max(PAGES)) if n in cursors}
        for n, e in out["explain"].items():
            print(f"\nEXPLAIN page {n}:\n{e['sql']}\n" + "\n".join(e["plan"]), flush=True)
        return out
    finally:
        await conn.close()


async def _load(conn: asyncpg.Connection, employees: int, seed: int, name: str) -> tuple[gen.Org, dict[str, int]]:
    org = gen.Org()
    counts, _ = await gen.load_organization(
        conn, org, employees, random.Random(seed), dt.datetime(2026, 1, 1, tzinfo=dt.UTC), name=name
    )
    await conn.execute("VACUUM ANALYZE")
    return org, counts


# --- part 2: freshness under load ---------------------------------------------------------------------


class Targets:
    """What the writes go to: the organization's KPI assignments and key results, each
    with the employee whose score it moves."""

    def __init__(self, assignments: list[tuple[uuid.UUID, uuid.UUID]], krs: list[tuple[uuid.UUID, uuid.UUID]]) -> None:
        self.assignments, self.krs = assignments, krs

    @classmethod
    async def of(cls, conn: asyncpg.Connection, org: gen.Org) -> Targets:
        assignments = await conn.fetch(
            "SELECT id, employee_id FROM kpi_assignments WHERE org_id = $1 AND cycle_id = $2", org.org_id, org.cycle_id
        )
        krs = await conn.fetch(
            "SELECT k.id, o.owner_id FROM key_results k JOIN objectives o ON o.org_id = k.org_id"
            " AND o.id = k.objective_id WHERE k.org_id = $1 AND o.cycle_id = $2",
            org.org_id,
            org.cycle_id,
        )
        return cls([(r[0], r[1]) for r in assignments], [(r[0], r[1]) for r in krs])

    def write(self, i: int, rng: random.Random) -> tuple[str, dict[str, Any], uuid.UUID]:
        """The i-th write: (path, body, employee)."""
        day = gen.CYCLE_START + dt.timedelta(days=rng.randrange((gen.CYCLE_END - gen.CYCLE_START).days))
        value = f"{rng.randrange(0, 50000) / 100:.2f}"
        if i % 2 == 0:
            aid, emp = rng.choice(self.assignments)
            return f"/api/v1/kpi-assignments/{aid}/measurements", {"value": value, "measured_at": day.isoformat()}, emp
        kid, emp = rng.choice(self.krs)
        at = dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)
        return f"/api/v1/key-results/{kid}/check-ins", {"value": value, "checked_in_at": at.isoformat()}, emp


async def steady_writes(
    base: str, token: str, targets: Targets, org: gen.Org, pool: asyncpg.Pool, rate: float, seconds: float, seed: int
) -> dict[str, Any]:
    """Open-loop writes at `rate`; each one's latency from when it was due, and whether
    the employee's stored row reflected it right after the answer."""
    rng = random.Random(seed)
    latencies: list[float] = []
    errors: list[str] = []
    stale = 0
    checked = 0

    async def one(client: httpx.AsyncClient, due: float, i: int) -> None:
        nonlocal stale, checked
        path, body, emp = targets.write(i, rng)
        started = dt.datetime.now(dt.UTC)
        try:
            resp = await client.post(path, json=body, headers={"Authorization": f"Bearer {token}"})
        except httpx.HTTPError as exc:
            errors.append(repr(exc))
            return
        latencies.append((time.perf_counter() - due) * 1000)
        if resp.status_code != 201:
            errors.append(f"{resp.status_code} {resp.text[:200]}")
            return
        computed = await pool.fetchval(
            "SELECT computed_at FROM score_snapshots WHERE org_id = $1 AND cycle_id = $2 AND employee_id = $3",
            org.org_id,
            org.cycle_id,
            emp,
        )
        checked += 1
        if computed is None or computed < started:
            stale += 1

    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
        elapsed = await paced(rate, seconds, lambda due, i: one(client, due, i))
    return {
        "writes": int(rate * seconds),
        "achieved": len(latencies) / elapsed,
        "p50": _pct(latencies, 0.5),
        "p99": _pct(latencies, 0.99),
        "max": max(latencies, default=float("nan")),
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "checked": checked,
        "stale": stale,
    }


async def freshness_under_load(args: argparse.Namespace, url: str, env: dict[str, str], svc: Service) -> dict[str, Any]:
    from service.auth.tokens import issue_token

    conn = await asyncpg.connect(url)
    pool = await asyncpg.create_pool(url, min_size=4, max_size=16)
    try:
        org, counts = await _load(conn, args.fresh_employees, args.seed + 1, "Freshness")
        print(f"freshness: loaded {counts}", flush=True)
        targets = await Targets.of(conn, org)
        token = issue_token(org_id=org.org_id, sub="bench-hr", roles=["hr"])
        out: dict[str, Any] = {"employees": args.fresh_employees}
        with server("service.web.app:create_app", env) as base:
            # warm up the server's pool and code paths (not counted)
            await steady_writes(base, token, targets, org, pool, args.write_rate, 2, args.seed + 7)
            out["baseline"] = await steady_writes(
                base, token, targets, org, pool, args.write_rate, args.write_seconds, args.seed + 2
            )
            print(f"freshness: baseline (not stored) {out['baseline']}", flush=True)
            out["store_seconds"], _ = await svc.store(org)
            await conn.execute("VACUUM ANALYZE score_snapshots")
            print(f"freshness: stored in {out['store_seconds']:.1f} s", flush=True)
            out["stored"] = await steady_writes(
                base, token, targets, org, pool, args.write_rate, args.write_seconds, args.seed + 3
            )
            print(f"freshness: stored {out['stored']}", flush=True)
            rating, _ = await common_rating(conn, org)
            path = f"/api/v1/cycles/{org.cycle_id}/scores?limit=50&rating={rating}&sort=-final"
            async with httpx.AsyncClient(base_url=base, timeout=900) as client:
                await timed_gets(client, path, token, 3)
                out["page_stored"] = _summary(await timed_gets(client, path, token, PAGE_SAMPLES))
                out["page_live"] = await live(client, conn, org, path, token, args.live_requests)
            print(f"freshness: page stored {out['page_stored']}, live {out['page_live']}", flush=True)
        return out
    finally:
        await pool.close()
        await conn.close()


# --- main -----------------------------------------------------------------------------------------------


def report(args: argparse.Namespace, r: dict[str, Any] | None, f: dict[str, Any] | None) -> None:
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"\nStored scores, PostgreSQL, {platform.machine()} with {os.cpu_count()} cores (shared), Python "
        f"{platform.python_version()}, {dt.date.today()}, load average {load}\n"
    )
    if r is not None:
        s = r["stored"]
        print(f"reads, {r['employees']:,} employees (rating {r['rating']}: {r['rated']:,} of them)")
        print(f"  storing the cycle ({STORE_CHUNK:,} a transaction): {r['store_seconds']:.1f} s")
        print(
            f"  stored page: peak {s['rps']:,.0f} req/s (wrk p50 {s['p50']:.1f} ms, p99 {s['p99']:.1f} ms); "
            f"p99 at 70% ({s['paced_rps']:,.0f}/s) {s['paced_p99']:.1f} ms (runs {s['paced_p99_runs']}), "
            f"target <= 50 ms: {'met' if s['paced_p99'] <= 50 else 'NOT met'}"
        )
        for n, p in r["pages"].items():
            print(f"  page {n} (cursor walk): median {p['median']:.1f} ms, p99 {p['p99']:.1f} ms over {p['n']}")
        live = r.get("live")  # absent with --live-requests 0
        if live is not None:
            print(
                f"  live page (complete_version 0): median {live['median']:.0f} ms over {live['n']} "
                f"= {live['median'] / r['pages'][1]['median']:.0f}x the stored page"
            )
        for label in ("csv_stored", "csv_live"):
            c = r.get(label)
            if c is not None:
                how = "from the stored rows" if label == "csv_stored" else "computed live (complete_version 0)"
                print(f"  CSV export, sort=-final, {how}: {c['seconds']:.1f} s, {c['rows']:,} rows, {c['mib']:.1f} MiB")
        for n, e in r["explain"].items():
            print(f"  EXPLAIN page {n}: ix_score_snapshots_rating used: {e['uses_rating_index']}")
    if f is not None:
        print(f"\nfreshness, {f['employees']:,} employees, {args.write_rate:.0f} writes/s for {args.write_seconds} s")
        print(f"  storing the cycle: {f['store_seconds']:.1f} s")
        for label in ("baseline", "stored"):
            w = f[label]
            behind = f"{w['stale']} of {w['checked']}" if label == "stored" else "n/a (nothing stored)"
            print(
                f"  {label}: {w['achieved']:.1f}/s answered, latency p50 {w['p50']:.1f} ms, p99 {w['p99']:.1f} ms,"
                f" max {w['max']:.1f} ms; errors {w['errors']}; stored row behind the write: {behind}"
            )
        print(
            f"  stored p99 / baseline p99: {f['stored']['p99'] / f['baseline']['p99']:.2f}; target p99 <= 1000 ms and"
            f" 0 behind: {'met' if f['stored']['p99'] <= 1000 and f['stored']['stale'] == 0 else 'NOT met'}"
        )
        print(
            f"  page at this size: stored median {f['page_stored']['median']:.1f} ms, live median "
            f"{f['page_live']['median']:.0f} ms"
        )


async def run(args: argparse.Namespace) -> int:
    name = f"perf_stored_{uuid.uuid4().hex[:8]}"
    url = gen._with_db(args.admin_url, name)
    os.environ.update(JWT_SECRET=SECRET, LOG_LEVEL="WARNING", DATABASE_URL=_sa(url))
    await gen.create_database(args.admin_url, name)
    try:
        from service.migrate import upgrade
        from service.models import load_all, load_hooks

        load_all()
        load_hooks()
        await asyncio.to_thread(upgrade, _sa(url))
        env = {
            "JWT_SECRET": SECRET,
            "DATABASE_URL": _sa(url),
            "LOG_LEVEL": "WARNING",
            "DB_POOL_SIZE": "32",
            "DB_MAX_OVERFLOW": "0",
            "DB_DIRECT_POOL_SIZE": "32",
        }
        svc = Service(url)
        try:
            r = await reads(args, url, env, svc) if args.part in ("both", "reads") else None
            f = await freshness_under_load(args, url, env, svc) if args.part in ("both", "freshness") else None
        finally:
            await svc.dispose()
        report(args, r, f)
        return 0
    finally:
        if args.keep:
            print(f"kept database {name}")
        else:
            await gen.drop_database(args.admin_url, name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--employees", type=int, default=100_000, help="the reads part's organization")
    parser.add_argument("--fresh-employees", type=int, default=10_000, help="the freshness part's organization")
    parser.add_argument("--part", choices=("both", "reads", "freshness"), default="both")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk and open-loop run")
    parser.add_argument("--live-requests", type=int, default=3, help="sequential live-path requests timed")
    parser.add_argument("--write-rate", type=float, default=50.0)
    parser.add_argument("--write-seconds", type=int, default=20)
    parser.add_argument("--seed", type=int, default=5)
    database_arguments(parser)
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
